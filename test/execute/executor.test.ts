// The executor against the simulator over HTTP: batching, failure isolation and idempotency, counted in
// the requests the simulator actually received.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { channelTag, MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import type { CloudImage, CloudPort, Tags } from "../../controller/cloud/port.ts";
import { type ActionResult, execute } from "../../controller/execute/executor.ts";
import { renderUserData } from "../../controller/execute/user-data.ts";
import { observeImages } from "../../controller/observe/observe.ts";
import type {
  Action,
  CopyImageAction,
  CreateImageAction,
  DeregisterImageAction,
  DisableImageAction,
  KeepInstanceAction,
  LaunchBakeAction,
  LaunchCheckAction,
  RemoveTagsAction,
  SetTagsAction,
  TerminateInstanceAction,
} from "../../controller/plan/actions.ts";
import { MINUTE, type SimCloud, startSimCloud, whileTicking } from "../support/sim-cloud.ts";
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
    const results = await whileTicking(
      t.clock,
      execute(
        deregisteredAfterCheck(gone!),
        [...good, gone!].map((id) => setTags("us-east-1", id, release)),
      ),
    );
    // The batch once (a NotFound in a batch is split at once), each image alone, the missing one on the
    // consistency budget (4 attempts): EC2 may not show an image yet, and the next pass observes again.
    expect(t.sim.stats().byAction).toEqual({ DescribeImages: 1, DeregisterImage: 1, CreateTags: 7 });
    expect(
      results.map((r) => [r.ok, r.actions.map((a) => (a as SetTagsAction).imageId), r.retryable]),
    ).toEqual(
      expect.arrayContaining([
        [true, [good[0]], undefined],
        [true, [good[1]], undefined],
        [false, [gone], true],
      ]),
    );
    expect(results.find((r) => !r.ok)?.error).toBe(
      `InvalidAMIID.NotFound: The image id '[${gone}]' does not exist (still failing after 4 attempts, which is how EC2 shows a change it has not caught up with yet; the next pass observes again)`,
    );
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
    const results = await whileTicking(
      t.clock,
      execute(deregisteredAfterCheck(missing!), [
        copy(missing!, "leaven/base/missing"),
        copy(home!, "leaven/base/present"),
        setTags("us-east-1", other!, { [channelTag("release")]: "true" }),
      ]),
    );

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
        retryable: true,
        error: `InvalidAMIID.NotFound: The image id '[${missing}]' does not exist (still failing after 4 attempts, which is how EC2 shows a change it has not caught up with yet; the next pass observes again)`,
      },
    ]);
    const copied = results.find((r) => r.ok && r.actions[0]!.kind === "copy-image");
    expect(copied?.created).toMatch(/^ami-[0-9a-f]{17}$/);
    expect(results.filter((r) => r.ok)).toHaveLength(2);
    // Retried on the consistency budget only (a source just made may not be visible yet); the next pass
    // observes whether it is gone.
    expect(t.adapter.stats().byRegion["eu-west-1"]?.byAction.CopyImage).toMatchObject({
      requests: 5,
      retried: 3,
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
    expect(again).toEqual({ actions: [create], ok: true, created: first!.created });

    expect(t.sim.stats().errors).toEqual({ "InvalidAMIName.Duplicate": 1 });
    const images = await imagesIn("us-east-1");
    expect(images.map((i) => i.imageId)).toEqual([first!.created]);
  });

  it.each([
    [
      "no owner tag",
      { [Tag.spec]: "base", [Tag.build]: BUILD },
      "it is not Leaven's (it has no leaven.dev/managed-by tag)",
    ],
    [
      "another owner",
      { [Tag.managedBy]: "packer", [Tag.spec]: "base", [Tag.build]: BUILD },
      `it is not Leaven's (its leaven.dev/managed-by tag is "packer", not "leaven")`,
    ],
    [
      "another installation",
      { ...ownedTags(), [Tag.installation]: "team-b" },
      `it is not Leaven's (it belongs to installation "team-b", not "default")`,
    ],
    [
      "another build",
      ownedTags("1.0.1+0badcafe"),
      "it carries leaven.dev/spec=base leaven.dev/build=1.0.1+0badcafe, not base 1.0.0+0badcafe",
    ],
  ])(
    "fails create-image for good when the name is held by a look-alike (%s), naming it",
    async (_, tags, why) => {
      const parent = await vendorParent();
      const [launched] = await execute(t.cloud, [launchAction(parent, "launch-token")]);
      t.clock.advance(5 * MINUTE);
      const name = "leaven/base/1.0.0_0badcafe";
      const [foreign] = t.sim.seedImages([{ region: "us-east-1", name, tags }]);
      const create: CreateImageAction = {
        kind: "create-image",
        spec: "base",
        build: BUILD,
        region: "us-east-1",
        image: { instanceId: launched!.created!, name, description: "baked", tags: ownedTags() },
        reason: "test",
      };
      const [result] = await execute(t.cloud, [create]);
      expect(result).toEqual({
        actions: [create],
        ok: false,
        retryable: false,
        error: `InvalidAMIName.Duplicate: image name ${name} is taken in us-east-1 by ${foreign}: ${why}. Leaven never adopts or changes it; deregister or rename that image (aws ec2 deregister-image --region us-east-1 --image-id ${foreign}) or bump the spec's version, then run apply again`,
      });
    },
  );

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

describe("execute launch-bake whose token EC2 refuses", () => {
  it("relaunches once, with a token derived from the terminated instance and the request, tagged rebake-of", async () => {
    const parent = await vendorParent();
    const [first] = await execute(t.cloud, [launchAction(parent, "launch-token")]);
    await t.cloud.terminateInstances("us-east-1", [first!.created!]);
    t.clock.advance(10 * MINUTE);
    const now = () => t.clock.now();
    const [again] = await execute(t.cloud, [launchAction(parent, "launch-token")], { now });
    expect(again).toMatchObject({ ok: true, created: expect.stringMatching(/^i-[0-9a-f]{17}$/) });
    expect(again!.created).not.toBe(first!.created);
    const relaunched = await instanceIn("us-east-1", again!.created!);
    expect(relaunched?.tags[Tag.rebakeOf]).toBe(first!.created);
    // The same repair again (a crash, a lost answer): the same token, the same instance.
    const [repeat] = await execute(t.cloud, [launchAction(parent, "launch-token")], { now });
    expect(repeat?.created).toBe(again!.created);
  });
});

// ---- Batching: which actions share one EC2 call ----------------------------------------------------------

const HOUR = 60 * MINUTE;

const removeTags = (region: string, imageId: string, keys: string[]): RemoveTagsAction => ({
  kind: "remove-tags",
  spec: "base",
  build: BUILD,
  region,
  imageId,
  keys,
  reason: "test",
});

const terminate = (region: string, instanceId: string, tags?: Tags): TerminateInstanceAction => ({
  kind: "terminate-instance",
  spec: "base",
  build: BUILD,
  region,
  instanceId,
  ...(tags ? { tags } : {}),
  reason: "test",
});

/** Bake instances of this installation, launched directly (not through the executor). */
async function bakeInstances(region: string, count: number): Promise<string[]> {
  const parent = await vendorParent(region);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const { instanceId } = await t.cloud.runInstance(
      region,
      launchAction(parent, `seed-${region}-${i}`).launch,
    );
    ids.push(instanceId);
  }
  return ids;
}

async function instanceIn(region: string, instanceId: string) {
  const [instance] = await t.adapter.describeInstances(region, [
    { name: "instance-id", values: [instanceId] },
  ]);
  return instance;
}

/** Results are in completion order: compare them as a set. */
const unordered = <T>(list: T[]): T[] =>
  [...list].sort((a, b) => JSON.stringify(a).localeCompare(JSON.stringify(b)));

const idsOf = (result: ActionResult) =>
  result.actions.map(
    (a) =>
      (a as { imageId?: string; instanceId?: string }).imageId ?? (a as { instanceId: string }).instanceId,
  );

describe("execute: batching", () => {
  it("puts set-tags with the same tags in one CreateTags call whatever order their keys were written in", async () => {
    const ids = seed("us-east-1", 2);
    const results = await execute(t.cloud, [
      setTags("us-east-1", ids[0]!, { [Tag.bakeResult]: "success", [channelTag("release")]: "true" }),
      setTags("us-east-1", ids[1]!, { [channelTag("release")]: "true", [Tag.bakeResult]: "success" }),
    ]);
    expect(results.map((r) => [r.ok, idsOf(r)])).toEqual([[true, ids]]);
    expect(t.sim.stats().byAction.CreateTags).toBe(1);
  });

  it("removes the same keys from many images in one DeleteTags call, and different keys in another", async () => {
    const release = channelTag("release");
    const candidate = channelTag("candidate");
    const ids = seed("us-east-1", 3, { [release]: "true", [candidate]: "true" });
    t.sim.resetStats();
    const results = await execute(t.cloud, [
      removeTags("us-east-1", ids[0]!, [release, candidate]),
      removeTags("us-east-1", ids[1]!, [candidate, release]),
      removeTags("us-east-1", ids[2]!, [candidate]),
    ]);
    expect(t.sim.stats().byAction).toEqual({ DescribeImages: 1, DeleteTags: 2 });
    expect(unordered(results.map((r) => [r.ok, idsOf(r)]))).toEqual(
      unordered([
        [true, [ids[0], ids[1]]],
        [true, [ids[2]]],
      ]),
    );
    const tags = new Map((await imagesIn("us-east-1")).map((i) => [i.imageId, i.tags]));
    expect(tags.get(ids[0]!)).toEqual(ownedTags("1.0.0+0badcafe"));
    expect(tags.get(ids[1]!)).toEqual(ownedTags("1.0.1+0badcafe"));
    expect(tags.get(ids[2]!)).toEqual({ ...ownedTags("1.0.2+0badcafe"), [release]: "true" });
  });

  it("splits a DeleteTags batch that EC2 rejects for one vanished image, so the others still lose the keys", async () => {
    const release = channelTag("release");
    const good = seed("us-east-1", 2, { [release]: "true" });
    const [gone] = seed("us-east-1", 1, { [release]: "true" });
    t.sim.resetStats();
    const results = await whileTicking(
      t.clock,
      execute(
        deregisteredAfterCheck(gone!),
        [...good, gone!].map((id) => removeTags("us-east-1", id, [release])),
      ),
    );
    // The batch of three, then each image alone (the missing one 4 times, on the consistency budget).
    expect(t.sim.stats().byAction).toEqual({ DescribeImages: 1, DeregisterImage: 1, DeleteTags: 7 });
    expect(results.map((r) => [r.ok, idsOf(r), r.retryable])).toEqual(
      expect.arrayContaining([
        [true, [good[0]], undefined],
        [true, [good[1]], undefined],
        [false, [gone], true],
      ]),
    );
    expect(results).toHaveLength(3);
    const tags = new Map((await imagesIn("us-east-1")).map((i) => [i.imageId, i.tags]));
    for (const id of good) expect(tags.get(id)?.[release]).toBeUndefined();
  });

  it("tags 1000 images in two CreateTags calls of 500 ids, after reading ownership back 200 ids at a time", async () => {
    const ids = seed("us-east-1", 1000);
    const described: number[] = [];
    const tagged: number[] = [];
    const spy: CloudPort = {
      ...t.cloud,
      describeImages: (region, input) => {
        described.push(input.filters?.[0]?.values.length ?? 0);
        return t.cloud.describeImages(region, input);
      },
      createTags: (region, resourceIds, tags) => {
        tagged.push(resourceIds.length);
        return t.cloud.createTags(region, resourceIds, tags);
      },
    };
    const release = { [channelTag("release")]: "true" };
    t.sim.resetStats();
    const results = await execute(
      spy,
      ids.map((id) => setTags("us-east-1", id, release)),
    );
    expect(results.map((r) => [r.ok, r.actions.length])).toEqual([
      [true, 500],
      [true, 500],
    ]);
    expect(described).toEqual([200, 200, 200, 200, 200]);
    expect(tagged).toEqual([500, 500]);
    expect(t.sim.stats().byAction).toEqual({ DescribeImages: 5, CreateTags: 2 });
    expect(new Set(results.flatMap(idsOf))).toEqual(new Set(ids));
    const images = await imagesIn("us-east-1");
    expect(images.filter((i) => i.tags[channelTag("release")] === "true")).toHaveLength(1000);
  });

  it("terminates untagged instances in one TerminateInstances call per region; one with tags is tagged, then terminated alone", async () => {
    const east = await bakeInstances("us-east-1", 3);
    const [west] = await bakeInstances("eu-west-1", 1);
    const failed = { [Tag.bakeResult]: "failed", [Tag.bakeReason]: "timed out" };
    t.sim.resetStats();
    const results = await execute(t.cloud, [
      terminate("us-east-1", east[0]!),
      terminate("eu-west-1", west!),
      terminate("us-east-1", east[1]!),
      terminate("us-east-1", east[2]!, failed),
    ]);
    expect(t.sim.stats().byAction).toEqual({ DescribeInstances: 2, CreateTags: 1, TerminateInstances: 3 });
    expect(t.sim.stats().errors).toEqual({});
    expect(unordered(results.map((r) => [r.ok, idsOf(r)]))).toEqual(
      unordered([
        [true, [east[0], east[1]]],
        [true, [east[2]]],
        [true, [west]],
      ]),
    );
    for (const id of east) expect((await instanceIn("us-east-1", id))?.state).toBe("shutting-down");
    expect((await instanceIn("eu-west-1", west!))?.state).toBe("shutting-down");
    expect((await instanceIn("us-east-1", east[2]!))?.tags).toMatchObject(failed);
    expect((await instanceIn("us-east-1", east[0]!))?.tags[Tag.bakeResult]).toBeUndefined();
  });

  it("splits a TerminateInstances batch that EC2 rejects for one vanished instance, so the others still terminate", async () => {
    const [a, b, gone] = await bakeInstances("us-east-1", 3);
    // The instance is terminated by someone else and drops out of EC2's answers between the check and the call.
    const racing: CloudPort = {
      ...t.cloud,
      describeInstances: async (region, filters) => {
        const found = await t.cloud.describeInstances(region, filters);
        await t.cloud.terminateInstances(region, [gone!]);
        t.clock.advance(2 * HOUR);
        return found;
      },
    };
    t.sim.resetStats();
    const results = await whileTicking(
      t.clock,
      execute(
        racing,
        [a!, b!, gone!].map((id) => terminate("us-east-1", id)),
      ),
    );
    // The racing call, the batch of three, then each instance alone (the vanished one 4 times: EC2 says a
    // NotFound from TerminateInstances does not mean terminated); no tags are written.
    expect(t.sim.stats().byAction).toEqual({ DescribeInstances: 1, TerminateInstances: 8 });
    expect(results).toHaveLength(3);
    expect(results.map((r) => [r.ok, idsOf(r)])).toEqual(
      expect.arrayContaining([
        [true, [a]],
        [true, [b]],
        [false, [gone]],
      ]),
    );
    expect(results.find((r) => !r.ok)).toMatchObject({
      retryable: true,
      error: `InvalidInstanceID.NotFound: The instance ID '${gone}' does not exist (still failing after 4 attempts, which is how EC2 shows a change it has not caught up with yet; the next pass observes again)`,
    });
    for (const id of [a!, b!]) expect((await instanceIn("us-east-1", id))?.state).toBe("shutting-down");
  });

  it("reports a batch that fails for a network error once, as retryable, without splitting it", async () => {
    const ids = seed("us-east-1", 3);
    let calls = 0;
    const flaky: CloudPort = {
      ...t.cloud,
      createTags: async () => {
        calls++;
        throw new Error("socket hang up");
      },
    };
    const actions = ids.map((id) => setTags("us-east-1", id, { [channelTag("release")]: "true" }));
    const results = await execute(flaky, actions);
    expect(results).toEqual([{ actions, ok: false, error: "socket hang up", retryable: true }]);
    expect(calls).toBe(1);
  });
});

// ---- What each action sends ----------------------------------------------------------------------------

describe("execute: each action's requests", () => {
  it("fails a create-image that EC2 rejects for anything but a duplicate name", async () => {
    const parent = await vendorParent();
    const [launched] = await execute(t.cloud, [launchAction(parent, "launch-token")]);
    t.clock.advance(5 * MINUTE);
    const name = "leaven/base/{1.0.0}";
    const create: CreateImageAction = {
      kind: "create-image",
      spec: "base",
      build: BUILD,
      region: "us-east-1",
      image: { instanceId: launched!.created!, name, description: "baked", tags: ownedTags() },
      reason: "test",
    };
    const [result] = await execute(t.cloud, [create]);
    expect(result).toEqual({
      actions: [create],
      ok: false,
      retryable: false,
      error: `InvalidAMIName.Malformed: AMI name '${name}' is invalid: names are 3 to 128 characters of letters, numbers, spaces and ( ) [ ] . / - ' @ _`,
    });
    expect(await imagesIn("us-east-1")).toEqual([]);
  });

  it("deregisters an image with its snapshots in one call (DeleteAssociatedSnapshots)", async () => {
    const [imageId] = seed("us-east-1", 1);
    const snapshotIds = (await imagesIn("us-east-1"))[0]!.snapshotIds;
    expect(snapshotIds.length).toBeGreaterThan(0);
    // Seeded snapshots carry no tags; give them the owner tag as CreateImage's tag specification does.
    await t.cloud.createTags("us-east-1", snapshotIds, ownedTags());
    const action: DeregisterImageAction = {
      kind: "deregister-image",
      spec: "base",
      build: BUILD,
      region: "us-east-1",
      imageId: imageId!,
      snapshotIds,
      reason: "test",
    };
    t.sim.resetStats();
    const results = await execute(t.cloud, [action]);
    expect(results).toEqual([{ actions: [action], ok: true }]);
    expect(t.sim.stats().byAction).toEqual({
      DescribeImages: 1,
      DescribeSnapshots: 1,
      DeregisterImage: 1,
    });
    expect(await imagesIn("us-east-1")).toEqual([]);
    expect(
      await t.adapter.describeSnapshots("us-east-1", [{ name: "snapshot-id", values: snapshotIds }]),
    ).toEqual([]);
  });

  it("launches a check instance from the new image and reports its id", async () => {
    const parent = await vendorParent();
    const check: LaunchCheckAction = {
      ...launchAction(parent, "check-token"),
      kind: "launch-check",
      check: "smoke",
    };
    t.sim.resetStats();
    const [result] = await execute(t.cloud, [check]);
    expect(result).toEqual({
      actions: [check],
      ok: true,
      created: expect.stringMatching(/^i-[0-9a-f]{17}$/),
    });
    expect(t.sim.stats().byAction).toEqual({ RunInstances: 1 });
    expect((await instanceIn("us-east-1", result!.created!))?.imageId).toBe(parent.imageId);
  });

  it("disables an image: it stays, but nothing new can launch from it", async () => {
    const [imageId] = seed("us-east-1", 1);
    const action: DisableImageAction = {
      kind: "disable-image",
      spec: "base",
      build: BUILD,
      region: "us-east-1",
      imageId: imageId!,
      reason: "test",
    };
    t.sim.resetStats();
    expect(await execute(t.cloud, [action])).toEqual([{ actions: [action], ok: true }]);
    expect(t.sim.stats().byAction).toEqual({ DescribeImages: 1, DisableImage: 1 });
    const images = await t.adapter.describeImages("us-east-1", { owners: ["self"], includeDisabled: true });
    expect(images.map((i) => [i.imageId, i.state])).toEqual([[imageId, "disabled"]]);
  });

  it.each([
    [true, "stopping", { DescribeInstances: 1, CreateTags: 1, StopInstances: 1 }],
    [false, "running", { DescribeInstances: 1, CreateTags: 1 }],
  ] as const)(
    "keeps a failed bake instance with its reason tagged (stop: %s leaves it %s)",
    async (stop, state, requests) => {
      // A bake that hangs: its instance is still running when it is given up on.
      t.sim.setFaults({ bakeHang: { specs: ["base"] } });
      const [instanceId] = await bakeInstances("us-east-1", 1);
      t.clock.advance(30 * MINUTE);
      const tags = { [Tag.bakeResult]: "failed", [Tag.bakeReason]: "timed out after 30m" };
      const action: KeepInstanceAction = {
        kind: "keep-instance",
        spec: "base",
        build: BUILD,
        region: "us-east-1",
        instanceId: instanceId!,
        tags,
        stop,
        reason: "test",
      };
      t.sim.resetStats();
      expect(await execute(t.cloud, [action])).toEqual([{ actions: [action], ok: true }]);
      expect(t.sim.stats().byAction).toEqual(requests);
      const kept = await instanceIn("us-east-1", instanceId!);
      expect(kept?.state).toBe(state);
      expect(kept?.tags).toMatchObject(tags);
    },
  );

  it("still launches bakes when ownership cannot be read back, and runs nothing that changes an existing resource", async () => {
    const parent = await vendorParent();
    const [image] = seed("us-east-1", 1);
    const blind: CloudPort = {
      ...t.cloud,
      describeImages: async () => {
        throw new Error("connect ECONNREFUSED 127.0.0.1:1");
      },
    };
    const launch = launchAction(parent, "launch-token");
    const tag = setTags("us-east-1", image!, { [channelTag("release")]: "true" });
    t.sim.resetStats();
    const results = await execute(blind, [tag, launch]);
    expect(results).toEqual([
      {
        actions: [tag],
        ok: false,
        retryable: true,
        error: "not run: could not verify ownership: connect ECONNREFUSED 127.0.0.1:1",
      },
      { actions: [launch], ok: true, created: expect.stringMatching(/^i-[0-9a-f]{17}$/) },
    ]);
    expect(t.sim.stats().byAction).toEqual({ RunInstances: 1 });
  });
});

// ---- Concurrency --------------------------------------------------------------------------------------

/** A cloud whose RunInstances takes a moment and counts how many are in flight per region at most. */
function countingLaunches(): { cloud: CloudPort; peak: Map<string, number> } {
  const inFlight = new Map<string, number>();
  const peak = new Map<string, number>();
  let n = 0;
  const cloud: CloudPort = {
    ...t.cloud,
    runInstance: async (region) => {
      const now = (inFlight.get(region) ?? 0) + 1;
      inFlight.set(region, now);
      peak.set(region, Math.max(peak.get(region) ?? 0, now));
      await new Promise((resolve) => setTimeout(resolve, 2));
      inFlight.set(region, inFlight.get(region)! - 1);
      n++;
      return { instanceId: `i-${n.toString(16).padStart(17, "0")}` };
    },
  };
  return { cloud, peak };
}

const fakeLaunch = (region: string, i: number): LaunchBakeAction => ({
  kind: "launch-bake",
  spec: `spec-${i}`,
  build: BUILD,
  region,
  launch: {
    imageId: "ami-0123456789abcdef0",
    instanceType: "t3.medium",
    userData: "",
    clientToken: `token-${region}-${i}`,
    tags: { ...ownedTags(), [Tag.role]: "bake" },
  },
  reason: "test",
});

describe("execute: concurrency", () => {
  it("keeps at most concurrencyPerRegion actions in flight in each region, and reports each result as it lands", async () => {
    const { cloud, peak } = countingLaunches();
    const actions = [
      ...Array.from({ length: 7 }, (_, i) => fakeLaunch("us-east-1", i)),
      ...Array.from({ length: 5 }, (_, i) => fakeLaunch("eu-west-1", i)),
    ];
    const seen: ActionResult[] = [];
    const results = await execute(cloud, actions, {
      concurrencyPerRegion: 3,
      onResult: (result) => seen.push(result),
    });
    expect(Object.fromEntries(peak)).toEqual({ "us-east-1": 3, "eu-west-1": 3 });
    expect(results).toHaveLength(12);
    expect(results.every((r) => r.ok && /^i-/.test(r.created ?? ""))).toBe(true);
    expect(new Set(results.flatMap((r) => r.actions))).toEqual(new Set(actions));
    expect(seen).toEqual(results);
  });

  it("keeps 32 actions in flight per region by default", async () => {
    const { cloud, peak } = countingLaunches();
    const results = await execute(
      cloud,
      Array.from({ length: 40 }, (_, i) => fakeLaunch("us-east-1", i)),
    );
    expect(peak.get("us-east-1")).toBe(32);
    expect(results).toHaveLength(40);
  });
});
