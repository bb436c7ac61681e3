import type { Clock } from "./clock.ts";
import type { CloudPort } from "./port.ts";
import { type ActionClass, actionClassOf, type BucketSize, EC2_BUCKETS } from "./rate-limits.ts";
import { TokenBucket } from "./token-bucket.ts";

/** The EC2 action each port method sends first (paginated walks draw one token per page in the adapter). */
const ec2Action: Readonly<Record<keyof CloudPort, string>> = {
  describeRegions: "DescribeRegions",
  describeImages: "DescribeImages",
  describeInstances: "DescribeInstances",
  describeSnapshots: "DescribeSnapshots",
  getConsoleOutput: "GetConsoleOutput",
  runInstance: "RunInstances",
  stopInstances: "StopInstances",
  terminateInstances: "TerminateInstances",
  createImage: "CreateImage",
  copyImage: "CopyImage",
  createTags: "CreateTags",
  deleteTags: "DeleteTags",
  addLaunchPermissions: "ModifyImageAttribute",
  enableImageDeprecation: "EnableImageDeprecation",
  disableImage: "DisableImage",
  deregisterImage: "DeregisterImage",
  deleteSnapshot: "DeleteSnapshot",
};

/** Client-side token buckets per region and action class, mirroring EC2's, shared by observer and executor. */
export class RegionRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly clock: Clock;
  private readonly sizes: Readonly<Record<ActionClass, BucketSize>>;
  constructor(clock: Clock, sizes: Readonly<Record<ActionClass, BucketSize>> = EC2_BUCKETS) {
    this.clock = clock;
    this.sizes = sizes;
  }
  bucket(region: string, action: string): TokenBucket {
    const cls = actionClassOf(action);
    const key = `${region} ${cls}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      bucket = new TokenBucket(this.sizes[cls], this.clock);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }
  take(region: string, action: string): Promise<void> {
    return this.bucket(region, action).take();
  }
}

/**
 * Wraps a cloud so that every call first takes a token from its region's bucket: a large fan-out then
 * proceeds at the rate EC2 allows instead of tripping RequestLimitExceeded. Paginated walks take a token
 * per call here; pages after the first are paced by the adapter's own retry on throttling.
 */
export function rateLimitedCloud(cloud: CloudPort, limiter: RegionRateLimiter): CloudPort {
  const wrapped = {} as Record<keyof CloudPort, unknown>;
  for (const method of Object.keys(ec2Action) as (keyof CloudPort)[]) {
    const original = cloud[method] as (region: string, ...rest: unknown[]) => Promise<unknown>;
    wrapped[method] = async (region: string, ...rest: unknown[]) => {
      await limiter.take(region, ec2Action[method]);
      return original.call(cloud, region, ...rest);
    };
  }
  return wrapped as unknown as CloudPort;
}
