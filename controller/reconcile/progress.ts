// No busy loops, by construction. An action that succeeded and is planned again, unchanged, on the next
// pass means the world did not change the way the action promised (a write that did not stick, a state
// Leaven cannot change, an EC2 look-alike that answers "done" and does nothing). Repeating it at once would
// spin for ever; instead each repeat waits twice as long as the last, and after a few the spec stalls with
// the reason, until the action is no longer planned or asks for something else.
import { type Action, actionKey } from "../plan/actions.ts";
import { canonicalJson } from "../plan/recipe.ts";

const TIMESTAMP = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z/g;

/**
 * Everything an action asks EC2 for. Its reason is prose, and the timestamps it records (channel-since,
 * stage dates) say when, not what: neither may make a repeat of the same request look new.
 */
export function fingerprintOf(action: Action): string {
  return canonicalJson({ ...action, reason: undefined }).replace(TIMESTAMP, "<time>");
}

/** Repeats of a succeeded action allowed before its spec stalls: a handful, never hundreds. */
export const MAX_REPEATS = 3;
/** The wait before the first repeat (clock time); each further repeat waits twice as long. */
export const FIRST_BACKOFF_MS = 5_000;

interface Succeeded {
  fingerprint: string;
  /** How often it was run again after first succeeding. */
  repeats: number;
  /** Not run again before this (clock time). */
  notBefore: number;
}

export type Verdict = { run: true } | { run: false; until: number } | { run: false; stalled: string };

export class ProgressTracker {
  private readonly succeeded = new Map<string, Succeeded>();

  /** Whether a planned action runs now, waits (backing off) or has stalled its spec. */
  judge(action: Action, now: number): Verdict {
    const entry = this.succeeded.get(actionKey(action));
    if (!entry || entry.fingerprint !== fingerprintOf(action)) return { run: true };
    if (entry.repeats >= MAX_REPEATS)
      return {
        run: false,
        stalled: `no progress: ${action.kind} ${actionKey(action)} keeps being needed after succeeding ${entry.repeats + 1} times: the next pass still observes what it was to change (${action.reason})`,
      };
    if (now < entry.notBefore) return { run: false, until: entry.notBefore };
    return { run: true };
  }

  /** Records an action that succeeded now. */
  succeededAt(action: Action, now: number): void {
    const key = actionKey(action);
    const fingerprint = fingerprintOf(action);
    const previous = this.succeeded.get(key);
    const repeats = previous?.fingerprint === fingerprint ? previous.repeats + 1 : 0;
    this.succeeded.set(key, { fingerprint, repeats, notBefore: now + FIRST_BACKOFF_MS * 2 ** repeats });
  }

  /** When a held-back action may run again (now when it is not held back). */
  notBefore(action: Action): number {
    return this.succeeded.get(actionKey(action))?.notBefore ?? 0;
  }

  /** Forgets every action the latest plan no longer contains: it made its progress. */
  keepOnly(planned: readonly Action[]): void {
    const keys = new Set(planned.map(actionKey));
    for (const key of this.succeeded.keys()) if (!keys.has(key)) this.succeeded.delete(key);
  }
}
