// What `apply examples/` shows a new user: on an 80-column terminal the live view and the compact table it
// ends with; piped, one JSON line per action and per phase change, with no heartbeats at info. In-process on
// the embedded simulator with a fast clock.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../controller/cli/run-cli.ts";
import { scratchEstate } from "../support/cli-process.ts";
import { sink } from "../support/in-process-cli.ts";
import { Terminal } from "../support/terminal.ts";

const fast = (dir: string) => ["--sim-state", join(dir, "sim.json"), "--sim-speed", "600"];

describe("apply examples/ on an 80-column terminal", () => {
  it("logs the actions into the scrollback, leaves no live block behind and ends with a table under 80 columns", async () => {
    const dir = scratchEstate();
    const terminal = new Terminal(80, 30);
    const stderr = sink();
    const code = await runCli(["apply", "specs", ...fast(dir)], {
      stdout: terminal.stream(),
      stderr: stderr.stream,
      cwd: dir,
      env: {},
    });
    expect(code, stderr.text()).toBe(0);
    const screen = terminal.text();
    // What the terminal shows, for a failure to say.
    const shown = screen.join("\n");
    // The scrollback: what was done, stamped with the simulated time.
    expect(screen, shown).toContainEqual(
      expect.stringMatching(
        /^t\+(\d+m)?\d\ds +launched bake instance for ubuntu-base 2\.3\.0\+[0-9a-f]{8} in us-east-1$/,
      ),
    );
    expect(screen, shown).toContainEqual(
      expect.stringMatching(/^t\+\S+ +created image of ledger 2\.0\.3\+[0-9a-f]{8} in us-east-1$/),
    );
    expect(screen, shown).toContainEqual(
      expect.stringMatching(/^t\+\S+ +started copying payments \S+ to .*eu-west-1/),
    );
    expect(screen, shown).toContainEqual(
      expect.stringMatching(/^t\+\S+ +put candidate, release of api-server on /),
    );
    expect(screen, shown).toContainEqual(expect.stringMatching(/^t\+\S+ +web-frontend: Promoting → Ready$/));
    // The live block was redrawn in place and cleared: no header of any pass is left on the screen.
    expect(screen.filter((row) => row.startsWith("pass "))).toEqual([]);
    expect(screen.filter((row) => /^ {2}\S+ +(Baking|Copying|Promoting) /.test(row))).toEqual([]);
    expect(shown).not.toContain("action(s) run");
    const table = screen.slice(screen.indexOf(screen.find((row) => row.startsWith("SPEC"))!));
    for (const row of table.slice(0, 11)) expect(row.length, row).toBeLessThan(80);
    expect(table[0], shown).toMatch(/^SPEC {10}candidate {22}release$/);
    expect(table.slice(2, 12), shown).toEqual([
      expect.stringMatching(/^al2023 {8}…-2023\.6\.\d{8}\.0… ✓3\/3 {6}…-2023\.6\.\d{8}\.0… ✓3\/3$/),
      expect.stringMatching(
        /^ubuntu-jammy {2}ubuntu\/images\/…-\d{8} ✓2\/2 {2}ubuntu\/images\/…-\d{8} ✓2\/2$/,
      ),
      expect.stringMatching(/^al2023-base {3}1\.8\.1\+[0-9a-f]{8} ✓3\/3 {12}1\.8\.1\+[0-9a-f]{8} ✓3\/3$/),
      expect.stringMatching(/^ubuntu-base {3}2\.3\.0\+[0-9a-f]{8} ✓2\/2 {12}2\.3\.0\+[0-9a-f]{8} ✓2\/2$/),
      expect.stringMatching(/^api-server {4}1\.14\.2\+[0-9a-f]{8} ✓2\/2 {11}1\.14\.2\+[0-9a-f]{8} ✓2\/2$/),
      expect.stringMatching(/^ledger {8}2\.0\.3\+[0-9a-f]{8} ✓2\/2 {12}2\.0\.3\+[0-9a-f]{8} ✓2\/2$/),
      expect.stringMatching(/^order-worker {2}- {30}0\.9\.4\+[0-9a-f]{8} ✓1\/1$/),
      expect.stringMatching(/^payments {6}5\.1\.0\+[0-9a-f]{8} ✓3\/3 {12}5\.1\.0\+[0-9a-f]{8} ✓3\/3$/),
      expect.stringMatching(/^web-frontend {2}3\.2\.0\+[0-9a-f]{8} ✓2\/2 {12}3\.2\.0\+[0-9a-f]{8} ✓2\/2$/),
      "",
    ]);
    // The closing lines: none wraps at 80 columns, the cloud named in the last.
    expect(table.slice(-4), shown).toEqual([
      "",
      expect.stringMatching(/^Converged after \d+ passes in \d+s \(\d+m\d\ds of simulated time\)\.$/),
      expect.stringMatching(/^\d+ AWS requests \(\d+ mutating, \d+ throttled\)\.$/),
      "The images match the specs; on the embedded simulator — not AWS.",
    ]);
    for (const row of screen) expect(row.length, row).toBeLessThan(80);
  });
});

interface LogLine {
  level: string;
  msg: string;
  kind?: string;
  spec?: string;
  region?: string;
  build?: string;
  channels?: string[];
  to?: string;
  pass?: number;
  actions?: number;
  phase?: string;
  from?: string;
}

describe("apply examples/ piped", () => {
  it("logs one JSON line per action and per phase change, and no pass that did nothing", async () => {
    const dir = scratchEstate();
    const stdout = sink();
    const stderr = sink();
    const code = await runCli(["apply", "specs", ...fast(dir)], {
      stdout: stdout.stream,
      stderr: stderr.stream,
      cwd: dir,
      env: {},
    });
    expect(code, stderr.text()).toBe(0);
    const text = stdout.text();
    const lines = text
      .split("\n")
      .filter((line) => line.startsWith("{"))
      .map((line) => JSON.parse(line) as LogLine);
    // Nothing at debug; an action that failed (the awkward simulator's ids that are not visible yet) is an
    // error line, still one per action.
    expect(lines.filter((l) => l.level === "debug")).toEqual([]);
    expect(text).not.toMatch(/action\(s\) run|tag changes/);

    // Every pass logged did something, and the action lines before it are exactly its actions.
    const passes = lines.filter((l) => l.pass !== undefined);
    expect(passes.length).toBeGreaterThan(5);
    expect(passes.every((p) => (p.actions ?? 0) > 0)).toBe(true);
    let actionsSince = 0;
    for (const line of lines) {
      if (line.kind !== undefined) actionsSince++;
      if (line.pass !== undefined) {
        expect(actionsSince, line.msg).toBe(line.actions);
        actionsSince = 0;
      }
    }
    const actions = lines.filter((l) => l.kind !== undefined);
    // The rest: a spec's phase, at the start and on each change.
    const others = lines.filter((l) => l.kind === undefined && l.pass === undefined && l.level === "info");
    expect(others.filter((l) => l.phase === undefined || l.spec === undefined)).toEqual([]);
    const warnings = lines.filter((l) => l.kind === undefined && l.pass === undefined && l.level !== "info");
    expect(lines).toHaveLength(actions.length + passes.length + others.length + warnings.length);
    expect(others).toContainEqual(
      expect.objectContaining({
        msg: "web-frontend: Promoting → Ready",
        spec: "web-frontend",
        from: "Promoting",
      }),
    );

    for (const action of actions) {
      expect(action.spec, action.msg).toEqual(expect.any(String));
      expect(action.region, action.msg).toEqual(expect.any(String));
    }
    expect(actions).toContainEqual(
      expect.objectContaining({
        kind: "launch-bake",
        spec: "ledger",
        region: "us-east-1",
        build: expect.stringMatching(/^2\.0\.3\+[0-9a-f]{8}$/),
        msg: expect.stringMatching(
          /^launched bake instance i-[0-9a-f]{17} for ledger 2\.0\.3\+[0-9a-f]{8} in us-east-1$/,
        ),
      }),
    );
    // A channel put on a build says which channels and which build.
    const channelTags = actions.filter((a) => a.kind === "set-tags" && a.channels);
    expect(channelTags.length).toBeGreaterThan(0);
    for (const tag of channelTags) {
      expect(tag.to).toBe(tag.build);
      expect(
        tag.msg.startsWith(`put ${tag.channels!.join(", ")} of ${tag.spec} on ${tag.build} in ${tag.region}`),
      ).toBe(true);
    }
    // A converged run's compact table follows the logs.
    expect(text).toMatch(/\nSPEC {10}candidate {22}release\n/);
  });
});
