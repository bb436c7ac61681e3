// How long a stopped bake or check instance may show no result marker on its console. EC2 posts the
// buffered console output some minutes after a state change (GetConsoleOutput Latest, on Nitro types, reads
// it at once), so a stopped instance without a marker is given `bake.consoleGrace` from the moment it
// stopped — not from its launch: `bake.timeout` bounds only the running phase. The stop time is EC2's when its
// StateTransitionReason carries one, else the leaven.dev/stopped-at tag the planner writes the first pass it
// sees the instance stopped (level-based: a restart keeps counting from there).
import { Tag } from "../api/tags.ts";
import type { ImageSpec } from "../api/types.generated.ts";
import type { CloudInstance, Tags } from "../cloud/port.ts";
import { parseDuration } from "../validation/durations.ts";
import type { TagInstanceAction } from "./actions.ts";

export const DEFAULT_CONSOLE_GRACE = "20m";

/** When the instance stopped (ms), as far as EC2 or an earlier pass recorded it. */
export function stopTime(instance: CloudInstance): number | undefined {
  for (const text of [instance.stoppedAt, instance.tags[Tag.stoppedAt]]) {
    const time = text === undefined ? Number.NaN : Date.parse(text);
    if (!Number.isNaN(time)) return time;
  }
  return undefined;
}

export interface ConsoleGrace {
  /** The grace has not run out: keep waiting for the marker. */
  waiting: boolean;
  /** For the status, e.g. "stopped 3m ago; waiting up to 20m". */
  progress: string;
  /** The grace as written, e.g. "20m". */
  grace: string;
  /** Tags that record the stop time, when nothing recorded it before this pass. */
  record?: Tags;
}

function ago(ms: number): string {
  return ms >= 60_000 ? `${Math.floor(ms / 60_000)}m` : `${Math.max(0, Math.floor(ms / 1000))}s`;
}

/** Where a stopped instance without a console marker stands in its grace. */
export function consoleGrace(doc: ImageSpec, instance: CloudInstance, now: number): ConsoleGrace {
  const grace = doc.spec.bake?.consoleGrace ?? DEFAULT_CONSOLE_GRACE;
  const stopped = stopTime(instance);
  if (stopped === undefined)
    return {
      waiting: true,
      progress: `stopped just now; waiting up to ${grace}`,
      grace,
      record: { [Tag.stoppedAt]: new Date(now).toISOString() },
    };
  const since = now - stopped;
  return {
    waiting: since <= parseDuration(grace),
    progress: `stopped ${ago(since)} ago; waiting up to ${grace}`,
    grace,
  };
}

/** Tags a bake or check instance: its verdict the moment it is read, or when it was first seen stopped. */
export function tagInstance(
  target: { spec: string; build: string; region: string; instanceId: string },
  tags: Tags,
  reason: string,
): TagInstanceAction {
  return { kind: "tag-instance", ...target, tags, reason };
}
