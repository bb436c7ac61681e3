import { describe, expect, it } from "vitest";
import { actionClassOf, type BucketSize, bucketFor } from "../../controller/cloud/rate-limits.ts";
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
// and that bucket's capacity and refill per second as EC2 publishes them ("Request throttling for the Amazon
// EC2 API": the category tables and the uncategorized actions with sizes of their own).
const ACTIONS: [action: string, key: string, capacity: number, refillPerSecond: number][] = [
  ["DescribeRegions", "DescribeRegions", 100, 20],
  ["DescribeImages", "DescribeImages", 100, 20],
  ["DescribeInstances", "DescribeInstances", 100, 20],
  ["DescribeSnapshots", "DescribeSnapshots", 100, 20],
  ["DescribeImageAttribute", "DescribeImageAttribute", 100, 20],
  ["DescribeSnapshotAttribute", "DescribeSnapshotAttribute", 100, 20],
  ["GetConsoleOutput", "GetConsoleOutput", 100, 20],
  ["RunInstances", "RunInstances", 5, 2],
  ["StopInstances", "StopInstances", 50, 5],
  ["TerminateInstances", "TerminateInstances", 100, 5],
  ["CreateImage", "CreateImage", 50, 5],
  ["ModifyImageAttribute", "ModifyImageAttribute", 100, 5],
  ["ModifySnapshotAttribute", "ModifySnapshotAttribute", 100, 5],
  ["EnableImageDeprecation", "EnableImageDeprecation", 50, 5],
  ["DisableImageDeprecation", "DisableImageDeprecation", 50, 5],
  ["DisableImage", "DisableImage", 50, 5],
  ["EnableImage", "EnableImage", 50, 5],
  ["CopyImage", "CopyImage", 100, 1],
  ["CreateTags", "CreateTags", 100, 10],
  ["DeleteTags", "DeleteTags", 100, 10],
  ["DeregisterImage", "DeregisterImage", 100, 5],
  ["DeleteSnapshot", "DeleteSnapshot", 100, 5],
  // Failure records: launch templates are metered like any describe and any other mutating call.
  ["DescribeLaunchTemplates", "DescribeLaunchTemplates", 100, 20],
  ["DescribeLaunchTemplateVersions", "DescribeLaunchTemplateVersions", 100, 20],
  ["CreateLaunchTemplate", "CreateLaunchTemplate", 50, 5],
  ["DeleteLaunchTemplate", "DeleteLaunchTemplate", 50, 5],
  // SSM keeps its shared classes.
  ["GetParameter", "ssm:ssmGet", 40, 40],
  ["GetParametersByPath", "ssm:ssmGet", 40, 40],
  ["PutParameter", "ssm:ssmPut", 3, 3],
  ["DescribeParameters", "ssm:ssmDescribe", 10, 10],
  ["DeleteParameter", "ssm:ssmMutate", 3, 3],
];

describe("bucketFor", () => {
  it.each(ACTIONS)(
    "%s draws from the %s bucket, %i deep, refilling %d per second",
    (action, key, capacity, refillPerSecond) => {
      expect(bucketFor(action)).toEqual({ key, size: { capacity, refillPerSecond } });
    },
  );

  it.each([
    ["Unknown", "Unknown", 50, 5], // the adapter's name for a command without a name
    ["AssociateAddress", "AssociateAddress", 50, 5],
    ["DescribeVolumes", "DescribeVolumes", 100, 20],
    ["GetEbsEncryptionByDefault", "GetEbsEncryptionByDefault", 100, 20],
    ["describeImages", "describeImages", 50, 5], // case matters: EC2 action names are PascalCase
    ["CreateSnapshot", "CreateSnapshot", 100, 5],
    ["StartInstances", "StartInstances", 5, 2],
    ["AuthorizeSecurityGroupIngress", "AuthorizeSecurityGroupIngress", 50, 5],
  ] as const)(
    "an action the adapter does not send, %s, has bucket %s (%i, %d)",
    (action, key, capacity, refillPerSecond) => {
      expect(bucketFor(action)).toEqual({ key, size: { capacity, refillPerSecond } });
    },
  );

  it.each([
    ["DescribeInstances", "DescribeInstances:unfiltered"],
    ["DescribeSnapshots", "DescribeSnapshots:unfiltered"],
    ["DescribeVolumes", "DescribeVolumes:unfiltered"],
  ])("an unfiltered, unpaginated %s draws from the smaller %s bucket (50, 10)", (action, key) => {
    expect(bucketFor(action, { unfilteredUnpaginated: true })).toEqual({
      key,
      size: { capacity: 50, refillPerSecond: 10 },
    });
  });

  it.each(["DescribeImages", "GetConsoleOutput", "CreateTags"])(
    "%s has no smaller bucket for unfiltered calls",
    (action) => {
      expect(bucketFor(action, { unfilteredUnpaginated: true })).toEqual(bucketFor(action));
    },
  );
});

describe("actionClassOf, which sorts calls into reads and changes", () => {
  it.each([
    ["DescribeImages", "describe"],
    ["GetConsoleOutput", "describe"],
    ["RunInstances", "runInstances"],
    ["CreateImage", "mutate"],
    ["CreateTags", "tags"],
    ["GetParameter", "ssmGet"],
  ] as const)("%s is %s", (action, cls) => {
    expect(actionClassOf(action)).toBe(cls);
  });
});

// A broken bucket makes take() wait forever on the manual clock: fail fast rather than at the global timeout.
describe("RegionRateLimiter", { timeout: 5_000 }, () => {
  it.each(ACTIONS)(
    "%s (%s): bursts capacity %i less one token of headroom, then refills %d per second",
    (action, _cls, capacity, refillPerSecond) => {
      const clock = new ManualClock();
      const limiter = new RegionRateLimiter(clock);
      const bucket = limiter.bucket("us-east-1", action);
      expect(drain(bucket)).toBe(capacity - 1);
      clock.advance(1000);
      // SSM's buckets are one second deep: a second refills them, less the headroom.
      expect(drain(bucket)).toBe(Math.min(refillPerSecond, capacity - 1));
      expect(bucket.waitTime()).toBeCloseTo(1000 / refillPerSecond, 9);
    },
  );

  it("keeps at least one token of capacity when the bucket holds a single token", () => {
    const sizes: Record<string, BucketSize> = {
      DescribeImages: { capacity: 1, refillPerSecond: 1 },
      CreateImage: { capacity: 3, refillPerSecond: 1 },
    };
    const limiter = new RegionRateLimiter(new ManualClock(), (action) => ({
      key: action,
      size: sizes[action]!,
    }));
    expect(drain(limiter.bucket("us-east-1", "DescribeImages"))).toBe(1);
    expect(drain(limiter.bucket("us-east-1", "CreateImage"))).toBe(2);
  });

  it("keeps one bucket per region and action, and one per SSM class", () => {
    const limiter = new RegionRateLimiter(new ManualClock());
    const east = (action: string) => limiter.bucket("us-east-1", action);
    expect(east("DescribeImages")).toBe(east("DescribeImages"));
    expect(east("DescribeImages")).not.toBe(east("DescribeInstances"));
    expect(east("CreateTags")).not.toBe(east("DeleteTags"));
    expect(east("DeregisterImage")).not.toBe(east("DeleteSnapshot"));
    expect(east("StopInstances")).not.toBe(east("CreateImage"));
    expect(east("DescribeImages")).not.toBe(limiter.bucket("eu-west-1", "DescribeImages"));
    // SSM publishes one throughput for its get calls.
    expect(east("GetParameter")).toBe(east("GetParametersByPath"));
    expect(east("GetParameter")).not.toBe(east("PutParameter"));
  });

  it("a drained DescribeImages bucket does not slow DescribeInstances", async () => {
    const clock = new RecordingClock();
    const limiter = new RegionRateLimiter(clock);
    expect(drain(limiter.bucket("us-east-1", "DescribeImages"))).toBe(99);
    await limiter.take("us-east-1", "DescribeInstances");
    await limiter.take("us-east-1", "DescribeSnapshots");
    expect(clock.sleeps).toEqual([]);
    expect(limiter.bucket("us-east-1", "DescribeImages").tryTake()).toBe(false);
  });

  it("a drained CreateImage bucket does not slow StopInstances or TerminateInstances", async () => {
    const clock = new RecordingClock();
    const limiter = new RegionRateLimiter(clock);
    expect(drain(limiter.bucket("us-east-1", "CreateImage"))).toBe(49);
    await limiter.take("us-east-1", "StopInstances");
    await limiter.take("us-east-1", "TerminateInstances");
    expect(clock.sleeps).toEqual([]);
    expect(drain(limiter.bucket("us-east-1", "StopInstances"))).toBe(48);
    expect(drain(limiter.bucket("us-east-1", "TerminateInstances"))).toBe(98);
  });

  it("a drained DescribeImages bucket does not slow mutating calls", async () => {
    const clock = new RecordingClock();
    const limiter = new RegionRateLimiter(clock);
    expect(drain(limiter.bucket("us-east-1", "DescribeImages"))).toBe(99);
    await limiter.take("us-east-1", "CreateImage");
    await limiter.take("us-east-1", "CreateTags");
    await limiter.take("us-east-1", "CopyImage");
    await limiter.take("us-east-1", "DeregisterImage");
    await limiter.take("us-east-1", "RunInstances");
    expect(clock.sleeps).toEqual([]);
    expect(drain(limiter.bucket("us-east-1", "CreateImage"))).toBe(48);
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
