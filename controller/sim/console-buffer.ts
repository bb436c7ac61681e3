// The console as EC2 serves it (awkward `console`). GetConsoleOutput answers the output EC2 last *posted*,
// not the live console: it posts "shortly after an instance transition state" (here: to running, stopped or
// terminated) after a lag drawn when the transition is scheduled, of up to `consoleLagMs`, keeps it "for at least
// one hour after the most recent post" (`consoleRetentionMs`, then no Output at all) and only "the most recent
// 64 KB". `Latest=true` reads the live serial console, "supported on instance types that use the Nitro
// hypervisor"; Xen instance types refuse it.
import type { RequestContext } from "./context.ts";
import { SimError } from "./errors.ts";
import type { SimInstanceState, TimelineEntry } from "./world.ts";

/** GetConsoleOutput: "Only the most recent 64 KB of console output is available." */
export const CONSOLE_OUTPUT_LIMIT = 64 * 1024;

/**
 * Instance families on the Xen hypervisor (the previous generations and t2, m4, c4, r4, x1, x1e, d2, h1, i3,
 * g3, p2, p3, f1); every other family, including all those released since 2017 (t3, t3a, t4g, m5, c5, r5,
 * m6i, m7g …), is built on the Nitro System. i3.metal is the one Xen family member on Nitro.
 */
const XEN_FAMILIES: ReadonlySet<string> = new Set([
  ...["t1", "t2", "m1", "m2", "m3", "m4", "c1", "c3", "c4", "cc1", "cc2", "cg1", "cr1", "hi1", "hs1"],
  ...["r3", "r4", "x1", "x1e", "d2", "h1", "i2", "i3", "g2", "g3", "g3s", "p2", "p3", "f1"],
]);
const NITRO_EXCEPTIONS: ReadonlySet<string> = new Set(["i3.metal"]);

export function isNitroInstanceType(instanceType: string): boolean {
  if (NITRO_EXCEPTIONS.has(instanceType)) return true;
  return !XEN_FAMILIES.has(instanceType.slice(0, instanceType.indexOf(".")));
}

/** The simulator's wording: EC2's code for a request the instance type cannot serve; AWS does not document the message. */
export function latestUnsupported(instanceType: string): SimError {
  return new SimError(
    "UnsupportedOperation",
    `The instance type ${instanceType} does not support retrieving the latest console output. Latest console output is supported on instance types built on the Nitro System.`,
  );
}

const POSTING_STATES: ReadonlySet<SimInstanceState> = new Set(["running", "stopped", "terminated"]);

/** Draws the post lag of every scheduled transition that posts and has none yet. */
export function schedulePosts(ctx: RequestContext, timeline: TimelineEntry<SimInstanceState>[]): void {
  if (!ctx.awkward.console) return;
  for (const entry of timeline) {
    if (POSTING_STATES.has(entry.state) && entry.postLag === undefined) {
      entry.postLag = Math.floor(ctx.random() * (ctx.awkward.consoleLagMs + 1));
    }
  }
}

/** When EC2 last posted the console, at or before `now`; undefined before the first post. */
export function lastPostAt(
  timeline: readonly TimelineEntry<SimInstanceState>[],
  now: number,
): number | undefined {
  let last: number | undefined;
  for (const entry of timeline) {
    if (!POSTING_STATES.has(entry.state)) continue;
    const at = entry.at + (entry.postLag ?? 0);
    if (at <= now && (last === undefined || at > last)) last = at;
  }
  return last;
}

/** The last 64 KB of the console, as bytes. */
export function capConsoleOutput(text: string): Buffer {
  const bytes = Buffer.from(text, "utf8");
  return bytes.length <= CONSOLE_OUTPUT_LIMIT ? bytes : bytes.subarray(bytes.length - CONSOLE_OUTPUT_LIMIT);
}
