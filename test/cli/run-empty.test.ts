// `leaven run --specs DIR` on a directory with no ImageSpec: the same warning as validate, plan and apply,
// at start and whenever the directory becomes empty; it keeps watching, plans nothing, and /readyz and
// /status say there is nothing to manage until a spec is added.
import { copyFileSync, mkdirSync, rmSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Simulator, startSimulator } from "../../controller/sim/server.ts";
import { repoRoot, waitFor } from "../support/cli-process.ts";
import { type RunProcess, startRun } from "../support/run-process.ts";
import { tempDir } from "../support/temp-dir.ts";

const warning =
  "warning: no ImageSpec in specs: it has no *.yaml or *.yml files (hidden directories and node_modules are skipped)";
const reason =
  "no ImageSpec in specs: it has no *.yaml or *.yml files (hidden directories and node_modules are skipped); nothing to reconcile until one is added";

let dir: string;
let sim: Simulator;
let run: RunProcess;

beforeAll(async () => {
  dir = tempDir("leaven-run-empty-");
  mkdirSync(join(dir, "specs"));
  sim = await startSimulator({ speed: 600, statePath: join(dir, "sim.json") });
  run = await startRun(dir, sim, ["--resync", "1h", "--debounce", "100"]);
}, 60_000);

afterAll(async () => {
  await run?.stop();
  await sim?.close();
});

describe("leaven run with no ImageSpec", () => {
  it("warns as plan does, keeps running, and is not ready", async () => {
    await waitFor(run.child.errors, (text) => text.includes(warning));
    expect(
      run.child
        .errors()
        .split("\n")
        .filter((line) => line.startsWith("warning:")),
    ).toEqual([warning]);
    const ready = await fetch(`${run.url}/readyz`);
    expect(ready.status).toBe(503);
    expect(await ready.text()).toBe(`not ok: ${reason}\n`);
    expect(await run.status()).toMatchObject({ passes: 0, inFlight: false, specs: [], warnings: [reason] });
    expect(run.child.child.exitCode).toBeNull();
    // The JSON log says it once too, for whoever reads the log rather than the terminal.
    expect(run.logs().filter((line) => line.level === "warn")).toEqual([
      expect.objectContaining({
        msg: "no ImageSpec to reconcile: waiting for one to be added",
        why: warning.replace(/^warning: /, ""),
      }),
    ]);
  });

  it("reconciles a spec added, and warns again when the directory is emptied", async () => {
    copyFileSync(join(repoRoot, "examples/foundations.yaml"), join(dir, "specs/foundations.yaml"));
    const status = await run.waitStatus((s) => s.passes > 0 && s.specs.length === 2, 30_000);
    expect(status.warnings).toBeUndefined();
    expect((await fetch(`${run.url}/readyz`)).status).toBe(200);
    rmSync(join(dir, "specs/foundations.yaml"));
    await run.waitStatus((s) => s.specs.length === 0 && (s.warnings?.length ?? 0) > 0, 30_000);
    expect(
      run.child
        .errors()
        .split("\n")
        .filter((line) => line.startsWith("warning:")),
    ).toEqual([warning, warning]);
    expect((await fetch(`${run.url}/readyz`)).status).toBe(503);
  });
});
