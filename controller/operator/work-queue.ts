// A keyed, de-duplicated work queue in the manner of client-go's workqueue: a key waits at most once; a key
// being processed that is added again is processed once more after `done`, never concurrently; failures are
// requeued with a per-key exponential backoff (capped), and `addAfter` schedules a key for later.
import type { Clock } from "../cloud/clock.ts";

export interface WorkQueueOptions {
  /** Timers for delayed adds (wall time by default; tests inject a fast clock). */
  clock: Clock;
  /** First retry delay of a failing key (default 1 s), doubled per failure… */
  baseDelayMs?: number;
  /** …up to this (default 5 minutes). */
  maxDelayMs?: number;
}

export class WorkQueue {
  private readonly queue: string[] = [];
  /** Keys waiting to be processed (in `queue`, or added again while processing). */
  private readonly dirty = new Set<string>();
  private readonly processing = new Set<string>();
  private readonly failures = new Map<string, number>();
  /** Delayed adds, by key: the earliest wins. */
  private readonly delayed = new Map<string, { at: number; abort: AbortController }>();
  private readonly waiters: ((key: string | undefined) => void)[] = [];
  private shutDown = false;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;

  private readonly options: WorkQueueOptions;

  constructor(options: WorkQueueOptions) {
    this.options = options;
    this.baseDelayMs = options.baseDelayMs ?? 1_000;
    this.maxDelayMs = options.maxDelayMs ?? 5 * 60_000;
  }

  add(key: string): void {
    if (this.shutDown || this.dirty.has(key)) return;
    this.dirty.add(key);
    if (this.processing.has(key)) return;
    const waiter = this.waiters.shift();
    if (waiter) {
      this.dirty.delete(key);
      this.processing.add(key);
      waiter(key);
      return;
    }
    this.queue.push(key);
  }

  /** Adds `key` after `ms` (clock time); an earlier pending add for the key is kept. */
  addAfter(key: string, ms: number): void {
    if (this.shutDown) return;
    if (ms <= 0) {
      this.add(key);
      return;
    }
    const at = this.options.clock.now() + ms;
    const pending = this.delayed.get(key);
    if (pending && pending.at <= at) return;
    pending?.abort.abort();
    const abort = new AbortController();
    this.delayed.set(key, { at, abort });
    void this.options.clock.sleep(ms, abort.signal).then(() => {
      if (abort.signal.aborted) return;
      this.delayed.delete(key);
      this.add(key);
    });
  }

  /** Requeues a key that failed, after its backoff: base × 2^(failures-1), capped. */
  addRateLimited(key: string): number {
    const failures = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, failures);
    const delay = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (failures - 1));
    this.addAfter(key, delay);
    return delay;
  }

  /** The key succeeded: its backoff starts again from the base delay. */
  forget(key: string): void {
    this.failures.delete(key);
  }

  failuresOf(key: string): number {
    return this.failures.get(key) ?? 0;
  }

  /** The next key (marked processing), waiting for one; undefined once the queue is shut down. */
  get(): Promise<string | undefined> {
    if (this.shutDown) return Promise.resolve(undefined);
    const key = this.queue.shift();
    if (key !== undefined) {
      this.dirty.delete(key);
      this.processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Every key waiting now, without waiting (each marked processing). */
  drain(): string[] {
    const keys = this.queue.splice(0);
    for (const key of keys) {
      this.dirty.delete(key);
      this.processing.add(key);
    }
    return keys;
  }

  /** Processing of `key` ended: if it was added meanwhile, it waits again. */
  done(key: string): void {
    this.processing.delete(key);
    if (this.dirty.has(key)) {
      this.dirty.delete(key);
      this.add(key);
    }
  }

  get length(): number {
    return this.queue.length;
  }

  isProcessing(key: string): boolean {
    return this.processing.has(key);
  }

  shutdown(): void {
    this.shutDown = true;
    for (const { abort } of this.delayed.values()) abort.abort();
    this.delayed.clear();
    for (const waiter of this.waiters.splice(0)) waiter(undefined);
  }
}
