import {
  CreateImageCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  GetConsoleOutputCommand,
  paginateDescribeInstances,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  StartInstancesCommand,
  StopInstancesCommand,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { formatBakeMarker, parseBakeMarker } from "../../controller/api/bake-protocol.ts";
import { CANONICAL_OWNER_ID } from "../../controller/sim/vendor-images.ts";
import { ec2Error, MINUTE, startTestSim, type TestSim, userData } from "./helpers.ts";

let t: TestSim;
let imageId: string;
beforeEach(async () => {
  t = await startTestSim();
  const images = await t.client.send(
    new DescribeImagesCommand({
      Owners: [CANONICAL_OWNER_ID],
      Filters: [{ Name: "name", Values: ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"] }],
    }),
  );
  imageId = images.Images![0]!.ImageId!;
});
afterEach(async () => {
  await t.sim.close();
});

function bakeInput(spec: string, build: string, token?: string): RunInstancesCommandInput {
  return {
    ImageId: imageId,
    InstanceType: "t3.medium",
    MinCount: 1,
    MaxCount: 1,
    UserData: userData(`#!/bin/bash\nset -e\nLEAVEN_BUILD_ID=${build}\napt-get install -y acme\npoweroff\n`),
    IamInstanceProfile: { Name: "leaven-bake" },
    SubnetId: "subnet-0123456789abcdef0",
    SecurityGroupIds: ["sg-0123456789abcdef0"],
    BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { VolumeSize: 30, VolumeType: "gp3" } }],
    TagSpecifications: [
      {
        ResourceType: "instance",
        Tags: [
          { Key: "leaven.dev/spec", Value: spec },
          { Key: "leaven.dev/role", Value: "bake" },
        ],
      },
      { ResourceType: "volume", Tags: [{ Key: "leaven.dev/spec", Value: spec }] },
    ],
    ...(token ? { ClientToken: token } : {}),
  };
}

async function launch(input: RunInstancesCommandInput): Promise<string> {
  const out = await t.client.send(new RunInstancesCommand(input));
  return out.Instances![0]!.InstanceId!;
}

async function stateOf(instanceId: string): Promise<string | undefined> {
  const out = await t.client.send(new DescribeInstancesCommand({ InstanceIds: [instanceId] }));
  return out.Reservations![0]!.Instances![0]!.State!.Name;
}

async function consoleOf(instanceId: string): Promise<string> {
  const out = await t.client.send(new GetConsoleOutputCommand({ InstanceId: instanceId }));
  return out.Output === undefined ? "" : Buffer.from(out.Output, "base64").toString("utf8");
}

describe("RunInstances and the bake protocol", () => {
  it("runs the bake: pending → running → stopping → stopped, with the success marker on the console", async () => {
    const run = await t.client.send(new RunInstancesCommand(bakeInput("base", "2.3.0+5f2c91ab")));
    const instance = run.Instances![0]!;
    expect(instance).toMatchObject({
      ImageId: imageId,
      InstanceType: "t3.medium",
      State: { Code: 0, Name: "pending" },
      SubnetId: "subnet-0123456789abcdef0",
      SecurityGroups: [{ GroupId: "sg-0123456789abcdef0", GroupName: "sg-0123456789abcdef0" }],
      IamInstanceProfile: { Arn: "arn:aws:iam::123456789012:instance-profile/leaven-bake" },
      Tags: [
        { Key: "leaven.dev/spec", Value: "base" },
        { Key: "leaven.dev/role", Value: "bake" },
      ],
    });
    expect(run.OwnerId).toBe("123456789012");
    const id = instance.InstanceId!;
    expect(await consoleOf(id)).toBe("");
    t.clock.advance(15_000);
    expect(await stateOf(id)).toBe("running");
    expect(parseBakeMarker(await consoleOf(id), "2.3.0+5f2c91ab")).toBeUndefined();
    t.clock.advance(4 * MINUTE);
    expect(await stateOf(id)).toBe("stopping");
    t.clock.advance(20_000);
    expect(await stateOf(id)).toBe("stopped");
    const output = await consoleOf(id);
    expect(output).toContain("Linux version");
    expect(output).toContain(formatBakeMarker({ build: "2.3.0+5f2c91ab", result: "success" }));
    expect(parseBakeMarker(output, "2.3.0+5f2c91ab")).toEqual({ build: "2.3.0+5f2c91ab", result: "success" });
    const described = await t.client.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    expect(described.Reservations![0]!.Instances![0]!.StateReason!.Code).toBe(
      "Client.InstanceInitiatedShutdown",
    );
  });

  it("fails the bakes of a spec under an injected bake failure", async () => {
    t.sim.setFaults({ bakeFailure: { specs: ["api-server"], reason: "apt-get: package acme not found" } });
    const failing = await launch(bakeInput("api-server", "1.0.0+aaaa"));
    const fine = await launch(bakeInput("base", "2.0.0+bbbb"));
    t.clock.advance(10 * MINUTE);
    expect(await stateOf(failing)).toBe("stopped");
    expect(parseBakeMarker(await consoleOf(failing), "1.0.0+aaaa")).toEqual({
      build: "1.0.0+aaaa",
      result: "failure",
      reason: "apt-get: package acme not found",
      // The console's last lines before the marker, as a real instance's would show them.
      tail: expect.arrayContaining([
        "cloud-init[731]: leaven: baking build 1.0.0+aaaa",
        "cloud-init[731]: leaven: apt-get: package acme not found",
      ]),
    });
    expect(parseBakeMarker(await consoleOf(fine), "2.0.0+bbbb")?.result).toBe("success");
  });

  it("keeps a hanging bake running forever, without a marker", async () => {
    t.sim.setFaults({ bakeHang: { builds: ["9.9.9+hang"] } });
    const id = await launch(bakeInput("base", "9.9.9+hang"));
    t.clock.advance(24 * 60 * MINUTE);
    expect(await stateOf(id)).toBe("running");
    expect(parseBakeMarker(await consoleOf(id), "9.9.9+hang")).toBeUndefined();
  });

  it("treats user data without a build id as an ordinary instance", async () => {
    const id = await launch({
      ImageId: imageId,
      InstanceType: "t3.micro",
      MinCount: 1,
      MaxCount: 1,
      UserData: userData("#!/bin/sh\necho hi\n"),
    });
    t.clock.advance(60 * MINUTE);
    expect(await stateOf(id)).toBe("running");
    expect(await consoleOf(id)).not.toContain("LEAVEN-BAKE-RESULT");
  });

  it("is idempotent by ClientToken and refuses the same token with different parameters", async () => {
    const first = await t.client.send(new RunInstancesCommand(bakeInput("base", "1+a", "bake-token")));
    t.clock.advance(MINUTE);
    const second = await t.client.send(new RunInstancesCommand(bakeInput("base", "1+a", "bake-token")));
    expect(second.ReservationId).toBe(first.ReservationId);
    expect(second.Instances!.map((i) => i.InstanceId)).toEqual(first.Instances!.map((i) => i.InstanceId));
    expect(second.Instances![0]!.State!.Name).toBe("running");
    const all = await t.client.send(new DescribeInstancesCommand({}));
    expect(all.Reservations!.flatMap((r) => r.Instances!)).toHaveLength(1);
    expect(
      await ec2Error(t.client.send(new RunInstancesCommand(bakeInput("base", "2+b", "bake-token")))),
    ).toEqual({
      code: "IdempotentParameterMismatch",
      status: 400,
      message:
        "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).",
    });
  });

  it("refuses unknown, malformed and pending images and mismatched architectures", async () => {
    expect((await ec2Error(launch({ ...bakeInput("s", "b"), ImageId: "ami-0123456789abcdef0" }))).code).toBe(
      "InvalidAMIID.NotFound",
    );
    expect((await ec2Error(launch({ ...bakeInput("s", "b"), ImageId: "image-1" }))).code).toBe(
      "InvalidAMIID.Malformed",
    );
    const arm = await ec2Error(launch({ ...bakeInput("s", "b"), InstanceType: "t4g.medium" }));
    expect(arm.code).toBe("InvalidParameterValue");
    expect(arm.message).toContain("The architecture 'arm64' of the specified instance type does not match");
    const builder = await launch({ ImageId: imageId, InstanceType: "t3.micro", MinCount: 1, MaxCount: 1 });
    t.clock.advance(MINUTE);
    const created = await t.client.send(new CreateImageCommand({ InstanceId: builder, Name: "fresh-image" }));
    expect((await ec2Error(launch({ ...bakeInput("s", "b"), ImageId: created.ImageId! }))).code).toBe(
      "InvalidAMIID.Unavailable",
    );
    expect(
      await ec2Error(launch({ ...bakeInput("s", "b"), MinCount: undefined as unknown as number })),
    ).toMatchObject({
      code: "MissingParameter",
      message: "The request must contain the parameter MinCount",
    });
    expect(
      (
        await ec2Error(
          launch({ ...bakeInput("s", "b"), TagSpecifications: [{ ResourceType: "image", Tags: [] }] }),
        )
      ).code,
    ).toBe("InvalidParameterValue");
  });
});

describe("StopInstances, TerminateInstances, DescribeInstances", () => {
  it("stops a running instance (cutting the bake short) and terminates it; terminated instances vanish after an hour", async () => {
    const id = await launch(bakeInput("base", "3+c"));
    expect((await ec2Error(t.client.send(new StopInstancesCommand({ InstanceIds: [id] })))).code).toBe(
      "IncorrectInstanceState",
    );
    t.clock.advance(MINUTE);
    const stop = await t.client.send(new StopInstancesCommand({ InstanceIds: [id] }));
    expect(stop.StoppingInstances).toEqual([
      {
        InstanceId: id,
        CurrentState: { Code: 64, Name: "stopping" },
        PreviousState: { Code: 16, Name: "running" },
      },
    ]);
    t.clock.advance(10 * MINUTE);
    expect(await stateOf(id)).toBe("stopped");
    expect(parseBakeMarker(await consoleOf(id), "3+c")).toBeUndefined();
    const term = await t.client.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(term.TerminatingInstances![0]!.CurrentState!.Name).toBe("shutting-down");
    t.clock.advance(MINUTE);
    expect(await stateOf(id)).toBe("terminated");
    t.clock.advance(59 * MINUTE);
    expect(await stateOf(id)).toBe("terminated");
    t.clock.advance(MINUTE);
    expect(await ec2Error(t.client.send(new DescribeInstancesCommand({ InstanceIds: [id] })))).toEqual({
      code: "InvalidInstanceID.NotFound",
      status: 400,
      message: `The instance ID '${id}' does not exist`,
    });
    expect((await ec2Error(t.client.send(new TerminateInstancesCommand({ InstanceIds: [id] })))).code).toBe(
      "InvalidInstanceID.NotFound",
    );
  });

  it("starts a stopped instance again (pending, then running 20 s later, LaunchTime the start's); refuses a stopping or terminated one", async () => {
    const id = await launch(bakeInput("base", "5+e"));
    t.clock.advance(MINUTE);
    await t.client.send(new StopInstancesCommand({ InstanceIds: [id] }));
    expect((await ec2Error(t.client.send(new StartInstancesCommand({ InstanceIds: [id] })))).code).toBe(
      "IncorrectInstanceState",
    );
    t.clock.advance(MINUTE);
    const startedAt = t.clock.now();
    const start = await t.client.send(new StartInstancesCommand({ InstanceIds: [id] }));
    expect(start.StartingInstances).toEqual([
      {
        InstanceId: id,
        CurrentState: { Code: 0, Name: "pending" },
        PreviousState: { Code: 80, Name: "stopped" },
      },
    ]);
    t.clock.advance(19_000);
    expect(await stateOf(id)).toBe("pending");
    t.clock.advance(1_000);
    expect(await stateOf(id)).toBe("running");
    const described = await t.client.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
    const instance = described.Reservations![0]!.Instances![0]!;
    expect(instance.LaunchTime?.getTime()).toBe(Math.floor(startedAt / 1000) * 1000);
    expect(instance.StateTransitionReason).toBe("");
    // A running one is left as it is.
    const again = await t.client.send(new StartInstancesCommand({ InstanceIds: [id] }));
    expect(again.StartingInstances![0]!.CurrentState!.Name).toBe("running");
    await t.client.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    expect(await ec2Error(t.client.send(new StartInstancesCommand({ InstanceIds: [id] })))).toEqual({
      code: "IncorrectInstanceState",
      status: 400,
      message: `The instance '${id}' is not in a state from which it can be started (it is shutting-down).`,
    });
  });

  it("refuses a client token whose instance was terminated, even after it vanished", async () => {
    const id = await launch(bakeInput("base", "4+d", "used-token"));
    await t.client.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    for (const wait of [0, 2 * 60 * MINUTE]) {
      t.clock.advance(wait);
      expect(
        await ec2Error(t.client.send(new RunInstancesCommand(bakeInput("base", "4+d", "used-token")))),
      ).toEqual({
        code: "IdempotentInstanceTerminated",
        status: 400,
        message:
          "The client token has already been used for an instance that has been terminated. Use a new client token.",
      });
    }
  });

  it("filters by tag, tag-key and state, and paginates", async () => {
    const ids: string[] = [];
    for (let n = 0; n < 7; n++) ids.push(await launch(bakeInput(n < 3 ? "alpha" : "beta", `b${n}`)));
    await launch({ ImageId: imageId, InstanceType: "t3.micro", MinCount: 1, MaxCount: 1 });
    t.clock.advance(MINUTE);
    const alpha = await t.client.send(
      new DescribeInstancesCommand({
        Filters: [
          { Name: "tag:leaven.dev/spec", Values: ["alpha"] },
          { Name: "instance-state-name", Values: ["pending", "running"] },
        ],
      }),
    );
    expect(alpha.Reservations!.flatMap((r) => r.Instances!.map((i) => i.InstanceId))).toEqual(
      ids.slice(0, 3),
    );
    const tagged: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeInstances(
      { client: t.client, pageSize: 5 },
      { Filters: [{ Name: "tag-key", Values: ["leaven.dev/role"] }] },
    )) {
      pages += 1;
      tagged.push(...page.Reservations!.flatMap((r) => r.Instances!.map((i) => i.InstanceId!)));
    }
    expect(pages).toBe(2);
    expect(tagged).toEqual(ids);
    expect(
      (await ec2Error(t.client.send(new DescribeInstancesCommand({ InstanceIds: ["i-zz"] })))).code,
    ).toBe("InvalidInstanceID.Malformed");
  });
});
