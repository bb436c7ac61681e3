import { describe, expect, it } from "vitest";
import { type ActionClass, actionClassOf, type BucketSize } from "../../controller/cloud/rate-limits.ts";
import { RegionRateLimiter } from "../../controller/cloud/region-rate-limiter.ts";
import type { TokenBucket } from "../../controller/cloud/token-bucket.ts";
import { ManualClock } from "../../controller/sim/manual-clock.ts";

class RecordingClock extends ManualClock {
  readonly sleeps: number[] = [];
  override sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    return super.sleep(ms);
  }
}

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

function drain(bucket: TokenBucket, limit = 10_000): number {
  let taken = 0;
  while (taken < limit && bucket.tryTake()) taken++;
  return taken;
}

// Every EC2 action the AWS adapter sends (controller/cloud/aws-adapter.ts), with the bucket it draws from,
// and that bucket's capacity and refill per second as EC2 publishes them.
const ACTIONS: [action: string, cls: ActionClass, capacity: number, refillPerSecond: number][] = [
  ["DescribeRegions", "describe", 100, 20],
  ["DescribeImages", "describe", 100, 20],
  ["DescribeInstances", "describe", 100, 20],
  ["DescribeSnapshots", "describe", 100, 20],
  ["GetConsoleOutput", "describe", 100, 20],
  ["RunInstances", "runInstances", 5, 2],
  ["StopInstances", "mutate", 50, 5],
  ["TerminateInstances", "mutate", 50, 5],
  ["CreateImage", "mutate", 50, 5],
  ["ModifyImageAttribute", "mutate", 50, 5],
  ["EnableImageDeprecation", "mutate", 50, 5],
  ["DisableImage", "mutate", 50, 5],
  ["CopyImage", "copyImage", 100, 1],
  ["CreateTags", "tags", 100, 10],
  ["DeleteTags", "tags", 100, 10],
  ["DeregisterImage", "deregister", 100, 5],
  ["DeleteSnapshot", "deregister", 100, 5],
  // Failure records: EC2 meters launch templates like any describe and any other mutating call.
  ["DescribeLaunchTemplates", "describe", 100, 20],
  ["CreateLaunchTemplate", "mutate", 50, 5],
  ["DeleteLaunchTemplate", "mutate", 50, 5],
];

describe("actionClassOf", () => {
  it.each(ACTIONS)("%s draws from the %s bucket", (action, cls) => {
    expect(actionClassOf(action)).toBe(cls);
  });

  it.each([
    ["Unknown", "mutate"], // the adapter's name for a command without a name
    ["AssociateAddress", "mutate"],
    ["DescribeVolumes", "describe"],
    ["GetEbsEncryptionByDefault", "describe"],
    ["describeImages", "mutate"], // case matters: EC2 action names are PascalCase
    ["CreateSnapshot", "mutate"],
  ] as const)("an action not in the table, %s, falls back to %s", (action, cls) => {
    expect(actionClassOf(action)).toBe(cls);
  });
});

// A broken bucket makes take() wait forever on the manual clock: fail fast rather than at the global timeout.
describe("RegionRateLimiter", { timeout: 5_000 }, () => {
  it.each(ACTIONS)(
    "%s (%s): bursts capacity %i less one token of headroom, then refills %i per second",
    (action, _cls, capacity, refillPerSecond) => {
      const clock = new ManualClock();
      const limiter = new RegionRateLimiter(clock);
      const bucket = limiter.bucket("us-east-1", action);
      expect(drain(bucket)).toBe(capacity - 1);
      clock.advance(1000);
      expect(drain(bucket)).toBe(refillPerSecond);
      expect(bucket.waitTime()).toBeCloseTo(1000 / refillPerSecond, 9);
    },
  );

  it("keeps at least one token of capacity when the bucket holds a single token", () => {
    const one: BucketSize = { capacity: 1, refillPerSecond: 1 };
    const sizes: Record<ActionClass, BucketSize> = {
      describe: one,
      mutate: { capacity: 3, refillPerSecond: 1 },
      copyImage: one,
      tags: one,
      deregister: one,
      runInstances: one,
    };
    const limiter = new RegionRateLimiter(new ManualClock(), sizes);
    expect(drain(limiter.bucket("us-east-1", "DescribeImages"))).toBe(1);
    expect(drain(limiter.bucket("us-east-1", "CreateImage"))).toBe(2);
  });

  it("shares one bucket per region and action class", () => {
    const limiter = new RegionRateLimiter(new ManualClock());
    expect(limiter.bucket("us-east-1", "DescribeImages")).toBe(
      limiter.bucket("us-east-1", "DescribeInstances"),
    );
    expect(limiter.bucket("us-east-1", "CreateTags")).toBe(limiter.bucket("us-east-1", "DeleteTags"));
    expect(limiter.bucket("us-east-1", "DeregisterImage")).toBe(
      limiter.bucket("us-east-1", "DeleteSnapshot"),
    );
    expect(limiter.bucket("us-east-1", "DescribeImages")).not.toBe(
      limiter.bucket("eu-west-1", "DescribeImages"),
    );
    expect(limiter.bucket("us-east-1", "DescribeImages")).not.toBe(
      limiter.bucket("us-east-1", "CreateImage"),
    );
  });

  it("a drained describe bucket does not slow mutating calls, nor other classes", async () => {
    const clock = new RecordingClock();
    const limiter = new RegionRateLimiter(clock);
    expect(drain(limiter.bucket("us-east-1", "DescribeImages"))).toBe(99);
    expect(limiter.bucket("us-east-1", "DescribeInstances").tryTake()).toBe(false);

    await limiter.take("us-east-1", "CreateImage");
    await limiter.take("us-east-1", "CreateTags");
    await limiter.take("us-east-1", "CopyImage");
    await limiter.take("us-east-1", "DeregisterImage");
    await limiter.take("us-east-1", "RunInstances");
    expect(clock.sleeps).toEqual([]);
    expect(drain(limiter.bucket("us-east-1", "TerminateInstances"))).toBe(48);
  });

  it("a drained mutating bucket does not slow describe calls", async () => {
    const clock = new RecordingClock();
    const limiter = new RegionRateLimiter(clock);
    expect(drain(limiter.bucket("us-east-1", "CreateImage"))).toBe(49);
    await limiter.take("us-east-1", "DescribeImages");
    expect(clock.sleeps).toEqual([]);
    expect(drain(limiter.bucket("us-east-1", "DescribeImages"))).toBe(98);
  });

  it("throttling in us-east-1 does not slow eu-west-1", async () => {
    const clock = new RecordingClock();
    const limiter = new RegionRateLimiter(clock);
    for (const action of ["DescribeImages", "CreateImage", "CopyImage", "CreateTags", "RunInstances"]) {
      drain(limiter.bucket("us-east-1", action));
    }
    await limiter.take("eu-west-1", "DescribeImages");
    await limiter.take("eu-west-1", "CreateImage");
    await limiter.take("eu-west-1", "CopyImage");
    await limiter.take("eu-west-1", "CreateTags");
    await limiter.take("eu-west-1", "RunInstances");
    expect(clock.sleeps).toEqual([]);
    expect(drain(limiter.bucket("eu-west-1", "DescribeImages"))).toBe(98);
    expect(drain(limiter.bucket("eu-west-1", "RunInstances"))).toBe(3);
  });

  it("take() paces a fan-out at the refill rate once the burst is spent", async () => {
    const clock = new RecordingClock();
    const limiter = new RegionRateLimiter(clock);
    const done: number[] = [];
    const start = clock.now();
    // Six RunInstances: four from the burst (5 less headroom), then one every 500 ms.
    const calls = Array.from({ length: 6 }, () =>
      limiter.take("us-east-1", "RunInstances").then(() => done.push(clock.now() - start)),
    );
    await settle();
    expect(done).toEqual([0, 0, 0, 0]);
    clock.advance(499);
    await settle();
    expect(done).toHaveLength(4);
    clock.advance(1);
    await settle();
    expect(done).toEqual([0, 0, 0, 0, 500]);
    clock.advance(500);
    await Promise.all(calls);
    expect(done).toEqual([0, 0, 0, 0, 500, 1000]);
    expect(clock.sleeps).toEqual([500, 500]);
  });

  it("a copy waits a whole second per token once the CopyImage burst is spent", async () => {
    const clock = new RecordingClock();
    const limiter = new RegionRateLimiter(clock);
    expect(drain(limiter.bucket("eu-west-1", "CopyImage"))).toBe(99);
    const copy = limiter.take("eu-west-1", "CopyImage");
    await settle();
    expect(clock.sleeps).toEqual([1000]);
    clock.advance(1000);
    await copy;
  });
});
