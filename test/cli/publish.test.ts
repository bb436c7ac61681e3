// Publishing end to end: `leaven apply` on the examples against the simulator, then the parameters read
// back with the real @aws-sdk/client-ssm — every channel's pointer in every region, versions that move only
// when a channel does, and look-alike parameters that Leaven never overwrites or deletes.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import {
  GetParametersByPathCommand,
  ListTagsForResourceCommand,
  type Parameter,
  PutParameterCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { describe, expect, it } from "vitest";
import { startSimulator } from "../../controller/sim/server.ts";
import { runCli, scratchEstate } from "../support/cli-process.ts";

const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const fast = (dir: string) => ["--sim-state", join(dir, "sim.json"), "--sim-speed", "600"];

interface Published {
  value: string;
  version: number;
}

/** Every parameter under /leaven, by `region name`, read through the simulator with the real SSM client. */
async function readParameters(statePath: string): Promise<Map<string, Published>> {
  const sim = await startSimulator({ statePath, speed: 1, throttle: false });
  const found = new Map<string, Published>();
  try {
    for (const region of REGIONS) {
      const ssm = ssmClient(sim.endpoint, region);
      let NextToken: string | undefined;
      do {
        const out = await ssm.send(
          new GetParametersByPathCommand({ Path: "/leaven", Recursive: true, NextToken }),
        );
        for (const p of out.Parameters ?? ([] as Parameter[]))
          found.set(`${region} ${p.Name}`, { value: p.Value ?? "", version: p.Version ?? 0 });
        NextToken = out.NextToken;
      } while (NextToken);
      ssm.destroy();
    }
  } finally {
    await sim.close();
  }
  return found;
}

function ssmClient(endpoint: string, region: string): SSMClient {
  return new SSMClient({
    region,
    endpoint,
    credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test" },
  });
}

/** The channel table apply prints: `region /leaven/spec/channel` → the AMI id the table shows. */
function channelTable(stdout: string): Map<string, string> {
  const rows = new Map<string, string>();
  for (const line of stdout.split("\n")) {
    const cells = line.trim().split(/\s+/);
    if (cells.length === 7 && /^ami-[0-9a-f]{17}$/.test(cells[5]!))
      rows.set(`${cells[4]} /leaven/${cells[0]}/${cells[2]}`, cells[5]!);
  }
  return rows;
}

describe("publishing channels as SSM parameters", () => {
  it("publishes every channel in every region, and updates exactly the parameters of a channel that moves", async () => {
    const dir = scratchEstate();
    const first = await runCli(["apply", "specs", "--wide", ...fast(dir)], dir);
    expect(first.code).toBe(0);
    const table = channelTable(first.stdout);
    // 9 specs: ubuntu-jammy 2×2, al2023 2×3, ubuntu-base 2×2, al2023-base 2×3, api-server 2×2, ledger 2×2,
    // payments 2×3, web-frontend 2×2, order-worker 1×1.
    expect(table.size).toBe(39);
    const published = await readParameters(join(dir, "sim.json"));
    expect(new Map([...published].map(([key, p]) => [key, p.value]))).toEqual(table);
    // Each was put once: version 1, though the channels of the bases and apps only resolved late.
    expect(new Set([...published.values()].map((p) => p.version))).toEqual(new Set([1]));

    // Move one channel no spec bakes on: ubuntu-jammy's candidate waits a week, like its release.
    const foundations = join(dir, "specs/foundations.yaml");
    writeFileSync(
      foundations,
      readFileSync(foundations, "utf8").replace(
        "    candidate: { latest: true }\n    release: { latest: true, minAge: 7d }\n---",
        "    candidate: { latest: true, minAge: 7d }\n    release: { latest: true, minAge: 7d }\n---",
      ),
    );
    const plan = await runCli(["plan", "specs", ...fast(dir)], dir);
    expect(plan.stdout).toContain(
      `  ~ publish      us-east-1      /leaven/ubuntu-jammy/candidate = ${table.get("us-east-1 /leaven/ubuntu-jammy/release")} (was ${table.get("us-east-1 /leaven/ubuntu-jammy/candidate")}, version 1)\n`,
    );
    expect(plan.stdout).toContain("Plan: 2 to publish; on the embedded simulator — not AWS.\n");
    const second = await runCli(["apply", "specs", "--wide", ...fast(dir)], dir);
    expect(second.code).toBe(0);
    const after = await readParameters(join(dir, "sim.json"));
    const changed = [...after].filter(([key, p]) => p.value !== published.get(key)?.value);
    expect(changed.map(([key, p]) => [key, p.version])).toEqual([
      ["us-east-1 /leaven/ubuntu-jammy/candidate", 2],
      ["eu-west-1 /leaven/ubuntu-jammy/candidate", 2],
    ]);
    for (const [key, p] of after) {
      if (!key.endsWith("/ubuntu-jammy/candidate")) expect(p, key).toEqual(published.get(key));
      else expect(p.value).toBe(table.get(key.replace("/candidate", "/release")));
    }

    // Steady state: nothing to publish, no mutating request.
    const third = await runCli(["apply", "specs", "--wide", ...fast(dir)], dir);
    expect(third.stdout).toMatch(/\(0 mutating, 0 throttled\)\.$/m);
  });

  it("never overwrites nor deletes a look-alike parameter it does not own, and says which one blocks", async () => {
    const dir = scratchEstate();
    const statePath = join(dir, "sim.json");
    // Look-alikes at names Leaven would publish to, and one under its prefix that no spec publishes.
    const sim = await startSimulator({ statePath, speed: 1, throttle: false });
    const planted: [string, string, Record<string, string> | undefined][] = [
      ["us-east-1", "/leaven/api-server/release", undefined],
      [
        "eu-west-1",
        "/leaven/ledger/release",
        {
          "leaven.dev/managed-by": "someone-else",
          "leaven.dev/spec": "ledger",
          "leaven.dev/channel": "release",
        },
      ],
      [
        "us-east-1",
        "/leaven/retired-app/release",
        { "leaven.dev/spec": "retired-app", "leaven.dev/channel": "release" },
      ],
    ];
    const vendorImage = (region: string) =>
      [...sim.world.region(region).images.values()].find((i) => i.ownerId === "099720109477")!.imageId;
    for (const [region, Name, tags] of planted) {
      await ssmClient(sim.endpoint, region).send(
        new PutParameterCommand({
          Name,
          Value: vendorImage(region),
          Type: "String",
          DataType: "aws:ec2:image",
          ...(tags ? { Tags: Object.entries(tags).map(([Key, Value]) => ({ Key, Value })) } : {}),
        }),
      );
    }
    await sim.close();

    const apply = await runCli(["apply", "specs", "--wide", ...fast(dir)], dir);
    expect(apply.code).toBe(1);
    const plan = await runCli(["plan", "specs", ...fast(dir)], dir);
    expect(plan.stdout).toContain(
      "publishing blocked: parameter /leaven/api-server/release in us-east-1 is not Leaven's (it has no leaven.dev/managed-by tag), and Leaven never overwrites it; delete it (aws ssm delete-parameter --region us-east-1 --name /leaven/api-server/release) or set spec.publish.prefix to another path",
    );
    expect(plan.stdout).toContain(
      `publishing blocked: parameter /leaven/ledger/release in eu-west-1 is not Leaven's (its leaven.dev/managed-by tag is "someone-else", not "leaven")`,
    );
    expect(plan.stdout).toMatch(/^ {2}api-server {11}Stalled {3}/m);
    expect(plan.stdout).not.toContain("unpublish");

    const after = await readParameters(statePath);
    const check = await startSimulator({ statePath, speed: 1, throttle: false });
    try {
      for (const [region, name, tags] of planted) {
        expect(after.get(`${region} ${name}`), name).toEqual({ value: vendorImage(region), version: 1 });
        const listed = await ssmClient(check.endpoint, region).send(
          new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: name }),
        );
        expect(Object.fromEntries((listed.TagList ?? []).map((t) => [t.Key, t.Value]))).toEqual(tags ?? {});
      }
    } finally {
      await check.close();
    }
    // Everything else is published: the blocked channel's other region included.
    expect(after.get("eu-west-1 /leaven/api-server/release")?.version).toBe(1);
    expect(after.get("us-east-1 /leaven/ledger/release")?.version).toBe(1);
  });
});
