// Input with no ImageSpec in it (an empty folder, a folder of other YAML, a file with no documents) is a
// warning naming the path and what was searched; validate and graph then exit 1, and plan, apply, status
// and builds refuse before looking at any cloud: never "ok", "No changes." or "Converged".
import { mkdirSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { root, run } from "../support/in-process-cli.ts";
import { tempDir } from "../support/temp-dir.ts";

const fixtures = join(root, "test/fixtures/empty-input");
const noFiles =
  "warning: no ImageSpec in empty: it has no *.yaml or *.yml files (hidden directories and node_modules are skipped)";
const otherKinds =
  "warning: no ImageSpec in configs: its 1 YAML file holds 2 documents, none of kind ImageSpec (apiVersion: leaven.dev/v1alpha1)";
const notes = [
  "configs/settings.yaml:2:1 note: skipped: ConfigMap (v1) is not a leaven.dev ImageSpec",
  "configs/settings.yaml:9:1 note: skipped: Secret (v1) is not a leaven.dev ImageSpec",
];
const refused = (where: string) =>
  `no ImageSpec found in ${where}, so there is nothing to work on; pass the files or directories that hold your ImageSpecs (default: the current directory).`;

/** A scratch folder holding an empty folder, `empty`. */
function scratch(): string {
  const dir = tempDir("leaven-empty-input-");
  mkdirSync(join(dir, "empty"));
  return dir;
}

describe("validate with no ImageSpec", () => {
  it("warns about an empty folder and fails: nothing was validated", async () => {
    expect(await run(["validate", "empty"], scratch())).toEqual({
      code: 1,
      stdout: "",
      stderr: `${noFiles}\nno ImageSpec found, nothing validated (0 files, 0 documents); pass the files or directories that hold your ImageSpecs\n`,
    });
  });

  it("says what it found instead: documents of other kinds, a file with no documents", async () => {
    expect(await run(["validate", "configs", "blank.yaml"], fixtures)).toEqual({
      code: 1,
      stdout: "",
      stderr: [
        ...notes,
        otherKinds,
        "warning: no ImageSpec in blank.yaml: it holds no documents",
        "no ImageSpec found, nothing validated (2 files, 2 documents); pass the files or directories that hold your ImageSpecs",
        "",
      ].join("\n"),
    });
  });

  it("names the current directory when given no path", async () => {
    const dir = join(scratch(), "empty");
    expect((await run(["validate"], dir)).stderr).toBe(
      `warning: no ImageSpec in the current directory (${dir}): it has no *.yaml or *.yml files (hidden directories and node_modules are skipped)\nno ImageSpec found, nothing validated (0 files, 0 documents); pass the files or directories that hold your ImageSpecs\n`,
    );
  });

  it("warns about one empty path among others and passes on the specs of the rest", async () => {
    expect(await run(["validate", join(root, "examples"), "empty"], scratch())).toEqual({
      code: 0,
      stdout: "ok: 9 specs valid, 1 warning (7 files, 9 documents)\n",
      stderr: `${noFiles}\n`,
    });
  });

  it("lists the empty paths in its JSON and is not valid", async () => {
    const result = await run(["validate", "empty", "-o", "json"], scratch());
    expect(result.code).toBe(1);
    expect(JSON.parse(result.stdout)).toMatchObject({
      valid: false,
      specs: [],
      emptyPaths: [{ path: "empty", message: noFiles.replace(/^warning: /, "") }],
    });
  });
});

describe("plan, apply, status, builds, promote and graph with no ImageSpec", () => {
  it.each([
    ["plan", ["plan", "empty"]],
    ["apply", ["apply", "empty", "--once"]],
    ["status", ["status", "empty"]],
    ["builds", ["builds", "api-server", "empty"]],
    ["promote", ["promote", "api-server", "--channel", "release", "--to", "candidate", "empty"]],
  ])("%s warns and refuses, exit 1, before it starts a simulator", async (name, args) => {
    expect(await run(args, scratch())).toEqual({
      code: 1,
      stdout: "",
      stderr: `${noFiles}\nleaven ${name}: ${refused("empty")}\n`,
    });
  });

  it("plan of a folder of other YAML says what it read", async () => {
    expect(await run(["plan", "configs"], fixtures)).toEqual({
      code: 1,
      stdout: "",
      stderr: `${otherKinds}\nleaven plan: ${refused("configs")}\n`,
    });
  });

  it("graph draws nothing and exits 1", async () => {
    expect(await run(["graph", "empty"], scratch())).toEqual({ code: 1, stdout: "", stderr: `${noFiles}\n` });
  });
});
