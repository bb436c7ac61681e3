// The adapter's launch template calls against a scripted EC2 endpoint: exactly what each request sends,
// how EC2's XML answer (element names as the EC2 API returns them) maps to the port, and the errors.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AwsCloud, createAwsCloud } from "../../controller/cloud/aws-adapter.ts";
import { CloudError } from "../../controller/cloud/port.ts";
import { type Ec2TestServer, ec2Error, ok, startEc2TestServer, tagSet } from "./ec2-test-server.ts";

let server: Ec2TestServer;
let cloud: AwsCloud;

beforeEach(async () => {
  server = await startEc2TestServer();
  let now = 0;
  cloud = createAwsCloud({
    endpoint: server.endpoint,
    credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "secret" },
    clock: {
      now: () => now,
      sleep: async (ms) => {
        now += ms;
      },
    },
    random: () => 0.5,
  });
});

afterEach(async () => {
  cloud.close();
  await server.close();
});

function templateXml(id: string, name: string, tags: Record<string, string> = {}): string {
  return `<launchTemplateId>${id}</launchTemplateId><launchTemplateName>${name}</launchTemplateName><createTime>2026-06-01T12:00:00.000Z</createTime><createdBy>arn:aws:iam::123456789012:root</createdBy><defaultVersionNumber>1</defaultVersionNumber><latestVersionNumber>1</latestVersionNumber>${tagSet(tags)}`;
}

const userData = "#!/bin/bash\nLEAVEN_BUILD_ID=1.0.0+abcdef01\n";

describe("createLaunchTemplate", () => {
  it("sends the bake's launch as template data, in a network interface when there is a subnet", async () => {
    server.reply(
      "CreateLaunchTemplate",
      ok(
        "CreateLaunchTemplate",
        `<launchTemplate>${templateXml("lt-0abc", "leaven-failed-base-1")}</launchTemplate>`,
      ),
    );
    const result = await cloud.createLaunchTemplate("us-east-1", {
      name: "leaven-failed-base-1",
      clientToken: "leaven-failure-1",
      description: "the failed bake",
      launch: {
        imageId: "ami-parent",
        instanceType: "t3.medium",
        userData,
        subnetId: "subnet-1",
        securityGroupIds: ["sg-1", "sg-2"],
        instanceProfile: "leaven-bake",
        rootVolume: { deviceName: "/dev/xvda", size: 20, type: "gp3" },
      },
      tags: { "leaven.dev/role": "failure" },
    });
    expect(result).toEqual({ launchTemplateId: "lt-0abc" });
    expect(server.requests).toEqual([
      {
        action: "CreateLaunchTemplate",
        region: "us-east-1",
        params: {
          LaunchTemplateName: "leaven-failed-base-1",
          ClientToken: "leaven-failure-1",
          VersionDescription: "the failed bake",
          "LaunchTemplateData.ImageId": "ami-parent",
          "LaunchTemplateData.InstanceType": "t3.medium",
          "LaunchTemplateData.UserData": Buffer.from(userData).toString("base64"),
          "LaunchTemplateData.InstanceInitiatedShutdownBehavior": "stop",
          "LaunchTemplateData.NetworkInterface.1.DeviceIndex": "0",
          "LaunchTemplateData.NetworkInterface.1.SubnetId": "subnet-1",
          "LaunchTemplateData.NetworkInterface.1.SecurityGroupId.1": "sg-1",
          "LaunchTemplateData.NetworkInterface.1.SecurityGroupId.2": "sg-2",
          "LaunchTemplateData.IamInstanceProfile.Name": "leaven-bake",
          "LaunchTemplateData.BlockDeviceMapping.1.DeviceName": "/dev/xvda",
          "LaunchTemplateData.BlockDeviceMapping.1.Ebs.DeleteOnTermination": "true",
          "LaunchTemplateData.BlockDeviceMapping.1.Ebs.VolumeSize": "20",
          "LaunchTemplateData.BlockDeviceMapping.1.Ebs.VolumeType": "gp3",
          "TagSpecification.1.ResourceType": "launch-template",
          "TagSpecification.1.Tag.1.Key": "leaven.dev/role",
          "TagSpecification.1.Tag.1.Value": "failure",
        },
      },
    ]);
  });

  it("puts security groups on the instance without a subnet, and passes a profile ARN as an ARN", async () => {
    server.reply(
      "CreateLaunchTemplate",
      ok("CreateLaunchTemplate", `<launchTemplate>${templateXml("lt-1", "n-1")}</launchTemplate>`),
    );
    const arn = "arn:aws:iam::123456789012:instance-profile/leaven-bake";
    await cloud.createLaunchTemplate("eu-west-1", {
      name: "n-1",
      clientToken: "t",
      launch: {
        imageId: "ami-1",
        instanceType: "t3.micro",
        userData: "",
        securityGroupIds: ["sg-1"],
        instanceProfile: arn,
      },
      tags: {},
    });
    expect(server.requests[0]?.params).toEqual({
      LaunchTemplateName: "n-1",
      ClientToken: "t",
      "LaunchTemplateData.ImageId": "ami-1",
      "LaunchTemplateData.InstanceType": "t3.micro",
      "LaunchTemplateData.UserData": "",
      "LaunchTemplateData.InstanceInitiatedShutdownBehavior": "stop",
      "LaunchTemplateData.SecurityGroupId.1": "sg-1",
      "LaunchTemplateData.IamInstanceProfile.Arn": arn,
    });
  });

  it("surfaces EC2's refusal as a CloudError that is not retried, and an answer without an id as malformed", async () => {
    server.reply(
      "CreateLaunchTemplate",
      ec2Error(
        400,
        "InvalidLaunchTemplateName.AlreadyExistsException",
        "Launch template name already in use.",
      ),
      ok("CreateLaunchTemplate", "<launchTemplate></launchTemplate>"),
    );
    const request = {
      name: "n-1",
      clientToken: "t",
      launch: { imageId: "ami-1", instanceType: "t3.micro", userData: "" },
      tags: {},
    };
    const refused = await cloud.createLaunchTemplate("us-east-1", request).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(CloudError);
    expect(refused).toMatchObject({
      code: "InvalidLaunchTemplateName.AlreadyExistsException",
      statusCode: 400,
      retryable: false,
    });
    const malformed = await cloud.createLaunchTemplate("us-east-1", request).catch((e: unknown) => e);
    expect(malformed).toMatchObject({ code: "MalformedResponse" });
    expect(server.requests).toHaveLength(2);
  });
});

describe("describeLaunchTemplates", () => {
  it("walks every page with MaxResults 200 and maps templates to the port's shape", async () => {
    server.reply(
      "DescribeLaunchTemplates",
      ok(
        "DescribeLaunchTemplates",
        `<launchTemplates><item>${templateXml("lt-1", "leaven-failed-a-1", { "leaven.dev/role": "failure", "leaven.dev/console/01": "E: <boom> & more" })}</item></launchTemplates><nextToken>page-2</nextToken>`,
      ),
      ok(
        "DescribeLaunchTemplates",
        `<launchTemplates><item>${templateXml("lt-2", "leaven-failed-b-1")}</item></launchTemplates>`,
      ),
    );
    const templates = await cloud.describeLaunchTemplates("us-east-1", [
      { name: "tag:leaven.dev/role", values: ["failure"] },
    ]);
    expect(templates).toEqual([
      {
        launchTemplateId: "lt-1",
        region: "us-east-1",
        name: "leaven-failed-a-1",
        createTime: "2026-06-01T12:00:00.000Z",
        tags: { "leaven.dev/role": "failure", "leaven.dev/console/01": "E: <boom> & more" },
      },
      {
        launchTemplateId: "lt-2",
        region: "us-east-1",
        name: "leaven-failed-b-1",
        createTime: "2026-06-01T12:00:00.000Z",
        tags: {},
      },
    ]);
    const filter = { "Filter.1.Name": "tag:leaven.dev/role", "Filter.1.Value.1": "failure" };
    expect(server.requests.map((r) => r.params)).toEqual([
      { MaxResults: "200", ...filter },
      { MaxResults: "200", ...filter, NextToken: "page-2" },
    ]);
  });

  it("looks up ids without MaxResults", async () => {
    server.reply("DescribeLaunchTemplates", ok("DescribeLaunchTemplates", "<launchTemplates/>"));
    expect(await cloud.describeLaunchTemplates("us-east-1", [], ["lt-1", "lt-2"])).toEqual([]);
    expect(server.requests[0]?.params).toEqual({
      "LaunchTemplateId.1": "lt-1",
      "LaunchTemplateId.2": "lt-2",
    });
  });
});

describe("deleteLaunchTemplate", () => {
  it("deletes by id", async () => {
    server.reply(
      "DeleteLaunchTemplate",
      ok("DeleteLaunchTemplate", `<launchTemplate>${templateXml("lt-1", "n-1")}</launchTemplate>`),
    );
    await cloud.deleteLaunchTemplate("ap-southeast-2", "lt-1");
    expect(server.requests).toEqual([
      { action: "DeleteLaunchTemplate", region: "ap-southeast-2", params: { LaunchTemplateId: "lt-1" } },
    ]);
  });
});
