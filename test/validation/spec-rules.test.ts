// checkSpecRules on its own: what it returns for documents the loader would never hand it, and the shape of
// every problem it reports. The messages and positions users see are pinned in rules.test.ts.
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { parseYamlDocuments } from "../../controller/sources/yaml-documents.ts";
import { checkSpecRules } from "../../controller/validation/spec-rules.ts";

const invalid = fileURLToPath(new URL("../fixtures/invalid", import.meta.url));

async function fixtureDocuments(): Promise<unknown[]> {
  const files = (await readdir(invalid, { recursive: true })).filter((f) => f.endsWith(".yaml")).sort();
  const documents: unknown[] = [];
  for (const file of files) {
    const text = await readFile(join(invalid, file), "utf8");
    documents.push(...parseYamlDocuments(text, file).documents.map((d) => d.value));
  }
  return documents;
}

describe("checkSpecRules", () => {
  it.each([
    ["null", null],
    ["a string", "spec"],
    ["a list", [{ spec: { layer: "base" } }]],
    ["a document without spec", { apiVersion: "leaven.dev/v1alpha1", kind: "ImageSpec" }],
    ["a spec that is not a mapping", { spec: "base" }],
  ])("finds nothing to check in %s", (_, document) => {
    expect(checkSpecRules(document)).toEqual([]);
  });

  it("points every problem at a key or a value, as Problem.target promises", async () => {
    const problems = (await fixtureDocuments()).flatMap((document) => checkSpecRules(document));
    // Every rule of the module has a fixture, so this sees each kind of problem it reports.
    expect(problems.length).toBeGreaterThan(50);
    expect(problems.filter((p) => p.target !== "key" && p.target !== "value")).toEqual([]);
    expect(new Set(problems.map((p) => p.target))).toEqual(new Set(["key", "value"]));
  });
});

describe("bake.method: volume", () => {
  const spec = (bake: Record<string, unknown>) => ({
    spec: {
      layer: "app",
      parent: { spec: "base", channel: "release" },
      version: "1.0.0",
      regions: ["us-east-1"],
      bake,
    },
  });

  it("refuses the fields only an instance bake uses, naming each; bake.kmsKeyId serves both methods", () => {
    const problems = checkSpecRules(
      spec({ method: "volume", kmsKeyId: "alias/images", instanceType: "t3.small", timeout: "20m" }),
    );
    expect(problems.map((p) => p.path.join("."))).toEqual(["spec.bake.instanceType"]);
    expect(problems[0]!.message).toBe(
      "bake.instanceType applies to the instance method only; a volume bake runs on the bakery host (leaven.yaml bakery): remove instanceType, or set bake.method: instance",
    );
    expect(checkSpecRules(spec({ method: "volume", kmsKeyId: "alias/images" }))).toEqual([]);
  });

  it("accepts them with the instance method, and a volume bake with a timeout and root volume", () => {
    expect(
      checkSpecRules(spec({ method: "instance", kmsKeyId: "alias/images", instanceType: "t3.small" })),
    ).toEqual([]);
    expect(checkSpecRules(spec({ method: "volume", timeout: "20m", rootVolume: { size: 16 } }))).toEqual([]);
  });
});
