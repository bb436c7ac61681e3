// The simulator's EC2 token buckets, one per account, region and bucket (rate-limits.ts bucketFor), each
// optionally drained by a noisy neighbour: other tools in the account that take `rate` tokens per second from
// every bucket. The neighbour is a fluid draw (it takes tokens as they come, up to its rate, and is itself
// throttled at zero), so a bucket whose refill is at or below the rate is starved once its burst is spent.
// A shadow bucket, fed the same requests without the neighbour, tells a throttle the neighbour caused.
import type { Clock } from "../cloud/clock.ts";
import type { BucketSize } from "../cloud/rate-limits.ts";

export type TakeResult = "taken" | "throttled" | "throttled-by-neighbour";

export class SimBucket {
  private tokens: number;
  private shadow: number;
  private updatedAt: number;
  private readonly size: BucketSize;
  private readonly clock: Clock;
  private readonly neighbourRate: () => number;

  constructor(size: BucketSize, clock: Clock, neighbourRate: () => number) {
    this.size = size;
    this.clock = clock;
    this.neighbourRate = neighbourRate;
    this.tokens = size.capacity;
    this.shadow = size.capacity;
    this.updatedAt = clock.now();
  }

  /** Brings the bucket up to now at the neighbour's current rate; call before that rate changes. */
  settle(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.updatedAt) / 1000;
    const { capacity, refillPerSecond } = this.size;
    const net = refillPerSecond - this.neighbourRate();
    this.tokens = Math.min(capacity, Math.max(0, this.tokens + elapsed * net));
    this.shadow = Math.min(capacity, this.shadow + elapsed * refillPerSecond);
    this.updatedAt = now;
  }

  tryTake(): TakeResult {
    this.settle();
    const withoutNeighbour = this.shadow >= 1;
    if (withoutNeighbour) this.shadow -= 1;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return "taken";
    }
    return withoutNeighbour ? "throttled-by-neighbour" : "throttled";
  }
}
