import type { Clock } from "./clock.ts";
import type { BucketSize } from "./rate-limits.ts";

/** A token bucket on an injected clock. */
export class TokenBucket {
  private tokens: number;
  private updatedAt: number;
  private readonly size: BucketSize;
  private readonly clock: Clock;

  constructor(size: BucketSize, clock: Clock) {
    this.size = size;
    this.clock = clock;
    this.tokens = size.capacity;
    this.updatedAt = clock.now();
  }

  private refill(): void {
    const now = this.clock.now();
    const elapsed = Math.max(0, now - this.updatedAt) / 1000;
    this.tokens = Math.min(this.size.capacity, this.tokens + elapsed * this.size.refillPerSecond);
    this.updatedAt = now;
  }

  /** Takes a token if one is there; false means the caller is throttled. */
  tryTake(): boolean {
    this.refill();
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  /** Milliseconds (of the clock) until a token is available. */
  waitTime(): number {
    this.refill();
    if (this.tokens >= 1) return 0;
    return ((1 - this.tokens) / this.size.refillPerSecond) * 1000;
  }

  /** Waits for a token and takes it; callers are served in order. */
  async take(): Promise<void> {
    const previous = this.queue;
    let release!: () => void;
    this.queue = new Promise<void>((resolve) => {
      release = resolve;
    });
    await previous;
    try {
      for (;;) {
        if (this.tryTake()) return;
        await this.clock.sleep(Math.max(1, this.waitTime()));
      }
    } finally {
      release();
    }
  }

  private queue: Promise<void> = Promise.resolve();
}
