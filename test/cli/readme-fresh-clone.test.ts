// The README's "Set up and run" commands, run on a fresh clone as the README writes them (read from its sh
// blocks, so the test follows the README), with real npm and npx child processes. Two deviations, each
// said here: node_modules is linked instead of `npm ci`, and the simulator runs at 600× rather than 60×
// (the same simulated time in a tenth of the wait), appended as the README's own `--sim-speed` flag.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { commands } from "../../controller/cli/commands/index.ts";
import { repoRoot } from "../support/cli-process.ts";
import {
  commandLines,
  freshClone,
  type ShellRun,
  sectionBlocks,
  sh,
  startShell,
} from "../support/fresh-clone.ts";

/** Lines not run, each with why. */
const NOT_RUN: Record<string, string> = {
  "npm ci": "node_modules is linked from the checkout (npm ci takes a minute)",
  "npx . operator --kubeconfig ~/.kube/config":
    "needs a Kubernetes cluster (test/operator drives the operator)",
};

/** The line with the simulator at 600×, when its command takes --sim-speed. */
function faster(line: string): string {
  if (line === "npm start") return "npm start -- --sim-speed 600";
  const name = /^npx \. (\S+)/.exec(line)?.[1];
  const command = commands.find((c) => c.name === name);
  return command && "sim-speed" in command.options ? `${line} --sim-speed 600` : line;
}

/** Starts a long-running command, waits for `ready` in its output, stops it with Ctrl-C (SIGINT to its group). */
async function untilReady(line: string, cwd: string, ready: string): Promise<ShellRun> {
  const { child, output, closed } = startShell(line, cwd, { detached: true });
  const started = Date.now();
  while (!output.stdout.includes(ready) && child.exitCode === null && Date.now() - started < 20_000)
    await new Promise((resolve) => setTimeout(resolve, 50));
  if (child.exitCode === null) process.kill(-child.pid!, "SIGINT");
  return closed;
}

describe("the README on a fresh clone", () => {
  it("sets up and runs as written", async () => {
    const readme = readFileSync(join(repoRoot, "README.md"), "utf8");
    const [setup, others, ...rest] = sectionBlocks(readme, "## Set up and run", "sh");
    expect(rest).toEqual([]);
    const setupLines = commandLines(setup!);
    const otherLines = commandLines(others!);
    expect(setupLines).toEqual(["npm ci", "npm start"]);
    const dir = freshClone();

    const runs = new Map<string, ShellRun>();
    const first = await sh(faster("npm start"), dir);
    expect(first.code, first.stdout.slice(-2000) + first.stderr).toBe(0);
    // The banner says it is the simulator, how fast, and where its state lives.
    expect(first.stderr).toContain("Cloud: embedded EC2 simulator at http://127.0.0.1:");
    expect(first.stderr).toContain(`State: ${join(dir, "examples/.leaven/sim-state.json")}.`);
    // It ends with the table of every spec's channels (a build and its regions per cell), and converges.
    expect(first.stdout).toMatch(/^api-server +1\.14\.2\+[0-9a-f]{8} ✓2\/2 +1\.14\.2\+[0-9a-f]{8} ✓2\/2$/m);
    expect(first.stdout).toMatch(
      /^Converged after \d+ pass(?:es)? .*\.\n\d+ AWS requests \(\d+ mutating, \d+ throttled\)\.$/m,
    );
    expect(first.stdout.trimEnd().split("\n").at(-1)).toBe(
      "The images match the specs; on the embedded simulator — not AWS.",
    );
    // "Run it again: nothing left to do, zero mutating requests."
    const again = await sh(faster("npm start"), dir);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^\d+ AWS requests \(0 mutating, 0 throttled\)\.$/m);

    for (const line of otherLines) {
      if (line in NOT_RUN) continue;
      const run = line.startsWith("npx . sim ")
        ? await untilReady(line, dir, "Stop with Ctrl-C.")
        : await sh(faster(line), dir);
      runs.set(line, run);
    }
    const ran = (prefix: string): ShellRun => {
      const found = [...runs.values()].find((r) => r.line.startsWith(prefix));
      if (!found) throw new Error(`the README no longer runs "${prefix}…"`);
      return found;
    };
    const exit = (prefix: string) => {
      const run = ran(prefix);
      return [run.code, `${run.line}\n${run.stdout.slice(-1500)}\n${run.stderr.slice(-1500)}`] as const;
    };
    const expectExit = (prefix: string, code: number) => {
      const [actual, output] = exit(prefix);
      expect(actual, output).toBe(code);
    };

    expectExit("npx . validate examples", 0);
    expect(ran("npx . validate examples").stdout).toBe("ok: 9 specs valid (7 files, 9 documents)\n");
    expectExit("npx . graph examples --format mermaid", 0);
    expect(ran("npx . graph examples --format mermaid").stdout).toMatch(/^(graph|flowchart) /);
    const graph = [...runs.values()].find((r) => r.line === "npx . graph examples")!;
    expect(graph.code).toBe(0);
    expect(graph.stdout).toContain("ubuntu-jammy (foundation)");
    expect(graph.stdout).toContain("└── ubuntu-base (base 2.3.0, on release)");
    expectExit("npx . plan examples", 0);
    expect(ran("npx . plan examples").stdout.trimEnd().split("\n").at(-1)).toBe(
      "No changes. The images match the specs; on the embedded simulator — not AWS.",
    );
    expectExit("npx . status examples", 0);
    expect(ran("npx . status examples").stdout).toMatch(/^ledger +Ready +(\d)\/\1 /m);
    expectExit("npx . builds api-server examples", 0);
    expect(ran("npx . builds api-server examples").stdout).toMatch(/^1\.14\.2\+[0-9a-f]{8} /m);
    expectExit("npx . apply examples --once", 0);
    // Nothing failed, so the README's re-arm of ledger is refused, as its text says.
    expectExit("npx . apply examples --retry ledger", 1);
    expect(ran("npx . apply examples --retry ledger").stderr).toContain(
      "--retry ledger: ledger has no failed build to retry (its phase is Ready)",
    );
    expectExit("npx . promote ubuntu-base --channel release --to candidate examples", 0);
    const sim = ran("npx . sim --speed 60");
    expect(sim.stdout).toContain("EC2 simulator listening");
    expect(sim.stdout).toContain("  speed:    60x");
    expect(sim.stdout).toMatch(/EC2 simulator stopped \(SIGINT\); state saved to /);
    // The exit status is npx's, which ends by the Ctrl-C too; the simulator said it stopped cleanly.
  }, 90_000);
});
