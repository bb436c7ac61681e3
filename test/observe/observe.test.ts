// The observer against the simulator over HTTP, through the real adapter and the rate limiter: what one
// pass costs in EC2 requests, what the vendor cache saves, what bake instances and consoles it reads, and
// that a region it cannot observe is reported without hiding the others.
import { CopyImageCommand, CreateLaunchTemplateCommand } from "@aws-sdk/client-ec2";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { failureRecordName, failureTags } from "../../controller/api/failure-record.ts";
import { MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import { CloudError, type CloudPort } from "../../controller/cloud/port.ts";
import { renderUserData } from "../../controller/execute/user-data.ts";
import { emptyInventory } from "../../controller/observe/inventory.ts";
import { observeBakes, observeImages, VendorCache } from "../../controller/observe/observe.ts";
import { ec2Client } from "../sim/helpers.ts";
import { MINUTE, requestTable, type SimCloud, startSimCloud } from "../support/sim-cloud.ts";
import { baseSpec, ubuntuFoundation } from "../support/sim-specs.ts";

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

const owned = (spec: string, build: string) => ({
  [Tag.managedBy]: MANAGED_BY_VALUE,
  [Tag.spec]: spec,
  [Tag.build]: build,
});

// The foundation lives in us-east-1 and eu-west-1; the base is baked in ca-central-1 (so the foundation
// must be looked up there too) and copied to ap-southeast-2.
const specs = [
  ubuntuFoundation(["us-east-1", "eu-west-1"]),
  baseSpec("base", { regions: ["ca-central-1", "ap-southeast-2"] }),
];

describe("observeImages", () => {
  it("walks each named region once and looks the vendor up once per foundation region", async () => {
    // 1,001 images need two pages of 1,000: still one walk, two requests.
    t.sim.seedImages(
      Array.from({ length: 1001 }, (_, i) => ({
        region: "ap-southeast-2",
        name: `leaven/base/1.0.${i}_abcdef12`,
        tags: owned("base", `1.0.${i}+abcdef12`),
      })),
    );
    const inventory = await observeImages(t.cloud, specs, { now: t.clock.now() });

    expect(requestTable(t.adapter)).toEqual({
      "ap-southeast-2 DescribeImages": 2,
      "ca-central-1 DescribeImages": 2,
      "eu-west-1 DescribeImages": 2,
      "us-east-1 DescribeImages": 2,
    });
    expect(t.adapter.stats().mutating).toBe(0);
    expect(inventory.regions).toEqual(["ap-southeast-2", "ca-central-1", "eu-west-1", "us-east-1"]);
    expect(inventory.images).toHaveLength(1001);
    expect(inventory.regionErrors).toEqual(new Map());
    // Only the foundation's regions and its children's home regions; deprecated releases are hidden.
    const vendor = inventory.vendorImages.get("ubuntu") ?? [];
    expect(new Set(vendor.map((i) => i.region))).toEqual(new Set(["ca-central-1", "eu-west-1", "us-east-1"]));
    expect(vendor).toHaveLength(12);
    for (const image of vendor) {
      expect(image.name).toMatch(/^ubuntu\/images\/hvm-ssd\/ubuntu-jammy-22\.04-amd64-server-\d{8}$/);
      expect(image).toMatchObject({ architecture: "x86_64", ownerId: "099720109477", state: "available" });
    }
    // Bake instances are a second, separate phase.
    expect(inventory.instanceRegions).toEqual([]);
  });

  it("serves vendor images from the cache within its TTL and looks them up again after", async () => {
    const cache = new VendorCache(10 * MINUTE);
    const first = await observeImages(t.cloud, specs, { now: t.clock.now(), vendorCache: cache });

    t.adapter.resetStats();
    t.clock.advance(9 * MINUTE);
    const second = await observeImages(t.cloud, specs, { now: t.clock.now(), vendorCache: cache });
    expect(requestTable(t.adapter)).toEqual({
      "ap-southeast-2 DescribeImages": 1,
      "ca-central-1 DescribeImages": 1,
      "eu-west-1 DescribeImages": 1,
      "us-east-1 DescribeImages": 1,
    });
    expect(second.vendorImages).toEqual(first.vendorImages);

    t.adapter.resetStats();
    t.clock.advance(2 * MINUTE);
    await observeImages(t.cloud, specs, { now: t.clock.now(), vendorCache: cache });
    expect(t.adapter.stats().byRegion["ca-central-1"]?.byAction.DescribeImages?.requests).toBe(2);
    expect(t.adapter.stats().requests).toBe(7);
  });

  it("never lists images without the owner tag, even ones the account owns", async () => {
    const vendor = (await observeImages(t.cloud, [ubuntuFoundation()], { now: t.clock.now() })).vendorImages;
    const source = vendor.get("ubuntu")![0]!.imageId;
    const client = ec2Client(t.sim, "us-east-1");
    try {
      // Made by hand through the SDK: a Name tag only, and one claiming another owner.
      for (const [name, tags] of [
        ["hand-made", [{ Key: "Name", Value: "hand-made" }]],
        [
          "terraform-made",
          [
            { Key: "Name", Value: "terraform-made" },
            { Key: Tag.managedBy, Value: "terraform" },
            { Key: Tag.spec, Value: "base" },
          ],
        ],
      ] as const) {
        await client.send(
          new CopyImageCommand({
            SourceRegion: "us-east-1",
            SourceImageId: source,
            Name: name,
            TagSpecifications: [{ ResourceType: "image", Tags: [...tags] }],
          }),
        );
      }
    } finally {
      client.destroy();
    }
    const [ours] = t.sim.seedImages([
      { region: "us-east-1", name: "leaven/base/1.0.0_abcdef12", tags: owned("base", "1.0.0+abcdef12") },
    ]);

    const inventory = await observeImages(t.cloud, [ubuntuFoundation(), baseSpec("base")], {
      now: t.clock.now(),
    });
    expect(inventory.images.map((i) => i.imageId)).toEqual([ours]);
    expect(inventory.images[0]).toMatchObject({ region: "us-east-1", name: "leaven/base/1.0.0_abcdef12" });
  });

  it("reports a region it cannot observe and still observes the others", async () => {
    // me-central-1 is not a region the simulated account has enabled: EC2 refuses the credentials there.
    const inventory = await observeImages(
      t.cloud,
      [ubuntuFoundation(["us-east-1"]), baseSpec("base", { regions: ["us-east-1", "me-central-1"] })],
      { now: t.clock.now() },
    );
    expect(inventory.regionErrors).toEqual(
      new Map([
        ["me-central-1", "AuthFailure: AWS was not able to validate the provided access credentials"],
      ]),
    );
    expect(inventory.vendorImages.get("ubuntu")).toHaveLength(4);
    expect(inventory.regions).toEqual(["me-central-1", "us-east-1"]);
    // A client error is not retried.
    expect(t.adapter.stats().byRegion["me-central-1"]).toMatchObject({ requests: 1, retried: 0 });
  });
});

describe("observeBakes", () => {
  const BUILD_OK = "1.0.0+00000001";
  const BUILD_BAD = "1.0.0+00000002";
  const BUILD_DONE = "1.0.0+00000003";
  const BUILD_AWAY = "1.0.0+00000004";

  async function launch(region: string, spec: string, build: string, extraTags: Record<string, string> = {}) {
    const inventory = await observeImages(t.cloud, [ubuntuFoundation([region])], { now: t.clock.now() });
    const parent = inventory.vendorImages.get("ubuntu")![0]!;
    const { instanceId } = await t.cloud.runInstance(region, {
      imageId: parent.imageId,
      instanceType: "t3.micro",
      userData: renderUserData({ buildId: build, spec }),
      clientToken: `token-${build}`,
      tags: { ...owned(spec, build), [Tag.role]: "bake", ...extraTags },
    });
    return instanceId;
  }

  it("reads bake instances only where asked, and the console marker of each stopped, unrecorded one", async () => {
    t.sim.setFaults({ bakeFailure: { specs: ["bad"], reason: "apt-get install exited with status 100" } });
    const ok = await launch("us-east-1", "good", BUILD_OK);
    const bad = await launch("us-east-1", "bad", BUILD_BAD);
    // Its outcome is already in its tags: the console need not be read again.
    const done = await launch("us-east-1", "done", BUILD_DONE, { [Tag.bakeResult]: "success" });
    await launch("eu-west-1", "away", BUILD_AWAY);
    // Pending 15 s, the script 4 min, stopping 20 s.
    t.clock.advance(5 * MINUTE);
    const running = await launch("us-east-1", "late", "1.0.0+00000005");

    t.adapter.resetStats();
    const inventory = await observeBakes(t.cloud, emptyInventory(), ["us-east-1"]);

    expect(requestTable(t.adapter)).toEqual({
      "us-east-1 DescribeInstances": 1,
      // The failed builds' records are listed with the instances: one more request per region.
      "us-east-1 DescribeLaunchTemplates": 1,
      "us-east-1 GetConsoleOutput": 2,
    });
    expect(inventory.instanceRegions).toEqual(["us-east-1"]);
    expect(new Map(inventory.instances.map((i) => [i.instanceId, i.state]))).toEqual(
      new Map([
        [ok, "stopped"],
        [bad, "stopped"],
        [done, "stopped"],
        [running, "pending"],
      ]),
    );
    expect(inventory.consoles).toEqual(
      new Map([
        [ok, { build: BUILD_OK, result: "success" }],
        [
          bad,
          {
            build: BUILD_BAD,
            result: "failure",
            reason: "apt-get install exited with status 100",
            // The console's last lines before the marker, for the status.
            tail: expect.arrayContaining(["cloud-init[731]: leaven: apt-get install exited with status 100"]),
          },
        ],
      ]),
    );
  });

  it("lists failed builds' records with the instances: one paginated walk per region, owned ones only", async () => {
    // Made straight through the SDK: 200-odd creates would wait on the paced adapter's mutate bucket.
    const clients = {
      "us-east-1": ec2Client(t.sim, "us-east-1"),
      "eu-west-1": ec2Client(t.sim, "eu-west-1"),
    };
    const record = (spec: string, build: string, tags: Record<string, string> = {}, region = "us-east-1") => {
      const all = {
        ...owned(spec, build),
        ...failureTags({
          reason: `bake script failed: ${build}`,
          at: "2026-06-01T12:00:00.000Z",
          instanceId: "i-0000000000000000a",
          console: ["step 1", "E: boom"],
        }),
        ...tags,
      };
      return clients[region as keyof typeof clients].send(
        new CreateLaunchTemplateCommand({
          LaunchTemplateName: failureRecordName(spec, build),
          LaunchTemplateData: { ImageId: "ami-0123456789abcdef0" },
          TagSpecifications: [
            {
              ResourceType: "launch-template",
              Tags: Object.entries(all).map(([Key, Value]) => ({ Key, Value })),
            },
          ],
        }),
      );
    };
    try {
      // 201 records need two pages of 200.
      for (let i = 0; i < 201; i++) await record("bad", `1.0.${i}+00000002`);
      await record("bad", "9.0.0+00000002", {}, "eu-west-1");
      await record("theirs", "1.0.0+00000002", { [Tag.installation]: "team-b" });
      await record("other-role", "1.0.0+00000002", { [Tag.role]: "bake" });
    } finally {
      for (const client of Object.values(clients)) client.destroy();
    }

    t.adapter.resetStats();
    const inventory = await observeBakes(t.cloud, emptyInventory(), ["us-east-1"]);
    expect(requestTable(t.adapter)).toEqual({
      "us-east-1 DescribeInstances": 1,
      "us-east-1 DescribeLaunchTemplates": 2,
    });
    expect(inventory.instanceRegions).toEqual(["us-east-1"]);
    expect(inventory.failures).toHaveLength(201);
    expect(new Set(inventory.failures.map((f) => f.spec))).toEqual(new Set(["bad"]));
    const first = inventory.failures.find((f) => f.build === "1.0.0+00000002")!;
    expect(first).toEqual({
      spec: "bad",
      build: "1.0.0+00000002",
      region: "us-east-1",
      launchTemplateId: expect.stringMatching(/^lt-[0-9a-f]{17}$/),
      name: "leaven-failed-bad-1.0.0_00000002",
      reason: "bake script failed: 1.0.0+00000002",
      at: "2026-06-01T12:00:00.000Z",
      instanceId: "i-0000000000000000a",
      console: ["step 1", "E: boom"],
      tags: expect.objectContaining({ [Tag.role]: "failure", [Tag.spec]: "bad" }),
    });
  });

  it("counts a region whose failure records cannot be listed as not observed", async () => {
    const cloud: CloudPort = {
      ...t.cloud,
      describeLaunchTemplates: async () => {
        throw new CloudError(
          "UnauthorizedOperation",
          "You are not authorized to perform this operation.",
          403,
          false,
        );
      },
    };
    const inventory = await observeBakes(cloud, emptyInventory(), ["us-east-1"]);
    expect(inventory.instanceRegions).toEqual([]);
    expect(inventory.regionErrors).toEqual(
      new Map([["us-east-1", "UnauthorizedOperation: You are not authorized to perform this operation."]]),
    );
  });

  it("records a region whose instances cannot be listed and keeps the others", async () => {
    const ok = await launch("us-east-1", "good", BUILD_OK);
    const inventory = await observeBakes(t.cloud, emptyInventory(), ["us-east-1", "me-central-1"]);
    expect(inventory.instanceRegions).toEqual(["us-east-1"]);
    expect(inventory.instances.map((i) => i.instanceId)).toEqual([ok]);
    expect(inventory.regionErrors).toEqual(
      new Map([
        ["me-central-1", "AuthFailure: AWS was not able to validate the provided access credentials"],
      ]),
    );
  });
});
