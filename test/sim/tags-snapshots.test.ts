import {
  CreateImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeleteTagsCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  paginateDescribeSnapshots,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CANONICAL_OWNER_ID } from "../../controller/sim/vendor-images.ts";
import { ec2Error, MINUTE, startTestSim, type TestSim } from "./helpers.ts";

let t: TestSim;
let instanceId: string;
let imageId: string;
let snapshotId: string;
beforeEach(async () => {
  t = await startTestSim();
  const vendor = await t.client.send(
    new DescribeImagesCommand({
      Owners: [CANONICAL_OWNER_ID],
      Filters: [{ Name: "architecture", Values: ["x86_64"] }],
    }),
  );
  const run = await t.client.send(
    new RunInstancesCommand({
      ImageId: vendor.Images![0]!.ImageId,
      InstanceType: "t3.micro",
      MinCount: 1,
      MaxCount: 1,
    }),
  );
  instanceId = run.Instances![0]!.InstanceId!;
  t.clock.advance(MINUTE);
  imageId = (await t.client.send(new CreateImageCommand({ InstanceId: instanceId, Name: "tagged" })))
    .ImageId!;
  const image = (await t.client.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0]!;
  snapshotId = image.BlockDeviceMappings![0]!.Ebs!.SnapshotId!;
});
afterEach(async () => {
  await t.sim.close();
});

const tagsOf = (tags: { Key?: string; Value?: string }[] | undefined) =>
  Object.fromEntries((tags ?? []).map((tag) => [tag.Key, tag.Value]));

describe("CreateTags / DeleteTags", () => {
  it("tags images, snapshots and instances in one call", async () => {
    await t.client.send(
      new CreateTagsCommand({
        Resources: [imageId, snapshotId, instanceId],
        Tags: [
          { Key: "leaven.dev/channel/release", Value: "true" },
          { Key: "team", Value: "platform" },
        ],
      }),
    );
    const image = (await t.client.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0]!;
    expect(tagsOf(image.Tags)).toEqual({ "leaven.dev/channel/release": "true", team: "platform" });
    const snapshot = (await t.client.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] })))
      .Snapshots![0]!;
    expect(tagsOf(snapshot.Tags)).toEqual({ "leaven.dev/channel/release": "true", team: "platform" });
    const instance = (await t.client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })))
      .Reservations![0]!.Instances![0]!;
    expect(tagsOf(instance.Tags)).toEqual({ "leaven.dev/channel/release": "true", team: "platform" });
    // The tag filter sees the change at once (listing caches are per walk).
    const released = await t.client.send(
      new DescribeImagesCommand({
        Owners: ["self"],
        Filters: [{ Name: "tag:leaven.dev/channel/release", Values: ["true"] }],
      }),
    );
    expect(released.Images!.map((i) => i.ImageId)).toEqual([imageId]);
  });

  it("deletes by key, by key and matching value, and leaves a non-matching value", async () => {
    await t.client.send(
      new CreateTagsCommand({
        Resources: [imageId],
        Tags: [
          { Key: "a", Value: "1" },
          { Key: "b", Value: "2" },
          { Key: "c", Value: "3" },
        ],
      }),
    );
    await t.client.send(
      new DeleteTagsCommand({
        Resources: [imageId],
        Tags: [{ Key: "a" }, { Key: "b", Value: "2" }, { Key: "c", Value: "other" }],
      }),
    );
    const image = (await t.client.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0]!;
    expect(tagsOf(image.Tags)).toEqual({ c: "3" });
  });

  it("answers unknown ids with the matching NotFound code and changes nothing", async () => {
    const image = await ec2Error(
      t.client.send(
        new CreateTagsCommand({
          Resources: [instanceId, "ami-0123456789abcdef0"],
          Tags: [{ Key: "k", Value: "v" }],
        }),
      ),
    );
    expect(image).toEqual({
      code: "InvalidAMIID.NotFound",
      status: 400,
      message: "The image id '[ami-0123456789abcdef0]' does not exist",
    });
    const instance = (await t.client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] })))
      .Reservations![0]!.Instances![0]!;
    expect(instance.Tags).toBeUndefined();
    expect(
      (await ec2Error(t.client.send(new DeleteTagsCommand({ Resources: ["snap-0123456789abcdef0"] })))).code,
    ).toBe("InvalidSnapshot.NotFound");
    expect(
      (
        await ec2Error(
          t.client.send(
            new CreateTagsCommand({ Resources: ["i-0123456789abcdef0"], Tags: [{ Key: "k", Value: "v" }] }),
          ),
        )
      ).code,
    ).toBe("InvalidInstanceID.NotFound");
    expect(
      (
        await ec2Error(
          t.client.send(
            new CreateTagsCommand({ Resources: ["vpc-0123456789abcdef0"], Tags: [{ Key: "k", Value: "v" }] }),
          ),
        )
      ).code,
    ).toBe("InvalidID");
    expect(
      (await ec2Error(t.client.send(new CreateTagsCommand({ Resources: [imageId], Tags: [] })))).code,
    ).toBe("MissingParameter");
  });
});

describe("DescribeSnapshots / DeleteSnapshot", () => {
  it("lists the caller's snapshots with tag filters and pagination", async () => {
    for (let n = 0; n < 6; n++) {
      await t.client.send(
        new CreateImageCommand({
          InstanceId: instanceId,
          Name: `more-${n}`,
          TagSpecifications: [{ ResourceType: "snapshot", Tags: [{ Key: "n", Value: String(n) }] }],
        }),
      );
    }
    const all: string[] = [];
    for await (const page of paginateDescribeSnapshots(
      { client: t.client, pageSize: 5 },
      { OwnerIds: ["self"] },
    )) {
      all.push(...page.Snapshots!.map((s) => s.SnapshotId!));
    }
    expect(all).toHaveLength(7);
    expect(new Set(all).size).toBe(7);
    const keyed = await t.client.send(
      new DescribeSnapshotsCommand({ OwnerIds: ["self"], Filters: [{ Name: "tag-key", Values: ["n"] }] }),
    );
    expect(keyed.Snapshots).toHaveLength(6);
    const three = await t.client.send(
      new DescribeSnapshotsCommand({ Filters: [{ Name: "tag:n", Values: ["3"] }] }),
    );
    expect(three.Snapshots).toHaveLength(1);
  });

  it("refuses to delete a snapshot a registered image uses, then deletes it after deregistration", async () => {
    expect(await ec2Error(t.client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })))).toEqual({
      code: "InvalidSnapshot.InUse",
      status: 400,
      message: `The snapshot ${snapshotId} is currently in use by ${imageId}`,
    });
    await t.client.send(new DeregisterImageCommand({ ImageId: imageId }));
    await t.client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
    expect(
      await ec2Error(t.client.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))),
    ).toEqual({
      code: "InvalidSnapshot.NotFound",
      status: 400,
      message: `The snapshot '${snapshotId}' does not exist.`,
    });
    expect((await ec2Error(t.client.send(new DeleteSnapshotCommand({ SnapshotId: "snap-x" })))).code).toBe(
      "InvalidSnapshotID.Malformed",
    );
  });
});
