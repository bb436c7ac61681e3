// The files beside a simulator's state file: the temp files of its atomic writes, and the clock file that
// a running simulator rewrites every second, so that a restart after a kill -9 knows how far the clock got.
import { readdirSync, readFileSync, renameSync, statSync, unlinkSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

/** Where the simulated clock stood at a wall-clock moment, and how fast it ran: enough to continue it. */
export interface ClockAnchor {
  /** Simulated epoch ms. */
  clockNow: number;
  /** Wall-clock epoch ms when `clockNow` was read. */
  savedAt: number;
  /** Simulated ms per wall ms. */
  speed: number;
}

/** The clock file of a state file: tiny, so rewriting it every second costs nothing however big the world is. */
export function clockFileOf(statePath: string): string {
  return `${statePath}.clock`;
}

/** A writer's temp file: the pid keeps two live writers apart and tells a dead writer's leftovers. */
export function tempFileOf(path: string): string {
  return `${path}.${process.pid}.tmp`;
}

/** Writes `text` to `path` through a temp file and a rename, so a kill -9 leaves the old file or the new one. */
export function writeAtomically(path: string, text: string): void {
  const temp = tempFileOf(path);
  writeFileSync(temp, text);
  renameSync(temp, path);
}

export function writeClockFile(statePath: string, anchor: ClockAnchor): void {
  writeAtomically(clockFileOf(statePath), JSON.stringify({ format: "leaven-sim-clock/v1", ...anchor }));
}

/** The clock file's anchor; undefined when there is none or it is unreadable (the state file's anchor serves). */
export function readClockFile(statePath: string): ClockAnchor | undefined {
  let parsed: Partial<ClockAnchor> & { format?: string };
  try {
    parsed = JSON.parse(readFileSync(clockFileOf(statePath), "utf8")) as typeof parsed;
  } catch {
    return undefined;
  }
  const { clockNow, savedAt, speed } = parsed;
  if (parsed.format !== "leaven-sim-clock/v1") return undefined;
  if (![clockNow, savedAt, speed].every((n) => typeof n === "number" && Number.isFinite(n))) return undefined;
  return { clockNow: clockNow!, savedAt: savedAt!, speed: speed! };
}

/**
 * The simulated time to resume from. `runsWhileStopped`: the clock went on at its speed while no simulator
 * ran (clients of a standalone simulator keep their copy of it running), else it stood still. Never before
 * an anchor's time, even when the wall clock was set back meanwhile.
 */
export function resumeTime(
  anchors: readonly (ClockAnchor | undefined)[],
  wallNow: number,
  runsWhileStopped: boolean,
): number | undefined {
  let resume: number | undefined;
  for (const anchor of anchors) {
    if (!anchor) continue;
    const elapsed = runsWhileStopped ? Math.max(0, wallNow - anchor.savedAt) * anchor.speed : 0;
    resume = Math.max(resume ?? Number.NEGATIVE_INFINITY, anchor.clockNow + elapsed);
  }
  return resume;
}

function alive(pid: number): boolean {
  if (pid === process.pid) return false; // a leftover of an earlier process that had our pid
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: the process exists but is someone else's.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * Deletes the temp files of the state file and its clock file that writers killed mid-write left behind
 * (a kill -9 during a write of a large world leaves a partial copy per pid). Live writers' files are kept.
 */
export function removeStaleTempFiles(statePath: string): { files: string[]; bytes: number } {
  const dir = dirname(statePath);
  const name = basename(statePath);
  let entries: string[];
  try {
    entries = readdirSync(dir);
  } catch {
    return { files: [], bytes: 0 };
  }
  const removed: string[] = [];
  let bytes = 0;
  for (const entry of entries) {
    if (!entry.startsWith(`${name}.`) || !entry.endsWith(".tmp")) continue;
    const match = /^(?:\.clock)?\.(\d+)\.tmp$/.exec(entry.slice(name.length));
    if (!match || alive(Number(match[1]))) continue;
    const path = join(dir, entry);
    try {
      bytes += statSync(path).size;
      unlinkSync(path);
      removed.push(path);
    } catch {
      // Gone already (another simulator starting on the same state cleaned it).
    }
  }
  return { files: removed, bytes };
}
