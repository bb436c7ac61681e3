import { join } from "node:path";
import {
  CopyImageCommand,
  DeregisterImageCommand,
  DescribeImagesCommand,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import { AWKWARD_NONE } from "../../controller/sim/awkward.ts";
import { ManualClock } from "../../controller/sim/manual-clock.ts";
import { tempDir } from "../support/temp-dir.ts";
import { awkwardSims, ec2Error, MINUTE, nobleImage, START, type TestSim } from "./helpers.ts";

const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;
const SHUTTING_DOWN = 20_000;

const sim = awkwardSims({ tokenExpiry: true });
const ubuntu = nobleImage;

const terminated = {
  code: "IdempotentInstanceTerminated",
  status: 400,
  message:
    "The client token has already been used for an instance that has been terminated. Use a new client token.",
};

async function launchAndTerminate(t: TestSim): Promise<{ input: RunInstancesCommandInput; id: string }> {
  const input: RunInstancesCommandInput = {
    ImageId: await ubuntu(t),
    InstanceType: "t3.micro",
    MinCount: 1,
    MaxCount: 1,
    ClientToken: "bake-base-1",
  };
  const id = (await t.client.send(new RunInstancesCommand(input))).Instances![0]!.InstanceId!;
  t.clock.advance(MINUTE);
  await t.client.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  return { input, id };
}

describe("a RunInstances ClientToken", () => {
  it("is refused while remembered and launches anew 24 h after its instances terminated", async () => {
    const t = await sim();
    const { input, id } = await launchAndTerminate(t);
    const terminatedAt = t.clock.now() + SHUTTING_DOWN;
    expect(await ec2Error(t.client.send(new RunInstancesCommand(input)))).toEqual(terminated);
    // The instance vanished an hour after it terminated; the token is still remembered.
    t.clock.set(terminatedAt + DAY - 1);
    expect(await ec2Error(t.client.send(new RunInstancesCommand(input)))).toEqual(terminated);
    t.clock.set(terminatedAt + DAY);
    const again = (await t.client.send(new RunInstancesCommand(input))).Instances![0]!.InstanceId!;
    expect(again).not.toBe(id);
    // And it is that launch's token now.
    expect((await t.client.send(new RunInstancesCommand(input))).Instances![0]!.InstanceId).toBe(again);
  });

  it("is remembered while any instance of the launch is alive", async () => {
    const t = await sim();
    const input: RunInstancesCommandInput = {
      ImageId: await ubuntu(t),
      InstanceType: "t3.micro",
      MinCount: 2,
      MaxCount: 2,
      ClientToken: "pair",
    };
    const ids = (await t.client.send(new RunInstancesCommand(input))).Instances!.map((i) => i.InstanceId!);
    await t.client.send(new TerminateInstancesCommand({ InstanceIds: [ids[0]!] }));
    t.clock.advance(2 * DAY);
    expect((await t.client.send(new RunInstancesCommand(input))).Instances!.map((i) => i.InstanceId)).toEqual(
      ids,
    );
    await t.client.send(new TerminateInstancesCommand({ InstanceIds: [ids[1]!] }));
    t.clock.advance(SHUTTING_DOWN + DAY);
    const fresh = (await t.client.send(new RunInstancesCommand(input))).Instances!.map((i) => i.InstanceId!);
    expect(fresh).toHaveLength(2);
    expect(fresh.some((id) => ids.includes(id))).toBe(false);
  });

  it("honours tokenLifetimeMs", async () => {
    const t = await sim({ awkward: { ...AWKWARD_NONE, tokenExpiry: true, tokenLifetimeMs: HOUR } });
    const { input } = await launchAndTerminate(t);
    t.clock.advance(SHUTTING_DOWN + HOUR - 1);
    expect((await ec2Error(t.client.send(new RunInstancesCommand(input)))).code).toBe(terminated.code);
    t.clock.advance(1);
    await t.client.send(new RunInstancesCommand(input));
  });

  it("is never forgotten in the exact mode", async () => {
    const t = await sim({ awkward: false });
    const { input } = await launchAndTerminate(t);
    t.clock.advance(30 * DAY);
    expect(await ec2Error(t.client.send(new RunInstancesCommand(input)))).toEqual(terminated);
  });

  it("keeps its expiry across a restart", async () => {
    const dir = tempDir("leaven-sim-tokens-");
    const statePath = join(dir, "state.json");
    const clock = new ManualClock(START);
    const first = await sim({ statePath, clock });
    const { input } = await launchAndTerminate(first);
    const terminatedAt = clock.now() + SHUTTING_DOWN;
    await sim.close(first);
    const second = await sim({ statePath, clock });
    clock.set(terminatedAt + DAY - 1);
    expect(await ec2Error(second.client.send(new RunInstancesCommand(input)))).toEqual(terminated);
    clock.set(terminatedAt + DAY);
    await second.client.send(new RunInstancesCommand(input));
  });
});

describe("a CopyImage ClientToken (assumed: 24 h after the copy is deregistered)", () => {
  it("answers the deregistered copy's id for a day, then copies anew", async () => {
    const t = await sim();
    const east = t.clientFor("us-east-1");
    const input = {
      SourceRegion: "eu-west-1",
      SourceImageId: await ubuntu(t),
      Name: "leaven/base/1.0.0",
      ClientToken: "copy-base-1",
    };
    const { ImageId: first } = await east.send(new CopyImageCommand(input));
    t.clock.advance(10 * MINUTE);
    await east.send(new DeregisterImageCommand({ ImageId: first }));
    const deregistered = t.clock.now();
    t.clock.set(deregistered + DAY - 1);
    expect((await east.send(new CopyImageCommand(input))).ImageId).toBe(first);
    t.clock.set(deregistered + DAY);
    const { ImageId: second } = await east.send(new CopyImageCommand(input));
    expect(second).not.toBe(first);
    expect((await east.send(new DescribeImagesCommand({ ImageIds: [second!] }))).Images![0]!.State).toBe(
      "pending",
    );
  });

  it("is kept while the copy exists, however old", async () => {
    const t = await sim();
    const east = t.clientFor("us-east-1");
    const input = {
      SourceRegion: "eu-west-1",
      SourceImageId: await ubuntu(t),
      Name: "copy",
      ClientToken: "c",
    };
    const { ImageId: first } = await east.send(new CopyImageCommand(input));
    t.clock.advance(60 * DAY);
    expect((await east.send(new CopyImageCommand(input))).ImageId).toBe(first);
  });
});
