import { EC2Client } from "@aws-sdk/client-ec2";
import { SSMClient } from "@aws-sdk/client-ssm";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AwsCloud, createAwsCloud, withoutSdkLogging } from "../../controller/cloud/aws-adapter.ts";
import type { Clock } from "../../controller/cloud/clock.ts";
import { CloudError } from "../../controller/cloud/port.ts";
import { type Ec2TestServer, ec2Error, ok, startEc2TestServer, tagSet } from "./ec2-test-server.ts";

const credentials = { accessKeyId: "AKIDTEST", secretAccessKey: "secret" };

function imageXml(id: string, extra = ""): string {
  return `<item><imageId>${id}</imageId><imageState>available</imageState><imageOwnerId>123456789012</imageOwnerId><name>leaven/base/${id}</name><creationDate>2026-01-02T03:04:05.000Z</creationDate><architecture>x86_64</architecture>${extra}</item>`;
}

let server: Ec2TestServer;
let cloud: AwsCloud;
let sleeps: number[];

beforeEach(async () => {
  server = await startEc2TestServer();
  sleeps = [];
  let now = 0;
  const clock: Clock = {
    now: () => now,
    sleep: async (ms) => {
      sleeps.push(ms);
      now += ms;
    },
  };
  cloud = createAwsCloud({ endpoint: server.endpoint, credentials, clock, random: () => 0.5 });
});

afterEach(async () => {
  cloud.close();
  await server.close();
});

describe("describeImages", () => {
  it("walks every page with MaxResults 1000 and maps images to the port's shape", async () => {
    server.reply(
      "DescribeImages",
      ok(
        "DescribeImages",
        `<imagesSet>${imageXml(
          "ami-1",
          `<description>base 2.3.0</description><rootDeviceName>/dev/sda1</rootDeviceName><blockDeviceMapping><item><deviceName>/dev/sda1</deviceName><ebs><snapshotId>snap-1</snapshotId><volumeSize>8</volumeSize></ebs></item><item><deviceName>/dev/sdb</deviceName><virtualName>ephemeral0</virtualName></item><item><deviceName>/dev/sdc</deviceName><ebs><snapshotId>snap-2</snapshotId></ebs></item></blockDeviceMapping>${tagSet({ "leaven.dev/spec": "base", "leaven.dev/channel/release": "true" })}<deprecationTime>2026-03-01T00:00:00.000Z</deprecationTime>`,
        )}</imagesSet><nextToken>page-2</nextToken>`,
      ),
      ok(
        "DescribeImages",
        `<imagesSet>${imageXml("ami-2", "<stateReason><code>Server.InternalError</code><message>copy failed</message></stateReason>").replace("available", "failed")}</imagesSet>`,
      ),
    );
    const images = await cloud.describeImages("us-east-1", {
      owners: ["self"],
      filters: [{ name: "tag:leaven.dev/managed-by", values: ["leaven"] }],
      includeDisabled: true,
    });
    expect(images).toEqual([
      {
        imageId: "ami-1",
        region: "us-east-1",
        name: "leaven/base/ami-1",
        ownerId: "123456789012",
        state: "available",
        creationDate: "2026-01-02T03:04:05.000Z",
        architecture: "x86_64",
        description: "base 2.3.0",
        rootDeviceName: "/dev/sda1",
        deprecationTime: "2026-03-01T00:00:00.000Z",
        snapshotIds: ["snap-1", "snap-2"],
        tags: { "leaven.dev/spec": "base", "leaven.dev/channel/release": "true" },
      },
      {
        imageId: "ami-2",
        region: "us-east-1",
        name: "leaven/base/ami-2",
        ownerId: "123456789012",
        state: "failed",
        creationDate: "2026-01-02T03:04:05.000Z",
        architecture: "x86_64",
        snapshotIds: [],
        tags: {},
        stateReason: "copy failed",
      },
    ]);
    const base = {
      "Owner.1": "self",
      MaxResults: "1000",
      "Filter.1.Name": "tag:leaven.dev/managed-by",
      "Filter.1.Value.1": "leaven",
      IncludeDisabled: "true",
    };
    expect(server.requests).toEqual([
      { action: "DescribeImages", region: "us-east-1", params: base },
      { action: "DescribeImages", region: "us-east-1", params: { ...base, NextToken: "page-2" } },
    ]);
  });

  it("sends ImageIds without MaxResults, which EC2 rejects together", async () => {
    server.reply("DescribeImages", ok("DescribeImages", `<imagesSet>${imageXml("ami-9")}</imagesSet>`));
    const images = await cloud.describeImages("eu-west-1", { imageIds: ["ami-9"] });
    expect(images.map((i) => i.imageId)).toEqual(["ami-9"]);
    expect(server.requests).toEqual([
      { action: "DescribeImages", region: "eu-west-1", params: { "ImageId.1": "ami-9" } },
    ]);
  });

  it("stops with an error when EC2 hands back the same NextToken again", async () => {
    const page = ok("DescribeImages", "<imagesSet></imagesSet><nextToken>again</nextToken>");
    server.reply("DescribeImages", page, page);
    await expect(cloud.describeImages("us-east-1", {})).rejects.toThrow(
      "PaginationLoop: DescribeImages returned NextToken again twice",
    );
  });
});

describe("retries and errors", () => {
  it("retries RequestLimitExceeded (HTTP 503) with jittered backoff and counts the throttles", async () => {
    server.reply(
      "DescribeImages",
      ec2Error(503, "RequestLimitExceeded", "Request limit exceeded."),
      ec2Error(503, "RequestLimitExceeded", "Request limit exceeded."),
      ok("DescribeImages", `<imagesSet>${imageXml("ami-1")}</imagesSet>`),
    );
    const images = await cloud.describeImages("us-east-1", { owners: ["self"] });
    expect(images.map((i) => i.imageId)).toEqual(["ami-1"]);
    expect(server.requests.map((r) => r.action)).toEqual([
      "DescribeImages",
      "DescribeImages",
      "DescribeImages",
    ]);
    // Full jitter with random 0.5: half of 200 ms, then half of 400 ms.
    expect(sleeps).toEqual([100, 200]);
    expect(cloud.stats()).toEqual({
      requests: 3,
      mutating: 0,
      throttled: 2,
      retried: 2,
      byRegion: {
        "us-east-1": {
          requests: 3,
          mutating: 0,
          throttled: 2,
          retried: 2,
          byAction: { DescribeImages: { requests: 3, throttled: 2, retried: 2 } },
        },
      },
    });
  });

  it("retries a 500 InternalError", async () => {
    server.reply(
      "StopInstances",
      ec2Error(500, "InternalError", "An internal error has occurred"),
      ok("StopInstances", "<instancesSet/>"),
    );
    await cloud.stopInstances("us-east-1", ["i-1"]);
    expect(server.requests).toHaveLength(2);
    expect(sleeps).toEqual([100]);
    expect(cloud.stats()).toMatchObject({ requests: 2, mutating: 2, throttled: 0, retried: 1 });
  });

  it("retries when the connection drops without an answer", async () => {
    server.reply("DescribeRegions", { hangUp: true });
    server.reply(
      "DescribeRegions",
      ok("DescribeRegions", "<regionInfo><item><regionName>us-east-1</regionName></item></regionInfo>"),
    );
    expect(await cloud.describeRegions("us-east-1")).toEqual(["us-east-1"]);
    expect(server.requests).toHaveLength(2);
    expect(cloud.stats()).toMatchObject({ requests: 2, retried: 1, throttled: 0 });
  });

  it("surfaces a 400 InvalidAMIID.NotFound at once as a CloudError with the AWS code", async () => {
    server.reply(
      "DeregisterImage",
      ec2Error(400, "InvalidAMIID.NotFound", "The image id '[ami-404]' does not exist"),
    );
    const error = await cloud.deregisterImage("us-east-1", "ami-404").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloudError);
    expect(error).toMatchObject({
      code: "InvalidAMIID.NotFound",
      statusCode: 400,
      retryable: false,
      message: "InvalidAMIID.NotFound: The image id '[ami-404]' does not exist",
    });
    expect(server.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
    expect(cloud.stats()).toMatchObject({ requests: 1, mutating: 1, retried: 0 });
  });

  it("gives up after maxAttempts of throttling with a retryable CloudError", async () => {
    const limited = createAwsCloud({
      endpoint: server.endpoint,
      credentials,
      clock: { now: () => 0, sleep: async () => {} },
      random: () => 0,
      maxAttempts: 3,
    });
    try {
      for (let i = 0; i < 3; i++)
        server.reply("CopyImage", ec2Error(503, "RequestLimitExceeded", "Slow down."));
      const error = await limited
        .copyImage("eu-west-1", {
          sourceRegion: "us-east-1",
          sourceImageId: "ami-1",
          name: "n",
          clientToken: "t",
          tags: {},
        })
        .catch((e: unknown) => e);
      expect(error).toMatchObject({
        code: "RequestLimitExceeded",
        retryable: true,
        message: "RequestLimitExceeded: Slow down. (gave up after 3 attempts)",
      });
      expect(limited.stats()).toMatchObject({ requests: 3, throttled: 3, retried: 2, mutating: 3 });
    } finally {
      limited.close();
    }
  });
});

describe("every other port method", () => {
  it("launches a bake instance with base64 user data, tags, profile, network and root volume", async () => {
    server.reply(
      "RunInstances",
      ok("RunInstances", "<instancesSet><item><instanceId>i-0abc</instanceId></item></instancesSet>"),
    );
    const result = await cloud.runInstance("us-east-1", {
      imageId: "ami-parent",
      instanceType: "t3.medium",
      userData: "#!/bin/bash\nLEAVEN_BUILD_ID=1.0.0+abcdef01\n",
      clientToken: "launch-1",
      tags: { "leaven.dev/role": "bake" },
      subnetId: "subnet-1",
      securityGroupIds: ["sg-1", "sg-2"],
      instanceProfile: "leaven-bake",
      rootVolume: { deviceName: "/dev/xvda", size: 20, type: "gp3" },
    });
    expect(result).toEqual({ instanceId: "i-0abc" });
    const [request] = server.requests;
    expect(request?.params).toEqual({
      ImageId: "ami-parent",
      InstanceType: "t3.medium",
      MinCount: "1",
      MaxCount: "1",
      UserData: Buffer.from("#!/bin/bash\nLEAVEN_BUILD_ID=1.0.0+abcdef01\n").toString("base64"),
      ClientToken: "launch-1",
      InstanceInitiatedShutdownBehavior: "stop",
      SubnetId: "subnet-1",
      "SecurityGroupId.1": "sg-1",
      "SecurityGroupId.2": "sg-2",
      "IamInstanceProfile.Name": "leaven-bake",
      "BlockDeviceMapping.1.DeviceName": "/dev/xvda",
      "BlockDeviceMapping.1.Ebs.DeleteOnTermination": "true",
      "BlockDeviceMapping.1.Ebs.VolumeSize": "20",
      "BlockDeviceMapping.1.Ebs.VolumeType": "gp3",
      "TagSpecification.1.ResourceType": "instance",
      "TagSpecification.1.Tag.1.Key": "leaven.dev/role",
      "TagSpecification.1.Tag.1.Value": "bake",
      "TagSpecification.2.ResourceType": "volume",
      "TagSpecification.2.Tag.1.Key": "leaven.dev/role",
      "TagSpecification.2.Tag.1.Value": "bake",
    });
  });

  it("encrypts the root volume with the given KMS key (Encrypted=true, which EC2 requires with KmsKeyId)", async () => {
    server.reply(
      "RunInstances",
      ok("RunInstances", "<instancesSet><item><instanceId>i-1</instanceId></item></instancesSet>"),
    );
    const key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    await cloud.runInstance("us-east-1", {
      imageId: "ami-1",
      instanceType: "t3.micro",
      userData: "",
      clientToken: "t",
      tags: {},
      rootVolume: { deviceName: "/dev/sda1", kmsKeyId: key },
    });
    expect(server.requests[0]?.params).toMatchObject({
      "BlockDeviceMapping.1.DeviceName": "/dev/sda1",
      "BlockDeviceMapping.1.Ebs.DeleteOnTermination": "true",
      "BlockDeviceMapping.1.Ebs.Encrypted": "true",
      "BlockDeviceMapping.1.Ebs.KmsKeyId": key,
    });
    expect(server.requests[0]?.params["BlockDeviceMapping.1.Ebs.VolumeSize"]).toBeUndefined();
  });

  it("sends CreateVolume's KmsKeyId with Encrypted=true, and StartInstances with the ids", async () => {
    server.reply("CreateVolume", ok("CreateVolume", "<volumeId>vol-1</volumeId>"));
    server.reply("CreateVolume", ok("CreateVolume", "<volumeId>vol-2</volumeId>"));
    server.reply("StartInstances", ok("StartInstances", "<instancesSet/>"));
    const key = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
    const volume = { snapshotId: "snap-1", availabilityZone: "us-east-1a", clientToken: "t", tags: {} };
    await cloud.createVolume("us-east-1", { ...volume, kmsKeyId: key });
    await cloud.createVolume("us-east-1", volume);
    await cloud.startInstances("us-east-1", ["i-1"]);
    await cloud.startInstances("us-east-1", []);
    expect(server.requests[0]?.params).toMatchObject({ Encrypted: "true", KmsKeyId: key });
    expect(server.requests[1]?.params.Encrypted).toBeUndefined();
    expect(server.requests[1]?.params.KmsKeyId).toBeUndefined();
    expect(server.requests[2]).toMatchObject({ action: "StartInstances", params: { "InstanceId.1": "i-1" } });
    expect(server.requests).toHaveLength(3);
  });

  it("passes an instance profile ARN as an ARN", async () => {
    server.reply(
      "RunInstances",
      ok("RunInstances", "<instancesSet><item><instanceId>i-1</instanceId></item></instancesSet>"),
    );
    const arn = "arn:aws:iam::123456789012:instance-profile/leaven-bake";
    await cloud.runInstance("us-east-1", {
      imageId: "ami-1",
      instanceType: "t3.micro",
      userData: "",
      clientToken: "t",
      tags: {},
      instanceProfile: arn,
    });
    expect(server.requests[0]?.params["IamInstanceProfile.Arn"]).toBe(arn);
    expect(server.requests[0]?.params["IamInstanceProfile.Name"]).toBeUndefined();
    expect(server.requests[0]?.params["TagSpecification.1.ResourceType"]).toBeUndefined();
  });

  it("creates an image tagging the image and its snapshots", async () => {
    server.reply("CreateImage", ok("CreateImage", "<imageId>ami-new</imageId>"));
    expect(
      await cloud.createImage("us-east-1", {
        instanceId: "i-1",
        name: "leaven/base/2.3.0_abc",
        tags: { a: "1" },
      }),
    ).toEqual({
      imageId: "ami-new",
    });
    expect(server.requests[0]?.params).toEqual({
      InstanceId: "i-1",
      Name: "leaven/base/2.3.0_abc",
      "TagSpecification.1.ResourceType": "image",
      "TagSpecification.1.Tag.1.Key": "a",
      "TagSpecification.1.Tag.1.Value": "1",
      "TagSpecification.2.ResourceType": "snapshot",
      "TagSpecification.2.Tag.1.Key": "a",
      "TagSpecification.2.Tag.1.Value": "1",
    });
  });

  it("copies an image into the destination region with its tags, a token and encryption", async () => {
    server.reply("CopyImage", ok("CopyImage", "<imageId>ami-copy</imageId>"));
    const result = await cloud.copyImage("eu-west-1", {
      sourceRegion: "us-east-1",
      sourceImageId: "ami-home",
      name: "leaven/base/2.3.0_abc",
      description: "copy",
      clientToken: "copy-token",
      kmsKeyId: "alias/images",
      tags: { "leaven.dev/home-image": "ami-home" },
    });
    expect(result).toEqual({ imageId: "ami-copy" });
    expect(server.requests[0]).toEqual({
      action: "CopyImage",
      region: "eu-west-1",
      params: {
        SourceRegion: "us-east-1",
        SourceImageId: "ami-home",
        Name: "leaven/base/2.3.0_abc",
        Description: "copy",
        ClientToken: "copy-token",
        CopyImageTags: "false",
        Encrypted: "true",
        KmsKeyId: "alias/images",
        "TagSpecification.1.ResourceType": "image",
        "TagSpecification.1.Tag.1.Key": "leaven.dev/home-image",
        "TagSpecification.1.Tag.1.Value": "ami-home",
        "TagSpecification.2.ResourceType": "snapshot",
        "TagSpecification.2.Tag.1.Key": "leaven.dev/home-image",
        "TagSpecification.2.Tag.1.Value": "ami-home",
      },
    });
  });

  it("tags, untags by key, shares, deprecates, disables, deregisters and deletes snapshots", async () => {
    const r = "us-west-2";
    await cloud.createTags(r, ["ami-1", "snap-1"], { "leaven.dev/channel/release": "true" });
    await cloud.deleteTags(r, ["ami-1"], ["leaven.dev/channel/candidate"]);
    await cloud.modifyLaunchPermissions(r, "ami-1", {
      add: {
        accounts: ["111122223333"],
        organizationArns: ["arn:aws:organizations::1:organization/o-1"],
        organizationalUnitArns: ["arn:aws:organizations::1:ou/o-1/ou-1"],
      },
      remove: {
        accounts: ["444455556666"],
        organizationalUnitArns: ["arn:aws:organizations::1:ou/o-1/ou-2"],
      },
    });
    await cloud.modifyVolumePermissions(r, "snap-1", { add: ["111122223333"], remove: ["444455556666"] });
    await cloud.enableImageDeprecation(r, "ami-1", new Date("2030-01-02T03:04:00Z"));
    await cloud.disableImage(r, "ami-1");
    await cloud.deregisterImage(r, "ami-1");
    await cloud.deleteSnapshot(r, "snap-1");
    await cloud.terminateInstances(r, ["i-1", "i-2"]);
    expect(server.requests).toEqual([
      {
        action: "CreateTags",
        region: r,
        params: {
          "ResourceId.1": "ami-1",
          "ResourceId.2": "snap-1",
          "Tag.1.Key": "leaven.dev/channel/release",
          "Tag.1.Value": "true",
        },
      },
      {
        action: "DeleteTags",
        region: r,
        params: { "ResourceId.1": "ami-1", "Tag.1.Key": "leaven.dev/channel/candidate" },
      },
      {
        action: "ModifyImageAttribute",
        region: r,
        params: {
          ImageId: "ami-1",
          "LaunchPermission.Add.1.UserId": "111122223333",
          "LaunchPermission.Add.2.OrganizationArn": "arn:aws:organizations::1:organization/o-1",
          "LaunchPermission.Add.3.OrganizationalUnitArn": "arn:aws:organizations::1:ou/o-1/ou-1",
          "LaunchPermission.Remove.1.UserId": "444455556666",
          "LaunchPermission.Remove.2.OrganizationalUnitArn": "arn:aws:organizations::1:ou/o-1/ou-2",
        },
      },
      {
        action: "ModifySnapshotAttribute",
        region: r,
        params: {
          SnapshotId: "snap-1",
          Attribute: "createVolumePermission",
          "CreateVolumePermission.Add.1.UserId": "111122223333",
          "CreateVolumePermission.Remove.1.UserId": "444455556666",
        },
      },
      {
        action: "EnableImageDeprecation",
        region: r,
        params: { ImageId: "ami-1", DeprecateAt: "2030-01-02T03:04:00Z" },
      },
      { action: "DisableImage", region: r, params: { ImageId: "ami-1" } },
      { action: "DeregisterImage", region: r, params: { ImageId: "ami-1" } },
      { action: "DeleteSnapshot", region: r, params: { SnapshotId: "snap-1" } },
      { action: "TerminateInstances", region: r, params: { "InstanceId.1": "i-1", "InstanceId.2": "i-2" } },
    ]);
    expect(cloud.stats()).toMatchObject({ requests: 9, mutating: 9 });
  });

  it("sends nothing for calls with nothing to do", async () => {
    await cloud.createTags("us-east-1", [], { a: "b" });
    await cloud.createTags("us-east-1", ["ami-1"], {});
    await cloud.deleteTags("us-east-1", ["ami-1"], []);
    await cloud.modifyLaunchPermissions("us-east-1", "ami-1", { add: {}, remove: {} });
    await cloud.modifyLaunchPermissions("us-east-1", "ami-1", {
      add: { accounts: [], organizationArns: [], organizationalUnitArns: [] },
      remove: { accounts: [] },
    });
    await cloud.modifyVolumePermissions("us-east-1", "snap-1", { add: [], remove: [] });
    await cloud.stopInstances("us-east-1", []);
    await cloud.terminateInstances("us-east-1", []);
    expect(server.requests).toEqual([]);
  });

  it("sends only Remove when nothing is added, and only Add when nothing is removed", async () => {
    await cloud.modifyLaunchPermissions("eu-west-1", "ami-1", {
      add: {},
      remove: { accounts: ["111122223333"] },
    });
    await cloud.modifyVolumePermissions("eu-west-1", "snap-1", { add: ["111122223333"], remove: [] });
    expect(server.requests).toEqual([
      {
        action: "ModifyImageAttribute",
        region: "eu-west-1",
        params: { ImageId: "ami-1", "LaunchPermission.Remove.1.UserId": "111122223333" },
      },
      {
        action: "ModifySnapshotAttribute",
        region: "eu-west-1",
        params: {
          SnapshotId: "snap-1",
          Attribute: "createVolumePermission",
          "CreateVolumePermission.Add.1.UserId": "111122223333",
        },
      },
    ]);
  });

  it("reads launch and create-volume permissions, public access included", async () => {
    server.reply(
      "DescribeImageAttribute",
      ok(
        "DescribeImageAttribute",
        "<imageId>ami-1</imageId><launchPermission><item><userId>111122223333</userId></item><item><group>all</group></item><item><organizationArn>arn:aws:organizations::1:organization/o-1</organizationArn></item><item><organizationalUnitArn>arn:aws:organizations::1:ou/o-1/ou-1</organizationalUnitArn></item><item><userId>444455556666</userId></item></launchPermission>",
      ),
      ok("DescribeImageAttribute", "<imageId>ami-2</imageId><launchPermission/>"),
    );
    server.reply(
      "DescribeSnapshotAttribute",
      ok(
        "DescribeSnapshotAttribute",
        "<snapshotId>snap-1</snapshotId><createVolumePermission><item><userId>111122223333</userId></item><item><group>all</group></item></createVolumePermission>",
      ),
    );
    expect(await cloud.describeLaunchPermissions("us-east-1", "ami-1")).toEqual({
      accounts: ["111122223333", "444455556666"],
      organizationArns: ["arn:aws:organizations::1:organization/o-1"],
      organizationalUnitArns: ["arn:aws:organizations::1:ou/o-1/ou-1"],
      public: true,
    });
    expect(await cloud.describeLaunchPermissions("us-east-1", "ami-2")).toEqual({
      accounts: [],
      organizationArns: [],
      organizationalUnitArns: [],
      public: false,
    });
    expect(await cloud.describeVolumePermissions("us-east-1", "snap-1")).toEqual({
      accounts: ["111122223333"],
      public: true,
    });
    expect(server.requests).toEqual([
      {
        action: "DescribeImageAttribute",
        region: "us-east-1",
        params: { ImageId: "ami-1", Attribute: "launchPermission" },
      },
      {
        action: "DescribeImageAttribute",
        region: "us-east-1",
        params: { ImageId: "ami-2", Attribute: "launchPermission" },
      },
      {
        action: "DescribeSnapshotAttribute",
        region: "us-east-1",
        params: { SnapshotId: "snap-1", Attribute: "createVolumePermission" },
      },
    ]);
    expect(cloud.stats()).toMatchObject({ requests: 3, mutating: 0 });
  });

  it("describes instances across reservations and pages", async () => {
    const instance = (id: string, state: string) =>
      `<item><instanceId>${id}</instanceId><imageId>ami-parent</imageId><instanceState><code>80</code><name>${state}</name></instanceState><launchTime>2026-01-02T03:04:05.000Z</launchTime>${tagSet({ "leaven.dev/role": "bake" })}</item>`;
    server.reply(
      "DescribeInstances",
      ok(
        "DescribeInstances",
        `<reservationSet><item><reservationId>r-1</reservationId><instancesSet>${instance("i-1", "stopped")}${instance("i-2", "running")}</instancesSet></item></reservationSet><nextToken>n</nextToken>`,
      ),
      ok(
        "DescribeInstances",
        `<reservationSet><item><reservationId>r-2</reservationId><instancesSet>${instance("i-3", "pending")}</instancesSet></item></reservationSet>`,
      ),
    );
    const instances = await cloud.describeInstances("us-east-1", [
      { name: "tag:leaven.dev/role", values: ["bake"] },
    ]);
    expect(instances).toEqual([
      {
        instanceId: "i-1",
        region: "us-east-1",
        imageId: "ami-parent",
        state: "stopped",
        launchTime: "2026-01-02T03:04:05.000Z",
        tags: { "leaven.dev/role": "bake" },
      },
      expect.objectContaining({ instanceId: "i-2", state: "running" }),
      expect.objectContaining({ instanceId: "i-3", state: "pending" }),
    ]);
    expect(server.requests.map((r) => r.params)).toEqual([
      { MaxResults: "1000", "Filter.1.Name": "tag:leaven.dev/role", "Filter.1.Value.1": "bake" },
      {
        MaxResults: "1000",
        "Filter.1.Name": "tag:leaven.dev/role",
        "Filter.1.Value.1": "bake",
        NextToken: "n",
      },
    ]);
  });

  it("describes only our own snapshots", async () => {
    server.reply(
      "DescribeSnapshots",
      ok(
        "DescribeSnapshots",
        `<snapshotSet><item><snapshotId>snap-1</snapshotId><status>completed</status>${tagSet({ k: "v" })}</item></snapshotSet>`,
      ),
    );
    expect(await cloud.describeSnapshots("us-east-1", [])).toEqual([
      { snapshotId: "snap-1", region: "us-east-1", state: "completed", tags: { k: "v" } },
    ]);
    expect(server.requests[0]?.params).toEqual({ "Owner.1": "self", MaxResults: "1000" });
  });

  it("decodes the console output", async () => {
    const text = "cloud-init done\nLEAVEN-BAKE-RESULT build=1.0.0+abcdef01 result=success\n";
    server.reply(
      "GetConsoleOutput",
      ok(
        "GetConsoleOutput",
        `<instanceId>i-1</instanceId><output>${Buffer.from(text).toString("base64")}</output>`,
      ),
    );
    expect(await cloud.getConsoleOutput("us-east-1", "i-1")).toBe(text);
    server.reply("GetConsoleOutput", ok("GetConsoleOutput", "<instanceId>i-1</instanceId>"));
    expect(await cloud.getConsoleOutput("us-east-1", "i-1")).toBe("");
  });
});

describe("clients and request accounting", () => {
  it("signs each region's requests for that region and counts them apart; resetStats starts over", async () => {
    const regions = ["us-east-1", "eu-west-1", "ap-southeast-2"];
    for (const region of regions) {
      server.reply("DescribeImages", ok("DescribeImages", "<imagesSet/>"));
      await cloud.describeImages(region, { owners: ["self"] });
    }
    await cloud.createTags("eu-west-1", ["ami-1"], { a: "b" });
    expect(server.requests.map((r) => `${r.region} ${r.action}`)).toEqual([
      "us-east-1 DescribeImages",
      "eu-west-1 DescribeImages",
      "ap-southeast-2 DescribeImages",
      "eu-west-1 CreateTags",
    ]);
    const stats = cloud.stats();
    expect(stats).toMatchObject({ requests: 4, mutating: 1 });
    expect(Object.keys(stats.byRegion).sort()).toEqual(["ap-southeast-2", "eu-west-1", "us-east-1"]);
    expect(stats.byRegion["eu-west-1"]).toEqual({
      requests: 2,
      mutating: 1,
      throttled: 0,
      retried: 0,
      byAction: {
        DescribeImages: { requests: 1, throttled: 0, retried: 0 },
        CreateTags: { requests: 1, throttled: 0, retried: 0 },
      },
    });
    // A snapshot does not move with later requests.
    await cloud.describeRegions("us-east-1");
    expect(stats.requests).toBe(4);
    cloud.resetStats();
    expect(cloud.stats()).toEqual({ requests: 0, mutating: 0, throttled: 0, retried: 0, byRegion: {} });
  });
});

describe("eventual consistency", () => {
  const notFound = () => ec2Error(400, "InvalidAMIID.NotFound", "The image id '[ami-new]' does not exist");

  it("retries a NotFound for one just-made id on the consistency budget and returns once EC2 shows it", async () => {
    server.reply("CreateTags", notFound(), notFound());
    await cloud.createTags("us-east-1", ["ami-new"], { "leaven.dev/channel/release": "true" });
    expect(server.requests.map((r) => r.action)).toEqual(["CreateTags", "CreateTags", "CreateTags"]);
    // Full jitter at 0.5 of 1 s and 2 s.
    expect(sleeps).toEqual([500, 1_000]);
    expect(cloud.stats()).toMatchObject({ requests: 3, retried: 2 });
  });

  it("surfaces a NotFound that persists as retryable after 4 attempts", async () => {
    server.reply("ModifyImageAttribute", notFound(), notFound(), notFound(), notFound());
    const error = await cloud
      .modifyLaunchPermissions("us-east-1", "ami-new", { add: { accounts: ["111122223333"] }, remove: {} })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({
      code: "InvalidAMIID.NotFound",
      retryable: true,
      message:
        "InvalidAMIID.NotFound: The image id '[ami-new]' does not exist (still failing after 4 attempts, which is how EC2 shows a change it has not caught up with yet; the next pass observes again)",
    });
    expect(server.requests).toHaveLength(4);
  });

  it("does not retry a NotFound for a call naming several ids: the executor splits the batch", async () => {
    server.reply("CreateTags", notFound());
    const error = await cloud
      .createTags("us-east-1", ["ami-1", "ami-new"], { "leaven.dev/channel/release": "true" })
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "InvalidAMIID.NotFound", retryable: false });
    expect(server.requests).toHaveLength(1);
    expect(sleeps).toEqual([]);
  });

  it("still retries a busy resource in a call naming several ids", async () => {
    server.reply(
      "TerminateInstances",
      ec2Error(
        400,
        "IncorrectInstanceState",
        "The instance 'i-1' is not in a state from which it can be terminated.",
      ),
    );
    await cloud.terminateInstances("us-east-1", ["i-1", "i-2"]);
    expect(server.requests).toHaveLength(2);
  });

  it.each<[string, () => Promise<unknown>, string]>([
    ["DeleteSnapshot", () => cloud.deleteSnapshot("us-east-1", "snap-1"), "InvalidSnapshot.NotFound"],
    [
      "DeleteLaunchTemplate",
      () => cloud.deleteLaunchTemplate("us-east-1", "lt-0123456789abcdef0"),
      "InvalidLaunchTemplateId.NotFound",
    ],
  ])("answers %s's NotFound at once: the executor counts it as done", async (action, run, code) => {
    server.reply(action, ec2Error(400, code, "does not exist"));
    const error = await run().catch((e: unknown) => e);
    expect(error).toMatchObject({ code, retryable: false });
    expect(server.requests).toHaveLength(1);
  });

  it("retries a snapshot in use, then surfaces it as retryable", async () => {
    const inUse = () =>
      ec2Error(400, "InvalidSnapshot.InUse", "The snapshot snap-1 is currently in use by ami-1");
    server.reply("DeleteSnapshot", inUse(), inUse(), inUse(), inUse());
    const error = await cloud.deleteSnapshot("us-east-1", "snap-1").catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "InvalidSnapshot.InUse", retryable: true });
    expect(server.requests).toHaveLength(4);
  });
});

describe("getConsoleOutput: the latest output where EC2 supports it", () => {
  const output = (text: string) =>
    ok(
      "GetConsoleOutput",
      `<instanceId>i-1</instanceId><output>${Buffer.from(text).toString("base64")}</output>`,
    );
  const unsupported = () =>
    ec2Error(
      400,
      "UnsupportedOperation",
      "The instance type t2.micro does not support retrieving the latest console output.",
    );

  it("asks for Latest when told to", async () => {
    server.reply("GetConsoleOutput", output("LEAVEN-BAKE-RESULT build=b result=success"));
    expect(
      await cloud.getConsoleOutput("us-east-1", "i-1", { latest: true, instanceType: "t3.medium" }),
    ).toBe("LEAVEN-BAKE-RESULT build=b result=success");
    expect(server.requests.map((r) => r.params)).toEqual([{ InstanceId: "i-1", Latest: "true" }]);
  });

  it("falls back to the buffered output on UnsupportedOperation and stops asking for that type", async () => {
    server.reply("GetConsoleOutput", unsupported(), output("first"), output("second"), output("third"));
    expect(await cloud.getConsoleOutput("us-east-1", "i-1", { latest: true, instanceType: "t2.micro" })).toBe(
      "first",
    );
    expect(await cloud.getConsoleOutput("eu-west-1", "i-2", { latest: true, instanceType: "t2.micro" })).toBe(
      "second",
    );
    // Another type is asked again.
    expect(await cloud.getConsoleOutput("us-east-1", "i-3", { latest: true, instanceType: "m5.large" })).toBe(
      "third",
    );
    expect(server.requests.map((r) => r.params)).toEqual([
      { InstanceId: "i-1", Latest: "true" },
      { InstanceId: "i-1" },
      { InstanceId: "i-2" },
      { InstanceId: "i-3", Latest: "true" },
    ]);
    expect(sleeps).toEqual([]);
  });

  it("falls back on a parameter error that names Latest, and not on one that does not", async () => {
    server.reply(
      "GetConsoleOutput",
      ec2Error(
        400,
        "InvalidParameterCombination",
        "The Latest parameter is not supported for this instance.",
      ),
      output("buffered"),
      ec2Error(400, "InvalidInstanceID.Malformed", 'Invalid id: "x"'),
    );
    expect(await cloud.getConsoleOutput("us-east-1", "i-1", { latest: true })).toBe("buffered");
    const error = await cloud.getConsoleOutput("us-east-1", "x", { latest: true }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: "InvalidInstanceID.Malformed" });
    expect(server.requests.map((r) => r.params)).toEqual([
      { InstanceId: "i-1", Latest: "true" },
      { InstanceId: "i-1" },
      { InstanceId: "x", Latest: "true" },
    ]);
  });
});

describe("describeInstances: type and stop time", () => {
  const instanceXml = (state: string, reason: string) =>
    `<item><instanceId>i-1</instanceId><imageId>ami-parent</imageId><instanceType>m5.large</instanceType><instanceState><code>80</code><name>${state}</name></instanceState><reason>${reason}</reason><launchTime>2026-01-02T03:04:05.000Z</launchTime></item>`;
  const reservation = (item: string) =>
    ok(
      "DescribeInstances",
      `<reservationSet><item><reservationId>r-1</reservationId><instancesSet>${item}</instancesSet></item></reservationSet>`,
    );

  it.each<[string, string, string, Record<string, string>]>([
    [
      "a user-initiated stop says when",
      "stopped",
      "User initiated (2026-01-02 04:05:06 GMT)",
      { stoppedAt: "2026-01-02T04:05:06.000Z" },
    ],
    [
      "a stopping instance too",
      "stopping",
      "User initiated (2026-01-02 04:05:06 GMT)",
      { stoppedAt: "2026-01-02T04:05:06.000Z" },
    ],
    [
      "an instance that shut itself down does not",
      "stopped",
      "Client.InstanceInitiatedShutdown: Instance initiated shutdown",
      {},
    ],
    [
      "a terminated instance's time is not a stop",
      "terminated",
      "User initiated (2026-01-02 04:05:06 GMT)",
      {},
    ],
  ])("%s", async (_name, state, reason, extra) => {
    server.reply("DescribeInstances", reservation(instanceXml(state, reason)));
    const [instance] = await cloud.describeInstances("us-east-1", []);
    expect(instance).toEqual({
      instanceId: "i-1",
      region: "us-east-1",
      imageId: "ami-parent",
      state,
      launchTime: "2026-01-02T03:04:05.000Z",
      instanceType: "m5.large",
      stateReason: reason,
      ...extra,
      tags: {},
    });
  });
});

describe("the SDK's own logging", () => {
  it("is taken off the clients: its middleware deep-copies every response for a logger that drops it", () => {
    const names = (client: EC2Client | SSMClient) =>
      client.middlewareStack.identify().filter((name) => name.startsWith("loggerMiddleware"));
    for (const client of [new EC2Client({ region: "us-east-1" }), new SSMClient({ region: "us-east-1" })]) {
      expect(names(client)).toHaveLength(1);
      withoutSdkLogging(client);
      expect(names(client)).toEqual([]);
      client.destroy();
    }
  });
});
