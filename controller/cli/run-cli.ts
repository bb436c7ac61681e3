import { parseArgs } from "node:util";
import { fittedWrite, wrapWords } from "../status/fit-text.ts";
import { argumentError, argumentProblem, optionsOf, unknownCommand } from "./argument-errors.ts";
import type { CliIo, Command } from "./command.ts";
import { UserError } from "./command.ts";
import { commandHelp, fitHelp } from "./command-help.ts";
import { commands } from "./commands/index.ts";

function topHelp(): string {
  const width = Math.max(...commands.map((c) => c.name.length), 4);
  // Summaries wrap under their column so the list reads on an 80-column terminal.
  const indent = width + 4;
  const lines = commands.flatMap((c) =>
    wrapWords(c.summary, 79 - indent).map((text, i) =>
      i === 0 ? `  ${c.name.padEnd(width)}  ${text}` : `${" ".repeat(indent)}${text}`,
    ),
  );
  return [
    "leaven — declarative GitOps controller for machine-image lineage on AWS",
    "",
    "Usage: leaven <command> [options]",
    "",
    "Commands:",
    ...lines,
    "",
    "Run `leaven <command> --help` for a command's options.",
    "",
  ].join("\n");
}

/** Runs the CLI with the given arguments; returns the exit code. User errors never print a stack trace. */
export async function runCli(argv: string[], io: CliIo): Promise<number> {
  const [name, ...rest] = argv;
  if (name === undefined || name === "--help" || name === "-h" || name === "help") {
    io.stdout.write(topHelp());
    return name === undefined ? 1 : 0;
  }
  if (name === "--version" || name === "-v") {
    io.stdout.write("leaven 0.1.0\n");
    return 0;
  }
  const command = commands.find((c) => c.name === name);
  if (!command) {
    io.stderr.write(unknownCommand(name, commands));
    return 1;
  }
  const problem = argumentProblem(rest, command, commands);
  if (problem !== undefined) {
    io.stderr.write(argumentError(command, problem));
    return 1;
  }
  try {
    const parsed = parseArgs({
      args: rest,
      options: optionsOf(command),
      allowPositionals: true,
      strict: true,
    });
    if (parsed.values.help) {
      const help = commandHelp(command);
      io.stdout.write(io.stdout.isTTY ? fitHelp(help, Math.max(40, (io.stdout.columns ?? 80) - 1)) : help);
      return 0;
    }
    return await command.run(parsed as Parameters<Command["run"]>[0], io);
  } catch (error) {
    if (error instanceof UserError) {
      fittedWrite(io.stderr, `leaven ${name}: ${error.message}\n`);
      return error.exitCode;
    }
    if (error instanceof TypeError && "code" in error && String(error.code).startsWith("ERR_PARSE_ARGS")) {
      // What argumentProblem did not foresee, still with the usage line.
      io.stderr.write(argumentError(command, `${error.message.split("\n")[0]}`));
      return 1;
    }
    throw error;
  }
}
