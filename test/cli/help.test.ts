// Every command's --help: -h, --help is the last of its Options, in their description column; -o is
// --output wherever a command has --output.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { optionColumn, withHelpOption } from "../../controller/cli/command-help.ts";
import { commands } from "../../controller/cli/commands/index.ts";
import { run } from "../support/in-process-cli.ts";
import { tempDir } from "../support/temp-dir.ts";

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
