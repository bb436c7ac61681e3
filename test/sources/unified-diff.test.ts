import { execFileSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { unifiedDiff } from "../../controller/sources/unified-diff.ts";
import { tempDir } from "../support/temp-dir.ts";

/** What `git diff --no-index` prints for the same change, from the ---/+++ header on. */
function gitDiff(before: string, after: string): string {
  const dir = tempDir("leaven-diff-");
  writeFileSync(join(dir, "a"), before);
  writeFileSync(join(dir, "b"), after);
  let out = "";
  try {
    execFileSync("git", ["diff", "--no-index", "--no-color", "a", "b"], { cwd: dir, encoding: "utf8" });
  } catch (error) {
    // Exit 1 means "differs": the diff is on stdout.
    out = (error as { stdout: string }).stdout;
  }
  return out
    .slice(out.indexOf("\n--- ") + 1)
    .replace("--- a/a\n+++ b/b\n", "--- a/f.yaml\n+++ b/f.yaml\n")
    .replaceAll("\r", "");
}

const lines = (n: number, from = 1) => Array.from({ length: n }, (_, i) => `line ${i + from}\n`).join("");

describe("unifiedDiff", () => {
  it.each([
    [
      "one changed line with a key above it",
      "spec:\n  a: 1\n  b: 2\n  c: 3\n  d: 4\n  e: 5\n",
      "spec:\n  a: 1\n  b: 2\n  c: 9\n  d: 4\n  e: 5\n",
    ],
    ["the first line", "a\nb\nc\n", "z\nb\nc\n"],
    ["lines added at the end", "a\nb\n", "a\nb\nc\nd\n"],
    ["lines removed in the middle", lines(20), lines(20).replace("line 10\nline 11\n", "")],
    [
      "two changes far apart: two hunks",
      lines(30),
      lines(30).replace("line 3\n", "x\n").replace("line 27\n", "y\n"),
    ],
    [
      "two changes close together: one hunk",
      lines(30),
      lines(30).replace("line 10\n", "x\n").replace("line 15\n", "y\n"),
    ],
    ["a last line without a line break", "a\nb\nc", "a\nb\nd"],
    ["a line break added at the end", "a\nb", "a\nb\n"],
    ["CRLF line endings", "spec:\r\n  a: 1\r\n  b: 2\r\n", "spec:\r\n  a: 1\r\n  b: 3\r\n"],
    ["everything", "a\n", "b\n"],
  ])("prints what git diff prints: %s", (_what, before, after) => {
    expect(unifiedDiff(before, after, { path: "f.yaml" })).toBe(gitDiff(before, after));
  });

  it("is empty for equal texts", () => {
    expect(unifiedDiff("a\n", "a\n", { path: "f.yaml" })).toBe("");
  });
});
