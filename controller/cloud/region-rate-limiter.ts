import type { Clock } from "./clock.ts";
import {
  type ActionClass,
  actionClassOf,
  type BucketSize,
  EC2_BUCKETS,
  isSsmClass,
  SSM_BUCKETS,
  type SsmActionClass,
} from "./rate-limits.ts";
import { TokenBucket } from "./token-bucket.ts";

/**
 * Client-side token buckets per region and action class, mirroring EC2's. The AWS adapter takes a token
 * before every request it sends, so a large fan-out runs at the rate EC2 allows without being throttled.
 */
export class RegionRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly clock: Clock;
  private readonly sizes: Readonly<Record<ActionClass, BucketSize>>;
  private readonly ssmSizes: Readonly<Record<SsmActionClass, BucketSize>>;
  constructor(
    clock: Clock,
    sizes: Readonly<Record<ActionClass, BucketSize>> = EC2_BUCKETS,
    ssmSizes: Readonly<Record<SsmActionClass, BucketSize>> = SSM_BUCKETS,
  ) {
    this.clock = clock;
    this.sizes = sizes;
    this.ssmSizes = ssmSizes;
  }
  bucket(region: string, action: string): TokenBucket {
    const cls = actionClassOf(action);
    const key = `${region} ${cls}`;
    let bucket = this.buckets.get(key);
    if (!bucket) {
      // One token of headroom: EC2's bucket sees each request a little later than ours does, and
      // latency varies, so a bucket exactly as large would now and then run ahead of EC2's.
      const size = isSsmClass(cls) ? this.ssmSizes[cls] : this.sizes[cls];
      bucket = new TokenBucket({ ...size, capacity: Math.max(1, size.capacity - 1) }, this.clock);
      this.buckets.set(key, bucket);
    }
    return bucket;
  }
  take(region: string, action: string): Promise<void> {
    return this.bucket(region, action).take();
  }
}
