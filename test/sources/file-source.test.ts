import { mkdtemp, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { readFileSources } from "../../controller/sources/file-source.ts";
import { firstInvalidUtf8 } from "../../controller/sources/utf8.ts";
import { loadSpecs } from "../../controller/validation/load-specs.ts";
import { formatDiagnostic } from "../../controller/validation/result.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

describe("readFileSources", () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), "leaven-sources-"));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it("reads 200,000 documents of one file without overflowing the stack", async () => {
    // Spreading a file's documents into push() threw RangeError: Maximum call stack size exceeded.
    await writeFile(join(dir, "many.yaml"), "a: 1\n---\n".repeat(200_000));
    const read = await readFileSources(["many.yaml"], dir);
    expect(read.documentsRead).toBe(200_000);
    expect(read.documents.at(-1)!.position).toEqual({ file: "many.yaml", line: 399_999, column: 1 });
    expect(read.diagnostics).toEqual([]);
  });

  it("reports bytes that are not UTF-8 where they are, and reads the other files", async () => {
    const result = await loadSpecs(["test/fixtures/encoding/latin1.yaml", "examples/foundations.yaml"], {
      cwd: root,
    });
    expect(result.diagnostics.map(formatDiagnostic)).toEqual([
      "test/fixtures/encoding/latin1.yaml:4:17 not valid UTF-8: byte 0xe9 at offset 75 is not part of a UTF-8 character; save the file as UTF-8",
    ]);
    expect(result.specs.length).toBeGreaterThan(0);
  });

  it("says a dangling symbolic link points at nothing", async () => {
    await symlink("missing.yaml", join(dir, "gone.yaml"));
    const read = await readFileSources(["."], dir);
    expect(read.diagnostics.map(formatDiagnostic)).toEqual([
      "gone.yaml:1:1 is a symbolic link to missing.yaml, which does not exist; fix or remove the link",
    ]);
  });

  it("says a loop of symbolic links is one", async () => {
    await symlink("b.yaml", join(dir, "a.yaml"));
    await symlink("a.yaml", join(dir, "b.yaml"));
    const read = await readFileSources(["."], dir);
    expect(read.diagnostics.map(formatDiagnostic)).toEqual([
      "a.yaml:1:1 is a symbolic link to b.yaml, which leads back to itself (a loop of links); fix or remove the link",
      "b.yaml:1:1 is a symbolic link to a.yaml, which leads back to itself (a loop of links); fix or remove the link",
    ]);
  });

  it("does not read leaven.yaml, the controller's configuration, as a spec file", async () => {
    await writeFile(join(dir, "leaven.yaml"), "cloud: [aws\n");
    await writeFile(join(dir, "spec.yaml"), "a: 1\n");
    const read = await readFileSources(["."], dir);
    expect(read.files).toEqual(["spec.yaml"]);
    expect(read.diagnostics).toEqual([]);
  });

  it("refuses a dangling symbolic link named on the command line with where it points", async () => {
    await symlink("/nowhere/spec.yaml", join(dir, "spec.yaml"));
    await expect(readFileSources(["spec.yaml"], dir)).rejects.toThrow(
      "spec.yaml: is a symbolic link to /nowhere/spec.yaml, which does not exist; fix or remove the link",
    );
  });
});

describe("firstInvalidUtf8", () => {
  it.each([
    ["ASCII", [0x61, 0x62], 2],
    ["a two-byte character", [0x61, 0xc3, 0xa9], 3],
    ["a four-byte character", [0xf0, 0x9f, 0x98, 0x80], 4],
    ["a stray continuation byte", [0x61, 0x80], 1],
    ["a Latin-1 é", [0x63, 0x61, 0x66, 0xe9], 3],
    ["a truncated three-byte character", [0x61, 0xe2, 0x82], 1],
    ["an overlong encoding of /", [0xc0, 0xaf], 0],
    ["an overlong three-byte encoding", [0xe0, 0x80, 0xaf], 0],
    ["a UTF-16 surrogate", [0xed, 0xa0, 0x80], 0],
    ["a code point above U+10FFFF", [0xf4, 0x90, 0x80, 0x80], 0],
    ["a bad second continuation byte", [0xe2, 0x82, 0x41], 0],
  ])("%s: first bad byte at %j → %i", (_, bytes, expected) => {
    expect(firstInvalidUtf8(new Uint8Array(bytes))).toBe(expected);
  });
});
