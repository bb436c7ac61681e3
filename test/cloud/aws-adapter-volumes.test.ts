// The volume-bake port methods end to end: the AWS adapter (real @aws-sdk/client-ec2 and client-ssm) against
// the embedded simulator over HTTP, on a manual clock. The round trip is the volume bake's: create the volume
// from the parent's root snapshot → attach to the bakery host → Run Command → marker → detach → snapshot →
// register → delete the volume.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseBakeMarker } from "../../controller/api/bake-protocol.ts";
import { parseConsoleManifest } from "../../controller/api/package-manifest.ts";
import { type AwsCloud, createAwsCloud } from "../../controller/cloud/aws-adapter.ts";
import { CloudError, type CloudImage } from "../../controller/cloud/port.ts";
import { createS3ObjectStore } from "../../controller/cloud/s3-adapter.ts";
import { parseFaultFlag } from "../../controller/sim/faults.ts";
import { ManualClock } from "../../controller/sim/manual-clock.ts";
import { S3_PATH } from "../../controller/sim/s3.ts";
import { type Simulator, startSimulator } from "../../controller/sim/server.ts";
import { DEFAULT_TIMINGS } from "../../controller/sim/world.ts";

const REGION = "us-east-1";
const MINUTE = 60_000;
const ZONE = "us-east-1a";
const BUILD = "2.0.0+feedbeef";
const TAGS = { "leaven.dev/managed-by": "leaven", "leaven.dev/build": BUILD, "leaven.dev/spec": "web" };
const SCRIPT = ["#!/bin/bash", `LEAVEN_BUILD_ID=${BUILD}`, "LEAVEN_SPEC='web'", "mount /dev/nvme1n1p1 /mnt"];

let sim: Simulator;
let clock: ManualClock;
let cloud: AwsCloud;
let stateDir: string | undefined;

function adapter(endpoint: string): AwsCloud {
  return createAwsCloud({
    endpoint,
    credentials: { accessKeyId: "AKIDLEAVENSIM", secretAccessKey: "leaven-sim" },
    baseDelayMs: 5,
    // One attempt for EC2's "busy" codes: the error cases below must surface, not wait.
    consistency: { maxAttempts: 1 },
  });
}

beforeEach(async () => {
  clock = new ManualClock();
  sim = await startSimulator({ clock, throttle: false });
  cloud = adapter(sim.endpoint);
});

afterEach(async () => {
  cloud.close();
  await sim.close();
  if (stateDir) rmSync(stateDir, { recursive: true, force: true });
  stateDir = undefined;
});

async function parentImage(): Promise<CloudImage> {
  const images = await cloud.describeImages(REGION, { owners: ["amazon"] });
  const parent = images.find((i) => i.architecture === "x86_64" && i.snapshotIds.length > 0);
  if (!parent) throw new Error("the simulator seeds no x86_64 vendor image with a snapshot");
  return parent;
}

/** The bakery host: a running instance with an instance profile (SSM manages it). */
async function bakeryHost(profile: string | null = "leaven-bakery"): Promise<string> {
  const parent = await parentImage();
  const { instanceId } = await cloud.runInstance(REGION, {
    imageId: parent.imageId,
    instanceType: "t3.small",
    userData: "#!/bin/bash\n",
    clientToken: `host-${profile ?? "none"}`,
    tags: { "leaven.dev/role": "bakery-host" },
    ...(profile ? { instanceProfile: profile } : {}),
  });
  clock.advance(DEFAULT_TIMINGS.instancePending);
  return instanceId;
}

async function availableVolume(token: string, zone = ZONE): Promise<string> {
  const parent = await parentImage();
  const { volumeId } = await cloud.createVolume(REGION, {
    snapshotId: parent.snapshotIds[0]!,
    availabilityZone: zone,
    volumeType: "gp3",
    clientToken: token,
    tags: TAGS,
  });
  clock.advance(DEFAULT_TIMINGS.volumeCreating);
  return volumeId;
}

async function codeOf(call: Promise<unknown>): Promise<string> {
  try {
    await call;
  } catch (error) {
    // EC2's "busy" codes carry the adapter's note on the consistency budget after EC2's own message.
    if (error instanceof CloudError) return error.message.replace(/ \(still failing after .*$/, "");
    throw error;
  }
  throw new Error("expected the call to fail");
}

describe("volume bakes through the adapter", () => {
  it("creates, attaches, runs the chroot script, detaches, snapshots, registers and deletes", async () => {
    const host = await bakeryHost();
    const parent = await parentImage();
    cloud.resetStats();

    const { volumeId } = await cloud.createVolume(REGION, {
      snapshotId: parent.snapshotIds[0]!,
      availabilityZone: ZONE,
      volumeType: "gp3",
      clientToken: `volume-${BUILD}`,
      tags: TAGS,
    });
    const byBuild = [{ name: "tag:leaven.dev/build", values: [BUILD] }];
    expect(await cloud.describeVolumes(REGION, byBuild)).toEqual([
      expect.objectContaining({
        volumeId,
        region: REGION,
        availabilityZone: ZONE,
        state: "creating",
        snapshotId: parent.snapshotIds[0],
        volumeType: "gp3",
        attachments: [],
        tags: TAGS,
      }),
    ]);
    clock.advance(DEFAULT_TIMINGS.volumeCreating);
    expect((await cloud.describeVolumes(REGION, [], [volumeId]))[0]?.state).toBe("available");

    await cloud.attachVolume(REGION, volumeId, host, "/dev/sdf");
    expect((await cloud.describeVolumes(REGION, byBuild))[0]).toMatchObject({
      state: "in-use",
      attachments: [{ instanceId: host, device: "/dev/sdf", state: "attaching" }],
    });
    clock.advance(DEFAULT_TIMINGS.volumeAttaching);
    expect((await cloud.describeVolumes(REGION, byBuild))[0]?.attachments[0]?.state).toBe("attached");

    const { commandId } = await cloud.sendCommand(REGION, {
      instanceIds: [host],
      commands: SCRIPT,
      timeoutSeconds: 1800,
      comment: `leaven volume bake ${BUILD}`,
    });
    // SendCommand has no ClientToken: a resumed bake finds the command it sent by its comment.
    expect(await cloud.listCommands(REGION, host)).toEqual([
      {
        commandId,
        comment: `leaven volume bake ${BUILD}`,
        status: "Pending",
        requestedAt: new Date(clock.now()).toISOString(),
      },
    ]);
    expect(await cloud.getCommandInvocation(REGION, commandId, host)).toEqual({
      commandId,
      instanceId: host,
      status: "Pending",
      responseCode: -1,
      stdout: "",
      stderr: "",
    });
    clock.advance(DEFAULT_TIMINGS.commandPickup);
    expect((await cloud.getCommandInvocation(REGION, commandId, host)).status).toBe("InProgress");
    clock.advance(DEFAULT_TIMINGS.volumeBakeScript);
    const done = await cloud.getCommandInvocation(REGION, commandId, host);
    expect(done).toMatchObject({ status: "Success", responseCode: 0 });
    // The verdict, then the volume's package manifest (its parent's packages), as the chroot script prints them.
    expect(done.stdout).toMatch(
      new RegExp(
        `^leaven: baking build ${BUILD.replace("+", "\\+")} in a chroot on /dev/sdf\nLEAVEN-BAKE-RESULT build=\\S+ result=success\nLEAVEN-MANIFEST-BEGIN build=\\S+\n(LEAVEN-MANIFEST-PART .*\n)+LEAVEN-MANIFEST-END .*\n$`,
      ),
    );
    expect(parseBakeMarker(done.stdout, BUILD)).toEqual({ build: BUILD, result: "success" });

    await cloud.detachVolume(REGION, volumeId, { instanceId: host });
    expect((await cloud.describeVolumes(REGION, byBuild))[0]).toMatchObject({
      state: "in-use",
      attachments: [{ state: "detaching" }],
    });
    clock.advance(DEFAULT_TIMINGS.volumeDetaching);
    expect((await cloud.describeVolumes(REGION, byBuild))[0]).toMatchObject({
      state: "available",
      attachments: [],
    });

    const { snapshotId } = await cloud.createSnapshot(REGION, {
      volumeId,
      description: `leaven ${BUILD}`,
      tags: TAGS,
    });
    const snapshotsOfBuild = () => cloud.describeSnapshots(REGION, byBuild);
    expect(await snapshotsOfBuild()).toEqual([
      expect.objectContaining({ snapshotId, state: "pending", tags: TAGS }),
    ]);
    // Only the changed blocks: 7.5 % of the volume, at the simulator's rate per changed GiB.
    const volumeSize = (await cloud.describeVolumes(REGION, [], [volumeId]))[0]!.size;
    const snapshotMs = Math.round(volumeSize * 0.075 * DEFAULT_TIMINGS.snapshotPerChangedGiB);
    clock.advance(snapshotMs - 1);
    expect((await snapshotsOfBuild())[0]?.state).toBe("pending");
    clock.advance(1);
    expect((await snapshotsOfBuild())[0]?.state).toBe("completed");

    const { imageId } = await cloud.registerImage(REGION, {
      name: `web-${BUILD.replace("+", "-")}`,
      architecture: "x86_64",
      bootMode: "uefi-preferred",
      enaSupport: true,
      sriovNetSupport: true,
      virtualizationType: "hvm",
      rootDeviceName: "/dev/xvda",
      root: { snapshotId, volumeType: "gp3" },
      tags: { ...TAGS, "leaven.dev/bake-method": "volume" },
    });
    const registered = () => cloud.describeImages(REGION, { imageIds: [imageId] });
    expect(await registered()).toEqual([
      expect.objectContaining({
        imageId,
        state: "pending",
        architecture: "x86_64",
        rootDeviceName: "/dev/xvda",
        snapshotIds: [snapshotId],
        tags: { ...TAGS, "leaven.dev/bake-method": "volume" },
      }),
    ]);
    clock.advance(DEFAULT_TIMINGS.registerPending);
    expect((await registered())[0]?.state).toBe("available");

    await cloud.deleteVolume(REGION, volumeId);
    expect(await cloud.describeVolumes(REGION, byBuild)).toEqual([]);

    // The whole bake, before any polling, is under 5 simulated minutes (an instance bake takes 8–10).
    const total =
      DEFAULT_TIMINGS.volumeCreating +
      DEFAULT_TIMINGS.volumeAttaching +
      DEFAULT_TIMINGS.commandPickup +
      DEFAULT_TIMINGS.volumeBakeScript +
      DEFAULT_TIMINGS.volumeDetaching +
      snapshotMs +
      DEFAULT_TIMINGS.registerPending;
    expect(total).toBeLessThan(5 * 60_000);

    // One request each, counted alike by the adapter and the simulator; the seven are the bake's only changes.
    const counted = cloud.stats().byRegion[REGION]!;
    const byAction = sim.stats().byAction;
    for (const action of [
      "CreateVolume",
      "AttachVolume",
      "SendCommand",
      "DetachVolume",
      "CreateSnapshot",
      "RegisterImage",
      "DeleteVolume",
    ]) {
      expect(byAction[action], action).toBe(1);
      expect(counted.byAction[action]?.requests, action).toBe(1);
    }
    expect(counted.mutating).toBe(7);
  });

  it("answers CreateVolume's ClientToken with the same volume, and refuses it for other parameters", async () => {
    const first = await availableVolume("token-1");
    expect(await availableVolume("token-1")).toBe(first);
    expect(await cloud.describeVolumes(REGION, [])).toHaveLength(1);
    expect(await codeOf(availableVolume("token-1", "us-east-1b"))).toMatch(/^IdempotentParameterMismatch: /);
  });

  it("gives EC2's errors for the wrong zone, a device in use, an attached delete and a wrong state", async () => {
    const host = await bakeryHost();
    const parent = await parentImage();
    const { volumeId: creating } = await cloud.createVolume(REGION, {
      snapshotId: parent.snapshotIds[0]!,
      availabilityZone: ZONE,
      clientToken: "creating",
      tags: TAGS,
    });
    expect(await codeOf(cloud.attachVolume(REGION, creating, host, "/dev/sdg"))).toBe(
      `IncorrectState: ${creating} is not 'available' (it is creating).`,
    );
    expect(await codeOf(cloud.deleteVolume(REGION, creating))).toMatch(/^IncorrectState: /);
    const away = await availableVolume("away", "us-east-1b");
    expect(await codeOf(cloud.attachVolume(REGION, away, host, "/dev/sdf"))).toBe(
      `InvalidVolume.ZoneMismatch: The volume '${away}' is not in the same availability zone as instance '${host}'.`,
    );
    const one = await availableVolume("one");
    const two = await availableVolume("two");
    expect(await codeOf(cloud.detachVolume(REGION, one))).toBe(
      `IncorrectState: Volume '${one}' is in the 'available' state.`,
    );
    await cloud.attachVolume(REGION, one, host, "/dev/sdf");
    expect(await codeOf(cloud.attachVolume(REGION, two, host, "/dev/sdf"))).toBe(
      "InvalidParameterValue: Attachment point /dev/sdf is already in use",
    );
    expect(await codeOf(cloud.attachVolume(REGION, two, host, "/dev/xvda"))).toBe(
      "InvalidParameterValue: Attachment point /dev/xvda is already in use",
    );
    expect(await codeOf(cloud.attachVolume(REGION, one, host, "/dev/sdh"))).toMatch(/^VolumeInUse: /);
    expect(await codeOf(cloud.deleteVolume(REGION, one))).toBe(
      `VolumeInUse: Volume ${one} is currently attached to ${host}; detach it first.`,
    );
    // A snapshot still pending cannot be registered.
    const { snapshotId } = await cloud.createSnapshot(REGION, { volumeId: two, tags: TAGS });
    expect(
      await codeOf(
        cloud.registerImage(REGION, {
          name: "too-early",
          architecture: "x86_64",
          rootDeviceName: "/dev/xvda",
          root: { snapshotId },
          tags: {},
        }),
      ),
    ).toBe(
      `IncorrectState: Snapshot ${snapshotId} is not completed yet (it is pending); register the image once it is.`,
    );
    expect(
      await codeOf(
        cloud.registerImage(REGION, {
          name: "no-such-snapshot",
          architecture: "x86_64",
          rootDeviceName: "/dev/xvda",
          root: { snapshotId: "snap-0123456789abcdef0" },
          tags: {},
        }),
      ),
    ).toMatch(/^InvalidSnapshot.NotFound: /);
    expect(await codeOf(cloud.deleteVolume(REGION, "vol-0123456789abcdef0"))).toMatch(
      /^InvalidVolume.NotFound: /,
    );
  });

  it("reaches only managed instances with Run Command", async () => {
    const unmanaged = await bakeryHost(null);
    expect(await codeOf(cloud.sendCommand(REGION, { instanceIds: [unmanaged], commands: SCRIPT }))).toMatch(
      new RegExp(`^InvalidInstanceId: Instances \\[\\[${unmanaged}\\]\\] not in a valid state`),
    );
    expect(await codeOf(cloud.getCommandInvocation(REGION, "no-such-command", unmanaged))).toMatch(
      /^InvocationDoesNotExist: /,
    );
  });

  it("sends a command once when SSM took it and its answer was lost: the retry finds it by its comment", async () => {
    const host = await bakeryHost();
    const comment = `leaven-bake ${BUILD} vol-0123456789abcdef0`;
    // Every change goes through and is answered with a 5xx; reads are answered.
    sim.setFaults({ lostResponseRate: 1, seed: 7 });
    const { commandId } = await cloud.sendCommand(REGION, { instanceIds: [host], commands: SCRIPT, comment });
    sim.setFaults({});
    const sent = await cloud.listCommands(REGION, host);
    expect(sent.map((c) => [c.commandId, c.comment])).toEqual([[commandId, comment]]);
    expect(cloud.stats().byRegion[REGION]?.byAction.SendCommand?.requests).toBe(1);
  });

  it("takes one snapshot when EC2 took CreateSnapshot and its answer was lost: the retry finds it by its tags", async () => {
    const volumeId = await availableVolume("lost-snapshot");
    sim.setFaults({ lostResponseRate: 1, seed: 3 });
    const { snapshotId } = await cloud.createSnapshot(REGION, { volumeId, tags: TAGS });
    sim.setFaults({});
    const taken = await cloud.describeSnapshots(REGION, [{ name: "volume-id", values: [volumeId] }]);
    expect(taken.map((s) => s.snapshotId)).toEqual([snapshotId]);
    expect(cloud.stats().byRegion[REGION]?.byAction.CreateSnapshot?.requests).toBe(1);
  });

  it("never asks for a second snapshot when the first may have been taken but is not listed yet", async () => {
    // As EC2 is: a new snapshot is listed a while after CreateSnapshot (the clock does not move here).
    cloud.close();
    await sim.close();
    sim = await startSimulator({ clock, throttle: false, awkward: true });
    cloud = adapter(sim.endpoint);
    const volumeId = await availableVolume("unlisted-snapshot");
    clock.advance(10 * 60_000);
    sim.setFaults({ lostResponseRate: 1, seed: 3 });
    const failed = await cloud.createSnapshot(REGION, { volumeId, tags: TAGS }).catch((e: unknown) => e);
    sim.setFaults({});
    expect(failed).toBeInstanceOf(CloudError);
    expect((failed as CloudError).retryable).toBe(true);
    expect((failed as CloudError).message).toMatch(
      new RegExp(`^SnapshotNotListedYet: CreateSnapshot of ${volumeId} may have gone through`),
    );
    expect(
      [...sim.world.region(REGION).snapshots.values()].filter((s) => s.volumeId === volumeId),
    ).toHaveLength(1);
    expect(cloud.stats().byRegion[REGION]?.byAction.CreateSnapshot?.requests).toBe(1);
  });

  it("never sends a second command when the first may have been taken but is not listed yet", async () => {
    // As SSM may be: a new command is missing from ListCommands, and its invocation unknown, for a while.
    cloud.close();
    await sim.close();
    sim = await startSimulator({
      clock,
      throttle: false,
      awkward: { consistency: true, consistencyLagMs: MINUTE },
    });
    cloud = adapter(sim.endpoint);
    const host = await bakeryHost();
    clock.advance(10 * MINUTE);
    const comment = `leaven-bake ${BUILD} vol-0123456789abcdef0`;
    sim.setFaults({ lostResponseRate: 1, seed: 3 });
    const failed = await cloud
      .sendCommand(REGION, { instanceIds: [host], commands: SCRIPT, comment })
      .catch((e: unknown) => e);
    sim.setFaults({});
    expect(failed).toBeInstanceOf(CloudError);
    expect((failed as CloudError).retryable).toBe(true);
    expect((failed as CloudError).message).toMatch(
      new RegExp(`^CommandNotListedYet: SendCommand to ${host} may have gone through`),
    );
    expect(cloud.stats().byRegion[REGION]?.byAction.SendCommand?.requests).toBe(1);
    const [taken] = [...sim.world.region(REGION).commands.values()];
    expect(taken?.comment).toBe(comment);
    const lag = taken!.visibleAt! - clock.now();
    expect(lag).toBeGreaterThan(0);
    expect(await cloud.listCommands(REGION, host)).toEqual([]);
    expect(await codeOf(cloud.getCommandInvocation(REGION, taken!.commandId, host))).toMatch(
      /^InvocationDoesNotExist: /,
    );
    clock.advance(lag);
    expect((await cloud.listCommands(REGION, host)).map((c) => c.comment)).toEqual([comment]);
    // Running all the while: only the view of it lagged.
    expect((await cloud.getCommandInvocation(REGION, taken!.commandId, host)).status).toMatch(
      /^(Pending|InProgress)$/,
    );
  });

  it("prints the failure marker for --fault volume-bake-fail=SPEC", async () => {
    sim.setFaults(parseFaultFlag("volume-bake-fail=web"));
    const host = await bakeryHost();
    const { commandId } = await cloud.sendCommand(REGION, { instanceIds: [host], commands: SCRIPT });
    clock.advance(DEFAULT_TIMINGS.commandPickup + DEFAULT_TIMINGS.volumeBakeScript);
    const done = await cloud.getCommandInvocation(REGION, commandId, host);
    expect(done).toMatchObject({ status: "Failed", responseCode: 1 });
    expect(parseBakeMarker(done.stdout, BUILD)).toMatchObject({
      result: "failure",
      reason: "chroot provision script exited with status 1",
    });
    // Another spec is unaffected.
    const other = SCRIPT.map((line) => (line.startsWith("LEAVEN_SPEC=") ? "LEAVEN_SPEC=api" : line));
    const { commandId: second } = await cloud.sendCommand(REGION, { instanceIds: [host], commands: other });
    clock.advance(DEFAULT_TIMINGS.commandPickup + DEFAULT_TIMINGS.volumeBakeScript);
    expect((await cloud.getCommandInvocation(REGION, second, host)).status).toBe("Success");
  });

  it("writes a command's whole output to OutputS3BucketName at AWS's layout once it ends, the manifest after the marker", async () => {
    sim.setFaults({ scriptOutputBytes: 30_000 });
    const store = createS3ObjectStore({
      region: REGION,
      endpoint: `${sim.endpoint}${S3_PATH}`,
      credentials: { accessKeyId: "AKIDLEAVENSIM", secretAccessKey: "leaven-sim" },
    });
    await store.createBucketIfMissing("acme-out");
    const host = await bakeryHost();
    const volumeId = await availableVolume("output");
    await cloud.attachVolume(REGION, volumeId, host, "/dev/sdf");
    const script = [...SCRIPT, '"$leaven_pm" install -y jq'];
    const send = (bucket: string) =>
      cloud.sendCommand(REGION, {
        instanceIds: [host],
        commands: script,
        outputS3: { bucket, keyPrefix: "leaven/_bake-output/web/x" },
      });
    const { commandId } = await send("acme-out");
    const { commandId: lost } = await send("no-such-bucket");
    expect(await store.listObjects("acme-out", "")).toEqual([]);
    clock.advance(DEFAULT_TIMINGS.commandPickup + DEFAULT_TIMINGS.volumeBakeScript);
    const invocation = await cloud.getCommandInvocation(REGION, commandId, host);
    expect(invocation.status).toBe("Success");
    expect(invocation.stdout).toHaveLength(24_000);
    expect(parseBakeMarker(invocation.stdout, BUILD)).toBeUndefined();
    const prefix = `leaven/_bake-output/web/x/${commandId}/${host}/awsrunShellScript/0.awsrunShellScript`;
    expect((await store.listObjects("acme-out", "")).map((o) => o.key)).toEqual([`${prefix}/stdout`]);
    const stdout = Buffer.from((await store.getObject("acme-out", `${prefix}/stdout`))!).toString("utf8");
    expect(stdout.startsWith(invocation.stdout)).toBe(true);
    expect(parseBakeMarker(stdout, BUILD)).toEqual({ build: BUILD, result: "success" });
    expect(stdout.indexOf("LEAVEN-MANIFEST-BEGIN")).toBeGreaterThan(stdout.indexOf("LEAVEN-BAKE-RESULT"));
    const read = parseConsoleManifest(stdout, "web", BUILD);
    expect(read.found && read.manifest.packages.map((p) => p.name)).toContain("jq");
    // The agent's upload to a bucket that is not there fails; the command does not.
    expect((await cloud.getCommandInvocation(REGION, lost, host)).status).toBe("Success");
    store.close();
  });

  it("keeps volumes, snapshots and commands across a restart", async () => {
    cloud.close();
    await sim.close();
    stateDir = mkdtempSync(join(tmpdir(), "leaven-volumes-"));
    const statePath = join(stateDir, "state.json");
    sim = await startSimulator({ clock, throttle: false, statePath });
    cloud = adapter(sim.endpoint);
    const host = await bakeryHost();
    const volumeId = await availableVolume("persisted");
    await cloud.attachVolume(REGION, volumeId, host, "/dev/sdf");
    const { commandId } = await cloud.sendCommand(REGION, { instanceIds: [host], commands: SCRIPT });
    const { snapshotId } = await cloud.createSnapshot(REGION, { volumeId, tags: TAGS });
    cloud.close();
    await sim.close();

    sim = await startSimulator({ clock, throttle: false, statePath });
    cloud = adapter(sim.endpoint);
    clock.advance(
      DEFAULT_TIMINGS.volumeAttaching + DEFAULT_TIMINGS.commandPickup + DEFAULT_TIMINGS.volumeBakeScript,
    );
    expect((await cloud.describeVolumes(REGION, [], [volumeId]))[0]).toMatchObject({
      state: "in-use",
      attachments: [{ instanceId: host, device: "/dev/sdf", state: "attached" }],
      tags: TAGS,
    });
    expect((await cloud.getCommandInvocation(REGION, commandId, host)).status).toBe("Success");
    expect(
      await cloud.describeSnapshots(REGION, [{ name: "snapshot-id", values: [snapshotId] }]),
    ).toHaveLength(1);
    // The token survived too: the same CreateVolume is the same volume.
    expect(await availableVolume("persisted")).toBe(volumeId);
  });
});
