import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { loadSpecs } from "../../controller/validation/load-specs.ts";
import { formatDiagnostic } from "../../controller/validation/result.ts";

const fixtures = fileURLToPath(new URL("../fixtures", import.meta.url));

async function messages(path: string): Promise<string[]> {
  const result = await loadSpecs([path], { cwd: fixtures });
  return result.diagnostics.map(formatDiagnostic);
}

// One row per rule: the fixture that breaks it and the exact diagnostic, position included.
const rules: [string, string][] = [
  [
    "invalid/schema.yaml",
    'invalid/schema.yaml:1:13 apiVersion: must be leaven.dev/v1alpha1 (got "leaven.dev/v1")',
  ],
  [
    "invalid/schema.yaml",
    "invalid/schema.yaml:3:19 metadata.name: \"Base_1\" is not a valid name (expected lower-case letters, digits and '-', starting with a letter, not ending with '-', at most 63 characters)",
  ],
  [
    "invalid/schema.yaml",
    'invalid/schema.yaml:5:3 spec.regions: missing required field "regions" (AWS regions the images must exist in)',
  ],
  [
    "invalid/schema.yaml",
    'invalid/schema.yaml:5:10 spec.layer: "bse" is not one of foundation, base, app; did you mean "base"?',
  ],
  [
    "invalid/schema.yaml",
    "invalid/schema.yaml:6:12 spec.version: expected a string, got the number 1 (put the value in quotes)",
  ],
  [
    "invalid/schema.yaml",
    'invalid/schema.yaml:7:3 spec.chanels: unknown field "chanels" (allowed: layer, source, parent, version, provision, bake, regions, share, channels, retention, suspend); did you mean "channels"?',
  ],
  ["invalid/schema.yaml", "invalid/schema.yaml:8:31 spec.bake.rootVolume.size: must be at least 1 (got 0)"],
  [
    "invalid/values.yaml",
    'invalid/values.yaml:17:12 spec.version: "2.3" is not a semantic version (expected MAJOR.MINOR.PATCH, e.g. 2.3.0)',
  ],
  [
    "invalid/values.yaml",
    'invalid/values.yaml:18:13 spec.regions[0]: "us-est-1" is not an AWS region; did you mean "us-east-1"?',
  ],
  [
    "invalid/values.yaml",
    'invalid/values.yaml:18:34 spec.regions[2]: region "eu-west-1" is listed twice (also at index 1); list each region once',
  ],
  [
    "invalid/values.yaml",
    'invalid/values.yaml:19:20 spec.bake.timeout: "0m" is not a positive duration; a bake needs time to run, e.g. 30m',
  ],
  [
    "invalid/values.yaml",
    'invalid/values.yaml:22:7 spec.share.kmsKeys.eu-central-1: region "eu-central-1" is not one of this spec\'s regions (us-est-1, eu-west-1, eu-west-1); add it to regions or remove this key',
  ],
  [
    "invalid/values.yaml",
    'invalid/values.yaml:24:23 spec.channels.release.build: "2.3" is not a build id (expected VERSION+HASH, e.g. 2.3.0+5f2c91ab)',
  ],
  [
    "invalid/values.yaml",
    'invalid/values.yaml:25:27 spec.channels.candidate.version: "^1.x.q" is not a semver range (expected e.g. ^1.14.0, ~2.3 or >=1.0.0 <2.0.0)',
  ],
  [
    "invalid/values.yaml",
    'invalid/values.yaml:25:45 spec.channels.candidate.minAge: "7 days" is not a duration (expected a whole number followed by s, m, h, d or w, e.g. 30m, 7d)',
  ],
  [
    "invalid/values.yaml",
    "invalid/values.yaml:26:13 spec.channels.stable: set exactly one of latest, build, version (found latest and version)",
  ],
  [
    "invalid/values.yaml",
    "invalid/values.yaml:27:11 spec.channels.none: set exactly one of latest, build, version (found none)",
  ],
  [
    "invalid/values.yaml",
    'invalid/values.yaml:27:21 spec.channels.none.minAge: "0d" is not a positive duration (e.g. 7d)',
  ],
  [
    "invalid/values.yaml",
    "invalid/values.yaml:28:13 spec.channels.vendor: set exactly one of latest, build, version (found none)",
  ],
  [
    "invalid/values.yaml",
    "invalid/values.yaml:28:15 spec.channels.vendor.image: image selects a vendor AMI, so only a foundation channel takes it; use latest, build or version",
  ],
  [
    "invalid/values.yaml",
    "invalid/values.yaml:29:54 spec.retention.deregisterAfter: 7d is shorter than deprecateAfter 14d; images are deprecated before they are deregistered, so use at least 14d",
  ],
  [
    "invalid/foundation.yaml",
    'invalid/foundation.yaml:6:22 spec.source.owners[0]: "0997201" is not an account id or owner alias (expected 12 digits, or amazon, aws-marketplace, self)',
  ],
  [
    "invalid/foundation.yaml",
    "invalid/foundation.yaml:6:34 spec.source.ssmParameter: set either ssmParameter or owners and name, not both",
  ],
  [
    "invalid/foundation.yaml",
    "invalid/foundation.yaml:7:3 spec.parent: a foundation has no parent (it selects a vendor AMI); remove parent, or use layer base",
  ],
  [
    "invalid/foundation.yaml",
    'invalid/foundation.yaml:7:19 spec.parent.spec: no spec named "other" (defined specs: half-source, no-source, vendor)',
  ],
  [
    "invalid/foundation.yaml",
    "invalid/foundation.yaml:8:3 spec.version: a foundation is never baked, so it takes no version; remove it, or use layer base",
  ],
  [
    "invalid/foundation.yaml",
    "invalid/foundation.yaml:11:14 spec.channels.release: set exactly one of latest, image (found none)",
  ],
  [
    "invalid/foundation.yaml",
    "invalid/foundation.yaml:11:16 spec.channels.release.build: a foundation channel selects a vendor AMI: use latest or image, not build",
  ],
  [
    "invalid/foundation.yaml",
    'invalid/foundation.yaml:12:25 spec.channels.candidate.image: "ami-123" is not an AMI id (expected ami- and 8 to 17 hex digits, e.g. ami-0abcdef1234567890)',
  ],
  [
    "invalid/foundation.yaml",
    "invalid/foundation.yaml:18:3 spec.source: a foundation needs a source: owners and name, or ssmParameter",
  ],
  [
    "invalid/foundation.yaml",
    "invalid/foundation.yaml:26:11 spec.source.name: owners needs a name pattern too, e.g. ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*",
  ],
  [
    "invalid/layers.yaml",
    "invalid/layers.yaml:15:3 spec.parent: a base needs a parent to bake on, e.g. { spec: ubuntu-jammy, channel: release }",
  ],
  [
    "invalid/layers.yaml",
    "invalid/layers.yaml:15:3 spec.version: a base needs a version (semver, e.g. 1.0.0)",
  ],
  [
    "invalid/layers.yaml",
    "invalid/layers.yaml:16:3 spec.source: only a foundation takes a source; a base is baked on its parent, so remove source",
  ],
  [
    "invalid/layers.yaml",
    'invalid/layers.yaml:24:19 spec.parent.spec: an app is baked on a base, but "ubuntu" is a foundation',
  ],
  [
    "invalid/layers.yaml",
    'invalid/layers.yaml:57:19 spec.parent.spec: a base is baked on a foundation or a base, but "good-app" is an app',
  ],
  [
    "invalid/parents.yaml",
    'invalid/parents.yaml:16:36 spec.parent.channel: spec "ubuntu" has no channel "relase" (its channels: release); did you mean "release"?',
  ],
  [
    "invalid/parents.yaml",
    'invalid/parents.yaml:27:19 spec.parent.spec: no spec named "bse"; did you mean "base"?',
  ],
  [
    "invalid/parents.yaml",
    "invalid/parents.yaml:49:19 spec.parent.spec: parent cycle a \u2192 b \u2192 a (each spec is baked on the next); change one parent to break it",
  ],
  [
    "invalid/duplicates",
    'invalid/duplicates/b.yaml:3:19 metadata.name: spec "base" is already defined at invalid/duplicates/a.yaml:13:19; give each spec a unique name',
  ],
  [
    "invalid/syntax.yaml",
    "invalid/syntax.yaml:17:1 invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]; fix the syntax (this document was skipped)",
  ],
  [
    "invalid/syntax.yaml",
    "invalid/syntax.yaml:29:1 note: skipped: ConfigMap (v1) is not a leaven.dev ImageSpec",
  ],
];

describe("validation rules", () => {
  it.each(rules)("%s reports %s", async (fixture, expected) => {
    expect(await messages(fixture)).toContain(expected);
  });

  it.each([
    "invalid/schema.yaml",
    "invalid/values.yaml",
    "invalid/foundation.yaml",
    "invalid/layers.yaml",
    "invalid/parents.yaml",
    "invalid/duplicates",
    "invalid/syntax.yaml",
  ])("%s reports every problem at once and nothing else", async (fixture) => {
    const expected = rules.filter(([file]) => file === fixture).map(([, message]) => message);
    expect(await messages(fixture)).toEqual(expected);
  });

  it("accepts the valid fixtures without diagnostics", async () => {
    const result = await loadSpecs(["valid"], { cwd: fixtures });
    expect(result.diagnostics).toEqual([]);
    expect(result.specs.map((s) => s.name)).toEqual(["ubuntu", "vendor", "base", "platform", "app"]);
  });
});
