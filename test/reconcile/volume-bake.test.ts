// Volume bakes (bake.method: volume) against the simulator through the real SDK over HTTP: a spec converges
// with no instance bake, its image has the parent's architecture, boot mode and root device and says it was
// baked on a volume, and nothing is left behind; a controller killed after any step's request went through
// (its answer lost, its memory gone) resumes with no duplicate volume, snapshot, image or host; a look-alike
// volume of another installation and a user-named host are never touched; an idle host Leaven owns is stopped.
import { afterEach, describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import { CloudError, type CloudPort } from "../../controller/cloud/port.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { type PassResult, Reconciler, settled } from "../../controller/reconcile/reconciler.ts";
import { AWKWARD_NONE } from "../../controller/sim/awkward.ts";
import type { BakeryConfig } from "../../controller/validation/leaven-config.ts";
import { MINUTE, requestsOf, type SimCloud, startSimCloud } from "../support/sim-cloud.ts";
import { baseSpec, ubuntuFoundation, validation } from "../support/sim-specs.ts";

const REGION = "us-east-1";
let t: SimCloud | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const estate = (version = "1.0.0") =>
  validation(
    ubuntuFoundation(["us-east-1"]),
    baseSpec("base", { version, regions: ["us-east-1"], bake: { method: "volume" } }),
  );

const statusOf = (pass: PassResult, spec: string) => pass.statuses.find((s) => s.name === spec)!;

function reconciler(cloud: CloudPort, bakery?: BakeryConfig, installation?: string) {
  return new Reconciler({
    cloud,
    clock: t!.clock,
    logger: silentLogger,
    ...(bakery ? { bakery } : {}),
    ...(installation ? { installation } : {}),
  });
}

/** Passes until base is Ready (a fresh controller each pass when `fresh`: nothing is remembered). */
async function converge(
  make: () => Reconciler,
  version = "1.0.0",
  fresh = false,
  limit = 80,
): Promise<PassResult[]> {
  const passes: PassResult[] = [];
  let controller = make();
  for (let n = 0; n < limit; n++) {
    if (fresh) controller = make();
    const pass = await controller.pass(estate(version));
    passes.push(pass);
    if (statusOf(pass, "base").phase === "Ready" && pass.executed.length === 0) return passes;
    t!.clock.advance(30_000);
  }
  throw new Error(`did not converge: ${statusOf(passes.at(-1)!, "base").message}`);
}

/** Volumes that look like Leaven's bake volumes: another installation's, and one with no owner tag. */
async function lookAlikes(): Promise<string[]> {
  const [parent] = await t!.adapter.describeImages(REGION, {
    owners: ["099720109477"],
    filters: [{ name: "name", values: ["ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"] }],
  });
  const [described] = await t!.adapter.describeImages(REGION, { imageIds: [parent!.imageId] });
  const like = { [Tag.spec]: "base", [Tag.build]: "0.0.1+deadbeef", [Tag.role]: "volume-bake" };
  const ids: string[] = [];
  for (const tags of [
    { ...like, [Tag.managedBy]: "leaven", [Tag.installation]: "someone-else" },
    { ...like, [Tag.installation]: "default" },
  ]) {
    const volume = await t!.adapter.createVolume(REGION, {
      snapshotId: described!.boot!.rootSnapshotId!,
      availabilityZone: `${REGION}a`,
      clientToken: `foreign-${ids.length}`,
      tags,
    });
    ids.push(volume.volumeId);
  }
  return ids;
}

async function leftovers() {
  const cloud = t!.adapter;
  const volumes = await cloud.describeVolumes(REGION, [{ name: `tag:${Tag.managedBy}`, values: ["leaven"] }]);
  const snapshots = await cloud.describeSnapshots(REGION, [
    { name: `tag:${Tag.role}`, values: ["volume-bake"] },
  ]);
  const images = await cloud.describeImages(REGION, {
    owners: ["self"],
    filters: [{ name: `tag:${Tag.spec}`, values: ["base"] }],
  });
  const hosts = await cloud.describeInstances(REGION, [{ name: `tag:${Tag.role}`, values: ["bakery"] }]);
  return { volumes, snapshots, images, hosts: hosts.filter((h) => h.state !== "terminated") };
}

describe("volume bakes on the simulator", () => {
  it("converges with no bake instance; the image has the parent's boot settings and the method tag; nothing is left", async () => {
    t = await startSimCloud();
    const passes = await converge(() => reconciler(t!.cloud));
    const kinds = new Set(passes.flatMap((p) => p.executed.map((a) => a.kind)));
    for (const kind of [
      "launch-bakery-host",
      "create-volume",
      "attach-volume",
      "send-bake-command",
      "detach-volume",
      "create-bake-snapshot",
      "register-image",
      "delete-volume",
    ])
      expect(kinds).toContain(kind);
    expect(kinds).not.toContain("launch-bake");
    expect(passes.every((p) => p.results.every((r) => r.ok))).toBe(true);

    const { volumes, snapshots, images, hosts } = await leftovers();
    expect(volumes).toEqual([]);
    expect(images).toHaveLength(1);
    const image = images[0]!;
    expect(image.tags[Tag.bakeMethod]).toBe("volume");
    expect(image.tags[Tag.bakeVolume]).toBeUndefined();
    expect(snapshots.map((s) => s.snapshotId)).toEqual(image.snapshotIds);
    expect(hosts).toHaveLength(1);

    const [baked] = await t.adapter.describeImages(REGION, { imageIds: [image.imageId] });
    const [parent] = await t.adapter.describeImages(REGION, { imageIds: [image.tags[Tag.parentImage]!] });
    expect(baked!.architecture).toBe(parent!.architecture);
    expect(baked!.rootDeviceName).toBe(parent!.rootDeviceName);
    expect(baked!.boot?.bootMode).toBe(parent!.boot?.bootMode);
    expect(baked!.boot?.enaSupport).toBe(parent!.boot?.enaSupport);
    expect(baked!.boot?.virtualizationType).toBe(parent!.boot?.virtualizationType);
    expect(baked!.boot?.rootSnapshotId).toBe(snapshots[0]!.snapshotId);
  });

  it("with bake.kmsKeyId, encrypts the volume with the key, and so the snapshot and the image's root", async () => {
    t = await startSimCloud();
    const KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const keyed = validation(
      ubuntuFoundation(["us-east-1"]),
      baseSpec("base", { regions: ["us-east-1"], bake: { method: "volume", kmsKeyId: KEY } }),
    );
    const controller = reconciler(t.cloud);
    const volumes = new Set<string>();
    for (let n = 0; n < 80; n++) {
      const pass = await controller.pass(keyed);
      for (const v of t.sim.world.region(REGION).volumes.values())
        if (v.tags[Tag.spec] === "base") volumes.add(`${v.volumeId} ${v.encrypted} ${v.kmsKeyId}`);
      if (statusOf(pass, "base").phase === "Ready" && pass.executed.length === 0) break;
      t.clock.advance(30_000);
    }
    expect([...volumes].map((v) => v.split(" ").slice(1).join(" "))).toEqual([`true ${KEY}`]);
    const { images, snapshots } = await leftovers();
    expect(images).toHaveLength(1);
    const { DescribeImagesCommand, DescribeSnapshotsCommand, EC2Client } = await import(
      "@aws-sdk/client-ec2"
    );
    const client = new EC2Client({
      region: REGION,
      endpoint: t.sim.endpoint,
      credentials: { accessKeyId: "AKIDSIM", secretAccessKey: "sim" },
      maxAttempts: 1,
    });
    const described = await client.send(new DescribeImagesCommand({ ImageIds: [images[0]!.imageId] }));
    const [root] = described.Images![0]!.BlockDeviceMappings!;
    expect(root!.Ebs).toMatchObject({ SnapshotId: snapshots[0]!.snapshotId, Encrypted: true, KmsKeyId: KEY });
    const snapshot = await client.send(
      new DescribeSnapshotsCommand({ SnapshotIds: [snapshots[0]!.snapshotId] }),
    );
    expect(snapshot.Snapshots![0]).toMatchObject({ Encrypted: true, KmsKeyId: KEY });
  });

  const steps: (keyof CloudPort)[] = [
    "runInstance",
    "createVolume",
    "attachVolume",
    "sendCommand",
    "detachVolume",
    "createSnapshot",
    "registerImage",
    "deleteVolume",
  ];
  it.each(steps)(
    "a controller killed right after %s went through resumes with no duplicate volume, snapshot, image or host",
    async (step) => {
      t = await startSimCloud();
      let killed = false;
      // The request reaches AWS, then the controller dies: the answer is lost and a new controller starts.
      const dying: CloudPort = {
        ...t.cloud,
        [step]: async (...args: unknown[]) => {
          const real = t!.cloud[step] as (...a: unknown[]) => Promise<unknown>;
          const answer = await real(...args);
          if (!killed) {
            killed = true;
            throw new CloudError("Killed", `kill -9 after ${step}`, 400, false);
          }
          return answer;
        },
      };
      await converge(() => reconciler(dying), "1.0.0", true);
      expect(killed).toBe(true);
      const { volumes, snapshots, images, hosts } = await leftovers();
      expect(volumes).toEqual([]);
      expect(images).toHaveLength(1);
      expect(snapshots.map((s) => s.snapshotId)).toEqual(images[0]!.snapshotIds);
      expect(hosts).toHaveLength(1);
    },
  );

  it("sends the bake command once when its answer was lost and SSM lists it only minutes later", async () => {
    // As SSM may be: a new command is missing from ListCommands for a while (up to 2 minutes here).
    t = await startSimCloud({
      awkward: { ...AWKWARD_NONE, consistency: true, consistencyLagMs: 2 * MINUTE },
      faults: { seed: 11 },
    });
    let lost = false;
    const losing: CloudPort = {
      ...t.cloud,
      sendCommand: async (region, input) => {
        const answer = await t!.cloud.sendCommand(region, input);
        if (lost) return answer;
        lost = true;
        throw new CloudError("CommandNotListedYet", "the answer was lost", 0, true);
      },
    };
    const passes = await converge(() => reconciler(losing), "1.0.0", true);
    expect(lost).toBe(true);
    const bakes = [...t.sim.world.region(REGION).commands.values()].filter((c) =>
      c.comment?.startsWith("leaven-bake "),
    );
    expect(bakes).toHaveLength(1);
    // The case the wait is for was met: a pass found the command sent but not listed.
    expect(
      passes.some((p) => statusOf(p, "base").message.includes(": waiting for the bake command on i-")),
    ).toBe(true);
    // Nor does the image, registered a pass before it is listed, stall the spec (a duplicate name, retried).
    expect(passes.map((p) => statusOf(p, "base").phase)).not.toContain("Stalled");
    expect(await leftovers()).toMatchObject({ volumes: [], images: [expect.anything()] });
  });

  it("records a failed chroot bake like an instance bake's, and --retry bakes it again", async () => {
    t = await startSimCloud({ faults: { volumeBakeFailure: { specs: ["base"] } } });
    const controller = reconciler(t.cloud);
    let pass: PassResult | undefined;
    for (let n = 0; n < 40; n++) {
      pass = await controller.pass(estate());
      if (statusOf(pass, "base").phase === "Failed" && pass.executed.length === 0) break;
      t.clock.advance(30_000);
    }
    expect(statusOf(pass!, "base").phase).toBe("Failed");
    expect(statusOf(pass!, "base").message).toMatch(
      /bake script failed: chroot provision script exited with status 1/,
    );
    const { volumes } = await leftovers();
    expect(volumes).toEqual([]);
    const records = await t.adapter.describeLaunchTemplates(REGION, [
      { name: `tag:${Tag.role}`, values: ["failure"] },
    ]);
    expect(records).toHaveLength(1);
  });

  it("sweeps the volume of a build no longer being baked (the recipe changed mid-bake)", async () => {
    t = await startSimCloud();
    const controller = reconciler(t.cloud);
    // Up to the chroot command running on 1.0.0's volume.
    for (let n = 0; n < 20; n++) {
      const pass = await controller.pass(estate("1.0.0"));
      if (pass.executed.some((a) => a.kind === "send-bake-command")) break;
      t.clock.advance(30_000);
    }
    const [old] = (await leftovers()).volumes;
    expect(old?.tags[Tag.build]).toMatch(/^1\.0\.0\+/);
    const passes = await converge(() => controller, "1.0.1");
    const swept = passes
      .flatMap((p) => p.executed)
      .filter((a) => "volumeId" in a && a.volumeId === old!.volumeId);
    expect(swept.map((a) => a.kind)).toEqual(["detach-volume", "delete-volume"]);
    expect(swept[0]!.reason).toMatch(/is no longer being baked \(base now wants 1\.0\.1\+/);
    const { volumes, images } = await leftovers();
    expect(volumes).toEqual([]);
    expect(images.map((i) => i.tags[Tag.version])).toEqual(["1.0.1"]);
  });

  it("sweeps a spec's volume at once when the spec is deleted mid-bake, and does not settle before it is gone", async () => {
    // A detach slower than a pass: a pass sees the volume detaching, with nothing to do but wait.
    t = await startSimCloud({ timings: { volumeDetaching: 2 * MINUTE } });
    // No sweep in this test's time: the volume is found because a bake volume was seen there, not by a sweep.
    const controller = new Reconciler({
      cloud: t.cloud,
      clock: t.clock,
      logger: silentLogger,
      sweepIntervalMs: 24 * 60 * MINUTE,
    });
    // base Ready first: nothing of its own to bake keeps the region looked at once tools goes.
    await converge(() => controller);
    const tools = baseSpec("tools", { regions: ["us-east-1"], bake: { method: "volume" } });
    const both = validation(...estate().specs, tools);
    for (let n = 0; n < 20; n++) {
      const pass = await controller.pass(both);
      if (pass.executed.some((a) => a.kind === "send-bake-command" && a.spec === "tools")) break;
      t.clock.advance(30_000);
    }
    const doomed = (await leftovers()).volumes.find((v) => v.tags[Tag.spec] === "tools");
    expect(doomed?.tags[Tag.role]).toBe("volume-bake");

    const passes: PassResult[] = [];
    for (let n = 0; n < 30; n++) {
      t.clock.advance(30_000);
      const pass = await controller.pass(estate());
      passes.push(pass);
      if (settled(pass) === "converged") break;
    }
    expect(settled(passes.at(-1)!)).toBe("converged");
    const swept = passes
      .flatMap((p) => p.executed)
      .filter((a) => "volumeId" in a && a.volumeId === doomed!.volumeId);
    expect(swept.map((a) => [a.kind, a.reason])).toEqual([
      ["detach-volume", `spec tools no longer exists: detaching ${doomed!.volumeId} to delete it`],
      ["delete-volume", `spec tools no longer exists: deleting ${doomed!.volumeId}`],
    ]);
    // Not settled while the volume was still there, detaching or not yet deleted.
    const deletedAt = passes.findIndex((p) => p.executed.some((a) => a.kind === "delete-volume"));
    expect(passes.slice(0, deletedAt).every((p) => settled(p) === undefined)).toBe(true);
    expect((await leftovers()).volumes.filter((v) => v.tags[Tag.spec] === "tools")).toEqual([]);
  });

  it("launches a host again the same day after the last one was terminated and is no longer listed", async () => {
    t = await startSimCloud();
    const controller = reconciler(t.cloud);
    await converge(() => controller);
    const [first] = (await leftovers()).hosts;
    // No spec bakes on a volume: the host is terminated, and after an hour EC2 lists it no more.
    const instanceOnly = validation(
      ubuntuFoundation(["us-east-1"]),
      baseSpec("base", { regions: ["us-east-1"], bake: { method: "instance" } }),
    );
    for (let n = 0; n < 10; n++) {
      await controller.pass(instanceOnly);
      t.clock.advance(30_000);
    }
    expect((await leftovers()).hosts).toEqual([]);
    t.clock.advance(2 * 60 * MINUTE);
    // The same day, a volume bake again: the day's token is spent on a terminated host, its successor is not.
    const passes = await converge(() => controller, "1.0.1");
    const launches = passes.flatMap((p) => p.executed).filter((a) => a.kind === "launch-bakery-host");
    expect(launches).toHaveLength(1);
    const [second] = (await leftovers()).hosts;
    expect(second?.instanceId).toBeDefined();
    expect(second?.instanceId).not.toBe(first?.instanceId);
    expect(statusOf(passes.at(-1)!, "base").phase).toBe("Ready");
  });

  it("replaces a host SSM cannot reach, once its agent has had time to register, and bakes on the new one", async () => {
    t = await startSimCloud();
    let sick: string | undefined;
    const unreachable: CloudPort = {
      ...t.cloud,
      sendCommand: async (region, input) => {
        sick ??= input.instanceIds[0];
        if (input.instanceIds[0] === sick)
          throw new CloudError("InvalidInstanceId", "Instances not in a valid state for account", 400, false);
        return t!.cloud.sendCommand(region, input);
      },
    };
    const passes = await converge(() => reconciler(unreachable), "1.0.0", true, 120);
    const executed = passes.flatMap((p) => p.executed);
    expect(executed.filter((a) => a.kind === "launch-bakery-host")).toHaveLength(2);
    expect(executed.some((a) => a.kind === "terminate-instance" && a.instanceId === sick)).toBe(true);
    const [old] = await t.adapter.describeInstances(REGION, [{ name: "instance-id", values: [sick!] }]);
    expect(old?.tags[Tag.unhealthy]).toMatch(/SSM Run Command cannot reach it/);
    // A refused send ran nothing: no pass waits for it to be listed.
    expect(passes.some((p) => statusOf(p, "base").message.includes(": waiting for the bake command"))).toBe(
      false,
    );
    const { volumes, images, hosts } = await leftovers();
    expect(volumes).toEqual([]);
    expect(images).toHaveLength(1);
    expect(hosts.filter((h) => h.state === "running").map((h) => h.instanceId)).not.toContain(sick);
  });

  it("keeps a warm pool of bakery.poolSize volumes per parent and zone, and a bake takes one", async () => {
    t = await startSimCloud();
    const bakery = { poolSize: 2 };
    await converge(() => reconciler(t!.cloud, bakery));
    const pool = async () =>
      (
        await t!.adapter.describeVolumes(REGION, [{ name: `tag:${Tag.role}`, values: ["volume-pool"] }])
      ).filter((v) => v.state === "available" || v.state === "creating");
    // Refilled on the next sweep pass at the latest.
    t.clock.advance(31 * MINUTE);
    await reconciler(t.cloud, bakery).pass(estate());
    t.clock.advance(MINUTE);
    const ready = await pool();
    expect(ready).toHaveLength(2);
    const parent = ready[0]!.tags[Tag.parentImage];
    expect(ready.every((v) => v.tags[Tag.parentImage] === parent)).toBe(true);

    const passes = await converge(() => reconciler(t!.cloud, bakery), "1.0.1");
    const taken = passes
      .flatMap((p) => p.executed)
      // Taking a pool volume retags it as the build's (the verdict is a tag-volume of its own).
      .filter((a) => a.kind === "tag-volume" && a.spec === "base" && a.tags[Tag.role] === "volume-bake");
    expect(taken).toHaveLength(1);
    expect(ready.map((v) => v.volumeId)).toContain((taken[0] as { volumeId: string }).volumeId);
    expect(
      passes.flatMap((p) => p.executed).some((a) => a.kind === "create-volume" && a.spec === "base"),
    ).toBe(false);
    const { images } = await leftovers();
    expect(images.map((i) => i.tags[Tag.version]).sort()).toEqual(["1.0.0", "1.0.1"]);
  });

  it("where no spec bakes on a volume, asks for volumes only on a sweep, once per region, and never for commands", async () => {
    t = await startSimCloud();
    const instanceOnly = validation(
      ubuntuFoundation(["us-east-1"]),
      baseSpec("base", { regions: ["us-east-1"] }),
    );
    const controller = reconciler(t.cloud);
    const perPass: number[] = [];
    const track = async () => {
      const before = requestsOf(t!.adapter, REGION, "DescribeVolumes");
      const pass = await controller.pass(instanceOnly);
      perPass.push(requestsOf(t!.adapter, REGION, "DescribeVolumes") - before);
      return pass;
    };
    for (let n = 0; n < 40; n++) {
      const pass = await track();
      if (statusOf(pass, "base").phase === "Ready" && pass.executed.length === 0) break;
      t.clock.advance(30_000);
    }
    t.clock.advance(31 * MINUTE);
    await track();
    // The sweeps (the first pass, and the last, past sweepIntervalMs) ask whether anything of Leaven's
    // volume bakes is there; every other pass asks nothing.
    expect(perPass.length).toBeGreaterThan(3);
    expect(perPass).toEqual([1, ...perPass.slice(1, -1).map(() => 0), 1]);
    expect(requestsOf(t.adapter, REGION, "ListCommands")).toBe(0);
    expect(requestsOf(t.adapter, REGION, "GetCommandInvocation")).toBe(0);
  });

  it.each([
    ["switched to bake.method: instance", "switched"],
    ["deleted", "deleted"],
    // No spec names us-east-1 any more: only the stray-region probe of a new process finds it.
    ["moved to an instance bake in eu-west-1, leaving its region to no spec", "moved"],
  ] as const)(
    "cleans up the volume, snapshot and host of a half-done volume bake whose spec was %s, and no look-alike",
    async (_title, change) => {
      t = await startSimCloud();
      const foreign = await lookAlikes();
      // Up to the snapshot of the bake volume being asked for, then the controller dies.
      const dying = reconciler(t.cloud);
      for (let n = 0; n < 40; n++) {
        const pass = await dying.pass(estate());
        if (pass.executed.some((a) => a.kind === "create-bake-snapshot")) break;
        t.clock.advance(30_000);
      }
      const ours = async () => {
        const all = await leftovers();
        return { ...all, volumes: all.volumes.filter((v) => !foreign.includes(v.volumeId)) };
      };
      const before = await ours();
      expect(before.volumes.map((v) => v.tags[Tag.role])).toEqual(["volume-bake"]);
      expect(before.snapshots).toHaveLength(1);
      expect(before.hosts).toHaveLength(1);
      expect(before.images).toEqual([]);

      const after =
        change === "switched"
          ? validation(ubuntuFoundation(["us-east-1"]), baseSpec("base", { regions: ["us-east-1"] }))
          : change === "moved"
            ? validation(ubuntuFoundation(["eu-west-1"]), baseSpec("base", { regions: ["eu-west-1"] }))
            : validation(ubuntuFoundation(["us-east-1"]));
      const controller = reconciler(t.cloud);
      const executed = [];
      // Within a sweep period (30 minutes): the first pass is a sweep, the next one 30 minutes on.
      for (let n = 0; n < 8; n++) {
        executed.push(...(await controller.pass(after)).executed);
        t.clock.advance(5 * MINUTE);
      }
      const left = await ours();
      expect(left.volumes).toEqual([]);
      // The role=volume-bake snapshots (the instance bake's image has its own, from CreateImage).
      expect(left.snapshots).toEqual([]);
      expect(left.hosts).toEqual([]);
      expect(left.images).toHaveLength(change === "switched" ? 1 : 0);
      const reasons = executed.filter((a) => a.spec === "(bakery)" || a.spec === "base").map((a) => a.reason);
      expect(reasons).toContain(
        change !== "deleted"
          ? `spec base no longer bakes on a volume (bake.method: instance): deleting ${before.volumes[0]!.volumeId}`
          : `spec base no longer exists: deleting ${before.volumes[0]!.volumeId}`,
      );
      expect(reasons).toContain(
        `no spec bakes on a volume in ${REGION} any more: terminating bakery host ${before.hosts[0]!.instanceId}`,
      );
      for (const volumeId of foreign) {
        expect(executed.some((a) => "volumeId" in a && a.volumeId === volumeId)).toBe(false);
        const [still] = await t.adapter.describeVolumes(REGION, [], [volumeId]);
        expect(still?.state).toBe("available");
      }
    },
  );

  it("never touches a look-alike volume of another installation", async () => {
    t = await startSimCloud();
    const [parent] = await t.adapter.describeImages(REGION, {
      owners: ["099720109477"],
      filters: [{ name: "name", values: ["ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"] }],
    });
    const [described] = await t.adapter.describeImages(REGION, { imageIds: [parent!.imageId] });
    const foreign = await t.adapter.createVolume(REGION, {
      snapshotId: described!.boot!.rootSnapshotId!,
      availabilityZone: `${REGION}a`,
      clientToken: "foreign-volume",
      tags: {
        [Tag.managedBy]: "leaven",
        [Tag.installation]: "someone-else",
        [Tag.spec]: "base",
        [Tag.build]: "0.0.1+deadbeef",
        [Tag.role]: "volume-bake",
      },
    });
    const passes = await converge(() => reconciler(t!.cloud));
    // A later sweep pass (leaks) does not take it either.
    t.clock.advance(31 * MINUTE);
    passes.push(await reconciler(t.cloud).pass(estate()));
    expect(
      passes.flatMap((p) => p.executed).some((a) => "volumeId" in a && a.volumeId === foreign.volumeId),
    ).toBe(false);
    const [still] = await t.adapter.describeVolumes(REGION, [], [foreign.volumeId]);
    expect(still?.state).toBe("available");
  });

  it("stops an idle host Leaven owns, and never stops a user-named host", async () => {
    t = await startSimCloud();
    await converge(() => reconciler(t!.cloud, { idleStop: "10m" }));
    t.clock.advance(31 * MINUTE);
    const idle = await reconciler(t.cloud, { idleStop: "10m" }).pass(estate());
    expect(idle.executed.map((a) => a.kind)).toContain("stop-instance");
    const [host] = (await leftovers()).hosts;
    expect(host?.tags[Tag.idleStoppedAt]).toBeDefined();

    // A new version needs a host again: the stopped one is started, not replaced.
    t.clock.advance(MINUTE);
    const passes = await converge(() => reconciler(t!.cloud, { idleStop: "10m" }), "1.0.1");
    const executed = passes.flatMap((p) => p.executed);
    expect(executed.filter((a) => a.kind === "start-instance").map((a) => a.reason)).toEqual([
      `a volume bake needs a bakery host in ${REGION}: starting stopped ${host!.instanceId}`,
    ]);
    expect(executed.some((a) => a.kind === "launch-bakery-host" || a.kind === "terminate-instance")).toBe(
      false,
    );
    const hosts = (await leftovers()).hosts;
    expect(hosts.map((h) => [h.instanceId, h.state])).toEqual([[host!.instanceId, "running"]]);
    expect((await leftovers()).images.map((i) => i.tags[Tag.version]).sort()).toEqual(["1.0.0", "1.0.1"]);
  });

  it("replaces a stopped host that does not start, ten minutes after starting it", async () => {
    t = await startSimCloud();
    await converge(() => reconciler(t!.cloud));
    const [host] = (await leftovers()).hosts;
    // Someone else stops it, and it will not start again (say, no capacity for its type in its zone).
    await t.adapter.stopInstances(REGION, [host!.instanceId]);
    t.clock.advance(MINUTE);
    const stuck: CloudPort = {
      ...t.cloud,
      startInstances: async () => {
        throw new CloudError(
          "InsufficientInstanceCapacity",
          "We currently do not have sufficient capacity",
          500,
          true,
        );
      },
    };
    const passes = await converge(() => reconciler(stuck), "1.0.1", false, 120);
    const executed = passes.flatMap((p) => p.executed);
    expect(executed.filter((a) => a.kind === "start-instance")).toHaveLength(1);
    const replaced = executed.find(
      (a) => a.kind === "terminate-instance" && a.instanceId === host!.instanceId,
    );
    expect(replaced?.reason).toMatch(
      new RegExp(`^bakery host ${host!.instanceId} is still stopped 10 minutes after Leaven started it \\(`),
    );
    expect(executed.filter((a) => a.kind === "launch-bakery-host")).toHaveLength(1);
    const running = (await leftovers()).hosts.filter((h) => h.state === "running");
    expect(running).toHaveLength(1);
    expect(running[0]!.instanceId).not.toBe(host!.instanceId);
  });

  it("bakes on a user-named host without stopping or tagging it", async () => {
    t = await startSimCloud();
    const [parent] = await t.adapter.describeImages(REGION, {
      owners: ["099720109477"],
      filters: [{ name: "name", values: ["ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*"] }],
    });
    const { instanceId } = await t.adapter.runInstance(REGION, {
      imageId: parent!.imageId,
      instanceType: "t3.medium",
      userData: "",
      clientToken: "users-own-host",
      instanceProfile: "my-bakery",
      tags: { Name: "my bakery" },
    });
    t.clock.advance(MINUTE);
    const bakery = { hostInstanceId: instanceId, idleStop: "1m" };
    const passes = await converge(() => reconciler(t!.cloud, bakery));
    t.clock.advance(31 * MINUTE);
    passes.push(await reconciler(t.cloud, bakery).pass(estate()));
    const all = passes.flatMap((p) => p.executed);
    expect(all.some((a) => a.kind === "launch-bakery-host")).toBe(false);
    expect(
      all.some(
        (a) => (a.kind === "stop-instance" || a.kind === "terminate-instance") && a.instanceId === instanceId,
      ),
    ).toBe(false);
    const [host] = await t.adapter.describeInstances(REGION, [{ name: "instance-id", values: [instanceId] }]);
    expect(host?.state).toBe("running");
    expect(host?.tags).toEqual({ Name: "my bakery" });
    expect((await leftovers()).images).toHaveLength(1);
  });
});
