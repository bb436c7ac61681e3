import { describe, expect, it } from "vitest";
import type { Clock } from "../../controller/cloud/clock.ts";
import { type BucketSize, EC2_BUCKETS } from "../../controller/cloud/rate-limits.ts";
import { TokenBucket } from "../../controller/cloud/token-bucket.ts";
import { ManualClock } from "../../controller/sim/manual-clock.ts";

/** A manual clock that also records every sleep it is asked for. */
class RecordingClock extends ManualClock {
  readonly sleeps: number[] = [];
  override sleep(ms: number): Promise<void> {
    this.sleeps.push(ms);
    return super.sleep(ms);
  }
}

/** Lets every pending promise callback run (a macrotask runs after all queued microtasks). */
const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

/** Takes tokens until the bucket refuses; how many it gave. Stops at `limit` so a broken bucket cannot loop. */
function drain(bucket: TokenBucket, limit = 10_000): number {
  let taken = 0;
  while (taken < limit && bucket.tryTake()) taken++;
  return taken;
}

const size = (capacity: number, refillPerSecond: number): BucketSize => ({ capacity, refillPerSecond });

describe("TokenBucket: burst and refill", () => {
  it.each([
    [size(100, 20), 100],
    [size(50, 5), 50],
    [size(5, 2), 5],
    [size(1, 1), 1],
  ])("a new bucket %o gives exactly its capacity (%i) at once, then refuses", (bucketSize, burst) => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(bucketSize, clock);
    expect(drain(bucket)).toBe(burst);
    expect(bucket.tryTake()).toBe(false);
  });

  it.each([
    // capacity, refill/s, ms elapsed after draining, tokens available
    [100, 20, 1000, 20],
    [100, 20, 500, 10],
    [100, 20, 50, 1],
    [100, 20, 49, 0],
    [100, 20, 1, 0],
    [100, 20, 2500, 50],
    [100, 20, 5000, 100],
    [100, 20, 60_000, 100], // never above capacity
    [50, 5, 1000, 5],
    [50, 5, 199, 0],
    [50, 5, 200, 1],
    [100, 1, 999, 0],
    [100, 1, 1000, 1],
    [100, 1, 3000, 3],
    [100, 10, 1000, 10],
    [5, 2, 1000, 2],
    [5, 2, 10_000, 5],
  ])(
    "capacity %i refilling %i/s: %i ms after draining gives exactly %i tokens",
    (capacity, refill, ms, expected) => {
      const clock = new ManualClock();
      const bucket = new TokenBucket(size(capacity, refill), clock);
      drain(bucket);
      clock.advance(ms);
      expect(drain(bucket)).toBe(expected);
    },
  );

  it("accumulates fractional refill across reads instead of losing it", () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(size(10, 4), clock); // one token per 250 ms
    drain(bucket);
    clock.advance(100);
    expect(bucket.tryTake()).toBe(false); // 0.4 tokens: not enough, but kept
    clock.advance(100);
    expect(bucket.tryTake()).toBe(false); // 0.8 tokens
    clock.advance(50); // 1.0 token after 250 ms in total
    expect(bucket.tryTake()).toBe(true);
    expect(bucket.tryTake()).toBe(false);
  });

  it("sustains exactly the refill rate under constant demand", () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(size(100, 20), clock);
    let granted = drain(bucket);
    // Ten seconds of asking every 10 ms: 100 burst + 20/s × 10 s.
    for (let t = 0; t < 1000; t++) {
      clock.advance(10);
      granted += drain(bucket);
    }
    expect(granted).toBe(300);
  });

  it("refills to capacity and no further after a long idle, then gives one burst", () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(size(5, 2), clock);
    drain(bucket);
    clock.advance(24 * 60 * 60 * 1000);
    expect(drain(bucket)).toBe(5);
  });

  it("does not refill when the clock steps backwards, and does not lose tokens either", () => {
    let now = 10_000;
    const clock: Clock = { now: () => now, sleep: async () => {} };
    const bucket = new TokenBucket(size(10, 1), clock);
    expect(drain(bucket, 4)).toBe(4); // 6 left
    now = 5_000;
    expect(drain(bucket)).toBe(6);
    now = 6_000; // one second after the step back
    expect(drain(bucket)).toBe(1);
  });
});

describe("TokenBucket.waitTime", () => {
  it.each([
    // capacity, refill/s, tokens taken, ms elapsed after, expected wait (ms)
    [100, 20, 0, 0, 0],
    [100, 20, 99, 0, 0],
    [100, 20, 100, 0, 50],
    [100, 20, 100, 10, 40],
    [100, 20, 100, 25, 25],
    [100, 20, 100, 50, 0],
    [50, 5, 50, 0, 200],
    [50, 5, 50, 150, 50],
    [100, 1, 100, 0, 1000],
    [100, 1, 100, 250, 750],
    [100, 10, 100, 0, 100],
    [5, 2, 5, 0, 500],
    [5, 2, 5, 100, 400],
  ])("capacity %i at %i/s, %i taken, %i ms later: waits %d ms", (capacity, refill, taken, ms, expected) => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(size(capacity, refill), clock);
    expect(drain(bucket, taken)).toBe(taken);
    clock.advance(ms);
    expect(bucket.waitTime()).toBeCloseTo(expected, 9);
  });

  it("does not take a token", () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(size(2, 1), clock);
    expect(bucket.waitTime()).toBe(0);
    expect(bucket.waitTime()).toBe(0);
    expect(drain(bucket)).toBe(2);
  });

  it("is exactly the time after which tryTake succeeds", () => {
    const clock = new ManualClock();
    const bucket = new TokenBucket(size(3, 4), clock);
    drain(bucket);
    clock.advance(100); // 0.4 tokens
    const wait = bucket.waitTime();
    expect(wait).toBeCloseTo(150, 9);
    clock.advance(Math.ceil(wait) - 1);
    expect(bucket.tryTake()).toBe(false);
    clock.advance(1);
    expect(bucket.tryTake()).toBe(true);
  });
});

// A broken bucket makes take() wait forever on the manual clock: fail fast rather than at the global timeout.
describe("TokenBucket.take", { timeout: 5_000 }, () => {
  it("resolves at once while tokens are there, without sleeping", async () => {
    const clock = new RecordingClock();
    const bucket = new TokenBucket(size(3, 1), clock);
    await bucket.take();
    await bucket.take();
    await bucket.take();
    expect(clock.sleeps).toEqual([]);
    expect(bucket.tryTake()).toBe(false);
  });

  it("sleeps exactly until the next token on the injected clock", async () => {
    const clock = new RecordingClock();
    const bucket = new TokenBucket(size(2, 5), clock); // one token per 200 ms
    drain(bucket);
    let done = false;
    const taken = bucket.take().then(() => {
      done = true;
    });
    await settle();
    expect(clock.sleeps).toEqual([200]);
    clock.advance(199);
    await settle();
    expect(done).toBe(false);
    clock.advance(1);
    await taken;
    expect(done).toBe(true);
    expect(clock.sleeps).toEqual([200]);
    expect(bucket.tryTake()).toBe(false); // the waiter consumed the token it waited for
  });

  it("serves waiting callers in the order they called, one refill interval apart", async () => {
    const clock = new RecordingClock();
    const bucket = new TokenBucket(size(1, 1), clock);
    const served: string[] = [];
    const start = clock.now();
    const waiters = ["a", "b", "c", "d"].map((name) =>
      bucket.take().then(() => served.push(`${name}@${clock.now() - start}`)),
    );
    await settle();
    expect(served).toEqual(["a@0"]);
    for (let second = 1; second <= 3; second++) {
      clock.advance(500);
      await settle();
      expect(served).toHaveLength(second);
      clock.advance(500);
      await settle();
      expect(served).toHaveLength(second + 1);
    }
    await Promise.all(waiters);
    expect(served).toEqual(["a@0", "b@1000", "c@2000", "d@3000"]);
    expect(clock.sleeps).toEqual([1000, 1000, 1000]);
  });

  it("sleeps at least 1 ms even when the wait rounds to almost nothing", async () => {
    const clock = new RecordingClock();
    const bucket = new TokenBucket(size(1, 10_000), clock); // a token per 0.1 ms
    drain(bucket);
    const taken = bucket.take();
    await settle();
    expect(clock.sleeps).toEqual([1]);
    clock.advance(1);
    await taken;
  });

  it("a tryTake while someone waits gets no share of the partial token", async () => {
    const clock = new RecordingClock();
    const bucket = new TokenBucket(size(1, 1), clock);
    drain(bucket);
    let done = false;
    const taken = bucket.take().then(() => {
      done = true;
    });
    await settle();
    clock.advance(400);
    // Someone else (a tryTake caller) gets nothing either: 0.4 tokens.
    expect(bucket.tryTake()).toBe(false);
    clock.advance(600);
    await taken;
    expect(done).toBe(true);
    expect(bucket.tryTake()).toBe(false);
  });
});

describe("EC2_BUCKETS: EC2's published bucket sizes", () => {
  it("are these literal numbers", () => {
    expect(EC2_BUCKETS).toEqual({
      describe: { capacity: 100, refillPerSecond: 20 },
      mutate: { capacity: 50, refillPerSecond: 5 },
      copyImage: { capacity: 100, refillPerSecond: 1 },
      tags: { capacity: 100, refillPerSecond: 10 },
      deregister: { capacity: 100, refillPerSecond: 5 },
      runInstances: { capacity: 5, refillPerSecond: 2 },
    });
  });
});
