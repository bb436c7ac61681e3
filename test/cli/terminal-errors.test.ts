// Diagnostics, refusals and the lineage tree on an 80-column terminal: each long line wrapped at words,
// continuing under their column or indent, so no word is cut in half by the terminal; piped, one line each.
import { copyFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../controller/cli/run-cli.ts";
import { repoRoot } from "../support/cli-process.ts";
import { sink } from "../support/in-process-cli.ts";
import { tempDir } from "../support/temp-dir.ts";
import { Terminal } from "../support/terminal.ts";

/** A folder with api-server's spec, its `channels:` misspelled. */
function misspelled(): string {
  const dir = tempDir("leaven-terminal-errors-");
  copyFileSync(join(repoRoot, "examples/apps/api-server.yaml"), join(dir, "api-server.yaml"));
  const file = join(dir, "api-server.yaml");
  writeFileSync(file, readFileSync(file, "utf8").replace("  channels:", "  chanels:"));
  return dir;
}

async function onTerminal(args: string[], cwd: string) {
  const terminal = new Terminal(80, 50);
  const stdout = sink();
  const code = await runCli(args, { stdout: stdout.stream, stderr: terminal.stream(), cwd, env: {} });
  return { code, rows: terminal.text() };
}

describe("on an 80-column terminal", () => {
  it("validate wraps a long diagnostic at words", async () => {
    const { code, rows } = await onTerminal(["validate", "."], misspelled());
    expect(code).toBe(1);
    for (const row of rows) expect(row.length, row).toBeLessThan(80);
    const at = rows.findIndex((row) => row.includes("spec.chanels"));
    expect(rows.slice(at, at + 3)).toEqual([
      expect.stringMatching(
        /^api-server\.yaml:\d+:3 spec\.chanels: unknown field "chanels" \(allowed: layer,$/,
      ),
      "  source, parent, version, provision, bake, rebuild, regions, share, publish,",
      '  channels, retention, checks, revoked, suspend); did you mean "channels"?',
    ]);
  });

  it("a refusal wraps at words too", async () => {
    const { code, rows } = await onTerminal(
      ["promote", "api-servr", "--channel", "release", "--to", "candidate", "examples"],
      repoRoot,
    );
    expect(code).toBe(1);
    expect(rows).toEqual([
      'leaven promote: no spec named api-servr in examples; did you mean "api-server"?',
      "  Specs: al2023, al2023-base, api-server, ledger, order-worker, payments,",
      "  ubuntu-base, ubuntu-jammy, web-frontend.",
    ]);
  });

  it("piped, a diagnostic stays one line", async () => {
    const stderr = sink();
    const code = await runCli(["validate", "."], {
      stdout: sink().stream,
      stderr: stderr.stream,
      cwd: misspelled(),
      env: {},
    });
    expect(code).toBe(1);
    expect(stderr.text()).toMatch(
      /^api-server\.yaml:\d+:3 spec\.chanels: unknown field "chanels" \(allowed: layer, .*; did you mean "channels"\?$/m,
    );
  });
});

describe("graph on an 80-column terminal", () => {
  it("puts a long line's channels under the name, the tree's rules continued", async () => {
    const terminal = new Terminal(80, 50);
    const code = await runCli(["graph", "examples"], {
      stdout: terminal.stream(),
      stderr: sink().stream,
      cwd: repoRoot,
      env: {},
    });
    expect(code).toBe(0);
    expect(terminal.text()).toEqual([
      "al2023 (foundation)  candidate: latest; release: latest, minAge 7d",
      "└── al2023-base (base 1.8.1, on release)  candidate: latest; release: latest",
      "    ├── ledger (app 2.0.3, on release)",
      "    │       candidate: latest; release: version ^2.0.0",
      "    └── payments (app 5.1.0, on release)",
      "            candidate: latest; release: version >=5.0.0 <6.0.0",
      "ubuntu-jammy (foundation)  candidate: latest; release: latest, minAge 7d",
      "└── ubuntu-base (base 2.3.0, on release)  candidate: latest; release: latest",
      "    ├── api-server (app 1.14.2, on candidate)",
      "    │       candidate: latest; release: version ^1.14.0",
      "    ├── order-worker (app 0.9.4, on release)  release: latest",
      "    └── web-frontend (app 3.2.0, on release)",
      "            candidate: latest; release: version ~3.2.0",
    ]);
  });
});
