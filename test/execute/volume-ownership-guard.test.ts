// The ownership guard on volume-bake actions, against the simulator over HTTP: a look-alike volume (another
// tool's, another installation's, untagged) is never attached, detached, tagged, snapshotted or deleted, and a
// host that is not Leaven's is never sent a command unless the user named it (bakery.hostInstanceId).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import type { Tags } from "../../controller/cloud/port.ts";
import { execute } from "../../controller/execute/executor.ts";
import type { Action } from "../../controller/plan/actions.ts";
import { type SimCloud, startSimCloud } from "../support/sim-cloud.ts";

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

const REGION = "us-east-1";
const BUILD = "1.0.0+0badcafe";
const owned: Tags = { [Tag.managedBy]: MANAGED_BY_VALUE, [Tag.spec]: "base", [Tag.build]: BUILD };

async function parentRootSnapshot(): Promise<string> {
  const [parent] = await t.adapter.describeImages(REGION, {
    owners: ["099720109477"],
    filters: [{ name: "name", values: ["ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"] }],
  });
  const [byId] = await t.adapter.describeImages(REGION, { imageIds: [parent!.imageId] });
  return byId!.boot!.rootSnapshotId!;
}

async function volumeWith(tags: Tags): Promise<string> {
  const { volumeId } = await t.adapter.createVolume(REGION, {
    snapshotId: await parentRootSnapshot(),
    availabilityZone: `${REGION}a`,
    clientToken: `look-alike-${Math.random()}`,
    tags,
  });
  t.clock.advance(60_000);
  return volumeId;
}

const base = { spec: "base", build: BUILD, region: REGION, reason: "test" };

describe("volume-bake actions and the ownership guard", () => {
  it.each([
    ["without the owner tag", { [Tag.spec]: "base", [Tag.build]: BUILD }],
    ["owned by another tool", { ...owned, [Tag.managedBy]: "packer" }],
    ["of another installation", { ...owned, [Tag.installation]: "team-b" }],
  ])("refuses every action on a look-alike volume %s", async (_, tags) => {
    const volumeId = await volumeWith(tags);
    const actions: Action[] = [
      { kind: "delete-volume", ...base, volumeId },
      { kind: "tag-volume", ...base, volumeId, tags: { [Tag.bakeResult]: "success" } },
      { kind: "detach-volume", ...base, volumeId, instanceId: "i-00000000000000001" },
      {
        kind: "create-bake-snapshot",
        ...base,
        volumeId,
        snapshot: { volumeId, tags: { ...owned, [Tag.installation]: "default" } },
      },
    ];
    const results = await execute(t.cloud, actions);
    expect(
      results.every(
        (r) => !r.ok && r.error?.startsWith(`refused: volume ${volumeId} in ${REGION} is not Leaven's`),
      ),
    ).toBe(true);
    const [still] = await t.adapter.describeVolumes(REGION, [], [volumeId]);
    expect(still?.state).toBe("available");
    expect(still?.tags).toEqual(tags);
    expect(await t.adapter.describeSnapshots(REGION, [{ name: "volume-id", values: [volumeId] }])).toEqual(
      [],
    );
  });

  it.each([
    ["a host that is not Leaven's", { Name: "someone's" }, false],
    [
      "a bakery host of another installation",
      { ...owned, [Tag.role]: "bakery", [Tag.installation]: "team-b" },
      false,
    ],
    ["its own stopped bakery host", { ...owned, [Tag.role]: "bakery", [Tag.installation]: "default" }, true],
  ])("start-instance on %s: started only when it is this installation's", async (_, tags, starts) => {
    const [parent] = await t.adapter.describeImages(REGION, {
      owners: ["099720109477"],
      filters: [{ name: "name", values: ["ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"] }],
    });
    const { instanceId } = await t.adapter.runInstance(REGION, {
      imageId: parent!.imageId,
      instanceType: "t3.medium",
      userData: "",
      clientToken: `host-${Math.random()}`,
      tags,
    });
    t.clock.advance(60_000);
    await t.adapter.stopInstances(REGION, [instanceId]);
    t.clock.advance(60_000);
    const started = { [Tag.startRequestedAt]: new Date(t.clock.now()).toISOString() };
    const [result] = await execute(t.cloud, [
      { kind: "start-instance", spec: "(bakery)", region: REGION, instanceId, tags: started, reason: "test" },
    ]);
    const [host] = await t.adapter.describeInstances(REGION, [{ name: "instance-id", values: [instanceId] }]);
    if (starts) {
      expect(result?.ok).toBe(true);
      expect(host?.state).toBe("pending");
      expect(host?.tags).toEqual({ ...tags, ...started });
    } else {
      expect(result?.error).toMatch(
        new RegExp(`^refused: instance ${instanceId} in ${REGION} is not Leaven's`),
      );
      expect(host?.state).toBe("stopped");
      expect(host?.tags).toEqual(tags);
    }
  });

  it("refuses a volume created without this installation's tags", async () => {
    const [result] = await execute(t.cloud, [
      {
        kind: "create-volume",
        ...base,
        parentImageId: "ami-00000000000000000",
        volume: { availabilityZone: `${REGION}a`, clientToken: "x", tags: { [Tag.spec]: "base" } },
      },
    ]);
    expect(result?.error).toMatch(/^refused: the new resource would not be this installation's/);
  });
});
