// The controller's view of the simulator, as the CLI wires it: the real AWS adapter over loopback HTTP,
// pacing its requests with the client-side rate limiter, with one ManualClock driving the simulator, the adapter's
// retries and the rate limiter — so a test moves time explicitly and never sleeps on the wall clock.
import { type AwsCloud, createAwsCloud } from "../../controller/cloud/aws-adapter.ts";
import type { CloudPort } from "../../controller/cloud/port.ts";
import { RegionRateLimiter } from "../../controller/cloud/region-rate-limiter.ts";
import { type PassResult, type Reconciler, settled } from "../../controller/reconcile/reconciler.ts";
import { ManualClock } from "../../controller/sim/manual-clock.ts";
import { type Simulator, type SimulatorOptions, startSimulator } from "../../controller/sim/server.ts";
import type { ValidationResult } from "../../controller/validation/result.ts";

export const SIM_START = Date.UTC(2026, 5, 1, 12, 0, 0);
export const MINUTE = 60_000;

/** Bakes and copies in seconds rather than minutes: for tests that run whole histories of passes. */
export const FAST_TIMINGS = {
  instancePending: 1_000,
  bakeScript: 10_000,
  instanceStopping: 1_000,
  instanceShuttingDown: 1_000,
  imagePending: 5_000,
  copyPending: 10_000,
};

/** Retries, backoffs and the rate limiter sleep on the manual clock: this makes them move it, not wait. */
export function advanceOnSleep(clock: ManualClock): void {
  const sleep = clock.sleep.bind(clock);
  clock.sleep = async (ms: number) => {
    clock.advance(ms);
    await sleep(0);
  };
}

export interface SimCloud {
  sim: Simulator;
  clock: SleepTrackingClock;
  /** The adapter underneath, with its per-region, per-action request counts. */
  adapter: AwsCloud;
  /** What the observer and the executor are given. */
  cloud: CloudPort;
  close(): Promise<void>;
}

export async function startSimCloud(options: Omit<SimulatorOptions, "clock"> = {}): Promise<SimCloud> {
  const clock = new SleepTrackingClock(SIM_START);
  // The simulator's own token buckets are off: the client-side limiter is what these tests exercise.
  const sim = await startSimulator({ throttle: false, ...options, clock });
  const adapter = createAwsCloud({
    endpoint: sim.endpoint,
    credentials: { accessKeyId: "AKIDLEAVENSIM", secretAccessKey: "leaven-sim" },
    clock,
    limiter: new RegionRateLimiter(clock),
  });
  return {
    sim,
    clock,
    adapter,
    cloud: adapter,
    close: async () => {
      adapter.close();
      await sim.close();
    },
  };
}

/** Requests the adapter sent for one region and action (0 when none). */
export function requestsOf(adapter: AwsCloud, region: string, action: string): number {
  return adapter.stats().byRegion[region]?.byAction[action]?.requests ?? 0;
}

/** Every (region, action) the adapter sent requests for, as `region Action` → count, for exact asserts. */
export function requestTable(adapter: AwsCloud): Record<string, number> {
  const table: Record<string, number> = {};
  for (const [region, stats] of Object.entries(adapter.stats().byRegion)) {
    for (const [action, counts] of Object.entries(stats.byAction))
      table[`${region} ${action}`] = counts.requests;
  }
  return table;
}

/** A ManualClock that knows when its sleepers wake, so a test can move it exactly that far. */
export class SleepTrackingClock extends ManualClock {
  private readonly wakes: number[] = [];

  override sleep(ms: number): Promise<void> {
    if (ms <= 0) return Promise.resolve();
    const until = this.now() + ms;
    this.wakes.push(until);
    return super.sleep(ms).finally(() => {
      this.wakes.splice(this.wakes.indexOf(until), 1);
    });
  }

  /** The earliest time a sleeper waits for that has not come yet. */
  nextWake(): number | undefined {
    const ahead = this.wakes.filter((at) => at > this.now());
    return ahead.length > 0 ? Math.min(...ahead) : undefined;
  }
}

/**
 * Awaits `work`, moving the clock to the next sleeper's wake-up whenever something sleeps on it, so that
 * retries that back off on the clock (EC2's eventual-consistency errors) run to their end in a test.
 */
export async function whileTicking<T>(clock: SleepTrackingClock, work: Promise<T>): Promise<T> {
  let done = false;
  const settled = work.finally(() => {
    done = true;
  });
  while (!done) {
    await new Promise<void>((resolve) => setImmediate(resolve));
    const wake = clock.nextWake();
    if (!done && wake !== undefined) clock.set(wake);
  }
  return settled;
}

/** Passes a minute apart on the simulator's clock until the loop settles; throws after `maxPasses`. */
export async function untilSettled(
  t: Pick<SimCloud, "clock">,
  r: Reconciler,
  specs: ValidationResult,
  maxPasses = 40,
): Promise<PassResult> {
  for (let i = 0; i < maxPasses; i++) {
    t.clock.advance(MINUTE);
    const pass = await r.pass(specs);
    if (settled(pass)) return pass;
  }
  throw new Error(`not settled after ${maxPasses} passes`);
}
