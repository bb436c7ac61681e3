// A command's --help: its usage, summary and help text, with the -h, --help line every command has put at
// the end of its Options, in the column its other options' descriptions start in.
import { fitToWidth, wrapWords } from "../status/fit-text.ts";
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

/**
 * Help text fitted to a terminal's `width`, for a terminal's wrap cuts words and flags in half: prose
 * paragraphs and each option's description are joined and wrapped again (a description under its
 * column), the usage line under `leaven`, any other line under its own indent.
 */
export function fitHelp(text: string, width: number): string {
  const lines = text.split("\n");
  const column = optionColumn(text) ?? HELP_FLAG.length + 2;
  const prose = (line: string) =>
    /^\S/.test(line) && !/^[A-Z][A-Za-z ]*:$/.test(line) && !line.startsWith("Usage: ");
  const continuation = (line: string) => line.startsWith(" ".repeat(column)) && line[column] !== " ";
  const out: string[] = [];
  for (let i = 0; i < lines.length; ) {
    const line = lines[i]!;
    if (prose(line)) {
      const paragraph: string[] = [];
      while (i < lines.length && prose(lines[i]!)) paragraph.push(lines[i++]!);
      out.push(...wrapWords(paragraph.join(" "), width));
      continue;
    }
    i++;
    if (/^ {2}-/.test(line)) {
      // The description starts in the column, or after the gap of a flag too long for it.
      const start =
        line.length > column && line[column - 1] === " " && line[column] !== " "
          ? column
          : (/^( {2}-\S.*?\S {2,})\S/.exec(line)?.[1]?.length ?? line.length);
      const parts = [line.slice(start)];
      while (i < lines.length && continuation(lines[i]!)) parts.push(lines[i++]!.slice(column));
      const description = parts.join(" ").trim();
      const [first = "", ...rest] = wrapWords(description, Math.max(20, width - start));
      const tail = rest.length > 0 ? wrapWords(rest.join(" "), width - column) : [];
      out.push(`${line.slice(0, start)}${first}`.trimEnd(), ...tail.map((row) => " ".repeat(column) + row));
      continue;
    }
    out.push(fitToWidth(line, width, line.startsWith("Usage: ") ? "Usage: ".length : 0));
  }
  return out.join("\n");
}
