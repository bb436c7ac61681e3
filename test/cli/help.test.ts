// Every command's --help: -h, --help is the last of its Options, in their description column; -o is
// --output wherever a command has --output.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { optionColumn, withHelpOption } from "../../controller/cli/command-help.ts";
import { commands } from "../../controller/cli/commands/index.ts";
import { runCli } from "../../controller/cli/run-cli.ts";
import { repoRoot } from "../support/cli-process.ts";
import { run, sink } from "../support/in-process-cli.ts";
import { tempDir } from "../support/temp-dir.ts";
import { Terminal } from "../support/terminal.ts";

/** The Options section of a help text: the lines after "Options:" up to a blank or unindented line. */
function optionsSection(help: string): string[] {
  const lines = help.split("\n");
  const start = lines.indexOf("Options:");
  expect(start, help).toBeGreaterThan(-1);
  const section: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!/^\s+\S/.test(line)) break;
    section.push(line);
  }
  return section;
}

/** Where the description of an option line starts: after the flag and a gap of two or more spaces. */
function descriptionColumn(line: string): number | undefined {
  const match = /^( {2}-\S.*?\S {2,})\S/.exec(line);
  return match === null ? undefined : match[1]!.length;
}

describe("leaven COMMAND --help", () => {
  it.each(commands.map((c) => [c.name]))("%s: -h, --help lines up with the other options", async (name) => {
    const help = await run([name, "--help"]);
    expect(help.code).toBe(0);
    const section = optionsSection(help.stdout);
    expect(section.at(-1)).toMatch(/^ {2}-h, --help +Show this help\.$/);
    expect(section.filter((line) => line.includes("--help"))).toHaveLength(1);
    const first = section.find((line) => descriptionColumn(line) !== undefined);
    expect(descriptionColumn(section.at(-1)!)).toBe(descriptionColumn(first!));
  });

  it("prints the usage, the summary, the help and -h in the options' column", async () => {
    expect((await run(["validate", "-h"])).stdout).toBe(`Usage: leaven validate [paths…] [--output text|json]

Check ImageSpec files: schema, layers, parents, cycles, versions, regions, durations.

Reads every *.yaml/*.yml file under the given files and directories (default: the current
directory), validates the ImageSpec documents in them and reports every problem at once, as
file:line:column field.path: message. Documents of other kinds are skipped with a note. A leaven.yaml
beside the specs (in the first path) is checked too.
A path with no ImageSpec under it is a warning that says what was searched. Exits 0 when all specs
are valid, 1 otherwise, and 1 when no ImageSpec was found at all.

Options:
  -o, --output <format>  text (default): diagnostics and a summary on stderr.
                         json: one JSON document on stdout with diagnostics, specs and blocked specs.
  -h, --help             Show this help.

Examples:
  leaven validate examples
  leaven validate specs/base.yaml specs/apps --output json
`);
  });

  it.each([
    ["  --a  x\n  --bb  y\n  --long-flag-here  z\n  --c  w\n", 7],
    [
      "Options:\n  --port N            Port.\n                        more\n  --speed N           Speed.\n",
      22,
    ],
    ["no options at all\n", undefined],
  ])("finds the options' column of %j: %s", (help, column) => {
    expect(optionColumn(help)).toBe(column);
  });

  it("adds an Options section to a help without one, and puts -h before the next section", () => {
    expect(withHelpOption("Does a thing.\n")).toBe(
      "Does a thing.\n\nOptions:\n  -h, --help  Show this help.\n",
    );
    expect(withHelpOption("Options:\n  --a N  A.\nExamples:\n  leaven x\n")).toBe(
      "Options:\n  --a N  A.\n  -h, --help  Show this help.\nExamples:\n  leaven x\n",
    );
  });
});

describe("-o is --output", () => {
  const withOutput = commands.filter((c) => "output" in c.options);

  it("on every command that has --output", () => {
    expect(withOutput.map((c) => c.name).sort()).toEqual([
      "builds",
      "contains",
      "diff",
      "plan",
      "status",
      "validate",
    ]);
  });

  it.each(withOutput.map((c) => [c.name]))(
    "%s documents -o, --output and reads -o as --output",
    async (name) => {
      const help = await run([name, "--help"]);
      expect(optionsSection(help.stdout).some((line) => line.startsWith("  -o, --output <format>  "))).toBe(
        true,
      );
      const args =
        name === "builds" ? [name, "api-server", "examples", "-o", "xml"] : [name, "examples", "-o", "xml"];
      const wrong = await run(args);
      expect(wrong.code).toBe(1);
      expect(wrong.stderr).toMatch(
        new RegExp(`^leaven ${name}: --output must be text or json, not "xml"\\.?\\n$`),
      );
    },
  );

  it("plan -o json prints the plan as JSON", async () => {
    const result = await run([
      "plan",
      "examples",
      "-o",
      "json",
      "--sim-state",
      join(tempDir("leaven-help-"), "sim.json"),
    ]);
    expect(result.code).toBe(0);
    expect((JSON.parse(result.stdout) as { verdict: { headline: string } }).verdict.headline).toBe(
      "Plan: 2 to bake, 10 to publish.",
    );
  });
});

describe("leaven --help", () => {
  it("lists the commands in 80 columns, a long summary wrapped under its column", async () => {
    const help = await run(["--help"]);
    expect(help.code).toBe(0);
    const lines = help.stdout.split("\n");
    for (const line of lines) expect(line.length, line).toBeLessThan(80);
    const at = lines.findIndex((line) => line.startsWith("  run "));
    expect(lines.slice(at, at + 2)).toEqual([
      "  run       Watch mode: reconcile a specs checkout continuously, serving",
      "            /metrics, /status and a web view.",
    ]);
  });
});

describe("leaven COMMAND --help on an 80-column terminal", () => {
  async function onTerminal(args: string[]): Promise<string[]> {
    const terminal = new Terminal(80, 200);
    const code = await runCli(args, {
      stdout: terminal.stream(),
      stderr: sink().stream,
      cwd: repoRoot,
      env: {},
    });
    expect(code).toBe(0);
    return terminal.text();
  }

  it.each(commands.map((c) => [c.name]))(
    "%s: every line fits, and every word of the help is there",
    async (name) => {
      const rows = await onTerminal([name, "--help"]);
      for (const row of rows) expect(row.length, row).toBeLessThan(80);
      const plain = await run([name, "--help"]);
      expect(rows.join(" ").split(/\s+/).filter(Boolean)).toEqual(plain.stdout.split(/\s+/).filter(Boolean));
    },
  );

  it("wraps an option's description under its column, a flag too long for it included", async () => {
    const rows = await onTerminal(["apply", "--help"]);
    const at = rows.findIndex((row) => row.startsWith("  --lock-timeout"));
    expect(rows.slice(at, at + 6)).toEqual([
      "  --lock-timeout DURATION  Give up (exit 1) when the installation's lock is",
      "                         still held after this long, e.g. 0s (do not wait),",
      "                         30s, 10m. Default: wait until it is released or",
      "                         expires.",
      "  --wide                 End with every channel's build and image in every",
      "                         region (as status --wide).",
    ]);
    expect(rows.slice(0, 2)).toEqual([
      "Usage: leaven apply [paths…] [--once] [--retry SPEC] [--no-delete] [--wide]",
      "       [--lock-timeout DURATION] [cloud options]",
    ]);
  });
});
