// The simulator's clock across restarts, and the temp files killed writers leave beside its state.
import { spawnSync } from "node:child_process";
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { CLOCK_PATH } from "../../controller/sim/clock-path.ts";
import { startSimulator } from "../../controller/sim/server.ts";
import {
  type ClockAnchor,
  clockFileOf,
  readClockFile,
  removeStaleTempFiles,
  resumeTime,
} from "../../controller/sim/state-files.ts";
import { tempDir } from "../support/temp-dir.ts";

const HOUR = 3_600_000;
const T = Date.UTC(2026, 10, 21, 12, 0, 0);

describe("resumeTime", () => {
  const at = (clockNow: number, savedAt: number, speed: number): ClockAnchor => ({
    clockNow,
    savedAt,
    speed,
  });
  it.each([
    ["no anchors: a fresh clock", [], T, true, undefined],
    ["stopped clock: the saved time", [at(T, 1000, 60)], 61_000, false, T],
    ["running clock: 60 s of wall at 60x since the save", [at(T, 1000, 60)], 61_000, true, T + HOUR],
    [
      "the later of two anchors (the clock file's tick)",
      [at(T, 1000, 60), at(T + 600_000, 11_000, 60)],
      11_000,
      false,
      T + 600_000,
    ],
    [
      "the later one after continuing each",
      [at(T, 0, 600), at(T + 1000, 10_000, 1)],
      10_000,
      true,
      T + 6_000_000,
    ],
    ["a wall clock set back never sets the clock back", [at(T, 50_000, 60)], 10_000, true, T],
    ["an old state file without wall time or speed", [at(T, 10_000, 0)], 99_000, true, T],
    ["an absent clock file", [at(T, 1000, 60), undefined], 1000, true, T],
  ] as const)("%s", (_name, anchors, wallNow, runs, expected) => {
    expect(resumeTime(anchors, wallNow, runs)).toBe(expected);
  });
});

/** The pid of a process that has exited: a writer that was killed. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ["-e", "process.stdout.write(String(process.pid))"]);
  return Number(child.stdout.toString());
}

describe("temp files of the state file", () => {
  it("deletes the partial writes of dead writers, and nothing else", () => {
    const dir = tempDir("leaven-sim-temp-");
    const state = join(dir, "state.json");
    const dead = deadPid();
    writeFileSync(join(dir, `state.json.${dead}.tmp`), "x".repeat(2_000_000));
    writeFileSync(join(dir, `state.json.clock.${dead}.tmp`), "{}");
    writeFileSync(join(dir, `state.json.${process.pid}.tmp`), "{"); // an earlier process that had our pid
    // A live writer's (the test runner's parent) and other files are left alone.
    writeFileSync(join(dir, `state.json.${process.ppid}.tmp`), "{");
    writeFileSync(join(dir, `other.json.${dead}.tmp`), "{");
    writeFileSync(join(dir, "state.json.backup.tmp"), "{");
    writeFileSync(state, "{}");
    const removed = removeStaleTempFiles(state);
    expect(removed.files.map((f) => f.slice(dir.length + 1)).sort()).toEqual(
      [`state.json.${dead}.tmp`, `state.json.${process.pid}.tmp`, `state.json.clock.${dead}.tmp`].sort(),
    );
    expect(removed.bytes).toBe(2_000_003);
    expect(readdirSync(dir).sort()).toEqual(
      [
        "other.json." + dead + ".tmp",
        "state.json",
        `state.json.${process.ppid}.tmp`,
        "state.json.backup.tmp",
      ].sort(),
    );
  });

  it("are cleaned when a simulator starts on the state file", async () => {
    const dir = tempDir("leaven-sim-temp-");
    const state = join(dir, "state.json");
    const leftover = join(dir, `state.json.${deadPid()}.tmp`);
    writeFileSync(leftover, '{"format":"leaven-sim/v1","clo');
    const sim = await startSimulator({ statePath: state, speed: 60, clockRunsWhileStopped: true });
    try {
      expect(existsSync(leftover)).toBe(false);
      expect(sim.removedTempFiles).toEqual({ files: [leftover], bytes: 30 });
    } finally {
      await sim.close();
    }
    expect(readdirSync(dir).sort()).toEqual(["state.json", "state.json.clock"]);
  });
});

describe("the clock across restarts", () => {
  it("keeps running when its state folder is removed under it (the tick skips the note)", async () => {
    const dir = tempDir("leaven-sim-clock-");
    const state = join(dir, "nested", "state.json");
    const sim = await startSimulator({ statePath: state, speed: 60, clockRunsWhileStopped: true });
    try {
      rmSync(join(dir, "nested"), { recursive: true });
      await new Promise((resolve) => setTimeout(resolve, 1300));
      expect(existsSync(clockFileOf(state))).toBe(false);
      const response = await fetch(new URL(CLOCK_PATH, sim.endpoint));
      expect(response.status).toBe(200);
    } finally {
      await sim.close();
    }
    // Closing saves again, folder and all.
    expect(readClockFile(state)?.speed).toBe(60);
  });

  it("resumes from the clock file's tick when it is later than the last change", async () => {
    const dir = tempDir("leaven-sim-clock-");
    const state = join(dir, "state.json");
    const first = await startSimulator({ statePath: state, speed: 60 });
    const savedWorld = JSON.parse(readFileSync(state, "utf8")) as { clockNow: number; savedAt: number };
    await first.close();
    // As after a kill -9: the world was last saved at a change, the clock noted an hour later.
    writeFileSync(
      clockFileOf(state),
      JSON.stringify({
        format: "leaven-sim-clock/v1",
        clockNow: savedWorld.clockNow + HOUR,
        savedAt: Date.now(),
        speed: 60,
      }),
    );
    writeFileSync(
      state,
      JSON.stringify({ ...JSON.parse(readFileSync(state, "utf8")), clockNow: savedWorld.clockNow }),
    );
    const second = await startSimulator({ statePath: state, speed: 60 });
    try {
      expect(second.clock.now()).toBeGreaterThanOrEqual(savedWorld.clockNow + HOUR);
      expect(second.clock.now()).toBeLessThan(savedWorld.clockNow + HOUR + 10 * 60_000);
    } finally {
      await second.close();
    }
  });

  it("continues at the saved speed across the stop when the clock runs while stopped", async () => {
    const dir = tempDir("leaven-sim-clock-");
    const state = join(dir, "state.json");
    const first = await startSimulator({ statePath: state, speed: 60, clockRunsWhileStopped: true });
    await first.close();
    const saved = readClockFile(state)!;
    expect(saved.speed).toBe(60);
    // Stopped for a minute of wall time (written as if saved a minute ago).
    for (const path of [state, clockFileOf(state)]) {
      const data = JSON.parse(readFileSync(path, "utf8")) as ClockAnchor;
      writeFileSync(path, JSON.stringify({ ...data, savedAt: data.savedAt - 60_000 }));
    }
    const stopped = await startSimulator({ statePath: state, speed: 600 });
    const stoppedAt = stopped.clock.now();
    await stopped.close();
    expect(stoppedAt - saved.clockNow).toBeLessThan(60_000); // stood still: under a wall second at 60x
    // Stopped for another minute. The clock file is older than that run's save now (the embedded
    // simulator keeps none), so the state file's time is the one continued.
    const data = JSON.parse(readFileSync(state, "utf8")) as ClockAnchor;
    writeFileSync(state, JSON.stringify({ ...data, savedAt: data.savedAt - 60_000 }));
    const running = await startSimulator({ statePath: state, speed: 1, clockRunsWhileStopped: true });
    try {
      // The minute ran at the speed of the run that stopped (600x): ten simulated hours.
      expect(running.clock.now() - stoppedAt).toBeGreaterThanOrEqual(10 * HOUR);
      expect(running.clock.now() - stoppedAt).toBeLessThan(10 * HOUR + 60_000);
    } finally {
      await running.close();
    }
  });
});
