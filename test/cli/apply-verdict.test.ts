// apply's exit status and last line follow the same verdict as plan's (controller/status/verdict.ts).
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, scratchEstate } from "../support/cli-process.ts";
import { readWorld } from "../support/sim-world.ts";

const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const fast = (dir: string) => ["--sim-state", join(dir, "sim.json"), "--sim-speed", "600"];

/** The run's pass summary (above the line of request counts) and its last line, the verdict's headline. */
function ending(stdout: string): [string, string] {
  const lines = stdout.trimEnd().split("\n");
  return [lines.at(-3) ?? "", lines.at(-1) ?? ""];
}

describe("leaven apply's exit status and last line", () => {
  it("exits 1 naming the failed bake, 0 once a retry converges, and refuses a retry with nothing to retry", async () => {
    const dir = scratchEstate();
    const failed = await runCli(["apply", "specs", ...fast(dir), "--fault", "bake-fail=ledger"], dir);
    expect(failed.code).toBe(1);
    const [passes, headline] = ending(failed.stdout);
    expect(passes).toMatch(/^Stalled after \d+ passes in \S+ \(\S+ of simulated time\)\.$/);
    expect(headline).toBe("1 spec failed: ledger; on the embedded simulator — not AWS.");

    const retried = await runCli(["apply", "specs", ...fast(dir), "--retry", "ledger"], dir);
    expect(retried.code).toBe(0);
    const [converged, matched] = ending(retried.stdout);
    expect(converged).toMatch(/^Converged after \d+ passes in \S+ \(\S+ of simulated time\)\.$/);
    expect(matched).toBe("The images match the specs; on the embedded simulator — not AWS.");

    const again = await runCli(["apply", "specs", ...fast(dir), "--retry", "ledger"], dir);
    expect(again.code).toBe(1);
    expect(again.stdout).toBe("");
    expect(again.stderr.trimEnd().split("\n").at(-1)).toBe(
      "leaven apply: --retry ledger: ledger has no failed build to retry (its phase is Ready); --retry re-arms a spec whose phase is Failed",
    );
  });

  it("refuses --retry of an unknown spec before it starts anything", async () => {
    const dir = scratchEstate();
    const run = await runCli(["apply", "specs", ...fast(dir), "--retry", "paymnts"], dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(
      'leaven apply: --retry paymnts: there is no spec named "paymnts"; did you mean "payments"?\n',
    );
    expect(existsSync(join(dir, "sim.json"))).toBe(false);
  });

  it("refuses --retry of a spec that is baking, before it changes anything", async () => {
    const dir = scratchEstate();
    const run = await runCli(["apply", "specs", ...fast(dir), "--retry", "ubuntu-base"], dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr.trimEnd().split("\n").at(-1)).toBe(
      "leaven apply: --retry ubuntu-base: ubuntu-base has no failed build to retry (its phase is Baking); --retry re-arms a spec whose phase is Failed",
    );
    const world = existsSync(join(dir, "sim.json"))
      ? await readWorld(join(dir, "sim.json"), REGIONS)
      : { images: [], instances: [] };
    expect(world.instances).toEqual([]);
  });

  it("--once exits 0 with work in progress and says how to continue", async () => {
    const dir = scratchEstate();
    const run = await runCli(["apply", "specs", ...fast(dir), "--once"], dir);
    expect(run.code).toBe(0);
    const [passes, headline] = ending(run.stdout);
    expect(passes).toMatch(/^Stopped after 1 pass in \S+ \(\S+ of simulated time\)\.$/);
    expect(headline).toBe(
      "Not finished: 2 specs baking: al2023-base, ubuntu-base. Run apply again to continue; on the embedded simulator — not AWS.",
    );
  });

  it("--once exits 1 on invalid input and names the blocked spec last", async () => {
    const dir = scratchEstate();
    const ledger = join(dir, "specs/apps/ledger.yaml");
    writeFileSync(ledger, readFileSync(ledger, "utf8").replace("version: 2.0.3", "version: two"));
    const run = await runCli(["apply", "specs", ...fast(dir), "--once"], dir);
    expect(run.code).toBe(1);
    const [passes, headline] = ending(run.stdout);
    // The other specs' bakes are under way: the pass stopped, the verdict says what needs the user.
    expect(passes).toMatch(/^Stopped after 1 pass in \S+ \(\S+ of simulated time\)\.$/);
    expect(headline).toBe("1 spec blocked by invalid input: ledger; on the embedded simulator — not AWS.");
  });
});
