// The volume bake's state machine, one step per observed state, and the bakery host planner: pure tables.
import { describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import type { CloudImage, CloudSnapshot, CloudVolume, Tags } from "../../controller/cloud/port.ts";
import { renderChrootScript } from "../../controller/execute/chroot-script.ts";
import {
  emptyInventory,
  type Inventory,
  type ObservedCommand,
  type VolumeBakeObservation,
} from "../../controller/observe/inventory.ts";
import type { Action } from "../../controller/plan/actions.ts";
import { createBakery } from "../../controller/plan/bakery.ts";
import { plan } from "../../controller/plan/plan.ts";
import { bakeryHostToken, volumeToken } from "../../controller/plan/recipe.ts";
import {
  COMMAND_VISIBILITY_MS,
  cleanUp,
  SNAPSHOT_VISIBILITY_MS,
  type VolumeBakeContext,
} from "../../controller/plan/volume-bake.ts";
import { createPool } from "../../controller/plan/volume-pool.ts";
import type { BakeryConfig } from "../../controller/validation/leaven-config.ts";
import { inventory, MIN, spec, T0, ubuntu } from "./builders.ts";
import {
  attached,
  BUILD,
  docBaking,
  failureRecord,
  HOST as HOST_ID,
  host,
  observation,
  owner,
  REGION,
  step,
  V,
  volume,
} from "./volume-builders.ts";

/** The host's root volume: RunInstances tags it as the host (role=bakery). */
function rootVolume(): CloudVolume {
  return {
    volumeId: "vol-00000000000000root",
    region: REGION,
    availabilityZone: `${REGION}a`,
    state: "in-use",
    size: 8,
    attachments: [{ instanceId: host().instanceId, device: "/dev/xvda", state: "attached" }],
    tags: { ...owner, [Tag.role]: "bakery" },
  };
}

function command(
  status: ObservedCommand["status"],
  outcome?: ObservedCommand["outcome"],
  at = T0 - MIN,
): ObservedCommand {
  return {
    commandId: "cmd-1",
    instanceId: host().instanceId,
    volumeId: "vol-0000000000000001",
    build: BUILD,
    status,
    requestedAt: new Date(at).toISOString(),
    ...(outcome ? { outcome } : {}),
  };
}

const snapshot = (state: string, tags: Tags = {}): CloudSnapshot => ({
  snapshotId: "snap-0000000000000001",
  region: REGION,
  state,
  tags: {
    ...owner,
    [Tag.build]: BUILD,
    [Tag.role]: "volume-bake",
    [Tag.bakeVolume]: "vol-0000000000000001",
    ...tags,
  },
});

const pooled = (id: string, parentImageId: string): CloudVolume => ({
  ...volume(id),
  tags: {
    ...owner,
    [Tag.role]: "volume-pool",
    [Tag.parentImage]: parentImageId,
    [Tag.parentBuild]: "jammy",
  },
});

/** The home image of BUILD, available, still naming its bake volume. */
const bakedImage: CloudImage = {
  imageId: "ami-0000000000000baked",
  region: REGION,
  name: "leaven/base/1.0.0_abcdef12",
  ownerId: "123456789012",
  state: "available",
  creationDate: new Date(T0).toISOString(),
  snapshotIds: ["snap-0000000000000001"],
  tags: { ...owner, [Tag.bakeVolume]: V },
};

describe("the volume bake, one step per observed state", () => {
  it("waits for a host, and the bakery launches one (ClientToken per installation, region and day)", () => {
    const vb = observation({ hosts: [] });
    const { state, actions, ctx } = step(vb);
    expect(state).toEqual({ step: "in-progress", message: "waiting for a bakery host in us-east-1" });
    expect(actions).toEqual([]);
    ctx.bakery.finish(actions, T0);
    expect(actions).toHaveLength(1);
    const launch = actions[0]!;
    expect(launch.kind).toBe("launch-bakery-host");
    // The first spec that needs the host owns the launch: a launch EC2 refuses stalls it with the error.
    expect(launch.spec).toBe("base");
    if (launch.kind !== "launch-bakery-host") return;
    expect(launch.launch).toMatchObject({
      imageId: "ami-al2023",
      instanceType: "t3.medium",
      instanceProfile: "leaven-bakery",
      clientToken: bakeryHostToken("default", REGION, `day-${Math.floor(T0 / 86_400_000)}`),
      tags: { ...owner, [Tag.role]: "bakery" },
    });
  });

  it("creates the volume in the host's zone with a token from build, attempt and zone", () => {
    const { state, actions } = step(observation());
    expect(state.step).toBe("in-progress");
    expect(actions).toHaveLength(1);
    const create = actions[0]!;
    if (create.kind !== "create-volume") throw new Error(create.kind);
    expect(create.parentImageId).toBe("ami-parent");
    expect(create.volume.availabilityZone).toBe("us-east-1a");
    expect(create.volume.clientToken).toBe(volumeToken(BUILD, "0", "us-east-1a"));
    expect(create.volume.tags).toMatchObject({
      ...owner,
      [Tag.spec]: "base",
      [Tag.build]: BUILD,
      [Tag.role]: "volume-bake",
      [Tag.bakeMethod]: "volume",
    });
  });

  it("creates the volume encrypted with bake.kmsKeyId, its token naming the key, and takes no pool volume", () => {
    const KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const keyed = docBaking({ kmsKeyId: KEY });
    const vb = observation({ volumes: [pooled("vol-000000000000000a", "ami-parent")] });
    const { actions } = step(vb, { doc: keyed, pool: createPool(vb, 2) });
    expect(actions.map((a) => a.kind)).toEqual(["create-volume"]);
    const create = actions[0]!;
    if (create.kind !== "create-volume") throw new Error(create.kind);
    expect(create.volume.kmsKeyId).toBe(KEY);
    expect(create.volume.clientToken).toBe(volumeToken(BUILD, "0", `us-east-1a ${KEY}`));
    expect(create.volume.clientToken).not.toBe(volumeToken(BUILD, "0", "us-east-1a"));
  });

  it.each([
    ["creating", volume(V, { state: "creating" }), "volume vol-0000000000000001 is being created"],
    [
      "attaching",
      attached(V, "attaching"),
      "volume vol-0000000000000001 is attaching on i-0000000000000host",
    ],
  ])("waits while the volume is %s", (_, v, message) => {
    expect(step(observation({ volumes: [v] }))).toMatchObject({
      state: { step: "in-progress", message },
      actions: [],
    });
  });

  it("attaches under a device name free on the host", () => {
    const { actions } = step(
      observation({
        volumes: [volume(V)],
        devices: new Map([[host().instanceId, ["/dev/sdf", "/dev/sdg"]]]),
      }),
    );
    expect(actions).toMatchObject([
      { kind: "attach-volume", volumeId: V, instanceId: host().instanceId, device: "/dev/sdh" },
    ]);
  });

  it("waits while the host has bakery.maxConcurrentBakes volumes attached", () => {
    const other = volume("vol-0000000000000009", {
      state: "in-use",
      attachments: [{ instanceId: host().instanceId, device: "/dev/sdf", state: "attached" }],
      extra: { [Tag.build]: "9.9.9+99999999" },
    });
    const { state, actions } = step(
      observation({ volumes: [volume(V), other] }),
      {},
      { maxConcurrentBakes: 1 },
    );
    expect(actions).toEqual([]);
    expect(state).toMatchObject({
      step: "in-progress",
      message: expect.stringMatching(/bakery\.maxConcurrentBakes is 1/),
    });
  });

  it("sends the chroot script once attached, the comment naming build and volume", () => {
    const { actions } = step(observation({ volumes: [attached(V)] }));
    expect(actions).toHaveLength(1);
    const send = actions[0]!;
    if (send.kind !== "send-bake-command") throw new Error(send.kind);
    expect(send.command.comment).toBe(`leaven-bake ${BUILD} ${V}`);
    expect(send.command.instanceIds).toEqual([host().instanceId]);
    expect(send.command.commands.join("\n")).toContain(`LEAVEN_BUILD_ID=`);
    expect(send.command.commands.join("\n")).toMatch(new RegExp(`^LEAVEN_VOLUME_ID='?${V}'?$`, "m"));
  });

  it("sends the bake again only COMMAND_VISIBILITY_MS after a send that is not listed (its answer may be lost)", () => {
    const sent = (ago: number) =>
      attached(V, "attached", { [Tag.commandRequestedAt]: new Date(T0 - ago).toISOString() });
    expect(step(observation({ volumes: [sent(COMMAND_VISIBILITY_MS - 1)] }))).toMatchObject({
      actions: [],
      state: {
        step: "in-progress",
        message: `waiting for the bake command on ${host().instanceId} to be listed (sent at ${new Date(T0 - COMMAND_VISIBILITY_MS + 1).toISOString()})`,
      },
    });
    expect(step(observation({ volumes: [sent(COMMAND_VISIBILITY_MS)] })).kinds).toEqual([
      "send-bake-command",
    ]);
    // Listed: the command is followed whatever the tag says.
    const listed = observation({
      volumes: [sent(MIN)],
      commands: new Map([[V, command("Success", { build: BUILD, result: "success" })]]),
    });
    expect(step(listed).kinds).toEqual(["tag-volume"]);
  });

  it("waits for a running command, and fails it past bake.timeout", () => {
    const running = observation({ volumes: [attached(V)], commands: new Map([[V, command("InProgress")]]) });
    expect(step(running)).toMatchObject({ state: { step: "in-progress" }, actions: [] });
    const late = observation({
      volumes: [attached(V)],
      commands: new Map([[V, command("InProgress", undefined, T0 - 50 * MIN)]]),
    });
    const { state, kinds, actions } = step(late);
    expect(state).toMatchObject({
      step: "failed",
      message: "bake timed out after 45m (command cmd-1 still InProgress)",
    });
    expect(kinds).toEqual(["detach-volume", "record-failure"]);
    expect(actions[0]).toMatchObject({ tags: { [Tag.bakeResult]: "failed" } });
  });

  it("records the verdict on the volume, still attached", () => {
    const ok = observation({
      volumes: [attached(V)],
      commands: new Map([[V, command("Success", { build: BUILD, result: "success" })]]),
    });
    // And how long the bake ran (sent a minute ago): the spec's next bake looks for its end about then.
    expect(step(ok).actions).toEqual([
      expect.objectContaining({
        kind: "tag-volume",
        volumeId: V,
        tags: { [Tag.bakeResult]: "success", [Tag.provisionSeconds]: "60" },
      }),
    ]);
    const bad = observation({
      volumes: [attached(V)],
      commands: new Map([
        [
          V,
          command("Failed", { build: BUILD, result: "failure", reason: "apt-get failed", tail: ["E: nope"] }),
        ],
      ]),
    });
    const failed = step(bad);
    expect(failed.state).toEqual({
      step: "failed",
      message: "bake script failed: apt-get failed",
      console: ["E: nope"],
    });
    expect(failed.kinds).toEqual(["detach-volume", "record-failure"]);
    const silent = observation({ volumes: [attached(V)], commands: new Map([[V, command("Failed")]]) });
    expect(step(silent).state).toMatchObject({
      step: "failed",
      message: "bake command cmd-1 ended Failed without a result marker in its output",
    });
  });

  it("snapshots a successful volume (attached or not), waits for a snapshot it asked for, and detaches while it runs", () => {
    const success = { [Tag.bakeResult]: "success" };
    // The command ended with the chroot's filesystems unmounted: snapshotted while still attached.
    expect(step(observation({ volumes: [attached(V, "attached", success)] })).kinds).toEqual([
      "create-bake-snapshot",
    ]);
    expect(step(observation({ volumes: [volume(V, { extra: success })] })).actions).toMatchObject([
      {
        kind: "create-bake-snapshot",
        volumeId: V,
        snapshot: { volumeId: V, tags: { [Tag.bakeVolume]: V, [Tag.role]: "volume-bake" } },
      },
    ]);
    const asked = volume(V, {
      extra: { ...success, [Tag.snapshotRequestedAt]: new Date(T0 - MIN).toISOString() },
    });
    expect(step(observation({ volumes: [asked] })).actions).toEqual([]);
    const stale = volume(V, {
      extra: { ...success, [Tag.snapshotRequestedAt]: new Date(T0 - 11 * MIN).toISOString() },
    });
    expect(step(observation({ volumes: [stale] })).kinds).toEqual(["create-bake-snapshot"]);
    // Its snapshot started: the volume is detached while it runs, and again should the detach not go through.
    const started = [snapshot("pending")];
    const detaching = step(observation({ volumes: [attached(V, "attached", success)], snapshots: started }));
    expect(detaching).toMatchObject({
      kinds: ["detach-volume"],
      state: { step: "in-progress", message: "snapshot snap-0000000000000001 is pending" },
    });
    // Done before the detach is: the image is registered all the same (RegisterImage needs only the snapshot).
    expect(
      step(observation({ volumes: [attached(V, "detaching", success)], snapshots: [snapshot("completed")] }))
        .kinds,
    ).toEqual(["register-image"]);
  });

  it("registers the image once the snapshot is complete, not before", () => {
    const v = volume(V, { extra: { [Tag.bakeResult]: "success", [Tag.provisionSeconds]: "123" } });
    expect(step(observation({ volumes: [v], snapshots: [snapshot("pending")] })).actions).toEqual([]);
    const { actions } = step(observation({ volumes: [v], snapshots: [snapshot("completed")] }));
    expect(actions).toMatchObject([
      {
        kind: "register-image",
        snapshotId: "snap-0000000000000001",
        parentImageId: "ami-parent",
        image: {
          name: "leaven/base/1.0.0_abcdef12",
          tags: {
            [Tag.bakeMethod]: "volume",
            [Tag.bakeVolume]: V,
            [Tag.build]: BUILD,
            [Tag.provisionSeconds]: "123",
          },
        },
      },
    ]);
  });

  it("deletes the volume once the image is available, then forgets it on the image", () => {
    const image = bakedImage;
    const v = volume(V, { extra: { [Tag.bakeResult]: "success" } });
    expect(step(observation({ volumes: [v] }), { homeImage: image })).toMatchObject({
      state: { step: "done" },
      kinds: ["delete-volume"],
    });
    expect(step(observation(), { homeImage: image }).kinds).toEqual(["remove-tags"]);
    expect(step(observation(), { homeImage: { ...image, tags: owner } }).kinds).toEqual([]);
  });

  it("stays Failed on its record, and --retry deletes it and bakes on a new volume", () => {
    const record = failureRecord("bake script failed: apt-get failed");
    expect(step(observation(), { failureRecords: [record] })).toMatchObject({
      state: { step: "failed", message: "bake script failed: apt-get failed" },
      actions: [],
    });
    const retried = step(observation(), { failureRecords: [record], retry: true });
    expect(retried.kinds).toEqual(["delete-failure-record", "create-volume"]);
    const create = retried.actions[1]!;
    if (create.kind !== "create-volume") throw new Error(create.kind);
    expect(create.volume.clientToken).toBe(volumeToken(BUILD, `retry-${T0}`, "us-east-1a"));
    // A failed volume still there is cleaned up and its failure recorded.
    const failedVolume = volume(V, { extra: { [Tag.bakeResult]: "failed", [Tag.bakeReason]: "boom" } });
    expect(step(observation({ volumes: [failedVolume] })).kinds).toEqual(["delete-volume", "record-failure"]);
  });

  it("is blind where volume bakes were not observed", () => {
    expect(step(observation({ regions: [] })).state).toMatchObject({ step: "blind" });
  });
});

describe("the volume bake's edges: what is not its own, failures on the way, and clean-up", () => {
  const success = { [Tag.bakeResult]: "success" };
  const homeImage = (state: CloudImage["state"], stateReason?: string): CloudImage => ({
    imageId: "ami-0000000000000baked",
    region: REGION,
    name: "leaven/base/1.0.0_abcdef12",
    ownerId: "123456789012",
    state,
    ...(stateReason ? { stateReason } : {}),
    creationDate: new Date(T0).toISOString(),
    snapshotIds: ["snap-0000000000000001"],
    tags: { ...owner, [Tag.bakeVolume]: V },
  });

  it("sees only volumes of this spec and build in its home region, not deleted ones", () => {
    const others = [
      volume("vol-000000000000other", { extra: { [Tag.spec]: "other" } }),
      volume("vol-00000000000older", { extra: { [Tag.build]: "0.9.0+00000000" } }),
      { ...volume("vol-0000000000000west"), region: "eu-west-1" },
      volume("vol-000000000deleting", { state: "deleting" }),
      volume("vol-0000000000deleted", { state: "deleted" }),
    ];
    // None of them is this build's bake volume: a new one is made, and none of them is touched.
    const { kinds, actions } = step(observation({ volumes: others }));
    expect(kinds).toEqual(["create-volume"]);
    expect(actions.some((a) => "volumeId" in a)).toBe(false);
  });

  it("waits on a pending image, fails on a failed one, and --retry deregisters it", () => {
    const v = volume(V, { extra: success });
    expect(step(observation({ volumes: [v] }), { homeImage: homeImage("pending") })).toEqual(
      expect.objectContaining({
        state: { step: "in-progress", message: "image ami-0000000000000baked is pending" },
        actions: [],
      }),
    );
    const failed = step(observation({ volumes: [v] }), { homeImage: homeImage("failed", "snapshot lost") });
    expect(failed.state).toEqual({
      step: "failed",
      message: "image ami-0000000000000baked is failed: snapshot lost",
    });
    expect(failed.actions).toEqual([]);
    const retried = step(observation({ volumes: [v] }), { homeImage: homeImage("failed"), retry: true });
    expect(retried.state).toEqual({
      step: "in-progress",
      message: "retrying: deregistering ami-0000000000000baked",
    });
    expect(retried.actions).toEqual([
      {
        kind: "deregister-image",
        spec: "base",
        build: BUILD,
        region: REGION,
        imageId: "ami-0000000000000baked",
        snapshotIds: ["snap-0000000000000001"],
        reason: "retry requested: image ami-0000000000000baked is failed",
      },
    ]);
  });

  it("with the image available, detaches a volume still attached and deletes its failure records", () => {
    const record = failureRecord("bake script failed", { instanceId: "vol-00000000000failed" });
    const { state, actions } = step(observation({ volumes: [attached(V, "attached", success)] }), {
      homeImage: homeImage("available"),
      failureRecords: [record],
    });
    expect(state.step).toBe("done");
    expect(actions).toEqual([
      {
        kind: "detach-volume",
        spec: "base",
        build: BUILD,
        region: REGION,
        volumeId: V,
        instanceId: HOST_ID,
        reason: `image ami-0000000000000baked of ${BUILD} is available: detaching ${V} to delete it`,
      },
      expect.objectContaining({ kind: "delete-failure-record" }),
    ]);
    // Detaching, or the image's volume not observed: nothing to do to it yet, and its tag stays.
    expect(
      step(observation({ volumes: [attached(V, "detaching", success)] }), {
        homeImage: homeImage("available"),
      }).actions,
    ).toEqual([]);
    expect(step(observation({ regions: [] }), { homeImage: homeImage("available") }).actions).toEqual([]);
  });

  it("is blind while the failure records of its region were not observed", () => {
    expect(step(observation(), { inventory: { ...emptyInventory(), instanceRegions: [] } }).state).toEqual({
      step: "blind",
      message: "failure records in us-east-1 were not observed this pass",
    });
    expect(
      step(observation({ regions: [], errors: new Map([[REGION, "RequestLimitExceeded"]]) })).state,
    ).toEqual({
      step: "blind",
      message: "volume bakes in us-east-1 were not observed this pass: RequestLimitExceeded",
    });
  });

  it("keeps the oldest of two bake volumes and deletes the other, but never one attached or with a verdict", () => {
    const older = volume("vol-0000000000000old", { createTime: new Date(T0 - 9 * MIN).toISOString() });
    const newer = volume("vol-0000000000000new", { createTime: new Date(T0 - 2 * MIN).toISOString() });
    for (const volumes of [
      [older, newer],
      [newer, older],
    ]) {
      const { actions } = step(observation({ volumes }));
      expect(actions).toEqual([
        expect.objectContaining({ kind: "delete-volume", volumeId: "vol-0000000000000new" }),
        expect.objectContaining({ kind: "attach-volume", volumeId: "vol-0000000000000old" }),
      ]);
    }
    // Created in the same second: the lower id is kept.
    const twin = volume("vol-0000000000000twn", { createTime: older.createTime! });
    expect(step(observation({ volumes: [twin, older] })).actions[0]).toMatchObject({
      kind: "delete-volume",
      volumeId: "vol-0000000000000twn",
    });
    const busy = volume("vol-0000000000000new", {
      createTime: newer.createTime!,
      state: "in-use",
      attachments: [{ instanceId: HOST_ID, device: "/dev/sdg", state: "attached" }],
    });
    const judged = volume("vol-0000000000000new", { createTime: newer.createTime!, extra: success });
    for (const extra of [busy, judged])
      expect(step(observation({ volumes: [older, extra] })).actions.map((a) => a.kind)).toEqual([
        "attach-volume",
      ]);
  });

  it("records a failed volume's failure once, with its reason", () => {
    const failedVolume = volume(V, { extra: { [Tag.bakeResult]: "failed", [Tag.bakeReason]: "boom" } });
    const first = step(observation({ volumes: [failedVolume] }));
    expect(first.actions[1]).toMatchObject({ kind: "record-failure" });
    expect(JSON.stringify(first.actions[1])).toContain("boom");
    expect(first.state).toEqual({ step: "failed", message: "boom" });
    const record = failureRecord("boom", { console: ["E: boom"] });
    const again = step(observation({ volumes: [failedVolume] }), { failureRecords: [record] });
    expect(again.kinds).toEqual(["delete-volume"]);
    expect(again.state).toEqual({ step: "failed", message: "boom", console: ["E: boom"] });
    // Without a reason on the volume: the record's, else "bake failed".
    const bare = volume(V, { extra: { [Tag.bakeResult]: "failed" } });
    expect(step(observation({ volumes: [bare] })).state).toEqual({ step: "failed", message: "bake failed" });
  });

  it("waits for a host's zone, and takes no pool volume on a retry or a rebake", () => {
    const zoneless = { ...host(), availabilityZone: undefined };
    expect(step(observation({ hosts: [zoneless] }))).toMatchObject({
      state: { step: "in-progress", message: `bakery host ${HOST_ID} shows no availability zone yet` },
      actions: [],
    });
    const claimed: string[] = [];
    const pool = {
      claim: (_region: string, _parent: string, _zone: string) => {
        claimed.push(_zone);
        return volume("vol-000000000000pool");
      },
    } as unknown as VolumeBakeContext["pool"];
    const rebake = step(observation(), { pool, deadHomeImages: ["ami-00000000000000dead"] });
    expect(rebake.kinds).toEqual(["create-volume"]);
    expect(rebake.actions[0]).toMatchObject({
      volume: { tags: { [Tag.rebakeOf]: "ami-00000000000000dead" } },
      reason: `the home image of build ${BUILD} in ${REGION}, ami-00000000000000dead, is gone: baking the same build again on a new volume`,
    });
    expect(claimed).toEqual([]);
    const first = step(observation(), { pool });
    expect(first.kinds).toEqual(["tag-volume", "attach-volume"]);
    expect(claimed).toEqual(["us-east-1a"]);
  });

  it("creates the volume with the spec's root size and type", () => {
    const sized = docBaking({ rootVolume: { size: 30, type: "io2" } });
    expect(step(observation(), { doc: sized }).actions[0]).toMatchObject({
      kind: "create-volume",
      volume: { size: 30, volumeType: "io2", availabilityZone: "us-east-1a" },
    });
    const plain = step(observation()).actions[0];
    expect(plain).toMatchObject({ volume: { volumeType: "gp3" } });
    expect(plain && "volume" in plain && "size" in (plain.volume as object)).toBe(false);
  });

  it("marks a volume in state error failed, and a snapshot in state error", () => {
    const broken = step(observation({ volumes: [volume(V, { state: "error" })] }));
    expect(broken.state).toEqual({ step: "in-progress", message: `bake volume ${V} is in state error` });
    expect(broken.actions).toEqual([
      expect.objectContaining({
        kind: "tag-volume",
        volumeId: V,
        tags: { [Tag.bakeResult]: "failed", [Tag.bakeReason]: `bake volume ${V} is in state error` },
      }),
    ]);
    const lost = step(
      observation({ volumes: [volume(V, { extra: success })], snapshots: [snapshot("error")] }),
    );
    expect(lost.state.step).toBe("in-progress");
    expect(lost.actions).toEqual([
      expect.objectContaining({
        kind: "tag-volume",
        tags: expect.objectContaining({ [Tag.bakeResult]: "failed" }),
      }),
    ]);
  });

  it("takes only its own volume's snapshot of this build in its region", () => {
    const v = volume(V, { extra: success });
    for (const other of [
      { ...snapshot("completed"), region: "eu-west-1" },
      snapshot("completed", { [Tag.bakeVolume]: "vol-000000000000other" }),
      snapshot("completed", { [Tag.build]: "0.9.0+00000000" }),
    ])
      expect(step(observation({ volumes: [v], snapshots: [other] })).kinds).toEqual(["create-bake-snapshot"]);
  });

  it("registers with the spec's root size and type, a rebake saying what it replaces", () => {
    const sized = docBaking({ rootVolume: { size: 30, type: "io2" } });
    const v = volume(V, { extra: { ...success, [Tag.rebakeOf]: "ami-00000000000000dead" } });
    expect(
      step(observation({ volumes: [v], snapshots: [snapshot("completed")] }), { doc: sized }).actions,
    ).toMatchObject([
      {
        kind: "register-image",
        image: {
          root: { size: 30, volumeType: "io2", deleteOnTermination: true },
          description: `Leaven base ${BUILD} on ubuntu/ubuntu-jammy-20260601`,
          tags: { [Tag.rebakeOf]: "ami-00000000000000dead" },
        },
      },
    ]);
  });

  it("waits while its volume is not available, and replaces it when the host moved zones", () => {
    const creating = step(observation({ volumes: [volume(V, { state: "creating" })] }));
    expect(creating).toMatchObject({ state: { message: `volume ${V} is being created` }, actions: [] });
    const inUse = step(observation({ volumes: [volume(V, { state: "in-use" })] }));
    expect(inUse).toMatchObject({ state: { message: `volume ${V} is in-use` }, actions: [] });
    const moved = step(
      observation({ hosts: [{ ...host(), availabilityZone: `${REGION}b` }], volumes: [volume(V)] }),
    );
    expect(moved.state).toEqual({
      step: "in-progress",
      message: `replacing ${V}: the bakery host moved zones`,
    });
    expect(moved.kinds).toEqual(["delete-volume"]);
    // Waiting on the host: no attach.
    expect(step(observation({ hosts: [], volumes: [volume(V)] })).actions).toEqual([]);
  });

  it("sends commands only to a running host Leaven owns or the user named, never to whatever holds the volume", () => {
    const stranger = host("i-00000000000stranger", { team: "not-leaven" });
    const onStranger = volume(V, {
      state: "in-use",
      attachments: [{ instanceId: stranger.instanceId, device: "/dev/sdf", state: "attached" }],
    });
    // Not a host of the observation (not Leaven's, not named): nothing is sent.
    expect(step(observation({ volumes: [onStranger] }))).toMatchObject({
      state: {
        message: `volume ${V} is attached to i-00000000000stranger, which is not a running bakery host`,
      },
      actions: [],
    });
    const stopped = host(HOST_ID, { ...owner, [Tag.role]: "bakery" }, "stopped");
    expect(step(observation({ hosts: [stopped], volumes: [attached(V)] })).actions).toEqual([]);
    // The host Leaven launched: its launch time goes with the command (the executor checks it is the same).
    const own = step(observation({ volumes: [attached(V)] })).actions[0];
    expect(own).toMatchObject({ kind: "send-bake-command", hostLaunchedAt: host().launchTime });
    expect(own && "userNamedHost" in own).toBe(false);
    // A host the user named (no bakery role): marked so, with no launch time.
    const named = host(HOST_ID, {});
    const theirs = step(observation({ hosts: [named], volumes: [attached(V)] })).actions[0];
    expect(theirs).toMatchObject({ kind: "send-bake-command", userNamedHost: true });
    expect(theirs && "hostLaunchedAt" in theirs).toBe(false);
  });

  it("gives the command the spec's timeout in seconds, and fails only past it", () => {
    const slow = docBaking({ timeout: "90s" });
    expect(step(observation({ volumes: [attached(V)] }), { doc: slow }).actions[0]).toMatchObject({
      command: { timeoutSeconds: 90 },
    });
    const at = (ms: number) =>
      step(
        observation({
          volumes: [attached(V)],
          commands: new Map([[V, command("InProgress", undefined, T0 - ms)]]),
        }),
        {
          doc: slow,
        },
      ).state.step;
    expect(at(90_000)).toBe("in-progress");
    expect(at(90_001)).toBe("failed");
  });

  it("says why it makes a first volume, and marks no rebake", () => {
    const [create] = step(observation()).actions;
    expect(create).toMatchObject({
      kind: "create-volume",
      reason: `no image of build ${BUILD} exists (recipe 01234567 on ubuntu/release = ubuntu-jammy-20260601): creating its volume from ami-parent's root snapshot`,
    });
    expect(create && "volume" in create && Tag.rebakeOf in create.volume.tags).toBe(false);
  });

  it("asks for the snapshot again exactly SNAPSHOT_VISIBILITY_MS after it asked, and detaches a busy volume", () => {
    const asked = (ago: number) =>
      volume(V, { extra: { ...success, [Tag.snapshotRequestedAt]: new Date(T0 - ago).toISOString() } });
    expect(step(observation({ volumes: [asked(SNAPSHOT_VISIBILITY_MS - 1)] })).actions).toEqual([]);
    expect(step(observation({ volumes: [asked(SNAPSHOT_VISIBILITY_MS)] })).kinds).toEqual([
      "create-bake-snapshot",
    ]);
    const busy = volume(V, {
      state: "in-use",
      attachments: [{ instanceId: HOST_ID, device: "/dev/sdf", state: "busy" }],
      extra: success,
    });
    expect(step(observation({ volumes: [busy], snapshots: [snapshot("pending")] })).kinds).toEqual([
      "detach-volume",
    ]);
  });

  it("records a timed-out bake's failure only when no record names its volume", () => {
    const late = observation({
      volumes: [attached(V)],
      commands: new Map([[V, command("InProgress", undefined, T0 - 50 * MIN)]]),
    });
    const record = failureRecord("bake timed out");
    expect(step(late, { failureRecords: [record] }).kinds).toEqual(["detach-volume"]);
    expect(step(late, { failureRecords: [{ ...record, instanceId: "vol-00000000000other" }] }).kinds).toEqual(
      ["detach-volume", "record-failure"],
    );
  });

  it("cleans up: nothing while a volume is being made or detaching, detach when attached, else delete", () => {
    expect(cleanUp("base", volume(V, { state: "creating" }), "why")).toEqual([]);
    expect(cleanUp("base", attached(V, "detaching"), "why")).toEqual([]);
    expect(cleanUp("base", attached(V), "why")).toEqual([
      {
        kind: "detach-volume",
        spec: "base",
        region: REGION,
        volumeId: V,
        build: BUILD,
        instanceId: HOST_ID,
        reason: `why: detaching ${V} to delete it`,
      },
    ]);
    const untagged = { ...volume(V), tags: owner };
    expect(cleanUp("base", untagged, "why")).toEqual([
      { kind: "delete-volume", spec: "base", region: REGION, volumeId: V, reason: `why: deleting ${V}` },
    ]);
    expect(cleanUp("base", { ...attached(V), tags: owner }, "why")[0]).toMatchObject({ build: "" });
    // A detached attachment is none.
    const left = volume(V, { attachments: [{ instanceId: HOST_ID, device: "/dev/sdf", state: "detached" }] });
    expect(cleanUp("base", left, "why")[0]).toMatchObject({ kind: "delete-volume", build: BUILD });
  });
});

describe("the bakery host", () => {
  it("stops its idle host after bakery.idleStop, recording the stop first", () => {
    const vb = observation();
    const actions: Action[] = [];
    createBakery(vb, { idleStop: "30m" }).finish(actions, T0);
    expect(actions).toMatchObject([
      {
        kind: "stop-instance",
        instanceId: host().instanceId,
        tags: { [Tag.idleStoppedAt]: new Date(T0).toISOString() },
      },
    ]);
    // Not while a command was sent recently, nor while a volume is attached.
    const busy: Action[] = [];
    createBakery(
      observation({ lastCommandAt: new Map([[host().instanceId, new Date(T0 - MIN).toISOString()]]) }),
      {},
    ).finish(busy, T0);
    createBakery(observation({ devices: new Map([[host().instanceId, ["/dev/sdf"]]]) }), {}).finish(busy, T0);
    expect(busy).toEqual([]);
    // Its own root volume (tagged as the host by RunInstances) does not keep it busy, nor count as a bake.
    const withRoot = observation({
      volumes: [rootVolume()],
      devices: new Map([[host().instanceId, ["/dev/xvda"]]]),
    });
    const idle: Action[] = [];
    createBakery(withRoot, { idleStop: "30m" }).finish(idle, T0);
    expect(idle.map((a) => a.kind)).toEqual(["stop-instance"]);
    const bakery = createBakery(withRoot, { maxConcurrentBakes: 1 });
    expect(bakery.claimDevice(host())).toEqual({ device: "/dev/sdf" });
  });

  it("replaces a host marked unhealthy, with a token from its predecessor", () => {
    const sick = host(undefined, { ...owner, [Tag.role]: "bakery", [Tag.unhealthy]: "SSM cannot reach it" });
    const vb = observation({ hosts: [sick] });
    const actions: Action[] = [];
    const bakery = createBakery(vb);
    expect(bakery.host(REGION).ok).toBe(false);
    bakery.finish(actions, T0);
    expect(actions.map((a) => a.kind)).toEqual(["terminate-instance", "launch-bakery-host"]);
    expect(actions[0]!.reason).toBe(
      `bakery host ${sick.instanceId} is unhealthy (SSM cannot reach it): replacing it`,
    );
    expect(actions[1]).toMatchObject({
      launch: { clientToken: bakeryHostToken("default", REGION, `after-${sick.instanceId}`) },
    });
    // Already on its way out: not terminated again. Stopped, beside a host that serves: terminated once.
    const going: Action[] = [];
    createBakery(observation({ hosts: [{ ...sick, state: "shutting-down" }] })).finish(going, T0);
    expect(going.map((a) => a.kind)).not.toContain("terminate-instance");
    const spare: Action[] = [];
    createBakery(observation({ hosts: [host(), { ...sick, state: "stopped" }] }), { idleStop: "2h" }).finish(
      spare,
      T0,
    );
    expect(spare.map((a) => [a.kind, "instanceId" in a ? a.instanceId : ""])).toEqual([
      ["terminate-instance", sick.instanceId],
    ]);
  });

  it.each([
    ["still stopping, never started: waits for it to stop", "stopping", {}, []],
    [
      "stopping 10 minutes after Leaven started it: replaced",
      "stopping",
      { [Tag.startRequestedAt]: new Date(T0 - 10 * MIN).toISOString() },
      ["terminate-instance", "launch-bakery-host"],
    ],
    [
      "running, started long ago: kept",
      "running",
      { [Tag.startRequestedAt]: new Date(T0 - 60 * MIN).toISOString() },
      [],
    ],
  ] as const)("a host a bake needs — %s", (_title, state, tags, kinds) => {
    const one = host(undefined, { ...owner, [Tag.role]: "bakery", ...tags }, state);
    const bakery = createBakery(observation({ hosts: [one] }), { idleStop: "2h" });
    bakery.host(REGION, "base");
    const actions: Action[] = [];
    bakery.finish(actions, T0);
    expect(actions.map((a) => a.kind)).toEqual(kinds);
  });

  const at = (ms: number) => new Date(ms).toISOString();
  const bakeryTags = (tags: Tags = {}): Tags => ({ ...owner, [Tag.role]: "bakery", ...tags });
  it.each([
    [
      "idle-stopped by Leaven: started",
      bakeryTags({ [Tag.idleStoppedAt]: at(T0 - 60 * MIN) }),
      {},
      ["start-instance"],
    ],
    ["stopped by someone else: started", bakeryTags(), { stoppedAt: at(T0 - 60 * MIN) }, ["start-instance"]],
    [
      "started 2 minutes ago, still stopped: waits",
      bakeryTags({ [Tag.idleStoppedAt]: at(T0 - 60 * MIN), [Tag.startRequestedAt]: at(T0 - 2 * MIN) }),
      {},
      [],
    ],
    [
      "started 10 minutes ago, still stopped: replaced",
      bakeryTags({ [Tag.idleStoppedAt]: at(T0 - 60 * MIN), [Tag.startRequestedAt]: at(T0 - 10 * MIN) }),
      {},
      ["terminate-instance", "launch-bakery-host"],
    ],
    [
      "started an hour ago and stopped by someone since: started again",
      bakeryTags({ [Tag.startRequestedAt]: at(T0 - 60 * MIN) }),
      { stoppedAt: at(T0 - 30 * MIN) },
      ["start-instance"],
    ],
    [
      "started, then idle-stopped since: started again",
      bakeryTags({ [Tag.startRequestedAt]: at(T0 - 60 * MIN), [Tag.idleStoppedAt]: at(T0 - 20 * MIN) }),
      {},
      ["start-instance"],
    ],
  ] as const)("a stopped host a bake needs — %s", (_title, tags, extra, kinds) => {
    const stopped = { ...host(undefined, tags, "stopped"), ...extra };
    const vb = observation({ hosts: [stopped] });
    const bakery = createBakery(vb);
    const pick = bakery.host(REGION, "base");
    expect(pick).toEqual({
      ok: false,
      message: `waiting for stopped bakery host ${stopped.instanceId} to start (stopped)`,
    });
    const actions: Action[] = [];
    bakery.finish(actions, T0);
    expect(actions.map((a) => a.kind)).toEqual(kinds);
    if (kinds[0] === "start-instance")
      expect(actions[0]).toEqual({
        kind: "start-instance",
        spec: "base",
        region: REGION,
        instanceId: stopped.instanceId,
        tags: { [Tag.startRequestedAt]: at(T0) },
        reason: `a volume bake needs a bakery host in ${REGION}: starting stopped ${stopped.instanceId}`,
      });
    if (kinds[0] === "terminate-instance") {
      expect(actions[0]!.reason).toBe(
        `bakery host ${stopped.instanceId} is still stopped 10 minutes after Leaven started it (${at(T0 - 10 * MIN)}): replacing it`,
      );
      expect(actions[1]).toMatchObject({
        launch: { clientToken: bakeryHostToken("default", REGION, `after-${stopped.instanceId}`) },
      });
    }
  });

  it("leaves a stopped host stopped while no bake needs it, unless another host serves the region", () => {
    const stopped = host("i-00000000000stopped", undefined, "stopped");
    const actions: Action[] = [];
    createBakery(observation({ hosts: [stopped] })).finish(actions, T0);
    expect(actions).toEqual([]);
    const bakery = createBakery(observation({ hosts: [host(), stopped] }), { idleStop: "2h" });
    expect(bakery.host(REGION, "base")).toMatchObject({ ok: true, host: { instanceId: host().instanceId } });
    bakery.finish(actions, T0);
    expect(actions.map((a) => [a.kind, a.reason])).toEqual([
      [
        "terminate-instance",
        `bakery host ${stopped.instanceId} is stopped and ${host().instanceId} serves ${REGION}: terminating the spare`,
      ],
    ]);
  });

  it("terminates its hosts in a region where no spec bakes on a volume any more, once no volume of its is attached", () => {
    const stopped = host("i-00000000000stopped", undefined, "stopped");
    const finish = (vb: VolumeBakeObservation, homes: string[], config: BakeryConfig = {}) => {
      const actions: Action[] = [];
      createBakery(vb, config).finish(actions, T0, { volumeHomes: new Set(homes) });
      return actions;
    };
    expect(finish(observation({ hosts: [host(), stopped] }), [])).toEqual(
      [host(), stopped].map((h) => ({
        kind: "terminate-instance",
        spec: "(bakery)",
        build: "",
        region: REGION,
        instanceId: h.instanceId,
        reason: `no spec bakes on a volume in ${REGION} any more: terminating bakery host ${h.instanceId}`,
      })),
    );
    // Its root volume does not hold it; a bake volume of Leaven's still attached does (the sweep detaches it) ...
    expect(finish(observation({ volumes: [rootVolume()] }), []).map((a) => a.kind)).toEqual([
      "terminate-instance",
    ]);
    expect(finish(observation({ volumes: [attached(V)] }), [])).toEqual([]);
    // A bake volume on another host, or one detached from this one, does not hold it.
    const elsewhere = volume(V, {
      state: "in-use",
      attachments: [{ instanceId: "i-000000000000other", device: "/dev/sdf", state: "attached" }],
    });
    const detached = volume(V, {
      attachments: [{ instanceId: host().instanceId, device: "/dev/sdf", state: "detached" }],
    });
    for (const volumes of [[elsewhere], [detached]])
      expect(finish(observation({ volumes }), []).map((a) => a.kind)).toEqual(["terminate-instance"]);
    // A host already terminated or shutting down is not terminated again.
    for (const state of ["terminated", "shutting-down"] as const)
      expect(finish(observation({ hosts: [host(undefined, undefined, state)] }), [])).toEqual([]);
    // ... nor where a spec still bakes on a volume, nor a host the user named.
    expect(finish(observation(), [REGION], { idleStop: "2h" })).toEqual([]);
    const mine = host("i-00000000000000user", { Name: "mine" });
    expect(finish(observation({ hosts: [mine] }), [], { hostInstanceId: mine.instanceId })).toEqual([]);
  });

  it("never stops, terminates or replaces a user-named host", () => {
    const mine = host("i-00000000000000user", { Name: "mine" });
    for (const state of ["running", "stopped"] as const) {
      const vb = observation({ hosts: [{ ...mine, state }] });
      const bakery = createBakery(vb, { hostInstanceId: mine.instanceId, idleStop: "1m" });
      const pick = bakery.host(REGION);
      expect(pick.ok).toBe(state === "running");
      const actions: Action[] = [];
      bakery.finish(actions, T0 + 1000 * MIN);
      expect(actions).toEqual([]);
    }
  });
});

describe("the warm pool", () => {
  it("refills to bakery.poolSize for the parent bakes are on, and discards the pool of a parent left behind", () => {
    const vb = observation({ volumes: [pooled("vol-000000000000000a", "ami-old")] });
    const pool = createPool(vb, 2);
    pool.want(REGION, "ami-new", "jammy-2", "us-east-1a");
    const actions: Action[] = [];
    pool.finish(actions, T0, true);
    expect(
      actions.map((a) => [
        a.kind,
        "volumeId" in a ? a.volumeId : a.kind === "create-volume" ? a.parentImageId : "",
      ]),
    ).toEqual([
      ["create-volume", "ami-new"],
      ["create-volume", "ami-new"],
      ["delete-volume", "vol-000000000000000a"],
    ]);
    // Not on a scoped plan: other specs might bake on it.
    const scoped: Action[] = [];
    createPool(vb, 2).finish(scoped, T0, false);
    expect(scoped).toEqual([]);
  });

  it("gives a bake a ready pool volume of its parent in the host's zone, retagged as the build's", () => {
    const vb = observation({ volumes: [pooled("vol-000000000000000a", "ami-parent")] });
    const pool = createPool(vb, 2);
    const { actions } = step(vb, { pool });
    expect(actions).toMatchObject([
      {
        kind: "tag-volume",
        volumeId: "vol-000000000000000a",
        tags: { [Tag.build]: BUILD, [Tag.role]: "volume-bake" },
      },
      // Ready already: attached in the same pass.
      { kind: "attach-volume", volumeId: "vol-000000000000000a", device: "/dev/sdf" },
    ]);
    // The ownership tags are not rewritten (the guard refuses any change to them).
    const tags = (actions[0] as { tags: Tags }).tags;
    expect(tags[Tag.managedBy]).toBeUndefined();
    expect(tags[Tag.installation]).toBeUndefined();
    // Taken once: a second bake in the same pass creates its own.
    expect(pool.claim(REGION, "ami-parent", "us-east-1a")).toBeUndefined();
  });
});

describe("the leak sweep of bake volumes", () => {
  const app = (
    bake: { method: "instance" | "volume"; kmsKeyId?: string },
    regions: [string, ...string[]] = [REGION],
  ) =>
    spec("base", {
      layer: "base",
      parent: { spec: "ubuntu", channel: "release" },
      version: "1.0.0",
      regions,
      bake,
      channels: { release: { latest: true } },
    });
  const swept = (
    specs: ReturnType<typeof spec>[],
    extra: { unattributedErrors?: boolean } = {},
    parts: Partial<Inventory> = {},
  ) =>
    plan({
      specs: [ubuntu, ...specs],
      inventory: inventory({ volumeBakes: observation({ volumes: [volume(V)] }), ...parts }),
      now: T0,
      ...extra,
    })
      .actions.filter((a) => "volumeId" in a && a.volumeId === V)
      .map((a) => `${a.kind}: ${a.reason}`);
  it.each([
    [
      "switched to the instance method",
      [app({ method: "instance" })],
      [`delete-volume: spec base no longer bakes on a volume (bake.method: instance): deleting ${V}`],
    ],
    ["deleted", [], [`delete-volume: spec base no longer exists: deleting ${V}`]],
    [
      "moved its home region",
      [app({ method: "volume" }, ["eu-west-1", REGION])],
      [`delete-volume: spec base bakes in eu-west-1 now, not ${REGION}: deleting ${V}`],
    ],
  ] as const)("deletes the volume of a spec %s", (_title, specs, actions) => {
    expect(swept([...specs])).toEqual(actions);
  });

  it("deletes the volume of a build the spec no longer wants, and keeps it while the spec wants none", () => {
    const [deleted] = swept([app({ method: "volume" })]);
    expect(deleted).toMatch(
      new RegExp(
        `^delete-volume: build ${BUILD.replace("+", "\\+")} is no longer being baked \\(base now wants 1\\.0\\.0\\+[0-9a-f]{8}\\): deleting ${V}$`,
      ),
    );
    // No vendor image: the parent channel resolves to nothing and base wants no build (Waiting) — the bake in
    // flight may be the one it wants again once the parent is seen.
    expect(swept([app({ method: "volume" })], {}, { vendorImages: new Map() })).toEqual([]);
  });

  it("keeps it while a document failed to load without naming its spec", () => {
    expect(swept([], { unattributedErrors: true })).toEqual([]);
  });

  it("fills the warm pool for a volume spec's parent, not for one with bake.kmsKeyId", () => {
    const KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const pool = (bake: { method: "volume"; kmsKeyId?: string }) =>
      plan({
        specs: [ubuntu, app(bake)],
        inventory: inventory({ volumeBakes: observation() }),
        now: T0,
        bakery: { poolSize: 2 },
      }).actions.filter((a) => a.spec === "(pool)").length;
    expect(pool({ method: "volume" })).toBe(2);
    expect(pool({ method: "volume", kmsKeyId: KEY })).toBe(0);
  });
});

describe("what each step of a volume bake says, and what it hands the executor", () => {
  const success = { [Tag.bakeResult]: "success" };
  const ISO = (ago: number) => new Date(T0 - ago).toISOString();
  const baked = bakedImage;
  const otherHost = { ...host(), availabilityZone: `${REGION}b` };
  const rows: [
    string,
    VolumeBakeObservation,
    Partial<VolumeBakeContext>,
    { step: string; message?: string },
    { kind: string; reason: string }[],
  ][] = [
    [
      "no volume yet",
      observation(),
      {},
      { step: "in-progress", message: "creating the bake volume" },
      [
        {
          kind: "create-volume",
          reason: `no image of build ${BUILD} exists (recipe 01234567 on ubuntu/release = ubuntu-jammy-20260601): creating its volume from ami-parent's root snapshot`,
        },
      ],
    ],
    [
      "a volume neither available nor attached",
      observation({ volumes: [volume(V, { state: "in-use" })] }),
      {},
      { step: "in-progress", message: `volume ${V} is in-use` },
      [],
    ],
    [
      "an available volume and no host",
      observation({ volumes: [volume(V)], hosts: [] }),
      {},
      { step: "in-progress", message: "waiting for a bakery host in us-east-1" },
      [],
    ],
    [
      "an available volume in the zone the host left",
      observation({ volumes: [volume(V)], hosts: [otherHost] }),
      {},
      { step: "in-progress", message: `replacing ${V}: the bakery host moved zones` },
      [
        {
          kind: "delete-volume",
          reason: `bakery host ${HOST_ID} is in us-east-1b, ${V} in us-east-1a: deleting ${V}`,
        },
      ],
    ],
    [
      "an available volume",
      observation({ volumes: [volume(V)] }),
      {},
      { step: "in-progress", message: `attaching ${V} to ${HOST_ID}` },
      [
        {
          kind: "attach-volume",
          reason: `volume ${V} of ${BUILD} is ready: attaching it to bakery host ${HOST_ID}`,
        },
      ],
    ],
    [
      "an attached volume",
      observation({ volumes: [attached(V)] }),
      {},
      { step: "in-progress", message: `starting the chroot bake on ${HOST_ID}` },
      [
        {
          kind: "send-bake-command",
          reason: `volume ${V} is attached to ${HOST_ID} as /dev/sdf: running the chroot bake`,
        },
      ],
    ],
    [
      "a send not listed yet",
      observation({ volumes: [attached(V, "attached", { [Tag.commandRequestedAt]: ISO(MIN) })] }),
      {},
      {
        step: "in-progress",
        message: `waiting for the bake command on ${HOST_ID} to be listed (sent at ${ISO(MIN)})`,
      },
      [],
    ],
    [
      "the command running",
      observation({ volumes: [attached(V)], commands: new Map([[V, command("InProgress")]]) }),
      {},
      { step: "in-progress", message: `baking in a chroot on ${HOST_ID} (command cmd-1 InProgress)` },
      [],
    ],
    [
      "the command succeeded",
      observation({
        volumes: [attached(V)],
        commands: new Map([[V, command("Success", { build: BUILD, result: "success" })]]),
      }),
      {},
      { step: "in-progress", message: `recording the verdict on ${V}: the bake succeeded` },
      [{ kind: "tag-volume", reason: `command cmd-1 says the bake of ${BUILD} succeeded` }],
    ],
    [
      "the verdict recorded",
      observation({ volumes: [attached(V, "attached", success)] }),
      {},
      { step: "in-progress", message: `snapshotting ${V}` },
      [{ kind: "create-bake-snapshot", reason: `the bake of ${BUILD} on ${V} succeeded: snapshotting it` }],
    ],
    [
      "a snapshot asked for, not listed yet",
      observation({
        volumes: [attached(V, "attached", { ...success, [Tag.snapshotRequestedAt]: ISO(MIN) })],
      }),
      {},
      { step: "in-progress", message: `waiting for the snapshot of ${V} (asked for at ${ISO(MIN)})` },
      [],
    ],
    [
      "the snapshot started, still attached",
      observation({ volumes: [attached(V, "attached", success)], snapshots: [snapshot("pending")] }),
      {},
      { step: "in-progress", message: "snapshot snap-0000000000000001 is pending" },
      [
        {
          kind: "detach-volume",
          reason: `snapshot snap-0000000000000001 of ${V} is started: detaching the volume from ${HOST_ID}`,
        },
      ],
    ],
    [
      "the snapshot failed",
      observation({ volumes: [volume(V, { extra: success })], snapshots: [snapshot("error")] }),
      {},
      { step: "in-progress", message: `snapshot snap-0000000000000001 of ${V} failed (state error)` },
      [{ kind: "tag-volume", reason: `snapshot snap-0000000000000001 of ${V} failed (state error)` }],
    ],
    [
      "the snapshot complete",
      observation({ volumes: [volume(V, { extra: success })], snapshots: [snapshot("completed")] }),
      {},
      { step: "in-progress", message: "registering the image from snap-0000000000000001" },
      [
        {
          kind: "register-image",
          reason: `snapshot snap-0000000000000001 of ${BUILD} is complete: registering the image`,
        },
      ],
    ],
    [
      "the image available, its volume gone",
      observation(),
      { homeImage: baked },
      { step: "done" },
      [{ kind: "remove-tags", reason: `bake volume ${V} is gone` }],
    ],
  ];

  it.each(rows)("%s", (_, vb, extra, state, actions) => {
    const planned = step(vb, extra);
    expect(planned.state).toEqual(state.step === "done" ? { step: "done", image: baked } : state);
    expect(planned.actions.map((a) => ({ kind: a.kind, reason: a.reason }))).toEqual(actions);
  });

  it("sends the chroot script of the spec's own provisioning, for the attached device and volume", () => {
    const [send] = step(observation({ volumes: [attached(V)] })).actions;
    if (send?.kind !== "send-bake-command") throw new Error(String(send?.kind));
    const script = renderChrootScript({
      buildId: BUILD,
      spec: "base",
      provision: { packages: ["curl"] },
      device: "/dev/sdf",
      volumeId: V,
    });
    expect(send.command.commands).toEqual(script.split("\n"));
  });

  it("snapshots and registers with the method on the tags, the volume named, root gp3 deleted on termination", () => {
    const [snap] = step(observation({ volumes: [volume(V, { extra: success })] })).actions;
    expect(snap).toMatchObject({
      kind: "create-bake-snapshot",
      snapshot: {
        description: `Leaven base ${BUILD}: volume bake of ${V}`,
        tags: { [Tag.bakeMethod]: "volume", [Tag.bakeVolume]: V, [Tag.role]: "volume-bake" },
      },
    });
    const [register] = step(
      observation({ volumes: [volume(V, { extra: success })], snapshots: [snapshot("completed")] }),
    ).actions;
    expect(register).toMatchObject({
      kind: "register-image",
      image: { root: { volumeType: "gp3", deleteOnTermination: true }, tags: { [Tag.bakeMethod]: "volume" } },
    });
  });

  it("forgets the volume on the image by its tag key only", () => {
    expect(step(observation(), { homeImage: baked }).actions).toEqual([
      expect.objectContaining({ kind: "remove-tags", imageId: baked.imageId, keys: [Tag.bakeVolume] }),
    ]);
  });

  it("takes a pool volume, tagged with the method, and attaches it only when a device is free", () => {
    const busy = volume("vol-0000000000000009", {
      state: "in-use",
      attachments: [{ instanceId: HOST_ID, device: "/dev/sdf", state: "attached" }],
      extra: { [Tag.build]: "9.9.9+99999999" },
    });
    const vb = observation({ volumes: [pooled("vol-000000000000000a", "ami-parent"), busy] });
    const full = step(vb, { pool: createPool(vb, 2) }, { maxConcurrentBakes: 1 });
    expect(full.state).toEqual({
      step: "in-progress",
      message: "taking warm pool volume vol-000000000000000a",
    });
    expect(full.actions).toEqual([
      expect.objectContaining({
        kind: "tag-volume",
        volumeId: "vol-000000000000000a",
        tags: expect.objectContaining({ [Tag.bakeMethod]: "volume", [Tag.role]: "volume-bake" }),
        reason: `taking warm pool volume vol-000000000000000a (made from ami-parent) for ${BUILD}`,
      }),
    ]);
    const free = step(vb, { pool: createPool(vb, 2) });
    expect(free.actions.map((a) => [a.kind, a.reason])).toEqual([
      ["tag-volume", `taking warm pool volume vol-000000000000000a (made from ami-parent) for ${BUILD}`],
      [
        "attach-volume",
        `warm pool volume vol-000000000000000a is ready: attaching it to bakery host ${HOST_ID}`,
      ],
    ]);
  });

  it("retries on a new token when the failed volume is still there and not yet recorded", () => {
    const failedVolume = volume(V, { extra: { [Tag.bakeResult]: "failed", [Tag.bakeReason]: "boom" } });
    const { actions } = step(observation({ volumes: [failedVolume] }), { retry: true });
    expect(actions.map((a) => a.kind)).toEqual(["delete-volume", "record-failure", "create-volume"]);
    expect(actions[2]).toMatchObject({
      volume: { clientToken: volumeToken(BUILD, `retry-${T0}`, "us-east-1a") },
      reason: `retry requested: baking ${BUILD} again on a new volume`,
    });
  });

  it("records a failed volume's failure with its volume and parent, whatever another volume's record says", () => {
    const failedVolume = volume(V, { extra: { [Tag.bakeResult]: "failed" } });
    const another = failureRecord("older", { instanceId: "vol-00000000000other" });
    const { actions, state } = step(observation({ volumes: [failedVolume] }), { failureRecords: [another] });
    expect(actions.map((a) => [a.kind, a.reason])).toEqual([
      ["delete-volume", `the bake of ${BUILD} on ${V} failed; cleaning up its volume: deleting ${V}`],
      ["record-failure", `the failure of ${BUILD} on ${V} must outlive its instance`],
    ]);
    expect(actions[1]).toMatchObject({
      template: {
        launch: { imageId: "ami-parent" },
        tags: { [Tag.failedInstance]: V, [Tag.bakeReason]: "bake failed" },
      },
    });
    // The newest record's reason, as the spec's: the volume carries none.
    expect(state).toMatchObject({ step: "failed", message: "older" });
  });

  it("records a timed-out bake's failure with its volume and parent", () => {
    const late = observation({
      volumes: [attached(V)],
      commands: new Map([[V, command("InProgress", undefined, T0 - 50 * MIN)]]),
    });
    expect(step(late).actions[1]).toMatchObject({
      kind: "record-failure",
      template: { launch: { imageId: "ami-parent" }, tags: { [Tag.failedInstance]: V } },
    });
  });

  it("keeps a long failure reason whole in the status and cuts it to 250 characters on the volume", () => {
    const reason = "x".repeat(400);
    const bad = observation({
      volumes: [attached(V)],
      commands: new Map([[V, command("Failed", { build: BUILD, result: "failure", reason })]]),
    });
    const { state, actions } = step(bad);
    expect(state).toMatchObject({ step: "failed", message: `bake script failed: ${reason}` });
    expect(actions[0]).toMatchObject({
      kind: "detach-volume",
      tags: { [Tag.bakeReason]: `bake script failed: ${reason}`.slice(0, 250) },
    });
  });

  it("says where a cut output left the marker, and what to do", () => {
    const cut = observation({
      volumes: [attached(V)],
      commands: new Map([[V, { ...command("Success"), outputCut: true }]]),
    });
    expect(step(cut).state).toMatchObject({
      step: "failed",
      message:
        "bake command cmd-1 ended Success without a result marker in its output (GetCommandInvocation keeps only stdout's first 24,000 characters: with leaven.yaml's manifests: { bucket } SSM writes all of it there if the bakery host's role may s3:PutObject; or print less)",
    });
  });

  it("names every gone image of a rebake, on the tag (cut to 255) and in the reason", () => {
    const dead = ["ami-0000000000000dead", "ami-00000000000dead2"];
    const [create] = step(observation(), { deadHomeImages: dead }).actions;
    expect(create).toMatchObject({
      volume: { tags: { [Tag.rebakeOf]: dead.join(",") } },
      reason: `the home image of build ${BUILD} in ${REGION}, ami-0000000000000dead, ami-00000000000dead2, is gone: baking the same build again on a new volume`,
    });
    const many = Array.from({ length: 20 }, (_, i) => `ami-${String(i).padStart(17, "0")}`);
    const [long] = step(observation(), { deadHomeImages: many }).actions;
    if (long?.kind !== "create-volume") throw new Error(String(long?.kind));
    expect(long.volume.tags[Tag.rebakeOf]).toBe(many.join(",").slice(0, 255));
  });

  it("says why it deletes failure records and duplicate volumes", () => {
    const record = failureRecord("bake script failed: apt-get failed");
    const retried = step(observation(), { failureRecords: [record], retry: true });
    expect(retried.actions[0]).toMatchObject({
      kind: "delete-failure-record",
      reason: "retry requested after: bake script failed: apt-get failed",
    });
    const done = step(observation(), { failureRecords: [record], homeImage: baked });
    expect(done.actions.find((a) => a.kind === "delete-failure-record")).toMatchObject({
      reason: `build ${BUILD} has an available image, ${baked.imageId}`,
    });
    const older = volume(V, { createTime: ISO(10 * MIN) });
    const newer = volume("vol-0000000000000002", { createTime: ISO(5 * MIN) });
    const { actions } = step(observation({ volumes: [newer, older] }));
    expect(actions.find((a) => a.kind === "delete-volume")).toMatchObject({
      volumeId: "vol-0000000000000002",
      reason: `duplicate bake volume for ${BUILD} (keeping ${V}): deleting vol-0000000000000002`,
    });
  });

  it("marks an attach to the host the user named, a pool volume's too, so the guard checks only the volume", () => {
    const MINE = "i-00000000000000mine";
    const mine = host(MINE, { team: "platform" });
    const named = { hostInstanceId: MINE };
    const own = step(observation({ hosts: [mine], volumes: [volume(V)] }), {}, named);
    expect(own.actions).toEqual([
      expect.objectContaining({ kind: "attach-volume", instanceId: MINE, userNamedHost: true }),
    ]);
    const vb = observation({ hosts: [mine], volumes: [pooled("vol-000000000000000a", "ami-parent")] });
    const fromPool = step(vb, { pool: createPool(vb, 2) }, named);
    expect(fromPool.actions[1]).toMatchObject({
      kind: "attach-volume",
      instanceId: MINE,
      userNamedHost: true,
    });
    // A host Leaven owns is checked as its own.
    expect(step(observation({ volumes: [volume(V)] })).actions[0]).not.toHaveProperty("userNamedHost");
  });

  it("waits, in progress, while its volume is held by an instance that is no running bakery host", () => {
    const stopped = host(HOST_ID, { ...owner, [Tag.role]: "bakery" }, "stopped");
    expect(step(observation({ hosts: [stopped], volumes: [attached(V)] }))).toMatchObject({
      state: {
        step: "in-progress",
        message: `volume ${V} is attached to ${HOST_ID}, which is not a running bakery host`,
      },
      actions: [],
    });
  });

  it("fails a bake whose failure marker gives no reason, saying so", () => {
    const bare = observation({
      volumes: [attached(V)],
      commands: new Map([[V, command("Failed", { build: BUILD, result: "failure" })]]),
    });
    expect(step(bare).state).toMatchObject({
      step: "failed",
      message: "bake script failed: no reason given",
    });
  });

  it("is blind, saying so plainly, where volume bakes were not observed", () => {
    expect(step(observation({ regions: [] })).state).toEqual({
      step: "blind",
      message: "volume bakes in us-east-1 were not observed this pass",
    });
  });
});
