// Argument mistakes: what was wrong, the closest valid flag or command, and the usage line; exit 1, nothing
// on stdout, no parser text.
import { describe, expect, it } from "vitest";
import { run } from "../support/in-process-cli.ts";

const planUsage = [
  "Usage: leaven plan [paths…] [--detailed-exitcode] [--output text|json] [--no-delete] [cloud options]",
  "Run `leaven plan --help` for every option.",
  "",
];
const commandList = [
  "Usage: leaven <command> [options]",
  "Commands: validate, graph, plan, promote, apply, run, status, builds, diff, contains, operator, sim.",
  "Run `leaven --help` for what each does, `leaven <command> --help` for its options.",
  "",
];

describe("argument errors", () => {
  it.each([
    [
      "an unknown option, with the closest one",
      ["plan", "examples", "--detailed-exit-code"],
      ["leaven plan: unknown option --detailed-exit-code — did you mean --detailed-exitcode?", ...planUsage],
    ],
    [
      "an unknown option with none close",
      ["plan", "--frobnicate"],
      ["leaven plan: unknown option --frobnicate.", ...planUsage],
    ],
    [
      "an unknown short option in the wrong case",
      ["plan", "-O", "json"],
      ["leaven plan: unknown option -O — did you mean -o (--output)?", ...planUsage],
    ],
    ["an unknown short option", ["plan", "-x"], ["leaven plan: unknown option -x.", ...planUsage]],
    [
      "another command's option",
      ["validate", "examples", "--sim-state", "s.json"],
      [
        "leaven validate: validate has no option --sim-state; plan, promote, apply, run, status, builds, diff, contains, operator have it.",
        "Usage: leaven validate [paths…] [--output text|json]",
        "Run `leaven validate --help` for every option.",
        "",
      ],
    ],
    [
      "a missing value, hinted from the usage line",
      ["plan", "examples", "--output"],
      ["leaven plan: --output needs a value: --output text|json.", ...planUsage],
    ],
    [
      "a missing value after -o",
      ["plan", "-o"],
      ["leaven plan: -o needs a value: -o text|json.", ...planUsage],
    ],
    [
      "a value forgotten before the next option",
      ["plan", "--output", "--detailed-exitcode"],
      [
        "leaven plan: --output needs a value: --output text|json (it is followed by the option --detailed-exitcode).",
        ...planUsage,
      ],
    ],
    [
      "a missing value, hinted from the help",
      ["builds", "api-server", "--region"],
      [
        "leaven builds: --region needs a value: --region REGION.",
        "Usage: leaven builds SPEC [paths…] [--region REGION] [--output text|json] [cloud options]",
        "Run `leaven builds --help` for every option.",
        "",
      ],
    ],
    [
      "a value given to a switch",
      ["apply", "examples", "--once=yes"],
      [
        'leaven apply: --once takes no value, but was given "yes": write --once to turn it on, leave it out to turn it off.',
        "Usage: leaven apply [paths…] [--once] [--retry SPEC] [--no-delete] [--wide] [--lock-timeout DURATION] [cloud options]",
        "Run `leaven apply --help` for every option.",
        "",
      ],
    ],
    [
      "an unknown command, with the closest one",
      ["aply", "examples"],
      ['leaven: unknown command "aply" — did you mean "apply"?', ...commandList],
    ],
    [
      "an unknown command with none close",
      ["frobnicate"],
      ['leaven: unknown command "frobnicate".', ...commandList],
    ],
    [
      "an option before the command",
      ["--output", "json", "plan"],
      [
        "leaven: unknown option --output; options come after the command: leaven <command> [options].",
        ...commandList,
      ],
    ],
  ])("%s", async (_what, args, stderr) => {
    expect(await run(args)).toEqual({ code: 1, stdout: "", stderr: stderr.join("\n") });
  });

  it("lets through what is right: an option's value that starts with a dash when written with =", async () => {
    const result = await run(["validate", "examples", "--output=-x"]);
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: 'leaven validate: --output must be text or json, not "-x"\n',
    });
  });
});
