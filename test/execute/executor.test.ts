// The executor against the simulator over HTTP: batching, failure isolation and idempotency, counted in
// the requests the simulator actually received.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { channelTag, MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import type { CloudImage, CloudPort } from "../../controller/cloud/port.ts";
import { execute } from "../../controller/execute/executor.ts";
import { renderUserData } from "../../controller/execute/user-data.ts";
import { observeImages } from "../../controller/observe/observe.ts";
import type {
  Action,
  CopyImageAction,
  CreateImageAction,
  LaunchBakeAction,
  SetTagsAction,
} from "../../controller/plan/actions.ts";
import { MINUTE, type SimCloud, startSimCloud } from "../support/sim-cloud.ts";
import { ubuntuFoundation } from "../support/sim-specs.ts";

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

const BUILD = "1.0.0+0badcafe";
const ownedTags = (build = BUILD) => ({
  [Tag.managedBy]: MANAGED_BY_VALUE,
  [Tag.spec]: "base",
  [Tag.build]: build,
});

function seed(region: string, count: number, tags: Record<string, string> = {}): string[] {
  return t.sim.seedImages(
    Array.from({ length: count }, (_, i) => ({
      region,
      name: `leaven/base/1.0.${i}_0badcafe-${region}`,
      tags: { ...ownedTags(`1.0.${i}+0badcafe`), ...tags },
    })),
  );
}

/** A cloud on which `imageId` is deregistered just after the executor read back its ownership: a race. */
function deregisteredAfterCheck(imageId: string): CloudPort {
  return {
    ...t.cloud,
    describeImages: async (region, input) => {
      const images = await t.cloud.describeImages(region, input);
      await t.cloud.deregisterImage(region, imageId);
      return images;
    },
  };
}

async function imagesIn(region: string): Promise<CloudImage[]> {
  return t.adapter.describeImages(region, { owners: ["self"] });
}

const setTags = (region: string, imageId: string, tags: Record<string, string>): SetTagsAction => ({
  kind: "set-tags",
  spec: "base",
  build: BUILD,
  region,
  imageId,
  tags,
  reason: "test",
});

async function vendorParent(region = "us-east-1"): Promise<CloudImage> {
  const inventory = await observeImages(t.cloud, [ubuntuFoundation([region])], { now: t.clock.now() });
  return inventory.vendorImages.get("ubuntu")![0]!;
}

function launchAction(parent: CloudImage, clientToken: string): LaunchBakeAction {
  return {
    kind: "launch-bake",
    spec: "base",
    build: BUILD,
    region: parent.region,
    launch: {
      imageId: parent.imageId,
      instanceType: "t3.medium",
      userData: renderUserData({ buildId: BUILD, spec: "base" }),
      clientToken,
      tags: { ...ownedTags(), [Tag.role]: "bake" },
    },
    reason: "test",
  };
}

describe("execute", () => {
  it("tags many images with identical tags in one CreateTags call per region", async () => {
    const east = seed("us-east-1", 6);
    const west = seed("eu-west-1", 2);
    const release = { [channelTag("release")]: "true" };
    const actions: Action[] = [
      ...east.slice(0, 5).map((id) => setTags("us-east-1", id, release)),
      ...west.map((id) => setTags("eu-west-1", id, release)),
      // Different tags cannot share the call.
      setTags("us-east-1", east[5]!, { [channelTag("candidate")]: "true" }),
    ];
    t.sim.resetStats();
    const results = await execute(t.cloud, actions);

    // One DescribeImages per region reads ownership back first (see ownership-guard.test.ts).
    expect(t.sim.stats().byAction).toEqual({ DescribeImages: 2, CreateTags: 3 });
    expect(t.sim.stats().byRegion).toEqual({ "us-east-1": 3, "eu-west-1": 2 });
    expect(results.every((r) => r.ok)).toBe(true);
    expect(results.map((r) => r.actions.length).sort()).toEqual([1, 2, 5]);
    const tagged = new Map(
      [...(await imagesIn("us-east-1")), ...(await imagesIn("eu-west-1"))].map((i) => [i.imageId, i.tags]),
    );
    for (const id of [...east.slice(0, 5), ...west])
      expect(tagged.get(id)?.[channelTag("release")]).toBe("true");
    expect(tagged.get(east[5]!)?.[channelTag("candidate")]).toBe("true");
    expect(tagged.get(east[5]!)?.[channelTag("release")]).toBeUndefined();
  });

  it("splits a batch that EC2 rejects for one bad id, so the other images still get their tags", async () => {
    const good = seed("us-east-1", 2);
    const [gone] = seed("us-east-1", 1);
    const release = { [channelTag("release")]: "true" };
    t.sim.resetStats();
    const results = await execute(
      deregisteredAfterCheck(gone!),
      [...good, gone!].map((id) => setTags("us-east-1", id, release)),
    );
    expect(t.sim.stats().byAction).toEqual({ DescribeImages: 1, DeregisterImage: 1, CreateTags: 4 });
    expect(results.map((r) => [r.ok, r.actions.map((a) => (a as SetTagsAction).imageId)])).toEqual(
      expect.arrayContaining([
        [true, [good[0]]],
        [true, [good[1]]],
        [false, [gone]],
      ]),
    );
    expect(results.find((r) => !r.ok)?.error).toMatch(/^InvalidAMIID\.NotFound: /);
    const tagged = new Map((await imagesIn("us-east-1")).map((i) => [i.imageId, i.tags]));
    for (const id of good) expect(tagged.get(id)?.[channelTag("release")]).toBe("true");
  });

  it("reports a failing action with its AWS code and still runs the others", async () => {
    const [home] = seed("us-east-1", 1);
    const [other] = seed("us-east-1", 1, { [Tag.version]: "other" });
    const [missing] = seed("us-east-1", 1);
    const copy = (sourceImageId: string, name: string): CopyImageAction => ({
      kind: "copy-image",
      spec: "base",
      build: BUILD,
      region: "eu-west-1",
      copy: {
        sourceRegion: "us-east-1",
        sourceImageId,
        name,
        description: "copy",
        clientToken: `token-${name}`,
        tags: { ...ownedTags(), [Tag.homeImage]: sourceImageId },
      },
      reason: "test",
    });
    const results = await execute(deregisteredAfterCheck(missing!), [
      copy(missing!, "leaven/base/missing"),
      copy(home!, "leaven/base/present"),
      setTags("us-east-1", other!, { [channelTag("release")]: "true" }),
    ]);

    const failed = results.filter((r) => !r.ok);
    expect(failed).toEqual([
      {
        actions: [
          expect.objectContaining({
            kind: "copy-image",
            copy: expect.objectContaining({ sourceImageId: missing }),
          }),
        ],
        ok: false,
        retryable: false,
        error: `InvalidAMIID.NotFound: The image id '[${missing}]' does not exist`,
      },
    ]);
    const copied = results.find((r) => r.ok && r.actions[0]!.kind === "copy-image");
    expect(copied?.created).toMatch(/^ami-[0-9a-f]{17}$/);
    expect(results.filter((r) => r.ok)).toHaveLength(2);
    // Not retried: a missing image does not appear by asking again.
    expect(t.adapter.stats().byRegion["eu-west-1"]?.byAction.CopyImage).toMatchObject({
      requests: 2,
      retried: 0,
    });
  });

  it("gives a copy exactly the planned tags, not the source's channel, share or bake-instance tags", async () => {
    const [home] = seed("us-east-1", 1, {
      [channelTag("release")]: "true",
      [Tag.shared]: "abc123",
      [Tag.bakeInstance]: "i-0123456789abcdef0",
    });
    const tags = { ...ownedTags(), [Tag.homeRegion]: "us-east-1", [Tag.homeImage]: home! };
    const [result] = await execute(t.cloud, [
      {
        kind: "copy-image",
        spec: "base",
        build: BUILD,
        region: "eu-west-1",
        copy: {
          sourceRegion: "us-east-1",
          sourceImageId: home!,
          name: "leaven/base/1.0.0_0badcafe",
          description: "copy",
          clientToken: "copy-token",
          tags,
        },
        reason: "test",
      },
    ]);
    expect(result?.ok).toBe(true);
    const [copy] = await imagesIn("eu-west-1");
    expect(copy).toMatchObject({ imageId: result?.created, state: "pending" });
    expect(copy?.tags).toEqual(tags);
  });

  it("treats create-image on a name that already exists as done (a repeat after a crash)", async () => {
    const parent = await vendorParent();
    const [launched] = await execute(t.cloud, [launchAction(parent, "launch-token")]);
    const instanceId = launched!.created!;
    t.clock.advance(5 * MINUTE);
    const create: CreateImageAction = {
      kind: "create-image",
      spec: "base",
      build: BUILD,
      region: "us-east-1",
      image: { instanceId, name: "leaven/base/1.0.0_0badcafe", description: "baked", tags: ownedTags() },
      reason: "test",
    };
    const [first] = await execute(t.cloud, [create]);
    expect(first).toMatchObject({ ok: true, created: expect.stringMatching(/^ami-[0-9a-f]{17}$/) });
    const [again] = await execute(t.cloud, [create]);
    expect(again).toEqual({ actions: [create], ok: true });

    expect(t.sim.stats().errors).toEqual({ "InvalidAMIName.Duplicate": 1 });
    const images = await imagesIn("us-east-1");
    expect(images.map((i) => i.imageId)).toEqual([first!.created]);
  });

  it("launches one instance for a repeated launch-bake with the same client token", async () => {
    const parent = await vendorParent();
    const [first] = await execute(t.cloud, [launchAction(parent, "launch-token")]);
    const [second] = await execute(t.cloud, [launchAction(parent, "launch-token")]);
    expect(first).toMatchObject({ ok: true, created: expect.stringMatching(/^i-[0-9a-f]{17}$/) });
    expect(second?.created).toBe(first?.created);
    expect(t.sim.stats().byAction.RunInstances).toBe(2);

    const instances = await t.adapter.describeInstances("us-east-1", [
      { name: `tag:${Tag.build}`, values: [BUILD] },
    ]);
    expect(instances.map((i) => i.instanceId)).toEqual([first?.created]);
    // A new attempt (a new token) is a new instance.
    const [third] = await execute(t.cloud, [launchAction(parent, "launch-token-2")]);
    expect(third?.created).not.toBe(first?.created);
  });
});
