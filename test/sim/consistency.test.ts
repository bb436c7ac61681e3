import { join } from "node:path";
import {
  CopyImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeleteTagsCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DisableImageCommand,
  EnableImageDeprecationCommand,
  GetConsoleOutputCommand,
  ModifyImageAttributeCommand,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import { AWKWARD_NONE } from "../../controller/sim/awkward.ts";
import { ManualClock } from "../../controller/sim/manual-clock.ts";
import { tempDir } from "../support/temp-dir.ts";
import { awkwardSims, ec2Error, MINUTE, nobleImage, START } from "./helpers.ts";

const sim = awkwardSims({ consistency: true });
const ubuntu = nobleImage;

const imageNotFound = (id: string) => ({
  code: "InvalidAMIID.NotFound",
  status: 400,
  message: `The image id '[${id}]' does not exist`,
});
const instanceNotFound = (id: string) => ({
  code: "InvalidInstanceID.NotFound",
  status: 400,
  message: `The instance ID '${id}' does not exist`,
});
const snapshotNotFound = (id: string) => ({
  code: "InvalidSnapshot.NotFound",
  status: 400,
  message: `The snapshot '${id}' does not exist.`,
});

describe("a new image", () => {
  it("is invisible to Describe and NotFound to every call naming it until its lag has passed", async () => {
    const t = await sim();
    const east = t.clientFor("us-east-1");
    const input = {
      SourceRegion: "eu-west-1",
      SourceImageId: await ubuntu(t),
      Name: "leaven/base/1.0.0",
      ClientToken: "copy-1",
      TagSpecifications: [
        { ResourceType: "image" as const, Tags: [{ Key: "leaven.dev/spec", Value: "base" }] },
      ],
    };
    const { ImageId: id } = await east.send(new CopyImageCommand(input));
    const image = t.sim.world.region("us-east-1").images.get(id!)!;
    expect(image.visibleAt).toBeGreaterThanOrEqual(START);
    expect(image.visibleAt).toBeLessThanOrEqual(START + 5_000);
    // Make the window certain to be open for the rest of the test.
    image.visibleAt = START + 4_000;
    t.clock.set(START + 3_999);
    // The idempotent repeat of the creating call still answers the id.
    expect((await east.send(new CopyImageCommand(input))).ImageId).toBe(id);
    expect(await ec2Error(east.send(new DescribeImagesCommand({ ImageIds: [id!] })))).toEqual(
      imageNotFound(id!),
    );
    for (const filters of [
      [{ Name: "tag:leaven.dev/spec", Values: ["base"] }],
      [{ Name: "image-id", Values: [id!] }],
      [{ Name: "name", Values: ["leaven/*"] }],
    ]) {
      expect(
        (await east.send(new DescribeImagesCommand({ Owners: ["self"], Filters: filters }))).Images,
      ).toEqual([]);
    }
    const named = [
      new CreateTagsCommand({ Resources: [id!], Tags: [{ Key: "k", Value: "v" }] }),
      new DeleteTagsCommand({ Resources: [id!], Tags: [{ Key: "k" }] }),
      new ModifyImageAttributeCommand({
        ImageId: id,
        LaunchPermission: { Add: [{ UserId: "111122223333" }] },
      }),
      new DescribeImageAttributeCommand({ ImageId: id, Attribute: "launchPermission" }),
      new DeregisterImageCommand({ ImageId: id }),
      new EnableImageDeprecationCommand({ ImageId: id, DeprecateAt: new Date(START + 86_400_000) }),
      new DisableImageCommand({ ImageId: id }),
    ];
    for (const command of named) {
      // biome-ignore lint/suspicious/noExplicitAny: a table of different commands
      expect(await ec2Error(east.send(command as any))).toEqual(imageNotFound(id!));
    }
    t.clock.set(START + 4_000);
    const found = await east.send(new DescribeImagesCommand({ ImageIds: [id!] }));
    expect(found.Images!.map((i) => i.ImageId)).toEqual([id]);
    await east.send(new CreateTagsCommand({ Resources: [id!], Tags: [{ Key: "k", Value: "v" }] }));
  });

  it("hides its snapshots too, each for its own lag", async () => {
    const t = await sim();
    const east = t.clientFor("us-east-1");
    const { ImageId: id } = await east.send(
      new CopyImageCommand({ SourceRegion: "eu-west-1", SourceImageId: await ubuntu(t), Name: "copy" }),
    );
    const region = t.sim.world.region("us-east-1");
    const snapshotId = region.images.get(id!)!.snapshotIds[0]!;
    const snapshot = region.snapshots.get(snapshotId)!;
    expect(snapshot.visibleAt).toBeLessThanOrEqual(START + 5_000);
    snapshot.visibleAt = START + 2_500;
    t.clock.set(START + 2_499);
    expect(await ec2Error(east.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] })))).toEqual(
      snapshotNotFound(snapshotId),
    );
    expect((await east.send(new DescribeSnapshotsCommand({ OwnerIds: ["self"] }))).Snapshots).toEqual([]);
    expect(
      await ec2Error(
        east.send(new CreateTagsCommand({ Resources: [snapshotId], Tags: [{ Key: "k", Value: "v" }] })),
      ),
    ).toEqual(snapshotNotFound(snapshotId));
    expect(await ec2Error(east.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })))).toEqual(
      snapshotNotFound(snapshotId),
    );
    t.clock.advance(1);
    const listed = await east.send(new DescribeSnapshotsCommand({ OwnerIds: ["self"] }));
    expect(listed.Snapshots!.map((s) => s.SnapshotId)).toEqual([snapshotId]);
  });

  it("is visible at once in the exact mode", async () => {
    const t = await sim({ awkward: false });
    const east = t.clientFor("us-east-1");
    const { ImageId: id } = await east.send(
      new CopyImageCommand({ SourceRegion: "eu-west-1", SourceImageId: await ubuntu(t), Name: "copy" }),
    );
    expect(t.sim.world.region("us-east-1").images.get(id!)!.visibleAt).toBeUndefined();
    expect((await east.send(new DescribeImagesCommand({ ImageIds: [id!] }))).Images).toHaveLength(1);
  });
});

describe("a new instance", () => {
  it("is NotFound to Describe, tags, console, stop and terminate until its lag has passed", async () => {
    const t = await sim({ awkward: { ...AWKWARD_NONE, consistency: true, consistencyLagMs: 30_000 } });
    const input: RunInstancesCommandInput = {
      ImageId: await ubuntu(t),
      InstanceType: "t3.micro",
      MinCount: 1,
      MaxCount: 1,
      ClientToken: "launch-1",
      TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "leaven.dev/role", Value: "bake" }] }],
    };
    const run = await t.client.send(new RunInstancesCommand(input));
    const id = run.Instances![0]!.InstanceId!;
    const instance = t.sim.world.region("eu-west-1").instances.get(id)!;
    expect(instance.visibleAt).toBeGreaterThanOrEqual(START);
    expect(instance.visibleAt).toBeLessThanOrEqual(START + 30_000);
    instance.visibleAt = START + 20_000;
    // Running by now, but still not visible.
    t.clock.set(START + 19_999);
    expect((await t.client.send(new RunInstancesCommand(input))).Instances!.map((i) => i.InstanceId)).toEqual(
      [id],
    );
    expect(await ec2Error(t.client.send(new DescribeInstancesCommand({ InstanceIds: [id] })))).toEqual(
      instanceNotFound(id),
    );
    const filtered = await t.client.send(
      new DescribeInstancesCommand({ Filters: [{ Name: "tag:leaven.dev/role", Values: ["bake"] }] }),
    );
    expect(filtered.Reservations).toEqual([]);
    const named = [
      new CreateTagsCommand({ Resources: [id], Tags: [{ Key: "k", Value: "v" }] }),
      new GetConsoleOutputCommand({ InstanceId: id }),
      new StopInstancesCommand({ InstanceIds: [id] }),
      new TerminateInstancesCommand({ InstanceIds: [id] }),
    ];
    for (const command of named) {
      // biome-ignore lint/suspicious/noExplicitAny: a table of different commands
      expect(await ec2Error(t.client.send(command as any))).toEqual(instanceNotFound(id));
    }
    t.clock.advance(1);
    const described = await t.client.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    expect(described.Reservations![0]!.Instances![0]!.State!.Name).toBe("running");
    await t.client.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  });
});

describe("a deregistered image's snapshots", () => {
  it("stay in use for snapshotInUseMs: DeleteSnapshot answers InvalidSnapshot.InUse, then succeeds", async () => {
    const t = await sim();
    const [imageId] = t.sim.seedImages([{ region: "eu-west-1", name: "leaven/base/1.0.0" }]);
    const snapshotId = t.sim.world.region("eu-west-1").images.get(imageId!)!.snapshotIds[0]!;
    await t.client.send(new DeregisterImageCommand({ ImageId: imageId }));
    const deregistered = t.clock.now();
    t.clock.set(deregistered + MINUTE - 1);
    expect(await ec2Error(t.client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })))).toEqual({
      code: "InvalidSnapshot.InUse",
      status: 400,
      message: `The snapshot ${snapshotId} is currently in use by ${imageId}`,
    });
    t.clock.advance(1);
    await t.client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
    expect(
      await ec2Error(t.client.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))),
    ).toEqual(snapshotNotFound(snapshotId));
  });

  it("can be deleted at once in the exact mode", async () => {
    const t = await sim({ awkward: false });
    const [imageId] = t.sim.seedImages([{ region: "eu-west-1", name: "leaven/base/1.0.0" }]);
    const snapshotId = t.sim.world.region("eu-west-1").images.get(imageId!)!.snapshotIds[0]!;
    await t.client.send(new DeregisterImageCommand({ ImageId: imageId }));
    await t.client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
  });
});

describe("across a restart", () => {
  it("keeps the hidden window and the in-use window with the world", async () => {
    const dir = tempDir("leaven-sim-consistency-");
    const statePath = join(dir, "state.json");
    const clock = new ManualClock(START);
    const first = await sim({ statePath, clock });
    const east = first.clientFor("us-east-1");
    const { ImageId: copy } = await east.send(
      new CopyImageCommand({ SourceRegion: "eu-west-1", SourceImageId: await ubuntu(first), Name: "copy" }),
    );
    first.sim.world.region("us-east-1").images.get(copy!)!.visibleAt = START + 4_000;
    const [seeded] = first.sim.seedImages([{ region: "eu-west-1", name: "leaven/base/1.0.0" }]);
    const snapshotId = first.sim.world.region("eu-west-1").images.get(seeded!)!.snapshotIds[0]!;
    await first.client.send(new DeregisterImageCommand({ ImageId: seeded }));
    await sim.close(first);

    const second = await sim({ statePath, clock });
    clock.set(START + 3_999);
    expect(
      await ec2Error(second.clientFor("us-east-1").send(new DescribeImagesCommand({ ImageIds: [copy!] }))),
    ).toEqual(imageNotFound(copy!));
    expect(
      (await ec2Error(second.client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })))).code,
    ).toBe("InvalidSnapshot.InUse");
    clock.set(START + MINUTE);
    expect(
      (await second.clientFor("us-east-1").send(new DescribeImagesCommand({ ImageIds: [copy!] }))).Images,
    ).toHaveLength(1);
    await second.client.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId }));
  });
});
