// Argument mistakes said as the validator says a spec's: what is wrong, the closest valid flag or command,
// and the usage line, instead of the argument parser's own text.
import { parseArgs } from "node:util";
import { closest } from "../validation/suggest.ts";
import type { Command, OptionsConfig } from "./command.ts";

/** Every command takes -h, --help besides its own options. */
export function optionsOf(command: Command): OptionsConfig {
  return { ...command.options, help: { type: "boolean", short: "h" } };
}

/** Close enough to be a typo: at most a third of the word's letters differ (as suggest.ts's didYouMean). */
function nearest(word: string, candidates: Iterable<string>): string | undefined {
  return closest(word, candidates, Math.max(1, Math.floor(word.length / 3)));
}

/** The value a flag takes as its usage or help writes it (`--output text|json`), else VALUE. */
function valueHint(command: Command, flag: string): string {
  const written = new RegExp(`(?:^|[\\s[,])${flag}[ =]([^\\s\\]…]+)`, "m");
  const found = written.exec(command.usage) ?? written.exec(command.help);
  return found?.[1] ?? "VALUE";
}

function unknownOption(raw: string, name: string, command: Command, all: readonly Command[]): string {
  const options = optionsOf(command);
  if (!raw.startsWith("--")) {
    // One letter is close to every other one: only a wrong case is a likely typo.
    const short = Object.entries(options).find(([, o]) => o.short?.toLowerCase() === name.toLowerCase());
    return short
      ? `unknown option ${raw} — did you mean -${short[1].short} (--${short[0]})?`
      : `unknown option ${raw}.`;
  }
  const hit = nearest(name, Object.keys(options));
  if (hit !== undefined) return `unknown option ${raw} — did you mean --${hit}?`;
  const elsewhere = all.filter((c) => c !== command && Object.hasOwn(c.options, name)).map((c) => c.name);
  if (elsewhere.length > 0)
    return `${command.name} has no option ${raw}; ${elsewhere.join(", ")} ${elsewhere.length === 1 ? "has" : "have"} it.`;
  return `unknown option ${raw}.`;
}

/** The first thing wrong with `args` for `command`, as one sentence, or undefined when nothing is. */
export function argumentProblem(
  args: string[],
  command: Command,
  all: readonly Command[],
): string | undefined {
  const options = optionsOf(command);
  const { tokens } = parseArgs({ args, options, allowPositionals: true, strict: false, tokens: true });
  for (const token of tokens) {
    if (token.kind !== "option") continue;
    const option = options[token.name];
    const flag = `--${token.name}`;
    if (option === undefined) return unknownOption(token.rawName, token.name, command, all);
    if (option.type === "string") {
      if (token.value === undefined)
        return `${token.rawName} needs a value: ${token.rawName} ${valueHint(command, flag)}.`;
      // As parseArgs does: a value that looks like an option is a forgotten value, not the value.
      if (!token.inlineValue && token.value.length > 1 && token.value.startsWith("-"))
        return `${token.rawName} needs a value: ${token.rawName} ${valueHint(command, flag)} (it is followed by the option ${token.value}).`;
    } else if (token.value !== undefined) {
      return `${flag} takes no value, but was given "${token.value}": write ${flag} to turn it on, leave it out to turn it off.`;
    }
  }
  return undefined;
}

/** What stderr says about a command's arguments: the problem, the usage line and where the rest is. */
export function argumentError(command: Command, problem: string): string {
  return `leaven ${command.name}: ${problem}\nUsage: leaven ${command.usage}\nRun \`leaven ${command.name} --help\` for every option.\n`;
}

/** What stderr says about a command that does not exist (or an option where the command should be). */
export function unknownCommand(name: string, all: readonly Command[]): string {
  const names = all.map((c) => c.name);
  const hit = nearest(name, names);
  const first = name.startsWith("-")
    ? `leaven: unknown option ${name}; options come after the command: leaven <command> [options].`
    : `leaven: unknown command "${name}"${hit === undefined ? "." : ` — did you mean "${hit}"?`}`;
  return `${first}\nUsage: leaven <command> [options]\nCommands: ${names.join(", ")}.\nRun \`leaven --help\` for what each does, \`leaven <command> --help\` for its options.\n`;
}
