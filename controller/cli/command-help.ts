// A command's --help: its usage, summary and help text, with the -h, --help line every command has put at
// the end of its Options, in the column its other options' descriptions start in.
import type { Command } from "./command.ts";

const HELP_FLAG = "  -h, --help";
const HELP_TEXT = "Show this help.";

/**
 * The column option descriptions start in: the most common one among `  -x…  description` lines (a flag
 * too long for the column overflows it, so it does not count). undefined when the help lists no option.
 */
export function optionColumn(help: string): number | undefined {
  const counts = new Map<number, number>();
  for (const line of help.split("\n")) {
    const option = /^( {2}-\S.*?\S {2,})\S/.exec(line);
    if (option) counts.set(option[1]!.length, (counts.get(option[1]!.length) ?? 0) + 1);
  }
  let best: number | undefined;
  for (const [column, count] of counts) if (best === undefined || count > counts.get(best)!) best = column;
  return best;
}

/** The help text with the -h, --help line added as the last of its Options (an Options section if none). */
export function withHelpOption(help: string): string {
  const column = optionColumn(help) ?? HELP_FLAG.length + 2;
  // In a column too narrow for it, the flag overflows like any long flag does: two spaces, then the text.
  const line = `${HELP_FLAG.padEnd(Math.max(column, HELP_FLAG.length + 2))}${HELP_TEXT}`;
  const lines = help.trimEnd().split("\n");
  const heading = lines.indexOf("Options:");
  if (heading === -1) return `${lines.join("\n")}\n\nOptions:\n${line}\n`;
  // The section ends at the first line that is blank or not indented (the next heading).
  let end = heading + 1;
  while (end < lines.length && /^\s+\S/.test(lines[end]!)) end++;
  lines.splice(end, 0, line);
  return `${lines.join("\n")}\n`;
}

/** What `leaven COMMAND --help` prints. */
export function commandHelp(command: Command): string {
  return `Usage: leaven ${command.usage}\n\n${command.summary}\n\n${withHelpOption(command.help)}`;
}
