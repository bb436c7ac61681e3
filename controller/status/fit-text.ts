// Fitting text into terminal columns: shortened vendor image names, truncation at a word boundary.
import type { ValidSpec } from "../validation/result.ts";

const SEPARATORS = "/-_";

/**
 * A vendor image name shortened to what tells it apart from the vendor's other releases, e.g.
 * `ubuntu/images/…-20261120` for `ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-20261120` under the
 * source pattern `ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*`. The part the pattern's wildcards
 * match (widened to whole tokens) is kept; the constant text around it is elided, except the first two path
 * segments, which say whose image it is. Without a pattern, or when the name does not match it, the name is
 * returned unchanged: an elision the reader cannot undo in their head is worse than a long line.
 */
export function shortVendorName(name: string, pattern: string | undefined): string {
  if (pattern === undefined) return name;
  const first = pattern.search(/[*?]/);
  if (first === -1) return name;
  const last = Math.max(pattern.lastIndexOf("*"), pattern.lastIndexOf("?"));
  let prefix = pattern.slice(0, first);
  let suffix = pattern.slice(last + 1);
  if (!globMatches(name, pattern) || prefix.length + suffix.length >= name.length) return name;
  // Widen the varying part to whole tokens: "al2023-ami-2023.*" varies in "2023.6.20261113.0", not "6.2…".
  while (prefix.length > 0 && !SEPARATORS.includes(prefix.at(-1)!)) prefix = prefix.slice(0, -1);
  while (suffix.length > 0 && !SEPARATORS.includes(suffix[0]!)) suffix = suffix.slice(1);
  const varying = name.slice(prefix.length, name.length - suffix.length);
  const slashes = [...prefix.matchAll(/\//g)].map((m) => m.index);
  const lead = slashes.length >= 2 ? prefix.slice(0, slashes[1]! + 1) : "";
  // The separator before the varying part stays, so "…-20261120" still reads as the end of a name.
  const joint = prefix.length > lead.length ? prefix.at(-1)! : "";
  if (lead === "" && joint === "" && suffix === "") return name;
  return `${lead}…${joint}${varying}${suffix ? "…" : ""}`;
}

/** Each foundation's source name pattern (what `shortVendorName` shortens against), by spec name. */
export function vendorPatternsOf(specs: readonly ValidSpec[]): Map<string, string> {
  const patterns = new Map<string, string>();
  for (const { name, document } of specs) {
    const pattern = document.spec.layer === "foundation" ? document.spec.source?.name : undefined;
    if (pattern) patterns.set(name, pattern);
  }
  return patterns;
}

/** Whether `name` matches the EC2 name filter `pattern` (`*` any run, `?` any one character). */
export function globMatches(name: string, pattern: string): boolean {
  const source = pattern
    .split(/([*?])/)
    .map((part) => (part === "*" ? ".*" : part === "?" ? "." : part.replace(/[\\^$.|+()[\]{}]/g, "\\$&")))
    .join("");
  return new RegExp(`^${source}$`, "s").test(name);
}

/**
 * `text` cut to at most `width` characters at a word boundary, with an ellipsis when anything was cut. A
 * single word longer than the width is cut inside it: the line limit wins.
 */
export function truncateAtWord(text: string, width: number): string {
  if (text.length <= width) return text;
  if (width <= 1) return "…".slice(0, width);
  const room = text.slice(0, width - 1);
  // A space right after the room means its last word ends there, whole.
  const space = text[width - 1] === " " ? room.length : room.lastIndexOf(" ");
  // Cutting at a space that leaves almost nothing says less than cutting inside the word.
  const cut = space >= Math.floor(width / 2) ? room.slice(0, space) : room;
  return `${cut.replace(/[\s,;:]+$/, "")}…`;
}

/** `text` wrapped at spaces into lines of at most `width` characters (a longer word is cut). */
export function wrapWords(text: string, width: number): string[] {
  const lines: string[] = [];
  let current = "";
  for (const word of text.split(/\s+/).filter((w) => w !== "")) {
    for (let rest = word; rest !== ""; ) {
      const room = current === "" ? width : width - current.length - 1;
      if (rest.length <= room) {
        current = current === "" ? rest : `${current} ${rest}`;
        rest = "";
      } else if (current !== "") {
        lines.push(current);
        current = "";
      } else {
        lines.push(rest.slice(0, width));
        rest = rest.slice(width);
      }
    }
  }
  if (current !== "" || lines.length === 0) lines.push(current);
  return lines;
}

/**
 * Items laid out left to right, `separator` between them, starting a new line when the next one would pass
 * `width`; an item wider than `width` alone is truncated. Returns the lines (at least one).
 */
export function flowItems(items: readonly string[], width: number, separator: string): string[] {
  const lines: string[] = [];
  let current = "";
  for (const raw of items) {
    const item = truncateAtWord(raw, width);
    if (current === "") current = item;
    else if (current.length + separator.length + item.length <= width) current += separator + item;
    else {
      lines.push(current);
      current = item;
    }
  }
  lines.push(current);
  return lines;
}

/** A line wrapped at `width` at spaces, its continuation lines indented by `indent`. */
export function wrapIndented(line: string, width: number, indent: number): string[] {
  if (line.length <= width) return [line];
  const [first, ...rest] = wrapWords(line, width);
  const tail = rest.length > 0 ? wrapWords(rest.join(" "), width - indent) : [];
  return [first!, ...tail.map((l) => " ".repeat(indent) + l)];
}

/**
 * `headline; where.` on one line when it fits in `width`; otherwise the headline wrapped at words and
 * `where` on the last line of its own, so the cloud is still named last and no line wraps.
 */
export function fitWithWhere(headline: string, where: string, width: number): string[] {
  const line = `${headline.replace(/\.$/, "")}; ${where}.`;
  if (line.length <= width) return [line];
  const said = /[.!?]$/.test(headline) ? headline : `${headline}.`;
  const last = `${where.charAt(0).toUpperCase()}${where.slice(1)}.`;
  return [...wrapIndented(said, width, 2), ...wrapIndented(last, width, 2)];
}

/**
 * Report text (lines of columns and prose) fitted to a terminal `width`: a longer line is wrapped at
 * words, its continuation under its last column (`  + bake   us-east-1   2.3.0+… on ami-…` continues
 * under `2.3.0`) when that starts in the left half, else `hang` past its indent. Lines that fit are kept.
 */
export function fitToWidth(text: string, width: number, hang = 2): string {
  return text
    .split("\n")
    .flatMap((line) => {
      if (line.length <= width) return [line];
      const column = /^(.*\S {2,})\S/.exec(line)?.[1]?.length;
      if (column !== undefined && column <= width / 2) {
        const [first, ...rest] = wrapWords(line.slice(column), width - column);
        return [line.slice(0, column) + first, ...rest.map((row) => " ".repeat(column) + row)];
      }
      const lead = /^ */.exec(line)![0];
      return wrapIndented(line.slice(lead.length), width - lead.length, hang).map((row) => lead + row);
    })
    .join("\n");
}

/** What fittedWrite writes to: a terminal has isTTY and columns. */
export interface TextStream {
  write(text: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

/**
 * Writes lines of text to `stream`, each long one wrapped at words within the width (fitToWidth) when the
 * stream is a terminal; to anything else, as they are (an editor or a script reads `file:line:col` lines).
 */
export function fittedWrite(stream: TextStream, text: string): void {
  stream.write(stream.isTTY ? fitToWidth(text, Math.max(40, (stream.columns ?? 80) - 1)) : text);
}
