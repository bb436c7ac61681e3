// The rebuild window a spec's scheduled rebake is in. A window is fixed by the schedule and the clock alone —
// never by what was baked or when a controller ran — so every controller, before or after a kill -9, agrees
// on it: the window's start (its epoch) is part of the build id, and one window makes one build however many
// controllers plan it, and however many windows a stopped controller slept through (it bakes the current
// window's build only).
import { parseDuration } from "../validation/durations.ts";
import { nextFire, parseCron, previousFire } from "./cron.ts";

/** spec.rebuild: every DURATION (windows aligned to 1970-01-01T00:00Z), or a cron schedule in a time zone. */
export type RebuildSchedule = { every: string } | { cron: string; timezone?: string };

export interface RebuildWindow {
  /** The window's start as UTC ISO 8601 to the minute, e.g. 2026-11-30T02:00Z: part of the build id. */
  epoch: string;
  startsAt: number;
  /** When the next window starts: the next scheduled rebake. */
  nextAt: number;
  /** In words, for plan and status: "every 14d", "cron 0 3 * * MON (Europe/Warsaw)". */
  schedule: string;
}

/** Words for a schedule, as plan shows it. */
export function scheduleText(schedule: RebuildSchedule): string {
  if ("every" in schedule) return `every ${schedule.every}`;
  return `cron ${schedule.cron}${schedule.timezone ? ` (${schedule.timezone})` : " (UTC)"}`;
}

function minuteIso(ms: number): string {
  return `${new Date(ms).toISOString().slice(0, 16)}Z`;
}

/**
 * The window `now` is in; undefined when the schedule has no fire within 8 years before or after (a cron
 * day that never comes, e.g. 30 February) — validation refuses those.
 */
export function rebuildWindow(schedule: RebuildSchedule, now: number): RebuildWindow | undefined {
  const text = scheduleText(schedule);
  if ("every" in schedule) {
    const period = parseDuration(schedule.every);
    const startsAt = Math.floor(now / period) * period;
    return { epoch: minuteIso(startsAt), startsAt, nextAt: startsAt + period, schedule: text };
  }
  const cron = parseCron(schedule.cron);
  const zone = schedule.timezone ?? "UTC";
  const startsAt = previousFire(cron, zone, now);
  const nextAt = nextFire(cron, zone, now);
  if (startsAt === undefined || nextAt === undefined) return undefined;
  return { epoch: minuteIso(startsAt), startsAt, nextAt, schedule: text };
}
