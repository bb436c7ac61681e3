import { join } from "node:path";
import {
  CopyImageCommand,
  CreateImageCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  DisableEbsEncryptionByDefaultCommand,
  type EC2Client,
  EnableEbsEncryptionByDefaultCommand,
  GetEbsDefaultKmsKeyIdCommand,
  GetEbsEncryptionByDefaultCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  RunInstancesCommand,
  type RunInstancesCommandInput,
} from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import { SIM_ACCOUNT_ID } from "../../controller/sim/accounts.ts";
import { awsManagedEbsKey, isAwsManagedEbsKey } from "../../controller/sim/encryption.ts";
import { ManualClock } from "../../controller/sim/manual-clock.ts";
import { DEFAULT_TIMINGS } from "../../controller/sim/world.ts";
import { tempDir } from "../support/temp-dir.ts";
import { awkwardSims, ec2Error, nobleImage, START, type TestSim } from "./helpers.ts";

const CUSTOMER_KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const EAST_KEY = "arn:aws:kms:us-east-1:123456789012:key/0987dcba-09fe-87dc-65ba-ab0987654321";
const MANAGED_WEST = awsManagedEbsKey(SIM_ACCOUNT_ID, "eu-west-1");
const MANAGED_EAST = awsManagedEbsKey(SIM_ACCOUNT_ID, "us-east-1");

const sim = awkwardSims({ defaultEncryption: true });
const ubuntu = nobleImage;

/** Launches, waits until running and images the instance; returns the image and its snapshot's encryption. */
async function bakeImage(t: TestSim, name: string, extra: Partial<RunInstancesCommandInput> = {}) {
  const run = await t.client.send(
    new RunInstancesCommand({
      ImageId: await ubuntu(t),
      InstanceType: "t3.micro",
      MinCount: 1,
      MaxCount: 1,
      ...extra,
    }),
  );
  const instanceId = run.Instances![0]!.InstanceId!;
  t.clock.advance(15_000);
  const { ImageId: imageId } = await t.client.send(
    new CreateImageCommand({ InstanceId: instanceId, Name: name }),
  );
  const image = (await t.client.send(new DescribeImagesCommand({ ImageIds: [imageId!] }))).Images![0]!;
  const snapshotId = image.BlockDeviceMappings![0]!.Ebs!.SnapshotId!;
  const snapshot = (await t.client.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] })))
    .Snapshots![0]!;
  return {
    instanceId,
    imageId: imageId!,
    snapshotId,
    image: [image.BlockDeviceMappings![0]!.Ebs!.Encrypted, image.BlockDeviceMappings![0]!.Ebs!.KmsKeyId],
    snapshot: [snapshot.Encrypted, snapshot.KmsKeyId],
  };
}

/** A root mapping naming a key; `encrypted: null` leaves Encrypted out. */
const customerKeyMapping = (kmsKeyId: string, encrypted: boolean | null = true) => ({
  BlockDeviceMappings: [
    {
      DeviceName: "/dev/sda1",
      Ebs: { VolumeSize: 8, KmsKeyId: kmsKeyId, ...(encrypted !== null ? { Encrypted: encrypted } : {}) },
    },
  ],
});

describe("EBS encryption by default", () => {
  it("is on in every region, with the AWS managed key as the default key", async () => {
    const t = await sim();
    for (const client of [t.client, t.clientFor("us-east-1")]) {
      expect((await client.send(new GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault).toBe(true);
    }
    expect((await t.client.send(new GetEbsDefaultKmsKeyIdCommand({}))).KmsKeyId).toBe(
      "arn:aws:kms:eu-west-1:123456789012:alias/aws/ebs",
    );
    expect(MANAGED_WEST).toMatch(
      /^arn:aws:kms:eu-west-1:123456789012:key\/[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/,
    );
    expect(MANAGED_WEST).not.toBe(MANAGED_EAST);
    expect([
      isAwsManagedEbsKey(MANAGED_WEST),
      isAwsManagedEbsKey(CUSTOMER_KEY),
      isAwsManagedEbsKey(undefined),
    ]).toEqual([true, false, false]);
  });

  it("encrypts the volume with the AWS managed key, and the image made from it inherits it", async () => {
    const t = await sim();
    const baked = await bakeImage(t, "leaven/base/1.0.0");
    const volume = t.sim.world.region("eu-west-1").instances.get(baked.instanceId)!.blockDevices[0]!;
    expect([volume.encrypted, volume.kmsKeyId]).toEqual([true, MANAGED_WEST]);
    expect(baked.image).toEqual([true, MANAGED_WEST]);
    expect(baked.snapshot).toEqual([true, MANAGED_WEST]);
  });

  it("refuses to share such an image with an account, organization or OU, and its snapshot with an account", async () => {
    const t = await sim();
    const { imageId, snapshotId } = await bakeImage(t, "leaven/base/1.0.0");
    const refused = {
      code: "InvalidParameter",
      status: 400,
      message: "Snapshots encrypted with the AWS Managed CMK can't be shared. Specify another snapshot.",
    };
    for (const add of [
      { UserId: "111122223333" },
      { OrganizationArn: "arn:aws:organizations::123456789012:organization/o-abc123" },
      { OrganizationalUnitArn: "arn:aws:organizations::123456789012:ou/o-abc123/ou-ab12-cdef3456" },
    ]) {
      expect(
        await ec2Error(
          t.client.send(
            new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [add] } }),
          ),
        ),
      ).toEqual(refused);
    }
    // Other attribute changes are fine.
    await t.client.send(
      new ModifyImageAttributeCommand({ ImageId: imageId, Description: { Value: "base" } }),
    );
    expect(
      await ec2Error(
        t.client.send(
          new ModifySnapshotAttributeCommand({
            SnapshotId: snapshotId,
            CreateVolumePermission: { Add: [{ UserId: "111122223333" }] },
          }),
        ),
      ),
    ).toEqual({
      code: "OperationNotPermitted",
      status: 400,
      message: "Encrypted snapshots with EBS default key cannot be shared",
    });
  });

  it("uses the customer key a launch names (Encrypted=true), records it, and lets the image be shared", async () => {
    const t = await sim();
    const baked = await bakeImage(t, "leaven/base/1.0.0", customerKeyMapping(CUSTOMER_KEY));
    const volume = t.sim.world.region("eu-west-1").instances.get(baked.instanceId)!.blockDevices[0]!;
    expect(volume).toMatchObject({ deviceName: "/dev/sda1", encrypted: true, kmsKeyId: CUSTOMER_KEY });
    expect(baked.image).toEqual([true, CUSTOMER_KEY]);
    expect(baked.snapshot).toEqual([true, CUSTOMER_KEY]);
    await t.client.send(
      new ModifyImageAttributeCommand({
        ImageId: baked.imageId,
        LaunchPermission: { Add: [{ UserId: "111122223333" }] },
      }),
    );
  });

  it.each([
    ["the alias", "alias/aws/ebs"],
    ["the alias ARN", "arn:aws:kms:eu-west-1:123456789012:alias/aws/ebs"],
  ])("takes %s of the AWS managed key for the managed key itself", async (_, key) => {
    const t = await sim({ awkward: false });
    const baked = await bakeImage(t, "leaven/base/1.0.0", customerKeyMapping(key));
    expect(baked.snapshot).toEqual([true, MANAGED_WEST]);
  });

  it("refuses a KmsKeyId without Encrypted=true", async () => {
    const t = await sim();
    expect(
      await ec2Error(
        t.client.send(
          new RunInstancesCommand({
            ImageId: await ubuntu(t),
            InstanceType: "t3.micro",
            MinCount: 1,
            MaxCount: 1,
            ...customerKeyMapping(CUSTOMER_KEY, null),
          }),
        ),
      ),
    ).toEqual({
      code: "InvalidParameterCombination",
      status: 400,
      message: "BlockDeviceMapping.1.Ebs.KmsKeyId is specified, but Encrypted is not set to true.",
    });
  });
});

describe("CopyImage and encryption", () => {
  async function copy(
    east: EC2Client,
    source: string,
    extra: { Encrypted?: boolean; KmsKeyId?: string } = {},
  ) {
    const { ImageId } = await east.send(
      new CopyImageCommand({
        SourceRegion: "eu-west-1",
        SourceImageId: source,
        Name: `copy-${Math.random()}`,
        ...extra,
      }),
    );
    const image = (await east.send(new DescribeImagesCommand({ ImageIds: [ImageId!] }))).Images![0]!;
    return [image.BlockDeviceMappings![0]!.Ebs!.Encrypted, image.BlockDeviceMappings![0]!.Ebs!.KmsKeyId];
  }

  it("encrypts a copy of an encrypted image without KmsKeyId with the destination's AWS managed key", async () => {
    const t = await sim();
    const { imageId } = await bakeImage(t, "leaven/base/1.0.0", customerKeyMapping(CUSTOMER_KEY));
    t.clock.advance(DEFAULT_TIMINGS.imagePending);
    const east = t.clientFor("us-east-1");
    expect(await copy(east, imageId)).toEqual([true, MANAGED_EAST]);
    expect(await copy(east, imageId, { Encrypted: true, KmsKeyId: EAST_KEY })).toEqual([true, EAST_KEY]);
  });

  it("encrypts a copy of an unencrypted image when encryption by default is on, and not when it is off", async () => {
    const t = await sim();
    const east = t.clientFor("us-east-1");
    const source = await ubuntu(t);
    expect(await copy(east, source)).toEqual([true, MANAGED_EAST]);
    await east.send(new DisableEbsEncryptionByDefaultCommand({}));
    expect(await copy(east, source)).toEqual([false, undefined]);
    expect(await copy(east, source, { Encrypted: true })).toEqual([true, MANAGED_EAST]);
  });
});

describe("Enable/DisableEbsEncryptionByDefault", () => {
  it("switch it per region, and the setting survives a restart", async () => {
    const dir = tempDir("leaven-sim-encryption-");
    const statePath = join(dir, "state.json");
    const clock = new ManualClock(START);
    const first = await sim({ statePath, clock });
    expect(
      (await first.client.send(new DisableEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault,
    ).toBe(false);
    const off = await bakeImage(first, "leaven/plain/1.0.0");
    expect(off.snapshot).toEqual([false, undefined]);
    expect(
      (await first.clientFor("us-east-1").send(new GetEbsEncryptionByDefaultCommand({})))
        .EbsEncryptionByDefault,
    ).toBe(true);
    await sim.close(first);

    const second = await sim({ statePath, clock });
    expect((await second.client.send(new GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault).toBe(
      false,
    );
    expect(off.snapshot).toEqual([false, undefined]);
    const stillOff = await bakeImage(second, "leaven/plain/1.0.1");
    expect(stillOff.snapshot).toEqual([false, undefined]);
    // The image made with the key keeps it across the restart too.
    const { EbsEncryptionByDefault } = await second.client.send(new EnableEbsEncryptionByDefaultCommand({}));
    expect(EbsEncryptionByDefault).toBe(true);
    expect((await bakeImage(second, "leaven/enc/1.0.0")).snapshot).toEqual([true, MANAGED_WEST]);
  });

  it("is off in the exact mode", async () => {
    const t = await sim({ awkward: false });
    expect((await t.client.send(new GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault).toBe(
      false,
    );
    expect((await bakeImage(t, "leaven/base/1.0.0")).snapshot).toEqual([false, undefined]);
  });
});
