// Drift: the examples converge, then the world is changed behind Leaven's back — one drift at a time and all
// at once — and `leaven apply` must repair it (or stall with a precise reason), never loop: converged, the
// world as the specs say, a bounded number of requests, no duplicate image, and a second apply a no-op.
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeleteTagsCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  EC2Client,
  type Image,
  ModifyImageAttributeCommand,
} from "@aws-sdk/client-ec2";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { channelTag, Tag } from "../../controller/api/tags.ts";
import { startSimulator } from "../../controller/sim/server.ts";
import { runCli, scratchEstate, startCli, waitFor } from "../support/cli-process.ts";
import { duplicateImages, readWorld } from "../support/sim-world.ts";

const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const PAYMENTS_ACCOUNT = "777788889999";
const fast = (dir: string) => ["--sim-state", join(dir, "sim.json"), "--sim-speed", "600"];

function summary(stdout: string): { outcome: string; requests: number; mutating: number } {
  const match =
    /^(Converged|Stalled|Stopped) after \d+ pass\(es\), .*; (\d+) AWS requests \((\d+) mutating, \d+ throttled\)\.$/m.exec(
      stdout,
    );
  if (!match) throw new Error(`no summary line in:\n${stdout.slice(-3000)}`);
  return { outcome: match[1]!, requests: Number(match[2]), mutating: Number(match[3]) };
}

type Ec2 = (region: string) => EC2Client;

/** Changes the simulated world behind Leaven's back, through the real EC2 client, as a person would. */
async function behindLeavensBack(statePath: string, change: (ec2: Ec2) => Promise<void>): Promise<void> {
  const sim = await startSimulator({ statePath, speed: 1, throttle: false });
  const clients: EC2Client[] = [];
  try {
    await change((region) => {
      const client = new EC2Client({
        region,
        endpoint: sim.endpoint,
        credentials: { accessKeyId: "AKIDPERSON", secretAccessKey: "person" },
      });
      clients.push(client);
      return client;
    });
  } finally {
    for (const client of clients) client.destroy();
    await sim.close();
  }
}

async function leavenImages(ec2: Ec2, region: string, spec: string): Promise<Image[]> {
  const found = await ec2(region).send(
    new DescribeImagesCommand({ Owners: ["self"], Filters: [{ Name: `tag:${Tag.spec}`, Values: [spec] }] }),
  );
  return found.Images ?? [];
}

async function channelImage(ec2: Ec2, region: string, spec: string, channel: string): Promise<Image> {
  const image = (await leavenImages(ec2, region, spec)).find((i) =>
    i.Tags?.some((t) => t.Key === channelTag(channel)),
  );
  if (!image?.ImageId) throw new Error(`no ${spec}/${channel} image in ${region}`);
  return image;
}

const tagOf = (image: Image, key: string) => image.Tags?.find((t) => t.Key === key)?.Value;

interface Drift {
  name: string;
  change: (ec2: Ec2) => Promise<void>;
  /** What the repaired world must show (besides every channel resolving and no duplicate). */
  check?: (ec2: Ec2, before: Map<string, string>) => Promise<void>;
}

/** The channel → image id table of the converged world, `spec/channel/region` → image id. */
async function channelTable(ec2: Ec2): Promise<Map<string, string>> {
  const table = new Map<string, string>();
  for (const region of REGIONS) {
    const found = await ec2(region).send(
      new DescribeImagesCommand({
        Owners: ["self"],
        Filters: [{ Name: `tag:${Tag.managedBy}`, Values: ["leaven"] }],
      }),
    );
    for (const image of found.Images ?? []) {
      for (const tag of image.Tags ?? []) {
        if (!tag.Key?.startsWith("leaven.dev/channel/")) continue;
        const key = `${tagOf(image, Tag.spec)}/${tag.Key.slice("leaven.dev/channel/".length)}/${region}`;
        if (table.has(key))
          throw new Error(`two images carry ${key}: ${table.get(key)} and ${image.ImageId}`);
        table.set(key, image.ImageId!);
      }
    }
  }
  return table;
}

const drifts: Drift[] = [
  {
    name: "a copy deregistered (payments in ap-southeast-2), its snapshots left behind",
    change: async (ec2) => {
      const copy = await channelImage(ec2, "ap-southeast-2", "payments", "release");
      await ec2("ap-southeast-2").send(new DeregisterImageCommand({ ImageId: copy.ImageId }));
    },
    check: async (ec2, before) => {
      const copy = await channelImage(ec2, "ap-southeast-2", "payments", "release");
      expect(copy.ImageId).not.toBe(before.get("payments/release/ap-southeast-2"));
      expect(tagOf(copy, Tag.homeImage)).toBe(before.get("payments/release/us-east-1"));
    },
  },
  {
    name: "a home image with copies and children deregistered (ubuntu-base in us-east-1)",
    change: async (ec2) => {
      const home = await channelImage(ec2, "us-east-1", "ubuntu-base", "release");
      await ec2("us-east-1").send(
        new DeregisterImageCommand({ ImageId: home.ImageId, DeleteAssociatedSnapshots: true }),
      );
    },
    check: async (ec2, before) => {
      const home = await channelImage(ec2, "us-east-1", "ubuntu-base", "release");
      const old = before.get("ubuntu-base/release/us-east-1");
      expect(home.ImageId).not.toBe(old);
      // The same build, baked again; it says what it replaces, and the copy points at it.
      expect(tagOf(home, Tag.rebakeOf)).toBe(old);
      const copy = await channelImage(ec2, "eu-west-1", "ubuntu-base", "release");
      expect(copy.ImageId).toBe(before.get("ubuntu-base/release/eu-west-1"));
      expect(tagOf(copy, Tag.homeImage)).toBe(home.ImageId);
      expect(tagOf(copy, Tag.build)).toBe(tagOf(home, Tag.build));
    },
  },
  {
    name: "the only image of a one-region spec without children deregistered (order-worker)",
    change: async (ec2) => {
      const home = await channelImage(ec2, "us-east-1", "order-worker", "release");
      await ec2("us-east-1").send(
        new DeregisterImageCommand({ ImageId: home.ImageId, DeleteAssociatedSnapshots: true }),
      );
    },
    check: async (ec2, before) => {
      const home = await channelImage(ec2, "us-east-1", "order-worker", "release");
      expect(home.ImageId).not.toBe(before.get("order-worker/release/us-east-1"));
      // Nothing recorded the dead image: EC2's refusal of the old launch token led to the terminated instance.
      expect(tagOf(home, Tag.rebakeOf)).toMatch(/^i-[0-9a-f]{17}$/);
    },
  },
  {
    name: "a channel tag removed (api-server release in eu-west-1)",
    change: async (ec2) => {
      const image = await channelImage(ec2, "eu-west-1", "api-server", "release");
      await ec2("eu-west-1").send(
        new DeleteTagsCommand({ Resources: [image.ImageId!], Tags: [{ Key: channelTag("release") }] }),
      );
    },
  },
  {
    name: "a channel tag added to the wrong image (api-server's old build in us-east-1)",
    change: async (ec2) => {
      const current = await channelImage(ec2, "us-east-1", "api-server", "release");
      const old = (await leavenImages(ec2, "us-east-1", "api-server")).find(
        (i) => i.ImageId !== current.ImageId,
      );
      if (!old?.ImageId) throw new Error("the baseline has no older api-server build");
      await ec2("us-east-1").send(
        new CreateTagsCommand({
          Resources: [old.ImageId],
          Tags: [{ Key: channelTag("release"), Value: "true" }],
        }),
      );
    },
  },
  {
    name: "a launch permission changed (payments in eu-west-1: the account removed, a stranger added)",
    change: async (ec2) => {
      const image = await channelImage(ec2, "eu-west-1", "payments", "release");
      await ec2("eu-west-1").send(
        new ModifyImageAttributeCommand({
          ImageId: image.ImageId,
          LaunchPermission: { Remove: [{ UserId: PAYMENTS_ACCOUNT }], Add: [{ UserId: "999988887777" }] },
        }),
      );
    },
    check: async (ec2) => {
      const image = await channelImage(ec2, "eu-west-1", "payments", "release");
      const permissions = await ec2("eu-west-1").send(
        new DescribeImageAttributeCommand({ ImageId: image.ImageId, Attribute: "launchPermission" }),
      );
      expect(permissions.LaunchPermissions?.map((p) => p.UserId)).toEqual([PAYMENTS_ACCOUNT]);
    },
  },
];

describe("drift repair on the simulator", () => {
  let baseline: string;
  let before: Map<string, string>;
  const maxRequests: [string, number, number][] = [];

  beforeAll(async () => {
    const dir = scratchEstate();
    expect((await runCli(["apply", "specs", ...fast(dir)], dir)).code).toBe(0);
    // A second api-server build, so that an older one exists to be mistagged.
    const path = join(dir, "specs/apps/api-server.yaml");
    writeFileSync(path, readFileSync(path, "utf8").replaceAll("1.14.2", "1.14.3"));
    expect((await runCli(["apply", "specs", ...fast(dir)], dir)).code).toBe(0);
    baseline = dir;
    await behindLeavensBack(join(dir, "sim.json"), async (ec2) => {
      before = await channelTable(ec2);
    });
  }, 120_000);

  afterAll(() => {
    // The figure quoted in notes: requests spent repairing each drift.
    console.log(
      ["drift | AWS requests | mutating", ...maxRequests.map(([n, r, m]) => `${n} | ${r} | ${m}`)].join("\n"),
    );
  });

  async function repair(changes: Drift[], label: string) {
    const dir = scratchEstate();
    copyFileSync(join(baseline, "specs/apps/api-server.yaml"), join(dir, "specs/apps/api-server.yaml"));
    copyFileSync(join(baseline, "sim.json"), join(dir, "sim.json"));
    await behindLeavensBack(join(dir, "sim.json"), async (ec2) => {
      for (const drift of changes) await drift.change(ec2);
    });
    const applied = await runCli(["apply", "specs", ...fast(dir)], dir);
    const result = summary(applied.stdout);
    expect(result.outcome, applied.stdout.slice(-2000)).toBe("Converged");
    expect(applied.code).toBe(0);
    maxRequests.push([label, result.requests, result.mutating]);
    // Bounded: a repair costs tens of changes, never a loop's thousands; the reads are mostly the passes that
    // poll a rebake (about ten simulated minutes) or a copy.
    expect(result.mutating).toBeLessThanOrEqual(changes.length === 1 ? 20 : 60);
    expect(result.requests).toBeLessThanOrEqual(changes.length === 1 ? 500 : 800);

    await behindLeavensBack(join(dir, "sim.json"), async (ec2) => {
      const after = await channelTable(ec2);
      expect([...after.keys()].sort()).toEqual([...before.keys()].sort());
      for (const drift of changes) await drift.check?.(ec2, before);
    });
    const world = await readWorld(join(dir, "sim.json"), REGIONS);
    expect(duplicateImages(world.images)).toEqual([]);
    expect(world.instances.filter((i) => i.state !== "terminated")).toEqual([]);
    const again = await runCli(["apply", "specs", ...fast(dir)], dir);
    expect(summary(again.stdout)).toMatchObject({ outcome: "Converged", mutating: 0 });
    return dir;
  }

  it.each(drifts.map((d) => [d.name, d] as const))(
    "repairs %s",
    async (name, drift) => {
      await repair([drift], name);
    },
    60_000,
  );

  it("repairs every drift at once", async () => {
    await repair(drifts, "all at once");
  }, 90_000);

  it("refuses to delete the snapshot of a registered image, as EC2 does: that drift cannot happen", async () => {
    const dir = scratchEstate();
    copyFileSync(join(baseline, "sim.json"), join(dir, "sim.json"));
    await behindLeavensBack(join(dir, "sim.json"), async (ec2) => {
      const image = await channelImage(ec2, "us-east-1", "payments", "release");
      const snapshot = image.BlockDeviceMappings?.[0]?.Ebs?.SnapshotId;
      await expect(
        ec2("us-east-1").send(new DeleteSnapshotCommand({ SnapshotId: snapshot })),
      ).rejects.toThrow(`The snapshot ${snapshot} is currently in use by ${image.ImageId}`);
    });
  });

  it("repairs every drift at once through kill -9 at random moments of the repair", async () => {
    const dir = scratchEstate();
    copyFileSync(join(baseline, "specs/apps/api-server.yaml"), join(dir, "specs/apps/api-server.yaml"));
    copyFileSync(join(baseline, "sim.json"), join(dir, "sim.json"));
    await behindLeavensBack(join(dir, "sim.json"), async (ec2) => {
      for (const drift of drifts) await drift.change(ec2);
    });
    const args = ["apply", "specs", ...fast(dir), "--sim-speed", "120"];
    // Killed right after the rebakes launched, and again right after the first rebaked image was created.
    for (const moment of ['"msg":"launch-bake', '"msg":"create-image']) {
      const run = startCli(args, dir);
      await waitFor(run.output, (out) => out.includes(moment), 60_000);
      run.child.kill("SIGKILL");
      await run.done;
    }
    const last = await runCli(["apply", "specs", ...fast(dir)], dir);
    expect(summary(last.stdout).outcome).toBe("Converged");
    await behindLeavensBack(join(dir, "sim.json"), async (ec2) => {
      expect([...(await channelTable(ec2)).keys()].sort()).toEqual([...before.keys()].sort());
      for (const drift of drifts) await drift.check?.(ec2, before);
    });
    const world = await readWorld(join(dir, "sim.json"), REGIONS);
    expect(duplicateImages(world.images)).toEqual([]);
    // One rebake instance per rebaked build, however often the run was killed.
    const earlier = new Set(
      (await readWorld(join(baseline, "sim.json"), REGIONS)).instances.map((i) => i.instanceId),
    );
    const rebakes = world.instances.filter(
      (i) => ["ubuntu-base", "order-worker"].includes(i.spec) && !earlier.has(i.instanceId),
    );
    const perBuild = new Map<string, number>();
    for (const instance of rebakes) perBuild.set(instance.spec, (perBuild.get(instance.spec) ?? 0) + 1);
    expect(Object.fromEntries(perBuild)).toEqual({ "ubuntu-base": 1, "order-worker": 1 });
  }, 120_000);
});
