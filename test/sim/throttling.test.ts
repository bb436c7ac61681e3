// The simulator's token buckets (controller/sim/buckets.ts): one per account, region and action with EC2's
// sizes, a smaller one for unfiltered, unpaginated listings, and the noisy-neighbour fault, whose throttles are
// counted apart in SimStats.throttledByNeighbour.
import {
  CreateTagsCommand,
  DeleteTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeRegionsCommand,
  DescribeSnapshotsCommand,
  type EC2Client,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import { afterEach, describe, expect, it } from "vitest";
import { parseFaultFlag } from "../../controller/sim/faults.ts";
import type { SimulatorOptions } from "../../controller/sim/server.ts";
import { consumerClient, startTestSim, type TestSim } from "./helpers.ts";

const open: TestSim[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.sim.close();
});

async function sim(options: SimulatorOptions = {}): Promise<TestSim> {
  const t = await startTestSim({ throttle: true, ...options });
  open.push(t);
  return t;
}

/** How many of `n` calls succeed before the first RequestLimitExceeded, and the outcome of each. */
async function burst(n: number, call: () => Promise<unknown>): Promise<string[]> {
  const outcomes: string[] = [];
  for (let i = 0; i < n; i++) {
    outcomes.push(
      await call().then(
        () => "ok",
        (error: { name: string }) => error.name,
      ),
    );
  }
  return outcomes;
}

const count = (outcomes: string[], outcome: string) => outcomes.filter((o) => o === outcome).length;

describe("per-action buckets", () => {
  it("a drained DescribeImages bucket leaves DescribeInstances and DescribeSnapshots their own", async () => {
    const t = await sim();
    const images = await burst(101, () => t.client.send(new DescribeImagesCommand({ Owners: ["self"] })));
    expect(count(images, "ok")).toBe(100);
    expect(images[100]).toBe("RequestLimitExceeded");
    expect(
      count(await burst(100, () => t.client.send(new DescribeInstancesCommand({ MaxResults: 5 }))), "ok"),
    ).toBe(100);
    expect(
      count(await burst(5, () => t.client.send(new DescribeSnapshotsCommand({ MaxResults: 5 }))), "ok"),
    ).toBe(5);
  });

  it("CreateTags and DeleteTags each have a bucket of 100", async () => {
    const t = await sim();
    const tag = () =>
      t.client.send(
        new CreateTagsCommand({ Resources: ["ami-0123456789abcdef0"], Tags: [{ Key: "k", Value: "v" }] }),
      );
    const untag = () => t.client.send(new DeleteTagsCommand({ Resources: ["ami-0123456789abcdef0"] }));
    // Both fail with NotFound, after taking their token: the bucket is what is measured.
    expect(count(await burst(101, tag), "InvalidAMIID.NotFound")).toBe(100);
    expect(count(await burst(100, untag), "InvalidAMIID.NotFound")).toBe(100);
    t.clock.advance(1000);
    expect(count(await burst(11, tag), "InvalidAMIID.NotFound")).toBe(10);
  });

  it("unfiltered, unpaginated DescribeInstances draws from a bucket of 50 refilling 10 a second", async () => {
    const t = await sim();
    const unfiltered = await burst(51, () => t.client.send(new DescribeInstancesCommand({})));
    expect(count(unfiltered, "ok")).toBe(50);
    expect(unfiltered[50]).toBe("RequestLimitExceeded");
    // Paged or filtered calls use the standard bucket, untouched.
    await t.client.send(new DescribeInstancesCommand({ MaxResults: 5 }));
    await t.client.send(
      new DescribeInstancesCommand({ Filters: [{ Name: "instance-state-name", Values: ["running"] }] }),
    );
    t.clock.advance(1000);
    expect(count(await burst(11, () => t.client.send(new DescribeInstancesCommand({}))), "ok")).toBe(10);
  });

  it("keeps the buckets of each account apart", async () => {
    const t = await sim({ awkward: true });
    const consumer: EC2Client = consumerClient(t.sim);
    expect(count(await burst(100, () => t.client.send(new DescribeRegionsCommand({}))), "ok")).toBe(100);
    expect(count(await burst(100, () => consumer.send(new DescribeRegionsCommand({}))), "ok")).toBe(100);
  });
});

describe("the noisy neighbour", () => {
  it("takes its rate from every bucket: Leaven gets the refill less the neighbour's share", async () => {
    const t = await sim({ faults: { noisyNeighbour: 5 } });
    const describe = () => t.client.send(new DescribeRegionsCommand({}));
    // The burst is Leaven's: no time has passed for the neighbour to draw from it.
    expect(count(await burst(101, describe), "ok")).toBe(100);
    expect(t.sim.stats()).toMatchObject({ throttled: 1, throttledByNeighbour: 0 });
    t.clock.advance(1000);
    // 20 tokens came back, the neighbour took 5 of them: 15 for Leaven, and 5 more throttles it would not have had.
    const second = await burst(25, describe);
    expect(count(second, "ok")).toBe(15);
    expect(t.sim.stats()).toMatchObject({ throttled: 11, throttledByNeighbour: 5 });
    expect(t.sim.stats().errors.RequestLimitExceeded).toBe(11);
  });

  it("starves a bucket that refills no faster than the neighbour draws, every region alike", async () => {
    const t = await sim({ faults: { noisyNeighbour: 2 } });
    for (const client of [t.client, t.clientFor("us-east-1")]) {
      const tag = () =>
        client.send(
          new CreateTagsCommand({ Resources: ["ami-0123456789abcdef0"], Tags: [{ Key: "k", Value: "v" }] }),
        );
      expect(count(await burst(100, tag), "InvalidAMIID.NotFound")).toBe(100);
    }
    // CreateTags refills 10 a second, the neighbour takes 2: Leaven sees 8.
    t.clock.advance(1000);
    expect(
      count(
        await burst(10, () =>
          t.client.send(
            new CreateTagsCommand({ Resources: ["ami-0123456789abcdef0"], Tags: [{ Key: "k", Value: "v" }] }),
          ),
        ),
        "InvalidAMIID.NotFound",
      ),
    ).toBe(8);
    t.sim.resetStats();
    // RunInstances refills 2 a second: once its burst of 5 is spent, the neighbour leaves nothing.
    const run = () =>
      t.client.send(
        new RunInstancesCommand({
          ImageId: "ami-0123456789abcdef0",
          InstanceType: "t3.micro",
          MinCount: 1,
          MaxCount: 1,
        }),
      );
    expect(count(await burst(5, run), "InvalidAMIID.NotFound")).toBe(5);
    for (let second = 0; second < 10; second++) {
      t.clock.advance(1000);
      expect(await burst(1, run)).toEqual(["RequestLimitExceeded"]);
    }
    expect(t.sim.stats()).toMatchObject({ throttled: 10, throttledByNeighbour: 10 });
  });

  it("starts drawing when set, and stops when cleared", async () => {
    const t = await sim();
    const describe = () => t.client.send(new DescribeRegionsCommand({}));
    expect(count(await burst(100, describe), "ok")).toBe(100);
    t.clock.advance(1000);
    t.sim.setFaults({ noisyNeighbour: 20 });
    // The second before it was set refilled 20 tokens in full; from now on the neighbour takes them all.
    t.clock.advance(1000);
    expect(count(await burst(21, describe), "ok")).toBe(20);
    t.sim.setFaults({});
    t.clock.advance(1000);
    expect(count(await burst(21, describe), "ok")).toBe(20);
    // Both 21st calls: without the neighbour's earlier draw, the bucket would still have had tokens.
    expect(t.sim.stats()).toMatchObject({ throttled: 2, throttledByNeighbour: 2 });
  });

  it.each([
    ["noisy-neighbour=5", { noisyNeighbour: 5 }],
    ["noisy-neighbour=0.5", { noisyNeighbour: 0.5 }],
  ])("parses --fault %s", (flag, faults) => {
    expect(parseFaultFlag(flag)).toEqual(faults);
  });

  it.each(["noisy-neighbour=", "noisy-neighbour=0", "noisy-neighbour=-1", "noisy-neighbour=lots"])(
    "refuses --fault %s",
    (flag) => {
      expect(() => parseFaultFlag(flag)).toThrow(
        `--fault ${flag}: expected the tokens per second other tools take from every bucket, e.g. noisy-neighbour=5.`,
      );
    },
  );
});
