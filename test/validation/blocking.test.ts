import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadSpecs } from "../../controller/validation/load-specs.ts";

const fixtures = fileURLToPath(new URL("../fixtures", import.meta.url));

describe("an invalid spec blocks only itself and its descendants", () => {
  it.each([
    [
      "invalid/parents.yaml",
      ["ubuntu"],
      {
        base: 'invalid: spec.parent.channel: spec "ubuntu" has no channel "relase" (its channels: release); did you mean "release"?',
        lost: 'invalid: spec.parent.spec: no spec named "bse"; did you mean "base"?',
        a: "invalid: spec.parent.spec: parent cycle a → b → a (each spec is baked on the next); change one parent to break it",
        b: "invalid: part of the parent cycle a → b → a",
        app: "parent base is invalid",
      },
    ],
    [
      "invalid/duplicates",
      ["ubuntu"],
      {
        base: "invalid: defined more than once (invalid/duplicates/a.yaml:13:19, invalid/duplicates/b.yaml:3:19)",
        app: "parent base is invalid",
      },
    ],
    [
      "invalid/syntax.yaml",
      ["ubuntu"],
      { base: "invalid: its document is not valid YAML", app: "parent base is invalid" },
    ],
    [
      "invalid/layers.yaml",
      ["ubuntu", "good-base", "good-app"],
      {
        orphan:
          "invalid: spec.source: only a foundation takes a source; a base is baked on its parent, so remove source (and 2 more errors)",
        "app-on-foundation":
          'invalid: spec.parent.spec: an app is baked on a base, but "ubuntu" is a foundation',
        "base-on-app":
          'invalid: spec.parent.spec: a base is baked on a foundation or a base, but "good-app" is an app',
      },
    ],
    [
      // A warning (minAge beside image or build) does not make a spec invalid.
      "invalid/selectors.yaml",
      ["pinned", "base"],
      {
        vendor:
          "invalid: spec.channels.ranged.version: a foundation channel selects a vendor AMI: use latest or image, not version (and 2 more errors)",
      },
    ],
    [
      "invalid/parent-variants.yaml",
      ["bare", "ubuntu", "good-base", "good-app"],
      {
        "on-bare": 'invalid: spec.parent.channel: spec "bare" has no channel "release" (it has no channels)',
        "stable-seeker":
          'invalid: spec.parent.channel: spec "ubuntu" has no channel "stable" (its channels: release)',
        "app-on-app": 'invalid: spec.parent.spec: an app is baked on a base, but "good-app" is an app',
        self: "invalid: spec.parent.spec: parent cycle self → self (each spec is baked on the next); change one parent to break it",
        "two-errors": "invalid: spec.version: a base needs a version (semver, e.g. 1.0.0) (and 1 more error)",
      },
    ],
    [
      "invalid/versions.yaml",
      ["ubuntu", "prerelease"],
      {
        "leading-v":
          'invalid: spec.version: "v2.3.0" is not a semantic version (expected MAJOR.MINOR.PATCH, optionally with -PRERELEASE, e.g. 2.3.0 or 2.3.0-rc.1); did you mean "2.3.0"?',
        "no-patch":
          'invalid: spec.version: "2.3" is not a semantic version (expected MAJOR.MINOR.PATCH, optionally with -PRERELEASE, e.g. 2.3.0 or 2.3.0-rc.1); did you mean "2.3.0"?',
        "leading-zero":
          'invalid: spec.version: "01.2.3" is not a semantic version (expected MAJOR.MINOR.PATCH, optionally with -PRERELEASE, e.g. 2.3.0 or 2.3.0-rc.1); did you mean "1.2.3"?',
        "four-parts":
          'invalid: spec.version: "1.2.3.4" is not a semantic version (expected MAJOR.MINOR.PATCH, optionally with -PRERELEASE, e.g. 2.3.0 or 2.3.0-rc.1)',
        "build-metadata":
          'invalid: spec.version: "2.3.0-rc.1+abc" carries build metadata (+abc), but Leaven appends its own +HASH to make each build id; remove it, e.g. 2.3.0-rc.1',
        "too-large":
          'invalid: spec.version: "9007199254740992.0.0" is too large to compare as a version (numbers up to 9007199254740991, at most 256 characters)',
      },
    ],
  ])("%s", async (fixture, valid, blocked) => {
    const result = await loadSpecs([fixture], { cwd: fixtures });
    expect(result.specs.map((s) => s.name)).toEqual(valid);
    expect(Object.fromEntries(result.blocked)).toEqual(blocked);
  });

  it("names the nearest invalid ancestor of a grandchild", async () => {
    const { parseYamlDocuments } = await import("../../controller/sources/yaml-documents.ts");
    const { validateDocuments } = await import("../../controller/validation/validate.ts");
    const spec = (name: string, layer: string, parent?: string) =>
      `apiVersion: leaven.dev/v1alpha1\nkind: ImageSpec\nmetadata: { name: ${name} }\nspec:\n  layer: ${layer}\n` +
      (parent
        ? `  parent: { spec: ${parent}, channel: release }\n  version: 1.0.0\n`
        : "  source: { ssmParameter: /x }\n") +
      `  regions: [${layer === "base" && parent === "f" ? "nowhere-1" : "us-east-1"}]\n  channels: { release: { latest: true } }\n`;
    const text = [
      spec("f", "foundation"),
      spec("b1", "base", "f"),
      spec("b2", "base", "b1"),
      spec("x", "app", "b2"),
    ].join("---\n");
    const result = validateDocuments(parseYamlDocuments(text, "t.yaml").documents);
    expect(result.specs.map((s) => s.name)).toEqual(["f"]);
    expect(result.blocked.get("b2")).toBe("parent b1 is invalid");
    expect(result.blocked.get("x")).toBe("ancestor b1 is invalid");
  });
});
