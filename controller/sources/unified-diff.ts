// A unified diff of two versions of a text file, as `git diff` prints it (hunks with 3 lines of context and
// git's default function-name hint after @@), so what `leaven promote` shows is what review will show.

export interface DiffOptions {
  /** Path shown in the ---/+++ header, as a/<path> and b/<path>. */
  path: string;
  /** Unchanged lines around each change. Default 3, as git. */
  context?: number;
}

type Op = { kind: " " | "-" | "+"; text: string; old: number; new: number };

/** Above this many cells the middle of the diff is shown as removed-then-added instead of aligned. */
const MAX_LCS_CELLS = 4_000_000;

/** The diff of `before` → `after`, or "" when they are equal. Carriage returns are not shown. */
export function unifiedDiff(before: string, after: string, options: DiffOptions): string {
  if (before === after) return "";
  const context = options.context ?? 3;
  const a = splitLines(before);
  const b = splitLines(after);
  const ops = diffLines(a, b);
  const out = [`--- a/${options.path}`, `+++ b/${options.path}`];
  for (const hunk of hunks(ops, context)) {
    const first = hunk[0]!;
    const oldCount = hunk.filter((op) => op.kind !== "+").length;
    const newCount = hunk.filter((op) => op.kind !== "-").length;
    const oldStart = oldCount === 0 ? first.old : first.old + 1;
    const newStart = newCount === 0 ? first.new : first.new + 1;
    const func = functionLine(a, first.old);
    out.push(
      `@@ -${range(oldStart, oldCount)} +${range(newStart, newCount)} @@${func === undefined ? "" : ` ${func}`}`,
    );
    for (const op of hunk) {
      out.push(`${op.kind}${op.text.replace(/\r?\n$/, "")}`);
      if (!op.text.endsWith("\n")) out.push("\\ No newline at end of file");
    }
  }
  return `${out.join("\n")}\n`;
}

/** Lines with their line break, so a last line without one differs from the same line with one. */
function splitLines(text: string): string[] {
  return text.match(/[^\n]*\n|[^\n]+$/g) ?? [];
}

function range(start: number, count: number): string {
  return count === 1 ? String(start) : `${start},${count}`;
}

/** Every line of both texts in order: kept, removed or added (a longest common subsequence alignment). */
function diffLines(a: string[], b: string[]): Op[] {
  let prefix = 0;
  while (prefix < a.length && prefix < b.length && a[prefix] === b[prefix]) prefix++;
  let suffix = 0;
  while (
    suffix < a.length - prefix &&
    suffix < b.length - prefix &&
    a[a.length - 1 - suffix] === b[b.length - 1 - suffix]
  )
    suffix++;
  const ops: Op[] = [];
  for (let i = 0; i < prefix; i++) ops.push({ kind: " ", text: a[i]!, old: i, new: i });
  const midA = a.slice(prefix, a.length - suffix);
  const midB = b.slice(prefix, b.length - suffix);
  for (const op of alignMiddle(midA, midB)) ops.push({ ...op, old: op.old + prefix, new: op.new + prefix });
  for (let k = suffix; k > 0; k--) {
    const i = a.length - k;
    const j = b.length - k;
    ops.push({ kind: " ", text: a[i]!, old: i, new: j });
  }
  return ops;
}

function alignMiddle(a: string[], b: string[]): Op[] {
  const ops: Op[] = [];
  if (a.length * b.length > MAX_LCS_CELLS) {
    for (const text of a) ops.push({ kind: "-", text, old: 0, new: 0 });
    for (const text of b) ops.push({ kind: "+", text, old: 0, new: 0 });
    return fixPositions(ops);
  }
  // lcs[i][j]: length of the longest common subsequence of a[i..] and b[j..].
  const lcs = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--)
    for (let j = b.length - 1; j >= 0; j--)
      lcs[i]![j] = a[i] === b[j] ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && a[i] === b[j]) {
      ops.push({ kind: " ", text: a[i]!, old: i++, new: j++ });
    } else if (j >= b.length || (i < a.length && lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      ops.push({ kind: "-", text: a[i]!, old: i++, new: j });
    } else {
      ops.push({ kind: "+", text: b[j]!, old: i, new: j++ });
    }
  }
  return ops;
}

/** Removed lines carry the new-side position of the next line, added ones the old-side one. */
function fixPositions(ops: Op[]): Op[] {
  let oldLine = 0;
  let newLine = 0;
  return ops.map((op) => {
    const fixed = { ...op, old: oldLine, new: newLine };
    if (op.kind !== "+") oldLine++;
    if (op.kind !== "-") newLine++;
    return fixed;
  });
}

/** Changes with up to `context` unchanged lines around them; changes closer than 2×context share a hunk. */
function hunks(ops: Op[], context: number): Op[][] {
  const changed = ops.flatMap((op, index) => (op.kind === " " ? [] : [index]));
  const out: Op[][] = [];
  let start = -1;
  let end = -1;
  for (const index of changed) {
    if (start !== -1 && index - end - 1 <= 2 * context) {
      end = index;
      continue;
    }
    if (start !== -1) out.push(ops.slice(Math.max(0, start - context), end + context + 1));
    start = index;
    end = index;
  }
  if (start !== -1) out.push(ops.slice(Math.max(0, start - context), end + context + 1));
  return out;
}

/**
 * git's default hunk-header hint: the nearest line above the hunk that starts with a letter, _ or $ (for a
 * spec file, the top-level key the change is under), without trailing white space, at most 80 bytes.
 */
function functionLine(lines: string[], hunkStart: number): string | undefined {
  for (let i = hunkStart - 1; i >= 0; i--) {
    const line = lines[i]!;
    if (/^[A-Za-z_$]/.test(line)) {
      const trimmed = line.replace(/\s+$/, "");
      const bytes = Buffer.from(trimmed, "utf8");
      return bytes.length <= 80 ? trimmed : bytes.subarray(0, 80).toString("utf8");
    }
  }
  return undefined;
}
