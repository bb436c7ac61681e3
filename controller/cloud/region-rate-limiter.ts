import type { Clock } from "./clock.ts";
import { type ActionBucket, bucketFor } from "./rate-limits.ts";
import { TokenBucket } from "./token-bucket.ts";

/**
 * Client-side token buckets per region and bucket, mirroring EC2's: one per EC2 action (rate-limits.ts
 * bucketFor) and SSM's shared classes. The AWS adapter takes a token before every request it sends, so a
 * large fan-out runs at the rate EC2 allows without being throttled.
 */
export class RegionRateLimiter {
  private readonly buckets = new Map<string, TokenBucket>();
  private readonly clock: Clock;
  private readonly bucketOf: (action: string) => ActionBucket;
  /** `bucketOf` defaults to EC2's and SSM's published sizes; tests pass their own. */
  constructor(clock: Clock, bucketOf: (action: string) => ActionBucket = (action) => bucketFor(action)) {
    this.clock = clock;
    this.bucketOf = bucketOf;
  }
  bucket(region: string, action: string): TokenBucket {
    const { key, size } = this.bucketOf(action);
    const id = `${region} ${key}`;
    let bucket = this.buckets.get(id);
    if (!bucket) {
      // One token of headroom: EC2's bucket sees each request a little later than ours does, and
      // latency varies, so a bucket exactly as large would now and then run ahead of EC2's.
      bucket = new TokenBucket({ ...size, capacity: Math.max(1, size.capacity - 1) }, this.clock);
      this.buckets.set(id, bucket);
    }
    return bucket;
  }
  take(region: string, action: string): Promise<void> {
    return this.bucket(region, action).take();
  }
}
