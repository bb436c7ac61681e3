import { describe, expect, it } from "vitest";
import { WorkQueue } from "../../controller/operator/work-queue.ts";
import { ManualClock } from "../../controller/sim/manual-clock.ts";

const settle = () => new Promise<void>((resolve) => setImmediate(resolve));

describe("WorkQueue", () => {
  it("keeps a key once however often it is added", async () => {
    const q = new WorkQueue({ clock: new ManualClock(0) });
    q.add("a");
    q.add("b");
    q.add("a");
    expect(q.length).toBe(2);
    expect(await q.get()).toBe("a");
    expect(await q.get()).toBe("b");
    expect(q.length).toBe(0);
  });

  it("processes a key re-added while it is processed once more after done, never concurrently", async () => {
    const q = new WorkQueue({ clock: new ManualClock(0) });
    q.add("a");
    const key = await q.get();
    q.add("a");
    q.add("a");
    expect(q.length).toBe(0);
    expect(q.drain()).toEqual([]);
    q.done(key!);
    expect(q.length).toBe(1);
    expect(await q.get()).toBe("a");
    q.done("a");
    expect(q.length).toBe(0);
  });

  it("hands a key to a waiting get at once", async () => {
    const q = new WorkQueue({ clock: new ManualClock(0) });
    const waiting = q.get();
    q.add("x");
    expect(await waiting).toBe("x");
    expect(q.isProcessing("x")).toBe(true);
  });

  it("requeues a failing key with a doubling backoff up to the maximum, and forgets it on success", async () => {
    const clock = new ManualClock(0);
    const q = new WorkQueue({ clock, baseDelayMs: 1_000, maxDelayMs: 5_000 });
    expect([1, 2, 3, 4, 5].map(() => q.addRateLimited("a"))).toEqual([1_000, 2_000, 4_000, 5_000, 5_000]);
    // The earliest delayed add wins: a at 1 s.
    clock.advance(999);
    await settle();
    expect(q.length).toBe(0);
    clock.advance(1);
    await settle();
    expect(q.length).toBe(1);
    q.forget("a");
    expect(q.failuresOf("a")).toBe(0);
    expect(q.addRateLimited("a")).toBe(1_000);
  });

  it("ends waiting gets with undefined on shutdown and drops delayed adds", async () => {
    const clock = new ManualClock(0);
    const q = new WorkQueue({ clock });
    q.addAfter("later", 1_000);
    const waiting = q.get();
    q.shutdown();
    expect(await waiting).toBeUndefined();
    clock.advance(2_000);
    await settle();
    expect(q.length).toBe(0);
  });
});
