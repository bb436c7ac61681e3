import { describe, expect, it } from "vitest";
import { root, run } from "../support/in-process-cli.ts";

describe("leaven validate", () => {
  it("passes the examples", async () => {
    expect(await run(["validate", "examples"])).toEqual({
      code: 0,
      stdout: "ok: 9 specs valid (7 files, 9 documents)\n",
      stderr: "",
    });
  });

  it("reports every diagnostic and a summary on stderr, exit 1", async () => {
    const result = await run(["validate", "test/fixtures/invalid/parents.yaml"]);
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: [
        'test/fixtures/invalid/parents.yaml:16:36 spec.parent.channel: spec "ubuntu" has no channel "relase" (its channels: release); did you mean "release"?',
        'test/fixtures/invalid/parents.yaml:27:19 spec.parent.spec: no spec named "bse"; did you mean "base"?',
        "test/fixtures/invalid/parents.yaml:49:19 spec.parent.spec: parent cycle a → b → a (each spec is baked on the next); change one parent to break it",
        "3 errors: 1 spec valid, 4 invalid, 1 blocked by an invalid ancestor (1 file, 6 documents)",
        "",
      ].join("\n"),
    });
  });

  it("checks the leaven.yaml beside the specs too, where plan and apply would refuse it", async () => {
    expect(await run(["validate", "test/fixtures/config/typo"])).toEqual({
      code: 1,
      stdout: "",
      stderr: [
        'test/fixtures/config/typo/leaven.yaml:3:1 profle: unknown field "profle" (allowed: cloud, region, profile, endpoint, installation, sim, bakery, lock, manifests); did you mean "profile"?',
        "1 error: 2 specs valid (1 file, 2 documents)",
        "",
      ].join("\n"),
    });
  });

  it("prints a JSON document with --output json", async () => {
    const result = await run(["validate", "invalid/syntax.yaml", "--output", "json"], `${root}test/fixtures`);
    expect(result.code).toBe(1);
    expect(result.stderr).toBe("");
    expect(JSON.parse(result.stdout)).toEqual({
      valid: false,
      files: ["invalid/syntax.yaml"],
      documentsRead: 4,
      specs: ["ubuntu"],
      blocked: { base: "invalid: its document is not valid YAML", app: "parent base is invalid" },
      emptyPaths: [],
      diagnostics: [
        {
          severity: "error",
          file: "invalid/syntax.yaml",
          line: 17,
          column: 1,
          path: "",
          message:
            "invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]; fix the syntax (this document was skipped)",
          text: "invalid/syntax.yaml:17:1 invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]; fix the syntax (this document was skipped)",
        },
        {
          severity: "note",
          file: "invalid/syntax.yaml",
          line: 29,
          column: 1,
          path: "",
          message: "skipped: ConfigMap (v1) is not a leaven.dev ImageSpec",
          text: "invalid/syntax.yaml:29:1 note: skipped: ConfigMap (v1) is not a leaven.dev ImageSpec",
        },
      ],
    });
  });

  it("reads the files it is given, relative to the working directory", async () => {
    expect(await run(["validate", "estate.yaml"], `${root}test/fixtures/valid`)).toEqual({
      code: 0,
      stdout: "ok: 3 specs valid (1 file, 3 documents)\n",
      stderr: "",
    });
  });

  it("defaults to the current directory", async () => {
    expect(await run(["validate"], `${root}test/fixtures/valid`)).toEqual({
      code: 0,
      stdout: "ok: 5 specs valid (2 files, 5 documents)\n",
      stderr: "",
    });
  });

  it.each([
    [
      ["validate", "no/such/dir"],
      "leaven validate: no/such/dir: no such file or directory; pass YAML files or directories that contain them\n",
    ],
    [["validate", "--output", "xml"], 'leaven validate: --output must be text or json, not "xml"\n'],
  ])("%j is a user error without a stack trace", async (args, stderr) => {
    expect(await run(args)).toEqual({ code: 1, stdout: "", stderr });
  });

  it("has --help", async () => {
    const result = await run(["validate", "--help"]);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(/^Usage: leaven validate \[paths…\] \[--output text\|json\]\n/);
  });
});
