// The awkward consumer account (controller/sim/accounts.ts): requests signed with an AKIDCONSUMER… access key
// are account 777788889999. It sees the owner's images it was granted, without the owner's tags, launches
// from them, keeps its own instances, tags and parameters, and cannot change the owner's resources.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CopyImageCommand,
  CreateTagsCommand,
  DeleteSnapshotCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeSnapshotsCommand,
  DisableImageCommand,
  type EC2Client,
  EnableImageCommand,
  GetConsoleOutputCommand,
  ModifyImageAttributeCommand,
  ModifySnapshotAttributeCommand,
  RunInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterEach, describe, expect, it } from "vitest";
import {
  accountOfAccessKey,
  SIM_ACCOUNT_ID,
  SIM_CONSUMER_ACCOUNT_ID,
} from "../../controller/sim/accounts.ts";
import { AWKWARD_NONE } from "../../controller/sim/awkward.ts";
import { ManualClock } from "../../controller/sim/manual-clock.ts";
import type { SimulatorOptions } from "../../controller/sim/server.ts";
import { consumerClient, ec2Error, START, startTestSim, type TestSim } from "./helpers.ts";

const ORG = "arn:aws:organizations::123456789012:organization/o-abc123";
const OTHER = "444455556666";

const open: TestSim[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.sim.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function sim(options: SimulatorOptions = {}): Promise<TestSim & { consumer: EC2Client }> {
  const t = await startTestSim({ awkward: { ...AWKWARD_NONE, consumerAccount: true }, ...options });
  open.push(t);
  return { ...t, consumer: consumerClient(t.sim) };
}

/** An available image of the owner's in eu-west-1, tagged as Leaven tags its images. */
function ownerImage(t: TestSim, name = "leaven/base/1.0.0"): { imageId: string; snapshotId: string } {
  const [imageId] = t.sim.seedImages([
    { region: "eu-west-1", name, tags: { "leaven.dev/spec": "base", "leaven.dev/managed-by": "leaven" } },
  ]);
  return {
    imageId: imageId!,
    snapshotId: t.sim.world.region("eu-west-1").images.get(imageId!)!.snapshotIds[0]!,
  };
}

async function share(t: TestSim, imageId: string, add: { UserId?: string; OrganizationArn?: string }[]) {
  await t.client.send(new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: add } }));
}

const notFound = (id: string) => ({
  code: "InvalidAMIID.NotFound",
  status: 400,
  message: `The image id '[${id}]' does not exist`,
});

describe("the access key chooses the account", () => {
  it.each([
    ["AKIDCONSUMER", true, SIM_CONSUMER_ACCOUNT_ID],
    ["AKIDCONSUMER0001", true, SIM_CONSUMER_ACCOUNT_ID],
    ["AKIDSIM", true, SIM_ACCOUNT_ID],
    ["AKIDLEAVENSIM", true, SIM_ACCOUNT_ID],
    [undefined, true, SIM_ACCOUNT_ID],
    ["AKIDCONSUMER0001", false, SIM_ACCOUNT_ID],
  ])("%s (consumer account on: %s) is %s", (key, enabled, account) => {
    expect(accountOfAccessKey(key, enabled)).toBe(account);
  });

  it("answers RunInstances with the caller's account as owner", async () => {
    const t = await sim();
    const { imageId } = ownerImage(t);
    await share(t, imageId, [{ UserId: SIM_CONSUMER_ACCOUNT_ID }]);
    const run = await t.consumer.send(
      new RunInstancesCommand({
        ImageId: imageId,
        InstanceType: "t3.micro",
        MinCount: 1,
        MaxCount: 1,
        IamInstanceProfile: { Name: "app" },
      }),
    );
    expect(run.OwnerId).toBe(SIM_CONSUMER_ACCOUNT_ID);
    expect(run.Instances![0]!.IamInstanceProfile!.Arn).toBe(
      `arn:aws:iam::${SIM_CONSUMER_ACCOUNT_ID}:instance-profile/app`,
    );
  });
});

describe("the consumer's view of the owner's images", () => {
  it("sees nothing it was not granted, by id or by owner", async () => {
    const t = await sim();
    const { imageId } = ownerImage(t);
    expect(await ec2Error(t.consumer.send(new DescribeImagesCommand({ ImageIds: [imageId] })))).toEqual(
      notFound(imageId),
    );
    expect((await t.consumer.send(new DescribeImagesCommand({ Owners: [SIM_ACCOUNT_ID] }))).Images).toEqual(
      [],
    );
    expect(
      await ec2Error(
        t.consumer.send(
          new RunInstancesCommand({ ImageId: imageId, InstanceType: "t3.micro", MinCount: 1, MaxCount: 1 }),
        ),
      ),
    ).toEqual(notFound(imageId));
  });

  it("sees a granted image by id, ExecutableUsers=self and owner, without the owner's tags", async () => {
    const t = await sim();
    const { imageId } = ownerImage(t);
    const other = ownerImage(t, "leaven/other/1.0.0").imageId;
    await share(t, imageId, [{ UserId: SIM_CONSUMER_ACCOUNT_ID }]);
    await share(t, other, [{ UserId: OTHER }]);
    const byId = (await t.consumer.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images!;
    expect(byId.map((i) => [i.ImageId, i.OwnerId, i.Tags])).toEqual([[imageId, SIM_ACCOUNT_ID, undefined]]);
    const executable = await t.consumer.send(new DescribeImagesCommand({ ExecutableUsers: ["self"] }));
    expect(executable.Images!.map((i) => i.ImageId)).toEqual([imageId]);
    const byOwner = await t.consumer.send(new DescribeImagesCommand({ Owners: [SIM_ACCOUNT_ID] }));
    expect(byOwner.Images!.map((i) => i.ImageId)).toEqual([imageId]);
    // The owner's tags are not the consumer's to filter on either.
    const tagged = await t.consumer.send(
      new DescribeImagesCommand({
        Owners: [SIM_ACCOUNT_ID],
        Filters: [{ Name: "tag:leaven.dev/spec", Values: ["base"] }],
      }),
    );
    expect(tagged.Images).toEqual([]);
    // The owner still sees its tags, and its images shared with an account by ExecutableUsers.
    const owner = (await t.client.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0]!;
    expect(owner.Tags).toHaveLength(2);
    const sharedWithOther = await t.client.send(new DescribeImagesCommand({ ExecutableUsers: [OTHER] }));
    expect(sharedWithOther.Images!.map((i) => i.ImageId)).toEqual([other]);
  });

  it("sees images shared with an organization it belongs to (consumerOrganizations)", async () => {
    const t = await sim({
      awkward: { ...AWKWARD_NONE, consumerAccount: true, consumerOrganizations: [ORG] },
    });
    const { imageId } = ownerImage(t);
    expect(await ec2Error(t.consumer.send(new DescribeImagesCommand({ ImageIds: [imageId] })))).toEqual(
      notFound(imageId),
    );
    await share(t, imageId, [{ OrganizationArn: ORG }]);
    expect((await t.consumer.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images).toHaveLength(
      1,
    );
    expect(
      (await t.consumer.send(new DescribeImagesCommand({ ExecutableUsers: ["self"] }))).Images,
    ).toHaveLength(1);
  });

  it("tags a shared image with tags only it sees", async () => {
    const t = await sim();
    const { imageId } = ownerImage(t);
    await share(t, imageId, [{ UserId: SIM_CONSUMER_ACCOUNT_ID }]);
    await t.consumer.send(
      new CreateTagsCommand({ Resources: [imageId], Tags: [{ Key: "team", Value: "payments" }] }),
    );
    const consumerView = (await t.consumer.send(new DescribeImagesCommand({ ImageIds: [imageId] })))
      .Images![0]!;
    expect(consumerView.Tags).toEqual([{ Key: "team", Value: "payments" }]);
    const ownerView = (await t.client.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0]!;
    expect(ownerView.Tags!.map((tag) => tag.Key).sort()).toEqual([
      "leaven.dev/managed-by",
      "leaven.dev/spec",
    ]);
    const filtered = await t.consumer.send(
      new DescribeImagesCommand({
        ExecutableUsers: ["self"],
        Filters: [{ Name: "tag:team", Values: ["payments"] }],
      }),
    );
    expect(filtered.Images!.map((i) => i.ImageId)).toEqual([imageId]);
  });

  it("cannot change the owner's image: AuthFailure when it sees it, InvalidAMIID.NotFound when it does not", async () => {
    const t = await sim();
    const { imageId } = ownerImage(t);
    const hidden = ownerImage(t, "leaven/hidden/1.0.0").imageId;
    await share(t, imageId, [{ UserId: SIM_CONSUMER_ACCOUNT_ID }]);
    const refused = {
      code: "AuthFailure",
      status: 400,
      message: `Not authorized for image:${imageId}`,
    };
    expect(
      await ec2Error(
        t.consumer.send(
          new ModifyImageAttributeCommand({
            ImageId: imageId,
            LaunchPermission: { Add: [{ UserId: OTHER }] },
          }),
        ),
      ),
    ).toEqual(refused);
    expect(await ec2Error(t.consumer.send(new DeregisterImageCommand({ ImageId: imageId })))).toEqual(
      refused,
    );
    expect(await ec2Error(t.consumer.send(new DisableImageCommand({ ImageId: imageId })))).toEqual(refused);
    expect(
      await ec2Error(
        t.consumer.send(
          new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: "launchPermission" }),
        ),
      ),
    ).toEqual(refused);
    expect(await ec2Error(t.consumer.send(new DeregisterImageCommand({ ImageId: hidden })))).toEqual(
      notFound(hidden),
    );
    expect(
      await ec2Error(
        t.consumer.send(new CreateTagsCommand({ Resources: [hidden], Tags: [{ Key: "k", Value: "v" }] })),
      ),
    ).toEqual(notFound(hidden));
  });

  it("loses a disabled image, and does not get it back when it is enabled again", async () => {
    const t = await sim();
    const { imageId } = ownerImage(t);
    await share(t, imageId, [{ UserId: SIM_CONSUMER_ACCOUNT_ID }]);
    await t.client.send(new DisableImageCommand({ ImageId: imageId }));
    expect(await ec2Error(t.consumer.send(new DescribeImagesCommand({ ImageIds: [imageId] })))).toEqual(
      notFound(imageId),
    );
    await t.client.send(new EnableImageCommand({ ImageId: imageId }));
    expect(await ec2Error(t.consumer.send(new DescribeImagesCommand({ ImageIds: [imageId] })))).toEqual(
      notFound(imageId),
    );
  });

  it("copies a shared image into an image of its own", async () => {
    const t = await sim();
    const { imageId } = ownerImage(t);
    await share(t, imageId, [{ UserId: SIM_CONSUMER_ACCOUNT_ID }]);
    const east = consumerClient(t.sim, "us-east-1");
    const { ImageId: copy } = await east.send(
      new CopyImageCommand({
        SourceRegion: "eu-west-1",
        SourceImageId: imageId,
        Name: "leaven/base/1.0.0",
        CopyImageTags: true,
      }),
    );
    const image = (await east.send(new DescribeImagesCommand({ Owners: ["self"] }))).Images!;
    expect(image.map((i) => [i.ImageId, i.OwnerId, i.Tags])).toEqual([
      [copy, SIM_CONSUMER_ACCOUNT_ID, undefined],
    ]);
    // Names are unique per account: the owner may use the same one.
    expect(
      (await t.clientFor("us-east-1").send(new DescribeImagesCommand({ Owners: ["self"] }))).Images,
    ).toEqual([]);
  });
});

describe("the consumer's own resources", () => {
  it("keeps its instances to itself, and the owner's from it", async () => {
    const t = await sim();
    const { imageId } = ownerImage(t);
    await share(t, imageId, [{ UserId: SIM_CONSUMER_ACCOUNT_ID }]);
    const launch = (client: EC2Client) =>
      client.send(
        new RunInstancesCommand({ ImageId: imageId, InstanceType: "t3.micro", MinCount: 1, MaxCount: 1 }),
      );
    const theirs = (await launch(t.consumer)).Instances![0]!.InstanceId!;
    const ours = (await launch(t.client)).Instances![0]!.InstanceId!;
    const ids = async (client: EC2Client) =>
      ((await client.send(new DescribeInstancesCommand({}))).Reservations ?? []).flatMap((r) =>
        r.Instances!.map((i) => i.InstanceId),
      );
    expect(await ids(t.consumer)).toEqual([theirs]);
    expect(await ids(t.client)).toEqual([ours]);
    const missing = {
      code: "InvalidInstanceID.NotFound",
      status: 400,
      message: `The instance ID '${ours}' does not exist`,
    };
    expect(await ec2Error(t.consumer.send(new TerminateInstancesCommand({ InstanceIds: [ours] })))).toEqual(
      missing,
    );
    expect(await ec2Error(t.consumer.send(new GetConsoleOutputCommand({ InstanceId: ours })))).toEqual(
      missing,
    );
    expect(
      await ec2Error(
        t.consumer.send(new CreateTagsCommand({ Resources: [ours], Tags: [{ Key: "k", Value: "v" }] })),
      ),
    ).toEqual(missing);
  });

  it("sees the owner's snapshot only once granted create-volume permission, and cannot delete it", async () => {
    const t = await sim();
    const { snapshotId } = ownerImage(t);
    const missing = {
      code: "InvalidSnapshot.NotFound",
      status: 400,
      message: `The snapshot '${snapshotId}' does not exist.`,
    };
    expect(
      await ec2Error(t.consumer.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))),
    ).toEqual(missing);
    expect(await ec2Error(t.consumer.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })))).toEqual(
      missing,
    );
    await t.client.send(
      new ModifySnapshotAttributeCommand({
        SnapshotId: snapshotId,
        CreateVolumePermission: { Add: [{ UserId: SIM_CONSUMER_ACCOUNT_ID }] },
      }),
    );
    const seen = await t.consumer.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));
    expect(seen.Snapshots!.map((s) => [s.SnapshotId, s.OwnerId])).toEqual([[snapshotId, SIM_ACCOUNT_ID]]);
    expect(await ec2Error(t.consumer.send(new DeleteSnapshotCommand({ SnapshotId: snapshotId })))).toEqual({
      code: "UnauthorizedOperation",
      status: 403,
      message: `You are not authorized to delete snapshot ${snapshotId}.`,
    });
  });

  it("keeps its own SSM parameters", async () => {
    const t = await sim();
    const ssm = (accessKeyId: string) =>
      new SSMClient({
        region: "eu-west-1",
        endpoint: t.sim.endpoint,
        credentials: { accessKeyId, secretAccessKey: "sim" },
        maxAttempts: 1,
      });
    await ssm("AKIDSIM").send(
      new PutParameterCommand({ Name: "/leaven/base", Value: "owner", Type: "String" }),
    );
    await ssm("AKIDCONSUMER1").send(
      new PutParameterCommand({ Name: "/leaven/base", Value: "consumer", Type: "String" }),
    );
    const read = async (key: string) =>
      (await ssm(key).send(new GetParameterCommand({ Name: "/leaven/base" }))).Parameter!;
    expect(await read("AKIDSIM")).toMatchObject({
      Value: "owner",
      ARN: `arn:aws:ssm:eu-west-1:${SIM_ACCOUNT_ID}:parameter/leaven/base`,
    });
    expect(await read("AKIDCONSUMER1")).toMatchObject({
      Value: "consumer",
      ARN: `arn:aws:ssm:eu-west-1:${SIM_CONSUMER_ACCOUNT_ID}:parameter/leaven/base`,
    });
  });

  it("is the owner in the exact mode, whatever its access key", async () => {
    const t = await sim({ awkward: false });
    const { imageId } = ownerImage(t);
    const seen = (await t.consumer.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0]!;
    expect(seen.Tags).toHaveLength(2);
  });
});

describe("across a restart", () => {
  it("keeps the consumer's instances, tags and image names with the world", async () => {
    const dir = mkdtempSync(join(tmpdir(), "leaven-sim-accounts-"));
    dirs.push(dir);
    const statePath = join(dir, "state.json");
    const clock = new ManualClock(START);
    const first = await sim({ statePath, clock });
    const { imageId } = ownerImage(first);
    await share(first, imageId, [{ UserId: SIM_CONSUMER_ACCOUNT_ID }]);
    const instanceId = (
      await first.consumer.send(
        new RunInstancesCommand({ ImageId: imageId, InstanceType: "t3.micro", MinCount: 1, MaxCount: 1 }),
      )
    ).Instances![0]!.InstanceId!;
    await first.consumer.send(
      new CreateTagsCommand({ Resources: [imageId], Tags: [{ Key: "team", Value: "payments" }] }),
    );
    const { ImageId: copy } = await consumerClient(first.sim, "us-east-1").send(
      new CopyImageCommand({ SourceRegion: "eu-west-1", SourceImageId: imageId, Name: "mine" }),
    );
    await first.sim.close();
    open.splice(open.indexOf(first), 1);

    const second = await sim({ statePath, clock });
    const reservations = (await second.consumer.send(new DescribeInstancesCommand({}))).Reservations!;
    expect(reservations.flatMap((r) => r.Instances!.map((i) => i.InstanceId))).toEqual([instanceId]);
    expect((await second.client.send(new DescribeInstancesCommand({}))).Reservations).toEqual([]);
    const image = (await second.consumer.send(new DescribeImagesCommand({ ImageIds: [imageId] })))
      .Images![0]!;
    expect(image.Tags).toEqual([{ Key: "team", Value: "payments" }]);
    const duplicate = await ec2Error(
      consumerClient(second.sim, "us-east-1").send(
        new CopyImageCommand({ SourceRegion: "eu-west-1", SourceImageId: imageId, Name: "mine" }),
      ),
    );
    expect(duplicate).toEqual({
      code: "InvalidAMIName.Duplicate",
      status: 400,
      message: `AMI name mine is already in use by AMI ${copy}`,
    });
  });
});
