// observeVolumeBakes against the simulator over HTTP: the device names anyone's volumes hold on a bakery host
// (from its BlockDeviceMappings, no second DescribeVolumes), and the calls it saves: DescribeSnapshots only
// while a bake that succeeded is snapshotted, ListCommands only while a bake on the host awaits its verdict
// or the host may be idle; and none of the region's instances listed twice when the bake observer listed them.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { VOLUME_BAKE_ROLE } from "../../controller/api/bakery-roles.ts";
import { MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import { emptyInventory } from "../../controller/observe/inventory.ts";
import { observeBakes } from "../../controller/observe/observe.ts";
import { bakeCommandComment, idleFor, observeVolumeBakes } from "../../controller/observe/volume-bakes.ts";
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
