// Drifts: changes made to the converged examples behind Leaven's back, through the real EC2 client, as a
// person or another tool would make them, and what the repaired world must show. Shared by the drift suite
// (test/cli/drift.test.ts) and the benchmark that counts what each repair costs (bench/cases/drift.ts).
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  EC2Client,
  type Image,
  ModifyImageAttributeCommand,
} from "@aws-sdk/client-ec2";
import { channelTag, Tag } from "../../controller/api/tags.ts";
import { startSimulator } from "../../controller/sim/server.ts";

export const DRIFT_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"];
export const PAYMENTS_ACCOUNT = "777788889999";

function same(actual: unknown, expected: unknown, what: string): void {
  if (actual !== expected) throw new Error(`${what}: expected ${String(expected)}, found ${String(actual)}`);
}
function differ(actual: unknown, old: unknown, what: string): void {
  if (actual === old) throw new Error(`${what}: still ${String(old)}, expected a new one`);
}
function matches(actual: string | undefined, pattern: RegExp, what: string): void {
  if (actual === undefined || !pattern.test(actual))
    throw new Error(`${what}: ${actual} does not match ${pattern}`);
}

export type Ec2 = (region: string) => EC2Client;

/** Changes the simulated world behind Leaven's back, through the real EC2 client, as a person would. */
export async function behindLeavensBack(
  statePath: string,
  change: (ec2: Ec2) => Promise<void>,
): Promise<void> {
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

export async function leavenImages(ec2: Ec2, region: string, spec: string): Promise<Image[]> {
  const found = await ec2(region).send(
    new DescribeImagesCommand({ Owners: ["self"], Filters: [{ Name: `tag:${Tag.spec}`, Values: [spec] }] }),
  );
  return found.Images ?? [];
}

export async function channelImage(ec2: Ec2, region: string, spec: string, channel: string): Promise<Image> {
  const image = (await leavenImages(ec2, region, spec)).find((i) =>
    i.Tags?.some((t) => t.Key === channelTag(channel)),
  );
  if (!image?.ImageId) throw new Error(`no ${spec}/${channel} image in ${region}`);
  return image;
}

export const tagOf = (image: Image, key: string) => image.Tags?.find((t) => t.Key === key)?.Value;

export interface Drift {
  name: string;
  change: (ec2: Ec2) => Promise<void>;
  /** What the repaired world must show (besides every channel resolving and no duplicate). */
  check?: (ec2: Ec2, before: Map<string, string>) => Promise<void>;
}

/** The channel → image id table of the converged world, `spec/channel/region` → image id. */
export async function channelTable(ec2: Ec2): Promise<Map<string, string>> {
  const table = new Map<string, string>();
  for (const region of DRIFT_REGIONS) {
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

export const drifts: Drift[] = [
  {
    name: "a copy deregistered (payments in ap-southeast-2), its snapshots left behind",
    change: async (ec2) => {
      const copy = await channelImage(ec2, "ap-southeast-2", "payments", "release");
      await ec2("ap-southeast-2").send(new DeregisterImageCommand({ ImageId: copy.ImageId }));
    },
    check: async (ec2, before) => {
      const copy = await channelImage(ec2, "ap-southeast-2", "payments", "release");
      differ(copy.ImageId, before.get("payments/release/ap-southeast-2"), "payments copy in ap-southeast-2");
      same(tagOf(copy, Tag.homeImage), before.get("payments/release/us-east-1"), "the copy's home image");
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
      differ(home.ImageId, old, "ubuntu-base home image");
      // The same build, baked again; it says what it replaces, and the copy points at it.
      same(tagOf(home, Tag.rebakeOf), old, "rebake-of");
      const copy = await channelImage(ec2, "eu-west-1", "ubuntu-base", "release");
      same(copy.ImageId, before.get("ubuntu-base/release/eu-west-1"), "ubuntu-base copy, kept");
      same(tagOf(copy, Tag.homeImage), home.ImageId, "the copy's home image");
      same(tagOf(copy, Tag.build), tagOf(home, Tag.build), "the rebake's build");
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
      differ(home.ImageId, before.get("order-worker/release/us-east-1"), "order-worker image");
      // Nothing recorded the dead image: EC2's refusal of the old token led to what it made. order-worker bakes
      // on a volume: the refused CreateVolume token stands for the deleted volume.
      matches(tagOf(home, Tag.rebakeOf), /^(i-[0-9a-f]{17}|leaven-volume-[0-9a-f]{40})$/, "rebake-of");
      same(tagOf(home, Tag.bakeMethod), "volume", "order-worker's bake method");
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
      same(
        JSON.stringify(permissions.LaunchPermissions?.map((p) => p.UserId)),
        JSON.stringify([PAYMENTS_ACCOUNT]),
        "launch permissions",
      );
    },
  },
];
