import type { Clock } from "../cloud/clock.ts";

/** A clock that moves only when told to: tests advance it and the simulator's lazy state follows. */
export class ManualClock implements Clock {
  private current: number;
  private sleepers: { until: number; resolve: () => void }[] = [];

  constructor(start: number | Date = Date.UTC(2026, 0, 1)) {
    this.current = typeof start === "number" ? start : start.getTime();
  }

  now(): number {
    return this.current;
  }

  /** Resolves when the clock has been advanced past `ms` from now, or once `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void> {
    if (ms <= 0 || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const sleeper = { until: this.current + ms, resolve };
      this.sleepers.push(sleeper);
      signal?.addEventListener(
        "abort",
        () => {
          this.sleepers = this.sleepers.filter((s) => s !== sleeper);
          resolve();
        },
        { once: true },
      );
    });
  }

  advance(ms: number): void {
    this.set(this.current + ms);
  }

  set(time: number): void {
    if (time < this.current)
      throw new Error(`ManualClock cannot go backwards (from ${this.current} to ${time}).`);
    this.current = time;
    const due = this.sleepers.filter((s) => s.until <= time);
    this.sleepers = this.sleepers.filter((s) => s.until > time);
    for (const sleeper of due) sleeper.resolve();
  }
}
