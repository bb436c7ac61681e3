import { describe, expect, it } from "vitest";
import { parseYamlDocuments } from "../../controller/sources/yaml-documents.ts";
import { formatDiagnostic } from "../../controller/validation/result.ts";
import { PATTERN_WORDS } from "../../controller/validation/schema-messages.ts";
import { checkSchema } from "../../controller/validation/schema-validator.ts";
import { intendedVersion, SEMVER_PATTERN } from "../../controller/validation/semantic-version.ts";
import { validateDocuments } from "../../controller/validation/validate.ts";
import schema from "../../schemas/imagespec.schema.json" with { type: "json" };

const FOUNDATION = `apiVersion: leaven.dev/v1alpha1
kind: ImageSpec
metadata: { name: ubuntu }
spec:
  layer: foundation
  source: { ssmParameter: /aws/service/ami-id }
  regions: [us-east-1]
  channels: { release: { latest: true } }
`;

/** A base of the given version (line 11 of the text, value at column 12) on a valid foundation. */
function withVersion(version: string): string {
  return `${FOUNDATION}---
apiVersion: leaven.dev/v1alpha1
kind: ImageSpec
metadata: { name: base }
spec:
  layer: base
  version: ${JSON.stringify(version)}
  parent: { spec: ubuntu, channel: release }
  regions: [us-east-1]
`;
}

function diagnostics(version: string): string[] {
  const result = validateDocuments(parseYamlDocuments(withVersion(version), "v.yaml").documents);
  return result.diagnostics.map(formatDiagnostic);
}

const EXPECTED = "expected MAJOR.MINOR.PATCH, optionally with -PRERELEASE, e.g. 2.3.0 or 2.3.0-rc.1";

describe("spec.version", () => {
  it.each([
    ["v2.3.0", `"v2.3.0" is not a semantic version (${EXPECTED}); did you mean "2.3.0"?`],
    ["2.3", `"2.3" is not a semantic version (${EXPECTED}); did you mean "2.3.0"?`],
    ["v2", `"v2" is not a semantic version (${EXPECTED}); did you mean "2.0.0"?`],
    ["01.2.3", `"01.2.3" is not a semantic version (${EXPECTED}); did you mean "1.2.3"?`],
    ["=1.0.0", `"=1.0.0" is not a semantic version (${EXPECTED}); did you mean "1.0.0"?`],
    ["1.2.3.4", `"1.2.3.4" is not a semantic version (${EXPECTED})`],
    ["2.3.0-01", `"2.3.0-01" is not a semantic version (${EXPECTED}); did you mean "2.3.0-1"?`],
    ["2.3.0-", `"2.3.0-" is not a semantic version (${EXPECTED})`],
    ["2.3.0+", `"2.3.0+" is not a semantic version (${EXPECTED})`],
    ["2.3.0-rc..1", `"2.3.0-rc..1" is not a semantic version (${EXPECTED})`],
    [" 2.3.0", `" 2.3.0" is not a semantic version (${EXPECTED}); did you mean "2.3.0"?`],
    ["latest", `"latest" is not a semantic version (${EXPECTED})`],
    ["", `"" is not a semantic version (${EXPECTED})`],
    [
      "2.3.0-rc.1+abc",
      '"2.3.0-rc.1+abc" carries build metadata (+abc), but Leaven appends its own +HASH to make each build id; remove it, e.g. 2.3.0-rc.1',
    ],
    [
      "1.0.0+5f2c91ab",
      '"1.0.0+5f2c91ab" carries build metadata (+5f2c91ab), but Leaven appends its own +HASH to make each build id; remove it, e.g. 1.0.0',
    ],
    [
      "9007199254740992.0.0",
      '"9007199254740992.0.0" is too large to compare as a version (numbers up to 9007199254740991, at most 256 characters)',
    ],
  ])("rejects %j, once, naming the field", (version, message) => {
    expect(diagnostics(version)).toEqual([`v.yaml:15:12 spec.version: ${message}`]);
  });

  it.each([
    "0.0.0",
    "2.3.0",
    "10.20.30",
    "2.3.0-rc.1",
    "1.0.0-alpha.beta.1",
    "1.0.0-0A.is.legal",
    "1.0.0-x-y-z.--",
    "9007199254740991.0.0",
  ])("accepts %j", (version) => {
    expect(diagnostics(version)).toEqual([]);
  });

  // Semantic Versioning 2.0.0 allows +BUILD, so the schema (and so the CRD) does; Leaven's own rule
  // refuses it because build ids are VERSION+HASH (see the rejected rows above).
  it.each(["2.3.0-rc.1+abc", "1.0.0+20130313144700", "1.0.0-beta+exp.sha.5114f85"])(
    "the schema accepts %j as semver 2.0.0",
    (version) => {
      expect(SEMVER_PATTERN.test(version)).toBe(true);
      const document = {
        apiVersion: "leaven.dev/v1alpha1",
        kind: "ImageSpec",
        metadata: { name: "base" },
        spec: { layer: "base", version, regions: ["us-east-1"] },
      };
      expect(checkSchema(document)).toEqual([]);
    },
  );

  it("is the same pattern in the schema and in the code", () => {
    expect(schema.definitions.ImageSpecSpec.properties.version.pattern).toBe(SEMVER_PATTERN.source);
  });

  it.each([
    ["v2.3.0", "2.3.0"],
    ["V2.3.0", undefined],
    ["2", "2.0.0"],
    ["99999999999999999999999", undefined],
    ["1.2.3.4", undefined],
  ])("guesses %j was meant as %j", (typed, meant) => {
    expect(intendedVersion(typed)).toBe(meant);
  });
});

describe("schema patterns", () => {
  it("every pattern of the schema is explained in words", () => {
    const patterns = new Set<string>();
    const walk = (node: unknown): void => {
      if (node === null || typeof node !== "object") return;
      const pattern = (node as { pattern?: unknown }).pattern;
      if (typeof pattern === "string") patterns.add(pattern);
      for (const child of Object.values(node)) walk(child);
    };
    walk(schema);
    // Without words a user would be shown the bare regular expression.
    expect([...patterns].filter((p) => PATTERN_WORDS[p] === undefined)).toEqual([]);
    expect(patterns.size).toBe(Object.keys(PATTERN_WORDS).length);
  });
});
