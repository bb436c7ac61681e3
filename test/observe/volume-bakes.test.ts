// observeVolumeBakes against the simulator over HTTP: the device names anyone's volumes hold on a bakery host
// (from its BlockDeviceMappings, no second DescribeVolumes), and the calls it saves: DescribeSnapshots only
// while a bake that succeeded is snapshotted, ListCommands only while a bake on the host awaits its verdict
// or the host may be idle; and none of the region's instances listed twice when the bake observer listed them.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { VOLUME_BAKE_ROLE } from "../../controller/api/bakery-roles.ts";
import { MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import type { CloudInstance, CloudVolume } from "../../controller/cloud/port.ts";
import { emptyInventory } from "../../controller/observe/inventory.ts";
import { observeBakes } from "../../controller/observe/observe.ts";
import {
  bakeCommandComment,
  commandEnded,
  hasVolumeBakes,
  idleFor,
  isBakeVolume,
  observeVolumeBakes,
  parseBakeCommandComment,
  regionsWithVolumeBakes,
} from "../../controller/observe/volume-bakes.ts";
import { MINUTE, requestTable, type SimCloud, startSimCloud } from "../support/sim-cloud.ts";

const REGION = "us-east-1";
const BUILD = "1.0.0+0000abcd";
const IDLE_MS = 30 * MINUTE;

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

const owned = (extra: Record<string, string> = {}) => ({
  [Tag.managedBy]: MANAGED_BY_VALUE,
  [Tag.installation]: "default",
  ...extra,
});

/** A running bakery host and the snapshot of a parent image to make volumes from. */
async function hostAndSnapshot(): Promise<{ host: string; zone: string; snapshotId: string }> {
  const [parent] = t.sim.seedImages([{ region: REGION, name: "parent", tags: {} }]);
  const { instanceId } = await t.cloud.runInstance(REGION, {
    imageId: parent!,
    instanceType: "t3.medium",
    userData: "",
    clientToken: "host",
    // SSM reaches only an instance whose agent registered, through a profile with the managed policy.
    instanceProfile: "leaven-bakery",
    tags: owned({ [Tag.role]: "bakery" }),
  });
  t.clock.advance(MINUTE);
  const [described] = await t.cloud.describeInstances(REGION, [
    { name: "instance-id", values: [instanceId] },
  ]);
  const snapshotId = t.sim.world.region(REGION).images.get(parent!)!.snapshotIds[0]!;
  return { host: instanceId, zone: described!.availabilityZone!, snapshotId };
}

async function attached(
  setup: { host: string; zone: string; snapshotId: string },
  device: string,
  tags: Record<string, string>,
): Promise<string> {
  const { volumeId } = await t.cloud.createVolume(REGION, {
    snapshotId: setup.snapshotId,
    availabilityZone: setup.zone,
    clientToken: `volume-${device}`,
    tags,
  });
  t.clock.advance(MINUTE);
  await t.cloud.attachVolume(REGION, volumeId, setup.host, device);
  t.clock.advance(MINUTE);
  return volumeId;
}

async function observe() {
  t.adapter.resetStats();
  const inventory = await observeVolumeBakes(t.cloud, emptyInventory(), [REGION], {
    imageId: "ami-00000000000000001",
    idle: { stopMs: IDLE_MS, now: t.clock.now() },
  });
  return { observation: inventory.volumeBakes!, requests: requestTable(t.adapter) };
}

describe("observeVolumeBakes", () => {
  it("reads the device names on a host from its BlockDeviceMappings, a foreign volume's included", async () => {
    const setup = await hostAndSnapshot();
    // Not Leaven's: its device name is taken all the same.
    await attached(setup, "/dev/sdf", { team: "data" });
    const { observation, requests } = await observe();
    expect(observation.devices.get(setup.host)).toEqual(["/dev/xvda", "/dev/sdf"]);
    expect(observation.volumes).toEqual([]);
    // A young host with no bake on it: neither its commands nor any snapshot is asked for.
    expect(requests).toEqual({ [`${REGION} DescribeInstances`]: 1, [`${REGION} DescribeVolumes`]: 1 });
  });

  it("lists a host's commands while a bake on it awaits its verdict, not once the verdict is on the volume", async () => {
    const setup = await hostAndSnapshot();
    const tags = owned({ [Tag.role]: VOLUME_BAKE_ROLE, [Tag.spec]: "app", [Tag.build]: BUILD });
    const volumeId = await attached(setup, "/dev/sdf", tags);
    const { commandId } = await t.cloud.sendCommand(REGION, {
      instanceIds: [setup.host],
      commands: ["true"],
      comment: bakeCommandComment(BUILD, volumeId),
    });
    const awaiting = await observe();
    expect(awaiting.requests[`${REGION} ListCommands`]).toBe(1);
    expect(awaiting.observation.commands.get(volumeId)).toMatchObject({ commandId, build: BUILD });
    expect(awaiting.requests[`${REGION} DescribeSnapshots`]).toBeUndefined();

    await t.cloud.createTags(REGION, [volumeId], { [Tag.bakeResult]: "success" });
    const snapshotting = await observe();
    expect(snapshotting.requests[`${REGION} ListCommands`]).toBeUndefined();
    // The bake succeeded: its snapshot is what the next step looks for.
    expect(snapshotting.requests[`${REGION} DescribeSnapshots`]).toBe(1);
    expect(snapshotting.observation.commands.size).toBe(0);
  });

  it("lists an old host's commands when no bake device is taken: the planner's idle stop needs the last one", async () => {
    const setup = await hostAndSnapshot();
    await t.cloud.sendCommand(REGION, { instanceIds: [setup.host], commands: ["true"], comment: "other" });
    t.clock.advance(IDLE_MS);
    const idle = await observe();
    expect(idle.requests[`${REGION} ListCommands`]).toBe(1);
    expect(idle.observation.lastCommandAt.get(setup.host)).toBeDefined();

    // Anyone's volume under a bake device name keeps the host from idling: its commands do not matter then.
    await attached(setup, "/dev/sdg", { team: "data" });
    const busy = await observe();
    expect(busy.requests[`${REGION} ListCommands`]).toBeUndefined();
  });
});

describe("observeBakes then observeVolumeBakes in one pass", () => {
  it("lists the region's instances once: the bakery hosts come with the bake instances", async () => {
    const setup = await hostAndSnapshot();
    // Another installation's host is listed too, and left out by the volume-bake observer, as on its own call.
    const [parent] = t.sim.seedImages([{ region: REGION, name: "other-parent", tags: {} }]);
    await t.cloud.runInstance(REGION, {
      imageId: parent!,
      instanceType: "t3.medium",
      userData: "",
      clientToken: "other-host",
      instanceProfile: "leaven-bakery",
      tags: { ...owned({ [Tag.role]: "bakery" }), [Tag.installation]: "other" },
    });
    t.clock.advance(MINUTE);
    t.adapter.resetStats();
    const inventory = await observeBakes(t.cloud, emptyInventory(), [REGION]);
    // A host is no bake instance: its console is not read, nor is it the planner's to terminate as a bake.
    expect(inventory.instances).toEqual([]);
    await observeVolumeBakes(t.cloud, inventory, [REGION], {
      imageId: "ami-00000000000000001",
      idle: { stopMs: IDLE_MS, now: t.clock.now() },
    });
    expect(inventory.volumeBakes!.hosts.map((h) => h.instanceId)).toEqual([setup.host]);
    expect(requestTable(t.adapter)).toEqual({
      [`${REGION} DescribeInstances`]: 1,
      [`${REGION} DescribeLaunchTemplates`]: 1,
      [`${REGION} DescribeVolumes`]: 1,
    });
  });
});

describe("idleFor, the one idle rule of the observer and the planner", () => {
  const launched = "2026-06-01T12:00:00.000Z";
  const at = (minutes: number) => Date.parse(launched) + minutes * MINUTE;
  it.each([
    ["launched 30 min ago, nothing attached", [], undefined, 30, true],
    ["launched 29 min ago", [], undefined, 29, false],
    ["a bake device taken", ["/dev/sda1", "/dev/sdf"], undefined, 90, false],
    ["only its own root device", ["/dev/xvda"], undefined, 30, true],
    ["a command 10 min ago", [], "2026-06-01T12:50:00.000Z", 60, false],
    ["a command 30 min ago", [], "2026-06-01T12:30:00.000Z", 60, true],
    ["an unreadable command time: the launch counts", [], "soon", 30, true],
  ])("%s", (_label, devices, lastCommandAt, minutes, idle) => {
    expect(idleFor({ launchTime: launched, devices }, 30 * MINUTE, at(minutes), lastCommandAt)).toBe(idle);
  });
});

describe("the comment, status and role rules the observer reads by", () => {
  it.each([
    [`leaven-bake ${BUILD} vol-0000000000000001`, { build: BUILD, volumeId: "vol-0000000000000001" }],
    [undefined, undefined],
    ["", undefined],
    [`leaven-bake ${BUILD}`, undefined],
    [`leaven-bake ${BUILD} vol-0000000000000001 extra`, undefined],
    [`other ${BUILD} vol-0000000000000001`, undefined],
  ])("parses the bake command comment %j", (comment, parsed) => {
    expect(parseBakeCommandComment(comment)).toEqual(parsed);
  });

  it.each([
    ["Success", true],
    ["Failed", true],
    ["Cancelled", true],
    ["TimedOut", true],
    ["Pending", false],
    ["InProgress", false],
    ["Delayed", false],
  ] as const)("a command %s has ended: %s", (status, ended) => {
    expect(commandEnded(status)).toBe(ended);
  });

  const vol = (tags: Record<string, string>, fields: Partial<CloudVolume> = {}): CloudVolume => ({
    volumeId: "vol-0000000000000001",
    region: REGION,
    availabilityZone: `${REGION}a`,
    state: "available",
    size: 8,
    attachments: [],
    tags,
    ...fields,
  });

  it.each([
    ["volume-bake", true],
    ["volume-pool", true],
    ["bakery", false],
    [undefined, false],
  ])("a volume of role %s is a bake or pool volume: %s", (role, bake) => {
    expect(isBakeVolume(vol(role ? { [Tag.role]: role } : {}))).toBe(bake);
  });

  const hostOf = (
    tags: Record<string, string>,
    state: CloudInstance["state"] = "running",
  ): CloudInstance => ({
    instanceId: "i-0000000000000host",
    region: REGION,
    imageId: "ami-al2023",
    state,
    launchTime: new Date(0).toISOString(),
    tags,
  });
  const bakeTags = owned({ [Tag.role]: VOLUME_BAKE_ROLE });
  it.each([
    ["a bake volume of ours", [vol(bakeTags)], [], true],
    ["a pool volume of ours", [vol(owned({ [Tag.role]: "volume-pool" }))], [], true],
    ["one in another region", [vol(bakeTags, { region: "eu-west-1" })], [], false],
    ["another installation's", [vol({ ...bakeTags, [Tag.installation]: "other" })], [], false],
    ["one without the owner tag", [vol({ [Tag.role]: VOLUME_BAKE_ROLE })], [], false],
    ["a host's own root volume", [vol(owned({ [Tag.role]: "bakery" }))], [], false],
    ["a deleted one", [vol(bakeTags, { state: "deleted" })], [], false],
    ["a host of ours", [], [hostOf(owned({ [Tag.role]: "bakery" }))], true],
    ["a stopped host of ours", [], [hostOf(owned({ [Tag.role]: "bakery" }), "stopped")], true],
    ["a terminated host", [], [hostOf(owned({ [Tag.role]: "bakery" }), "terminated")], false],
    [
      "a host in another region",
      [],
      [{ ...hostOf(owned({ [Tag.role]: "bakery" })), region: "eu-west-1" }],
      false,
    ],
    [
      "another installation's host",
      [],
      [hostOf({ ...owned({ [Tag.role]: "bakery" }), [Tag.installation]: "x" })],
      false,
    ],
    ["a bake instance", [], [hostOf(owned({ [Tag.role]: "bake" }))], false],
  ] as const)("a region holding %s has volume bakes: %s", (_, volumes, hosts, found) => {
    expect(hasVolumeBakes(REGION, volumes, hosts)).toBe(found);
  });
});

describe("what observeVolumeBakes keeps, reads and looks up", () => {
  it("keeps only this installation's snapshots, and a named host once whatever its tags", async () => {
    const setup = await hostAndSnapshot();
    const tags = owned({ [Tag.role]: VOLUME_BAKE_ROLE, [Tag.spec]: "app", [Tag.build]: BUILD });
    const volumeId = await attached(setup, "/dev/sdf", { ...tags, [Tag.bakeResult]: "success" });
    const { snapshotId } = await t.cloud.createSnapshot(REGION, {
      volumeId,
      tags: { ...tags, [Tag.bakeVolume]: volumeId },
    });
    // A look-alike of another installation's, of the same volume.
    await t.cloud.createSnapshot(REGION, {
      volumeId,
      tags: { ...tags, [Tag.installation]: "other", [Tag.bakeVolume]: volumeId },
    });
    t.adapter.resetStats();
    // The host Leaven launched, named by the user as well: one host, the user's.
    const inventory = await observeVolumeBakes(t.cloud, emptyInventory(), [REGION], {
      hostInstanceId: setup.host,
      imageId: "ami-00000000000000001",
    });
    const observation = inventory.volumeBakes!;
    expect(observation.snapshots.map((s) => s.snapshotId)).toEqual([snapshotId]);
    expect(observation.hosts.map((h) => h.instanceId)).toEqual([setup.host]);
    expect(observation.regions).toEqual([REGION]);
  });

  it("lists no stopped host's commands, and follows the newest command of each volume", async () => {
    const setup = await hostAndSnapshot();
    const tags = owned({ [Tag.role]: VOLUME_BAKE_ROLE, [Tag.spec]: "app", [Tag.build]: BUILD });
    const volumeId = await attached(setup, "/dev/sdf", tags);
    const send = () =>
      t.cloud.sendCommand(REGION, {
        instanceIds: [setup.host],
        commands: ["true"],
        comment: bakeCommandComment(BUILD, volumeId),
      });
    await send();
    t.clock.advance(MINUTE);
    const { commandId } = await send();
    const { observation } = await observe();
    expect(observation.commands.get(volumeId)?.commandId).toBe(commandId);

    await t.cloud.stopInstances(REGION, [setup.host]);
    t.clock.advance(MINUTE);
    const stopped = await observe();
    expect(stopped.requests[`${REGION} ListCommands`]).toBeUndefined();
    expect(stopped.observation.commands.size).toBe(0);
  });

  it("reads the output of an ended command of the volume that awaits its verdict, beside one that has it", async () => {
    const setup = await hostAndSnapshot();
    const tags = owned({ [Tag.role]: VOLUME_BAKE_ROLE, [Tag.spec]: "app", [Tag.build]: BUILD });
    // The first listed has its verdict already; the second's command ended without one on the volume.
    await attached(setup, "/dev/sdf", { ...tags, [Tag.bakeResult]: "success" });
    const awaiting = await attached(setup, "/dev/sdg", { ...tags, [Tag.build]: "2.0.0+0000abcd" });
    await t.cloud.sendCommand(REGION, {
      instanceIds: [setup.host],
      commands: ["true"],
      comment: bakeCommandComment("2.0.0+0000abcd", awaiting),
    });
    t.clock.advance(10 * MINUTE);
    const { observation, requests } = await observe();
    expect(requests[`${REGION} GetCommandInvocation`]).toBe(1);
    expect(commandEnded(observation.commands.get(awaiting)!.status)).toBe(true);
  });

  it("looks up the host AMI only where a host may be launched and none is up, unless leaven.yaml names one", async () => {
    const lookups = async (options: Parameters<typeof observeVolumeBakes>[3]) => {
      t.adapter.resetStats();
      const inventory = await observeVolumeBakes(t.cloud, emptyInventory(), [REGION], options);
      return {
        describeImages: requestTable(t.adapter)[`${REGION} DescribeImages`] ?? 0,
        image: inventory.volumeBakes!.hostImages.get(REGION),
      };
    };
    const none = await lookups({ launchRegions: new Set([REGION]) });
    expect(none.describeImages).toBe(1);
    expect(none.image).toMatch(/^ami-/);
    expect(await lookups({ launchRegions: new Set(["eu-west-1"]) })).toEqual({
      describeImages: 0,
      image: undefined,
    });
    expect(await lookups({ imageId: "ami-0000000000000mine" })).toEqual({
      describeImages: 0,
      image: "ami-0000000000000mine",
    });
    await hostAndSnapshot();
    expect((await lookups({ launchRegions: new Set([REGION]) })).describeImages).toBe(0);
  });

  it("leaves out a region it could not read, with the error, and keeps the others", async () => {
    const failing = new Proxy(t.cloud, {
      get(target, prop, receiver) {
        if (prop === "describeVolumes")
          return async (region: string, ...rest: unknown[]) => {
            if (region === "eu-west-1") throw new Error("eu-west-1 is down");
            return (target.describeVolumes as (...a: unknown[]) => unknown)(region, ...rest);
          };
        const value = Reflect.get(target, prop, receiver);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
    const inventory = await observeVolumeBakes(failing, emptyInventory(), ["us-east-1", "eu-west-1"], {
      imageId: "ami-00000000000000001",
    });
    expect(inventory.volumeBakes!.regions).toEqual(["us-east-1"]);
    expect(inventory.volumeBakes!.errors).toEqual(new Map([["eu-west-1", "eu-west-1 is down"]]));
    const probe = await regionsWithVolumeBakes(failing, ["us-east-1", "eu-west-1"]);
    expect(probe.errors).toEqual(new Map([["eu-west-1", "eu-west-1 is down"]]));
  });

  it("reports the regions holding its volumes or hosts, sorted, when asked cheaply", async () => {
    await hostAndSnapshot();
    const probe = await regionsWithVolumeBakes(t.cloud, ["us-west-2", REGION, "eu-west-1"]);
    expect(probe).toEqual({ found: [REGION], errors: new Map() });
  });
});
