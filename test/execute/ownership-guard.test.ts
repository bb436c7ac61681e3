// The executor's own ownership check, against the simulator over HTTP: whatever a plan says, an action
// that would change or delete a resource that is not this installation's is refused before any mutating
// request is sent, with a message that says which resource and why.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { channelTag, MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import type { CloudImage, CloudPort, Tags } from "../../controller/cloud/port.ts";
import { execute } from "../../controller/execute/executor.ts";
import { renderUserData } from "../../controller/execute/user-data.ts";
import { observeImages } from "../../controller/observe/observe.ts";
import type { Action, SetTagsAction } from "../../controller/plan/actions.ts";
import { type SimCloud, startSimCloud } from "../support/sim-cloud.ts";
import { ubuntuFoundation } from "../support/sim-specs.ts";

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

const BUILD = "1.0.0+0badcafe";
const owned: Tags = { [Tag.managedBy]: MANAGED_BY_VALUE, [Tag.spec]: "base", [Tag.build]: BUILD };

const lookAlikes: [string, Tags, string][] = [
  [
    "without the owner tag",
    { [Tag.spec]: "base", [Tag.build]: BUILD },
    "it has no leaven.dev/managed-by tag",
  ],
  [
    "owned by another tool",
    { ...owned, [Tag.managedBy]: "packer" },
    'its leaven.dev/managed-by tag is "packer", not "leaven"',
  ],
  [
    "with the owner value in another case",
    { ...owned, [Tag.managedBy]: "Leaven" },
    'its leaven.dev/managed-by tag is "Leaven", not "leaven"',
  ],
  [
    "of another installation",
    { ...owned, [Tag.installation]: "team-b" },
    'it belongs to installation "team-b", not "default"',
  ],
];

function seedImage(tags: Tags, region = "us-east-1"): CloudImage["imageId"] {
  return t.sim.seedImages([{ region, name: `leaven/base/look-alike-${Math.random()}`, tags }])[0]!;
}

async function imageIn(region: string, imageId: string): Promise<CloudImage | undefined> {
  const images = await t.adapter.describeImages(region, { owners: ["self"], includeDisabled: true });
  return images.find((i) => i.imageId === imageId);
}

async function launchInstance(tags: Tags): Promise<string> {
  const inventory = await observeImages(t.cloud, [ubuntuFoundation(["us-east-1"])], { now: t.clock.now() });
  const parent = inventory.vendorImages.get("ubuntu")![0]!;
  const { instanceId } = await t.cloud.runInstance("us-east-1", {
    imageId: parent.imageId,
    instanceType: "t3.medium",
    userData: renderUserData({ buildId: BUILD, spec: "base" }),
    clientToken: `token-${Math.random()}`,
    tags: { ...tags, [Tag.role]: "bake" },
  });
  return instanceId;
}

const common = { spec: "base", build: BUILD, region: "us-east-1", reason: "test" } as const;

/** One action of each kind that changes an existing resource, aimed at `id`. */
const actionsOn: [string, "image" | "instance", (id: string, snapshots: string[]) => Action][] = [
  [
    "set-tags",
    "image",
    (imageId) => ({ ...common, kind: "set-tags", imageId, tags: { [channelTag("release")]: "true" } }),
  ],
  [
    "remove-tags",
    "image",
    (imageId) => ({ ...common, kind: "remove-tags", imageId, keys: [channelTag("release")] }),
  ],
  [
    "share-image",
    "image",
    (imageId, snapshotIds) => ({
      ...common,
      kind: "share-image",
      imageId,
      permissions: { accounts: ["111122223333"] },
      snapshotIds,
      snapshotAccounts: ["111122223333"],
      shareHash: "abc",
    }),
  ],
  [
    "deregister-image",
    "image",
    (imageId, snapshotIds) => ({ ...common, kind: "deregister-image", imageId, snapshotIds }),
  ],
  [
    "copy-image",
    "image",
    (sourceImageId) => ({
      ...common,
      kind: "copy-image",
      region: "eu-west-1",
      copy: {
        sourceRegion: "us-east-1",
        sourceImageId,
        name: "leaven/base/copy",
        clientToken: "copy-token",
        tags: owned,
      },
    }),
  ],
  ["disable-image", "image", (imageId) => ({ ...common, kind: "disable-image", imageId })],
  [
    "deprecate-image",
    "image",
    (imageId) => ({
      ...common,
      kind: "deprecate-image",
      imageId,
      deprecateAt: "2026-06-01T12:01:00.000Z",
      tags: { [Tag.deprecatedAt]: "2026-06-01T12:00:00.000Z" },
    }),
  ],
  [
    "restore-image",
    "image",
    (imageId) => ({
      ...common,
      kind: "restore-image",
      imageId,
      enable: false,
      undeprecate: false,
      keys: [Tag.unusedSince],
    }),
  ],
  ["terminate-instance", "instance", (instanceId) => ({ ...common, kind: "terminate-instance", instanceId })],
  [
    "keep-instance",
    "instance",
    (instanceId) => ({
      ...common,
      kind: "keep-instance",
      instanceId,
      tags: { [Tag.bakeResult]: "failed", [Tag.bakeReason]: "timed out" },
      stop: true,
    }),
  ],
  [
    "tag-instance",
    "instance",
    (instanceId) => ({ ...common, kind: "tag-instance", instanceId, tags: { [Tag.bakeResult]: "success" } }),
  ],
  [
    "create-image",
    "instance",
    (instanceId) => ({
      ...common,
      kind: "create-image",
      image: { instanceId, name: "leaven/base/from-foreign", tags: owned },
    }),
  ],
];

describe("execute: the ownership check before every change", () => {
  it.each(
    actionsOn.flatMap(([kind, resource, make]) =>
      lookAlikes.map(([how, tags, why]) => [kind, how, resource, make, tags, why] as const),
    ),
  )("refuses %s on a look-alike %s", async (_kind, _how, resource, make, tags, why) => {
    const id = resource === "image" ? seedImage(tags) : await launchInstance(tags);
    const snapshots = resource === "image" ? ((await imageIn("us-east-1", id))?.snapshotIds ?? []) : [];
    const action = make(id, snapshots);
    t.sim.resetStats();
    const results = await execute(t.cloud, [action]);

    expect(results).toEqual([
      {
        actions: [action],
        ok: false,
        retryable: false,
        error: `refused: ${resource} ${id} in us-east-1 is not Leaven's to change: ${why}. Leaven never changes or deletes a resource it does not own`,
      },
    ]);
    expect(t.sim.stats().mutating).toBe(0);
    if (resource === "image") expect((await imageIn("us-east-1", id))?.tags).toEqual(tags);
  });

  it.each(actionsOn)("runs %s on a resource that is Leaven's", async (_kind, resource, make) => {
    const id = resource === "image" ? seedImage(owned) : await launchInstance(owned);
    if (resource === "instance") t.clock.advance(10 * 60_000);
    const snapshots = resource === "image" ? ((await imageIn("us-east-1", id))?.snapshotIds ?? []) : [];
    // Seeded snapshots carry no tags; give them the owner tag as CreateImage's tag specification does.
    if (snapshots.length > 0) await t.cloud.createTags("us-east-1", snapshots, owned);
    const results = await execute(t.cloud, [make(id, snapshots)]);
    expect(results.map((r) => [r.ok, r.error])).toEqual([[true, undefined]]);
  });

  it("refuses to deregister an image whose snapshots include one that is not Leaven's", async () => {
    const image = seedImage(owned);
    const foreign = seedImage({ [Tag.spec]: "base" });
    const own = (await imageIn("us-east-1", image))!.snapshotIds;
    const other = (await imageIn("us-east-1", foreign))!.snapshotIds;
    // Seeded snapshots carry no tags; give ours the owner tag as CreateImage would.
    await t.cloud.createTags("us-east-1", own, owned);
    const action: Action = {
      ...common,
      kind: "deregister-image",
      imageId: image,
      snapshotIds: [...own, ...other],
    };
    t.sim.resetStats();
    const [result] = await execute(t.cloud, [action]);
    expect(result?.error).toBe(
      `refused: snapshot ${other[0]} in us-east-1 is not Leaven's to change: it has no leaven.dev/managed-by tag. Leaven never changes or deletes a resource it does not own`,
    );
    expect(t.sim.stats().mutating).toBe(0);
    expect((await imageIn("us-east-1", image))?.state).toBe("available");
  });

  it("refuses to share an image whose snapshots include one that is not Leaven's", async () => {
    const image = seedImage(owned);
    const foreign = seedImage({ [Tag.spec]: "base" });
    const own = (await imageIn("us-east-1", image))!.snapshotIds;
    const other = (await imageIn("us-east-1", foreign))!.snapshotIds;
    await t.cloud.createTags("us-east-1", own, owned);
    const action: Action = {
      ...common,
      kind: "share-image",
      imageId: image,
      permissions: { accounts: ["111122223333"] },
      snapshotIds: [...own, ...other],
      snapshotAccounts: ["111122223333"],
      shareHash: "abc",
    };
    t.sim.resetStats();
    const [result] = await execute(t.cloud, [action]);
    expect(result?.error).toBe(
      `refused: snapshot ${other[0]} in us-east-1 is not Leaven's to change: it has no leaven.dev/managed-by tag. Leaven never changes or deletes a resource it does not own`,
    );
    expect(t.sim.stats().mutating).toBe(0);
    expect(await t.cloud.describeLaunchPermissions("us-east-1", image)).toEqual({
      accounts: [],
      organizationArns: [],
      organizationalUnitArns: [],
      public: false,
    });
  });

  it("refuses a resource that does not exist, before asking EC2 to change it", async () => {
    const gone = "ami-0000000000000dead";
    const action: SetTagsAction = {
      ...common,
      kind: "set-tags",
      imageId: gone,
      tags: { [channelTag("release")]: "true" },
    };
    t.sim.resetStats();
    const [result] = await execute(t.cloud, [action]);
    expect(result).toEqual({
      actions: [action],
      ok: false,
      retryable: false,
      error: `refused: image ${gone} in us-east-1 is not Leaven's to change: it does not exist (or is not this account's). Leaven never changes or deletes a resource it does not own`,
    });
    expect(t.sim.stats().mutating).toBe(0);
  });

  it.each([
    [
      "launches an instance without the owner tag",
      {
        ...common,
        kind: "launch-bake",
        launch: {
          imageId: "ami-0",
          instanceType: "t3.micro",
          userData: "",
          clientToken: "x",
          tags: { [Tag.spec]: "base" },
        },
      },
      "refused: the new resource would not be this installation's (it has no leaven.dev/managed-by tag), so Leaven could never manage it",
    ],
    [
      "copies an image into another installation",
      {
        ...common,
        kind: "copy-image",
        copy: {
          sourceRegion: "us-east-1",
          sourceImageId: "ami-0",
          name: "n",
          clientToken: "x",
          tags: { ...owned, [Tag.installation]: "team-b" },
        },
      },
      `refused: the new resource would not be this installation's (it belongs to installation "team-b", not "default"), so Leaven could never manage it`,
    ],
    [
      "images an instance into an image without the owner tag",
      {
        ...common,
        kind: "create-image",
        image: { instanceId: "i-0", name: "leaven/base/x", tags: { [Tag.spec]: "base" } },
      },
      "refused: the new resource would not be this installation's (it has no leaven.dev/managed-by tag), so Leaven could never manage it",
    ],
    [
      "launches a check instance owned by another tool",
      {
        ...common,
        kind: "launch-check",
        check: "smoke",
        launch: {
          imageId: "ami-0",
          instanceType: "t3.micro",
          userData: "",
          clientToken: "x",
          tags: { ...owned, [Tag.managedBy]: "packer" },
        },
      },
      `refused: the new resource would not be this installation's (its leaven.dev/managed-by tag is "packer", not "leaven"), so Leaven could never manage it`,
    ],
    [
      "keeps an instance while moving it to another installation",
      {
        ...common,
        kind: "keep-instance",
        instanceId: "i-0",
        tags: { [Tag.bakeResult]: "failed", [Tag.installation]: "team-b" },
        stop: false,
      },
      "refused: Leaven never changes the ownership tag leaven.dev/installation",
    ],
    [
      "records a verdict while moving the instance to another owner",
      {
        ...common,
        kind: "tag-instance",
        instanceId: "i-0",
        tags: { [Tag.bakeResult]: "success", [Tag.managedBy]: "nobody" },
      },
      "refused: Leaven never changes the ownership tag leaven.dev/managed-by",
    ],
    [
      "terminates an instance after retagging its owner",
      { ...common, kind: "terminate-instance", instanceId: "i-0", tags: { [Tag.managedBy]: "nobody" } },
      "refused: Leaven never changes the ownership tag leaven.dev/managed-by",
    ],
    [
      "sets the owner tag",
      { ...common, kind: "set-tags", imageId: "ami-0", tags: { [Tag.managedBy]: "leaven" } },
      "refused: Leaven never changes the ownership tag leaven.dev/managed-by",
    ],
    [
      "removes both ownership tags",
      { ...common, kind: "remove-tags", imageId: "ami-0", keys: [Tag.managedBy, Tag.installation] },
      "refused: Leaven never changes the ownership tag leaven.dev/managed-by, leaven.dev/installation",
    ],
    [
      "removes the installation tag",
      { ...common, kind: "remove-tags", imageId: "ami-0", keys: [channelTag("x"), Tag.installation] },
      "refused: Leaven never changes the ownership tag leaven.dev/installation",
    ],
  ] as [string, Action, string][])("refuses an action that %s", async (_name, action, error) => {
    t.sim.resetStats();
    const results = await execute(t.cloud, [action]);
    expect(results).toEqual([{ actions: [action], ok: false, retryable: false, error }]);
    expect(t.sim.stats().requests).toBe(0);
  });

  it("still refuses to create an unowned instance when ownership cannot be read", async () => {
    const seeded = seedImage(owned);
    const blind: CloudPort = {
      ...t.cloud,
      describeImages: async () => {
        throw new Error("connect ECONNREFUSED 127.0.0.1:1");
      },
    };
    const unowned: Action = {
      ...common,
      kind: "launch-bake",
      launch: {
        imageId: "ami-0",
        instanceType: "t3.micro",
        userData: "",
        clientToken: "x",
        tags: { [Tag.spec]: "base" },
      },
    };
    const tag: SetTagsAction = {
      ...common,
      kind: "set-tags",
      imageId: seeded,
      tags: { [channelTag("release")]: "true" },
    };
    t.sim.resetStats();
    const results = await execute(blind, [unowned, tag]);
    expect(results.find((r) => r.actions[0] === unowned)).toEqual({
      actions: [unowned],
      ok: false,
      retryable: false,
      error:
        "refused: the new resource would not be this installation's (it has no leaven.dev/managed-by tag), so Leaven could never manage it",
    });
    expect(t.sim.stats().byAction.RunInstances).toBeUndefined();
  });

  it("runs nothing that changes an existing resource when ownership cannot be read, and says so", async () => {
    const image = seedImage(owned);
    const blind: CloudPort = {
      ...t.cloud,
      describeImages: async () => {
        throw new Error("connect ECONNREFUSED 127.0.0.1:1");
      },
    };
    const tag: SetTagsAction = {
      ...common,
      kind: "set-tags",
      imageId: image,
      tags: { [channelTag("release")]: "true" },
    };
    const results = await execute(blind, [tag]);
    expect(results).toEqual([
      {
        actions: [tag],
        ok: false,
        retryable: true,
        error: "not run: could not verify ownership: connect ECONNREFUSED 127.0.0.1:1",
      },
    ]);
    expect((await imageIn("us-east-1", image))?.tags).toEqual(owned);
  });

  it("reads ownership back in one describe call per region and resource kind", async () => {
    const east = [seedImage(owned), seedImage(owned), seedImage(owned)];
    const west = [seedImage(owned, "eu-west-1")];
    const tag = (region: string, imageId: string): SetTagsAction => ({
      ...common,
      region,
      kind: "set-tags",
      imageId,
      tags: { [channelTag("release")]: "true" },
    });
    t.sim.resetStats();
    await execute(t.cloud, [
      ...east.map((id) => tag("us-east-1", id)),
      ...west.map((id) => tag("eu-west-1", id)),
    ]);
    expect(t.sim.stats().byAction).toEqual({ DescribeImages: 2, CreateTags: 2 });
  });

  it("reads each resource back once, however many actions change it", async () => {
    const images = [seedImage(owned), seedImage(owned)];
    const release = { [channelTag("release")]: "true" };
    // 150 actions on each of two images: 300 targets, two resources, one describe call.
    const actions: Action[] = Array.from({ length: 300 }, (_, i) => ({
      ...common,
      kind: "set-tags",
      imageId: images[i % 2]!,
      tags: release,
    }));
    t.sim.resetStats();
    const results = await execute(t.cloud, actions);
    expect(results.map((r) => [r.ok, r.actions.length])).toEqual([[true, 300]]);
    expect(t.sim.stats().byAction).toEqual({ DescribeImages: 1, CreateTags: 1 });
  });

  it("reads back exactly the targeted resources by id: this account's images (disabled too), instances and snapshots", async () => {
    const image = seedImage(owned);
    const snapshots = (await imageIn("us-east-1", image))!.snapshotIds;
    await t.cloud.createTags("us-east-1", snapshots, owned);
    const instance = await launchInstance(owned);
    const calls: unknown[] = [];
    const spy: CloudPort = {
      ...t.cloud,
      describeImages: (region, input) => {
        calls.push(["DescribeImages", region, input]);
        return t.cloud.describeImages(region, input);
      },
      describeInstances: (region, filters) => {
        calls.push(["DescribeInstances", region, filters]);
        return t.cloud.describeInstances(region, filters);
      },
      describeSnapshots: (region, filters) => {
        calls.push(["DescribeSnapshots", region, filters]);
        return t.cloud.describeSnapshots(region, filters);
      },
    };
    const results = await execute(spy, [
      { ...common, kind: "deregister-image", imageId: image, snapshotIds: snapshots },
      { ...common, kind: "terminate-instance", instanceId: instance },
    ]);
    expect(results.map((r) => r.ok)).toEqual([true, true]);
    expect(calls).toHaveLength(3);
    expect(calls).toEqual(
      expect.arrayContaining([
        [
          "DescribeImages",
          "us-east-1",
          {
            owners: ["self"],
            filters: [{ name: "image-id", values: [image] }],
            includeDeprecated: true,
            includeDisabled: true,
          },
        ],
        ["DescribeInstances", "us-east-1", [{ name: "instance-id", values: [instance] }]],
        ["DescribeSnapshots", "us-east-1", [{ name: "snapshot-id", values: snapshots }]],
      ]),
    );
  });

  it("deregisters an image that was disabled earlier (a revoked build): disabled, it is still Leaven's", async () => {
    const image = seedImage(owned);
    const snapshots = (await imageIn("us-east-1", image))!.snapshotIds;
    await t.cloud.createTags("us-east-1", snapshots, owned);
    await t.cloud.disableImage("us-east-1", image);
    expect((await imageIn("us-east-1", image))?.state).toBe("disabled");
    const action: Action = { ...common, kind: "deregister-image", imageId: image, snapshotIds: snapshots };
    const results = await execute(t.cloud, [action]);
    expect(results).toEqual([{ actions: [action], ok: true }]);
    expect(await imageIn("us-east-1", image)).toBeUndefined();
  });

  it("refuses to tag another account's public image as if it did not exist, though EC2 lists it", async () => {
    const inventory = await observeImages(t.cloud, [ubuntuFoundation(["us-east-1"])], { now: t.clock.now() });
    const vendor = inventory.vendorImages.get("ubuntu")![0]!.imageId;
    const action: SetTagsAction = {
      ...common,
      kind: "set-tags",
      imageId: vendor,
      tags: { [channelTag("release")]: "true" },
    };
    t.sim.resetStats();
    const results = await execute(t.cloud, [action]);
    expect(results).toEqual([
      {
        actions: [action],
        ok: false,
        retryable: false,
        error: `refused: image ${vendor} in us-east-1 is not Leaven's to change: it does not exist (or is not this account's). Leaven never changes or deletes a resource it does not own`,
      },
    ]);
    expect(t.sim.stats().mutating).toBe(0);
  });
});
