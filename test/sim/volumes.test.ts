// The simulator's EBS volumes, snapshots of volumes, RegisterImage and Run Command: the pure rules as table
// tests, and what the raw SDK clients see over HTTP (the adapter's round trip is in
// test/cloud/aws-adapter-volumes.test.ts).
import {
  AttachVolumeCommand,
  CreateSnapshotCommand,
  CreateTagsCommand,
  CreateVolumeCommand,
  DescribeImagesCommand,
  DescribeVolumesCommand,
  RegisterImageCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { GetCommandInvocationCommand, SendCommandCommand, SSMClient } from "@aws-sdk/client-ssm";
import { describe, expect, it } from "vitest";
import { parseFaultFlag } from "../../controller/sim/faults.ts";
import { commandStatus, specFromScript } from "../../controller/sim/run-command.ts";
import { changedGiB, volumeState } from "../../controller/sim/volumes.ts";
import { DEFAULT_TIMINGS, type SimCommand, type SimVolume } from "../../controller/sim/world.ts";
import { awkwardSims, ec2Error } from "./helpers.ts";

const REGION = "eu-west-1";

const volume = (fields: Partial<SimVolume>): SimVolume => ({
  volumeId: "vol-0123456789abcdef0",
  ownerId: "123456789012",
  availabilityZone: `${REGION}a`,
  size: 8,
  volumeType: "gp3",
  snapshotId: "snap-0123456789abcdef0",
  createTime: 0,
  availableAt: 10,
  tags: {},
  ...fields,
});

describe("volume states", () => {
  it.each<[string, Partial<SimVolume>, number, string]>([
    ["still creating", {}, 9, "creating"],
    ["created", {}, 10, "available"],
    ["attaching", { attachment: { instanceId: "i-1", device: "/dev/sdf", attachedAt: 20 } }, 15, "in-use"],
    ["attached", { attachment: { instanceId: "i-1", device: "/dev/sdf", attachedAt: 20 } }, 25, "in-use"],
    [
      "detaching",
      { attachment: { instanceId: "i-1", device: "/dev/sdf", attachedAt: 20, detachedAt: 30 } },
      29,
      "in-use",
    ],
    [
      "detached",
      { attachment: { instanceId: "i-1", device: "/dev/sdf", attachedAt: 20, detachedAt: 30 } },
      30,
      "available",
    ],
  ])("%s", (_, fields, now, state) => {
    expect(volumeState(volume(fields), now)).toBe(state);
  });
});

describe("a snapshot's changed blocks", () => {
  it.each<[string, Pick<SimVolume, "size" | "written" | "snapshotId">, number]>([
    ["a baked volume: 7.5 % of it", { size: 8, written: true, snapshotId: "snap-1" }, 0.6],
    ["a volume nothing wrote: almost nothing", { size: 8, snapshotId: "snap-1" }, 0.008],
    ["a blank volume: all of it", { size: 8, written: true }, 8],
  ])("%s", (_, v, gib) => {
    expect(changedGiB(v)).toBeCloseTo(gib, 6);
  });
});

describe("a command's status", () => {
  const command: SimCommand = {
    commandId: "c",
    instanceId: "i-1",
    documentName: "AWS-RunShellScript",
    commands: [],
    requestedAt: 0,
    startedAt: 10,
    doneAt: 100,
    result: "success",
    stdout: "",
    stderr: "",
    timeoutAt: 1000,
  };
  it.each<[string, Partial<SimCommand>, number, string]>([
    ["not picked up yet", {}, 9, "Pending"],
    ["running", {}, 10, "InProgress"],
    ["done", {}, 100, "Success"],
    ["failed", { result: "failure" }, 100, "Failed"],
    ["past its executionTimeout", { timeoutAt: 50 }, 50, "TimedOut"],
    ["still within it", { timeoutAt: 50 }, 49, "InProgress"],
  ])("%s", (_, fields, now, status) => {
    expect(commandStatus({ ...command, ...fields }, now)).toBe(status);
  });
});

describe("the script's spec and the volume-bake-fail fault", () => {
  it.each<[string, string | undefined]>([
    ["LEAVEN_SPEC='web'\nLEAVEN_BUILD_ID=1", "web"],
    ['  LEAVEN_SPEC="api"', "api"],
    ["LEAVEN_SPEC=plain", "plain"],
    ["echo no spec", undefined],
  ])("%j → %s", (script, spec) => {
    expect(specFromScript(script)).toBe(spec);
  });

  it("parses --fault volume-bake-fail=SPEC as a spec or build, repeatably", () => {
    const faults = parseFaultFlag("volume-bake-fail=api", parseFaultFlag("volume-bake-fail=web"));
    expect(faults.volumeBakeFailure).toEqual({ specs: ["web", "api"], builds: ["web", "api"] });
    expect(() => parseFaultFlag("volume-bake-fail")).toThrow(
      "--fault volume-bake-fail: expected a spec name or build id, e.g. volume-bake-fail=my-spec.",
    );
  });
});

describe("volumes over the wire", () => {
  const start = awkwardSims({});

  async function setup() {
    const t = await start();
    const images = await t.client.send(new DescribeImagesCommand({ Owners: ["amazon"] }));
    const parent = images.Images!.find((i) => i.Architecture === "x86_64")!;
    const run = await t.client.send(
      new RunInstancesCommand({
        ImageId: parent.ImageId!,
        InstanceType: "t3.small",
        MinCount: 1,
        MaxCount: 1,
        IamInstanceProfile: { Name: "leaven-bakery" },
      }),
    );
    const host = run.Instances![0]!.InstanceId!;
    t.clock.advance(DEFAULT_TIMINGS.instancePending);
    const created = await t.client.send(
      new CreateVolumeCommand({
        SnapshotId: parent.BlockDeviceMappings![0]!.Ebs!.SnapshotId!,
        AvailabilityZone: `${REGION}a`,
      }),
    );
    t.clock.advance(DEFAULT_TIMINGS.volumeCreating);
    return { t, host, volumeId: created.VolumeId! };
  }

  it("retags volumes, filters them by attachment, and frees them when their instance is terminated", async () => {
    const { t, host, volumeId } = await setup();
    await t.client.send(
      new CreateTagsCommand({ Resources: [volumeId], Tags: [{ Key: "leaven.dev/pool", Value: "1" }] }),
    );
    await t.client.send(
      new AttachVolumeCommand({ VolumeId: volumeId, InstanceId: host, Device: "/dev/sdf" }),
    );
    const onHost = await t.client.send(
      new DescribeVolumesCommand({ Filters: [{ Name: "attachment.instance-id", Values: [host] }] }),
    );
    expect(onHost.Volumes?.map((v) => [v.VolumeId, v.Tags, v.Attachments?.[0]?.Device])).toEqual([
      [volumeId, [{ Key: "leaven.dev/pool", Value: "1" }], "/dev/sdf"],
    ]);
    await t.client.send(new TerminateInstancesCommand({ InstanceIds: [host] }));
    t.clock.advance(DEFAULT_TIMINGS.instanceShuttingDown);
    const after = await t.client.send(new DescribeVolumesCommand({ VolumeIds: [volumeId] }));
    expect(after.Volumes?.[0]).toMatchObject({ State: "available", Attachments: [] });
    expect(
      await ec2Error(t.client.send(new DescribeVolumesCommand({ VolumeIds: ["vol-0000000000000000f"] }))),
    ).toMatchObject({
      code: "InvalidVolume.NotFound",
      message: "The volume 'vol-0000000000000000f' does not exist",
    });
  });

  it("encrypts a volume with the KmsKeyId asked for (only with Encrypted=true), and carries it to its snapshot", async () => {
    const { t } = await setup();
    const KEY = "arn:aws:kms:eu-west-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const images = await t.client.send(new DescribeImagesCommand({ Owners: ["amazon"] }));
    const snapshotId = images.Images!.find((i) => i.Architecture === "x86_64")!.BlockDeviceMappings![0]!.Ebs!
      .SnapshotId!;
    expect(
      await ec2Error(
        t.client.send(
          new CreateVolumeCommand({ SnapshotId: snapshotId, AvailabilityZone: `${REGION}a`, KmsKeyId: KEY }),
        ),
      ),
    ).toMatchObject({
      code: "InvalidParameterCombination",
      message: "KmsKeyId is specified, but Encrypted is not set to true.",
    });
    const created = await t.client.send(
      new CreateVolumeCommand({
        SnapshotId: snapshotId,
        AvailabilityZone: `${REGION}a`,
        Encrypted: true,
        KmsKeyId: KEY,
      }),
    );
    expect(created).toMatchObject({ Encrypted: true, KmsKeyId: KEY });
    t.clock.advance(DEFAULT_TIMINGS.volumeCreating);
    const snap = await t.client.send(new CreateSnapshotCommand({ VolumeId: created.VolumeId! }));
    expect(snap).toMatchObject({ Encrypted: true, KmsKeyId: KEY });
    // Without a key, a volume of an unencrypted snapshot is not encrypted (encryption by default is off).
    const plain = await t.client.send(
      new CreateVolumeCommand({ SnapshotId: snapshotId, AvailabilityZone: `${REGION}a` }),
    );
    expect(plain.Encrypted).toBe(false);
    expect(plain.KmsKeyId).toBeUndefined();
  });

  it("registers an image with the flags it was given", async () => {
    const { t, volumeId } = await setup();
    const snap = await t.client.send(new CreateSnapshotCommand({ VolumeId: volumeId }));
    t.clock.advance(60_000);
    const registered = await t.client.send(
      new RegisterImageCommand({
        Name: "web-1.0.0",
        Architecture: "arm64",
        BootMode: "uefi",
        EnaSupport: true,
        SriovNetSupport: "simple",
        VirtualizationType: "hvm",
        RootDeviceName: "/dev/xvda",
        BlockDeviceMappings: [
          { DeviceName: "/dev/xvda", Ebs: { SnapshotId: snap.SnapshotId!, VolumeSize: 16 } },
        ],
      }),
    );
    const image = (await t.client.send(new DescribeImagesCommand({ ImageIds: [registered.ImageId!] })))
      .Images![0]!;
    expect(image).toMatchObject({
      State: "pending",
      Architecture: "arm64",
      BootMode: "uefi",
      EnaSupport: true,
      SriovNetSupport: "simple",
      VirtualizationType: "hvm",
      RootDeviceName: "/dev/xvda",
    });
    expect(image.BlockDeviceMappings?.[0]?.Ebs).toMatchObject({ SnapshotId: snap.SnapshotId, VolumeSize: 8 });
    expect(
      await ec2Error(
        t.client.send(
          new RegisterImageCommand({
            Name: "web-1.0.0",
            Architecture: "x86_64",
            RootDeviceName: "/dev/xvda",
            BlockDeviceMappings: [{ DeviceName: "/dev/xvda", Ebs: { SnapshotId: snap.SnapshotId! } }],
          }),
        ),
      ),
    ).toMatchObject({ code: "InvalidAMIName.Duplicate" });
  });

  it("times a command out after its executionTimeout, and refuses other documents", async () => {
    const { t, host } = await setup();
    const ssm = new SSMClient({
      region: REGION,
      endpoint: t.sim.endpoint,
      credentials: { accessKeyId: "AKIDSIM", secretAccessKey: "sim" },
      maxAttempts: 1,
    });
    const sent = await ssm.send(
      new SendCommandCommand({
        DocumentName: "AWS-RunShellScript",
        InstanceIds: [host],
        Parameters: { commands: ["LEAVEN_BUILD_ID=1.0.0", "sleep 999"], executionTimeout: ["60"] },
      }),
    );
    expect(sent.Command).toMatchObject({
      Status: "Pending",
      DocumentName: "AWS-RunShellScript",
      InstanceIds: [host],
    });
    t.clock.advance(DEFAULT_TIMINGS.commandPickup + 60_000);
    const invocation = await ssm.send(
      new GetCommandInvocationCommand({ CommandId: sent.Command!.CommandId!, InstanceId: host }),
    );
    expect(invocation).toMatchObject({ Status: "TimedOut", ResponseCode: -1, StandardOutputContent: "" });
    await expect(
      ssm.send(new SendCommandCommand({ DocumentName: "AWS-RunPowerShellScript", InstanceIds: [host] })),
    ).rejects.toMatchObject({ name: "InvalidDocument" });
    ssm.destroy();
  });
});
