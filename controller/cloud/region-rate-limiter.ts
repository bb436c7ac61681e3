import type { Clock } from "./clock.ts";
import { type ActionBucket, type BucketSize, bucketFor } from "./rate-limits.ts";
import { TokenBucket } from "./token-bucket.ts";

/**
 * The client's bucket is smaller than EC2's by half a second of refill (at least one token): EC2's bucket sees
 * each request a little later than ours does, and the delay varies, so requests granted evenly here can
 * arrive bunched there; a bucket exactly as large would now and then run ahead of EC2's — most often the
 * small ones, such as SSM's PutParameter (3, 3/s), where half a second is one and a half tokens.
 */
export function clientCapacity(size: BucketSize): number {
  return Math.max(1, size.capacity - Math.max(1, Math.ceil(size.refillPerSecond / 2)));
}

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
      bucket = new TokenBucket({ ...size, capacity: clientCapacity(size) }, this.clock);
      this.buckets.set(id, bucket);
    }
    return bucket;
  }
  take(region: string, action: string): Promise<void> {
    return this.bucket(region, action).take();
  }
}
