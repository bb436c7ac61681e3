// Sharing and copying in the simulator, through the real EC2 client: launch permissions added and removed
// in one call, snapshots' create-volume permissions, encrypted copies with their KMS key, and EC2's limit
// on concurrent AMI copies into one region.
import {
  CopyImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotAttributeCommand,
  DescribeSnapshotsCommand,
  DisableImageCommand,
  EnableImageCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
} from "@aws-sdk/client-ec2";
import { afterEach, describe, expect, it } from "vitest";
import { ec2Error, MINUTE, startTestSim, type TestSim } from "./helpers.ts";

const A = "111122223333";
const B = "444455556666";
const ORG = "arn:aws:organizations::123456789012:organization/o-abc123";
const OU = "arn:aws:organizations::123456789012:ou/o-abc123/ou-ab12-cdef3456";
const KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";

let t: TestSim;
afterEach(async () => {
  await t.sim.close();
});

/** One available own image in us-east-1 with one snapshot, without going through a bake. */
function ownImage(sim: TestSim, name = "leaven/base/1.0.0_aa"): { imageId: string; snapshotId: string } {
  const [imageId] = sim.sim.seedImages([
    { region: "us-east-1", name, tags: { "leaven.dev/managed-by": "leaven" } },
  ]);
  const snapshotId = sim.sim.world.region("us-east-1").images.get(imageId!)!.snapshotIds[0]!;
  return { imageId: imageId!, snapshotId };
}

describe("ModifyImageAttribute and DescribeImageAttribute launchPermission", () => {
  it("adds and removes accounts, organizations and OUs in one call, and reads the set back", async () => {
    t = await startTestSim();
    const { imageId } = ownImage(t);
    const east = t.clientFor("us-east-1");
    const read = async () =>
      (
        await east.send(
          new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: "launchPermission" }),
        )
      ).LaunchPermissions;
    expect(await read()).toEqual([]);
    await east.send(
      new ModifyImageAttributeCommand({
        ImageId: imageId,
        LaunchPermission: { Add: [{ UserId: A }, { UserId: B }, { OrganizationArn: ORG }] },
      }),
    );
    await east.send(
      new ModifyImageAttributeCommand({
        ImageId: imageId,
        LaunchPermission: {
          Add: [{ OrganizationalUnitArn: OU }],
          Remove: [{ UserId: B }, { OrganizationArn: ORG }],
        },
      }),
    );
    expect(await read()).toEqual([{ UserId: A }, { OrganizationalUnitArn: OU }]);
    // Removing what is not there changes nothing, as on EC2.
    await east.send(
      new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Remove: [{ UserId: B }] } }),
    );
    expect(await read()).toEqual([{ UserId: A }, { OrganizationalUnitArn: OU }]);
  });

  it("makes an image public with group all, and private again", async () => {
    t = await startTestSim();
    const { imageId } = ownImage(t);
    const east = t.clientFor("us-east-1");
    await east.send(
      new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ Group: "all" }] } }),
    );
    const image = async () =>
      (await east.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0]!;
    expect((await image()).Public).toBe(true);
    expect(
      (
        await east.send(
          new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: "launchPermission" }),
        )
      ).LaunchPermissions,
    ).toEqual([{ Group: "all" }]);
    await east.send(
      new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Remove: [{ Group: "all" }] } }),
    );
    expect((await image()).Public).toBe(false);
  });

  it("DisableImage removes every launch permission, and EnableImage does not restore them (EC2 does this in every mode)", async () => {
    t = await startTestSim();
    const { imageId } = ownImage(t);
    const east = t.clientFor("us-east-1");
    await east.send(
      new ModifyImageAttributeCommand({
        ImageId: imageId,
        LaunchPermission: {
          Add: [{ UserId: A }, { Group: "all" }, { OrganizationArn: ORG }, { OrganizationalUnitArn: OU }],
        },
      }),
    );
    const read = async () =>
      (
        await east.send(
          new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: "launchPermission" }),
        )
      ).LaunchPermissions;
    const image = async () =>
      (await east.send(new DescribeImagesCommand({ ImageIds: [imageId], IncludeDisabled: true })))
        .Images![0]!;
    expect(await read()).toHaveLength(4);
    await east.send(new DisableImageCommand({ ImageId: imageId }));
    expect(await read()).toEqual([]);
    expect(await image()).toMatchObject({ State: "disabled", Public: false });
    await east.send(new EnableImageCommand({ ImageId: imageId }));
    expect(await read()).toEqual([]);
    expect(await image()).toMatchObject({ State: "available", Public: false });
  });
});

describe("ModifySnapshotAttribute and DescribeSnapshotAttribute createVolumePermission", () => {
  it("adds and removes accounts in one call and reads them back", async () => {
    t = await startTestSim();
    const { snapshotId } = ownImage(t);
    const east = t.clientFor("us-east-1");
    const read = async () =>
      (
        await east.send(
          new DescribeSnapshotAttributeCommand({
            SnapshotId: snapshotId,
            Attribute: "createVolumePermission",
          }),
        )
      ).CreateVolumePermissions;
    expect(await read()).toEqual([]);
    await east.send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: snapshotId,
        Attribute: "createVolumePermission",
        CreateVolumePermission: { Add: [{ UserId: A }, { UserId: B }] },
      }),
    );
    await east.send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: snapshotId,
        Attribute: "createVolumePermission",
        CreateVolumePermission: { Add: [{ Group: "all" }], Remove: [{ UserId: A }] },
      }),
    );
    expect(await read()).toEqual([{ UserId: B }, { Group: "all" }]);
    // The flat form the AWS CLI sends (--operation-type remove --group-names all).
    await east.send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: snapshotId,
        Attribute: "createVolumePermission",
        OperationType: "remove",
        GroupNames: ["all"],
      }),
    );
    expect(await read()).toEqual([{ UserId: B }]);
  });

  it("answers EC2's errors for a bad account, an unknown snapshot and another attribute", async () => {
    t = await startTestSim();
    const { snapshotId } = ownImage(t);
    const east = t.clientFor("us-east-1");
    const modify = (input: ConstructorParameters<typeof ModifySnapshotAttributeCommand>[0]) =>
      ec2Error(east.send(new ModifySnapshotAttributeCommand(input)));
    expect(
      await modify({
        SnapshotId: snapshotId,
        Attribute: "createVolumePermission",
        CreateVolumePermission: { Add: [{ UserId: "12" }] },
      }),
    ).toEqual({
      code: "InvalidParameterValue",
      status: 400,
      message: "Value (12) for parameter userId is invalid.",
    });
    expect(
      await modify({
        SnapshotId: "snap-0123456789abcdef0",
        Attribute: "createVolumePermission",
        CreateVolumePermission: { Add: [{ UserId: A }] },
      }),
    ).toEqual({
      code: "InvalidSnapshot.NotFound",
      status: 400,
      message: "The snapshot 'snap-0123456789abcdef0' does not exist.",
    });
    expect(
      await ec2Error(
        east.send(
          new DescribeSnapshotAttributeCommand({ SnapshotId: snapshotId, Attribute: "volumeSize" as never }),
        ),
      ),
    ).toMatchObject({ code: "InvalidParameterValue" });
  });
});

describe("CopyImage", () => {
  it("records Encrypted and the KMS key on the copy and on each of its snapshots", async () => {
    t = await startTestSim();
    const { imageId } = ownImage(t);
    const west = t.clientFor("eu-west-1");
    const copy = await west.send(
      new CopyImageCommand({
        SourceRegion: "us-east-1",
        SourceImageId: imageId,
        Name: "leaven/base/1.0.0_aa",
        Encrypted: true,
        KmsKeyId: KEY,
      }),
    );
    t.clock.advance(10 * MINUTE);
    const image = (await west.send(new DescribeImagesCommand({ ImageIds: [copy.ImageId!] }))).Images![0]!;
    expect(image.BlockDeviceMappings?.map((m) => [m.Ebs?.Encrypted, m.Ebs?.KmsKeyId])).toEqual([[true, KEY]]);
    const snapshotId = image.BlockDeviceMappings![0]!.Ebs!.SnapshotId!;
    const snapshot = (await west.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] })))
      .Snapshots![0]!;
    expect([snapshot.Encrypted, snapshot.KmsKeyId]).toEqual([true, KEY]);
    const noFlag = await ec2Error(
      west.send(
        new CopyImageCommand({
          SourceRegion: "us-east-1",
          SourceImageId: imageId,
          Name: "other",
          KmsKeyId: KEY,
        }),
      ),
    );
    expect(noFlag).toEqual({
      code: "InvalidParameterCombination",
      status: 400,
      message: "KmsKeyId is specified, but Encrypted is not set to true.",
    });
  });

  it("refuses a copy into a region that has as many pending copies as EC2 allows, until one completes", async () => {
    t = await startTestSim({ concurrentCopyLimit: 3 });
    const west = t.clientFor("eu-west-1");
    const sources = [0, 1, 2, 3].map((i) => ownImage(t, `leaven/app-${i}/1.0.0_aa`).imageId);
    const copy = (i: number) =>
      west.send(
        new CopyImageCommand({ SourceRegion: "us-east-1", SourceImageId: sources[i]!, Name: `copy-${i}` }),
      );
    for (const i of [0, 1, 2]) await copy(i);
    // Another region's copies do not count.
    await t
      .clientFor("ap-southeast-2")
      .send(new CopyImageCommand({ SourceRegion: "us-east-1", SourceImageId: sources[3]!, Name: "copy-ap" }));
    expect(await ec2Error(copy(3))).toEqual({
      code: "ResourceLimitExceeded",
      status: 400,
      message:
        "You have exceeded an Amazon EC2 resource limit: 3 AMI copies are in progress into eu-west-1, the most a destination region allows at once (3). Retry once some have completed.",
    });
    t.clock.advance(8 * MINUTE);
    expect((await copy(3)).ImageId).toMatch(/^ami-[0-9a-f]{17}$/);
  });

  it("allows EC2's 300 concurrent copies into a region by default", async () => {
    t = await startTestSim();
    expect(t.sim.world.concurrentCopyLimit).toBe(300);
  });
});
