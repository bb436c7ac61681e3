import { copyFile, mkdtemp, readdir, rm, symlink } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
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
    "invalid/recipe.yaml",
    "invalid/recipe.yaml:22:9 spec.provision.files[0]: set exactly one of content, s3 (found content and s3)",
  ],
  [
    "invalid/recipe.yaml",
    "invalid/recipe.yaml:22:86 spec.provision.files[0].s3.sha256: expected a string, got the number 0 (put the value in quotes)",
  ],
  [
    "invalid/recipe.yaml",
    "invalid/recipe.yaml:23:9 spec.provision.files[1]: set exactly one of content, s3 (found none)",
  ],
  [
    "invalid/recipe.yaml",
    'invalid/recipe.yaml:24:74 spec.provision.files[2].s3.sha256: "abc" is not a SHA-256 (expected 64 lower-case hex digits (sha256sum FILE))',
  ],
  [
    "invalid/recipe.yaml",
    "invalid/recipe.yaml:26:7 spec.provision.ansible: set exactly one of repository, s3 (found repository and s3)",
  ],
  [
    "invalid/recipe.yaml",
    'invalid/recipe.yaml:27:70 spec.provision.ansible.repository.ref: "main" is not a commit id (expected the full 40 hex digits of a commit (git rev-parse HEAD), not a branch or tag)',
  ],
  [
    "invalid/recipe.yaml",
    'invalid/recipe.yaml:28:21 spec.provision.ansible.s3.bucket: "Acme_Bake" is not an S3 bucket name (expected 3–63 lower-case letters, digits, dots and hyphens, e.g. acme-bake-files)',
  ],
  [
    "invalid/recipe.yaml",
    "invalid/recipe.yaml:28:55 spec.provision.ansible.s3.sha256: expected a string, got the number 0 (put the value in quotes)",
  ],
  [
    "invalid/recipe.yaml",
    "invalid/recipe.yaml:49:5 spec.provision.upgrade: windows is a Windows foundation: upgrade runs apt or dnf; on Windows remove it (install updates with PSWindowsUpdate in the script)",
  ],
  [
    "invalid/recipe.yaml",
    "invalid/recipe.yaml:50:5 spec.provision.ansible: windows is a Windows foundation: ansible runs a playbook locally on a Linux bake; on Windows remove it (run the script instead)",
  ],
  [
    "invalid/rebuild.yaml",
    "invalid/rebuild.yaml:8:3 spec.rebuild: a foundation is never baked, so it takes no rebuild; remove it, or use layer base",
  ],
  [
    "invalid/rebuild.yaml",
    "invalid/rebuild.yaml:20:12 spec.rebuild: set exactly one of every, cron (found every and cron)",
  ],
  [
    "invalid/rebuild.yaml",
    'invalid/rebuild.yaml:30:21 spec.rebuild.every: "30m" is shorter than 1h; a scheduled rebake bakes and keeps a build per window, e.g. every: 14d',
  ],
  [
    "invalid/rebuild.yaml",
    "invalid/rebuild.yaml:30:26 spec.rebuild.timezone: timezone applies to cron only (every: windows are aligned to UTC); remove it, or use cron",
  ],
  [
    "invalid/rebuild.yaml",
    'invalid/rebuild.yaml:40:45 spec.rebuild.timezone: "Europe/Warsw" is not an IANA time zone (e.g. Europe/Warsaw, UTC); did you mean "Europe/Warsaw"?',
  ],
  [
    "invalid/rebuild.yaml",
    'invalid/rebuild.yaml:50:20 spec.rebuild.cron: "FUN" is not a day of week (0–7 or SUN–SAT)',
  ],
  [
    "invalid/rebuild.yaml",
    'invalid/rebuild.yaml:60:20 spec.rebuild.cron: "*/5 * * * *" fires more than once an hour; name one minute, e.g. "0 3 * * MON"',
  ],
  [
    "invalid/rebuild.yaml",
    'invalid/rebuild.yaml:70:20 spec.rebuild.cron: "0 0 30 2 *" never fires (no such day); check the day of month and the month',
  ],
  [
    "invalid/user-data.yaml",
    "invalid/user-data.yaml:27:18 spec.provision.files[1].content: the rendered bake script would be 21176 bytes, over EC2's 16384-byte user-data limit (this field is 16285 bytes); ship large files in a package, or fetch them from the provision script",
  ],
  [
    "invalid/user-data.yaml",
    "invalid/user-data.yaml:243:15 spec.checks.smoke.script: the rendered smoke check script would be 17155 bytes, over EC2's 16384-byte user-data limit (this field is 16200 bytes); keep the check short, or fetch what it runs from the check script",
  ],
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
    'invalid/schema.yaml:7:3 spec.chanels: unknown field "chanels" (allowed: layer, source, parent, version, provision, bake, rebuild, regions, share, publish, channels, retention, checks, revoked, suspend); did you mean "channels"?',
  ],
  ["invalid/schema.yaml", "invalid/schema.yaml:8:31 spec.bake.rootVolume.size: must be at least 1 (got 0)"],
  [
    "invalid/values.yaml",
    'invalid/values.yaml:17:12 spec.version: "2.3" is not a semantic version (expected MAJOR.MINOR.PATCH, optionally with -PRERELEASE, e.g. 2.3.0 or 2.3.0-rc.1); did you mean "2.3.0"?',
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
    "invalid/values.yaml:26:13 spec.channels.stable: set exactly one of latest, build, version, follow (found latest and version)",
  ],
  [
    "invalid/values.yaml",
    "invalid/values.yaml:27:11 spec.channels.none: set exactly one of latest, build, version, follow (found none)",
  ],
  [
    "invalid/values.yaml",
    'invalid/values.yaml:27:21 spec.channels.none.minAge: "0d" is not a positive duration (e.g. 7d)',
  ],
  [
    "invalid/values.yaml",
    "invalid/values.yaml:28:13 spec.channels.vendor: set exactly one of latest, build, version, follow (found none)",
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
  // spec.version: the schema's semver pattern, then what the pattern lets through but Leaven cannot use.
  [
    "invalid/versions.yaml",
    'invalid/versions.yaml:17:12 spec.version: "v2.3.0" is not a semantic version (expected MAJOR.MINOR.PATCH, optionally with -PRERELEASE, e.g. 2.3.0 or 2.3.0-rc.1); did you mean "2.3.0"?',
  ],
  [
    "invalid/versions.yaml",
    'invalid/versions.yaml:26:12 spec.version: "2.3" is not a semantic version (expected MAJOR.MINOR.PATCH, optionally with -PRERELEASE, e.g. 2.3.0 or 2.3.0-rc.1); did you mean "2.3.0"?',
  ],
  [
    "invalid/versions.yaml",
    'invalid/versions.yaml:35:12 spec.version: "01.2.3" is not a semantic version (expected MAJOR.MINOR.PATCH, optionally with -PRERELEASE, e.g. 2.3.0 or 2.3.0-rc.1); did you mean "1.2.3"?',
  ],
  [
    "invalid/versions.yaml",
    'invalid/versions.yaml:44:12 spec.version: "1.2.3.4" is not a semantic version (expected MAJOR.MINOR.PATCH, optionally with -PRERELEASE, e.g. 2.3.0 or 2.3.0-rc.1)',
  ],
  [
    "invalid/versions.yaml",
    'invalid/versions.yaml:53:12 spec.version: "2.3.0-rc.1+abc" carries build metadata (+abc), but Leaven appends its own +HASH to make each build id; remove it, e.g. 2.3.0-rc.1',
  ],
  [
    "invalid/versions.yaml",
    'invalid/versions.yaml:62:12 spec.version: "9007199254740992.0.0" is too large to compare as a version (numbers up to 9007199254740991, at most 256 characters)',
  ],
  // Foundation sources: exactly one of owners+name or ssmParameter.
  [
    "invalid/sources.yaml",
    "invalid/sources.yaml:6:11 spec.source.owners: a name pattern needs owners too: account ids or aliases such as amazon",
  ],
  ["invalid/sources.yaml", "invalid/sources.yaml:14:11 spec.source: set owners and name, or ssmParameter"],
  ["invalid/sources.yaml", "invalid/sources.yaml:22:11 spec.source: set owners and name, or ssmParameter"],
  // Platform rules (validation/platform-rules.ts).
  [
    "invalid/windows.yaml",
    "invalid/windows.yaml:24:5 spec.provision.repositories: windows-2022 is a Windows foundation: package repositories are apt or yum repositories, and a Windows bake installs Chocolatey packages; remove repositories (add a Chocolatey source with `choco source add` in the script instead)",
  ],
  [
    "invalid/windows.yaml",
    'invalid/windows.yaml:27:15 spec.provision.files[0].path: windows-2022 is a Windows foundation: "/etc/motd" is not a Windows path; on Windows a file path starts with a drive, such as C:\\ProgramData\\app\\app.conf',
  ],
  [
    "invalid/windows.yaml",
    "invalid/windows.yaml:30:9 spec.provision.files[1].mode: windows-2022 is a Windows foundation: mode is a Linux permission; Windows files take none: remove mode (set ACLs with icacls in the script)",
  ],
  [
    "invalid/windows.yaml",
    "invalid/windows.yaml:33:13 spec.bake.method: windows-2022 is a Windows foundation: Windows images bake with the instance method only; set bake.method: instance or remove it",
  ],
  [
    "invalid/windows.yaml",
    "invalid/windows.yaml:35:5 spec.checks.smoke: windows-2022 is a Windows foundation: smoke checks run a bash script, which a Windows image cannot; remove checks.smoke",
  ],
  [
    "invalid/windows.yaml",
    'invalid/windows.yaml:61:15 spec.provision.files[0].path: "C:\\Windows\\motd.txt" is a Windows path, but foundation "ubuntu" is linux; use an absolute path such as /etc/app.conf, or set platform: windows in ubuntu\'s source',
  ],
  [
    "invalid/sources.yaml",
    "invalid/sources.yaml:30:35 spec.source.ssmParameter: set either ssmParameter or owners and name, not both",
  ],
  // Fields a layer does not take or needs, for the layers the older fixtures leave out.
  [
    "invalid/layer-fields.yaml",
    "invalid/layer-fields.yaml:7:3 spec.provision: a foundation is never baked, so it takes no provision; remove it, or use layer base",
  ],
  [
    "invalid/layer-fields.yaml",
    "invalid/layer-fields.yaml:8:3 spec.bake: a foundation is never baked, so it takes no bake; remove it, or use layer base",
  ],
  [
    "invalid/layer-fields.yaml",
    "invalid/layer-fields.yaml:17:3 spec.parent: an app needs a parent to bake on, e.g. { spec: base, channel: release }",
  ],
  [
    "invalid/layer-fields.yaml",
    "invalid/layer-fields.yaml:17:3 spec.version: an app needs a version (semver, e.g. 1.0.0)",
  ],
  [
    "invalid/layer-fields.yaml",
    "invalid/layer-fields.yaml:18:3 spec.source: only a foundation takes a source; an app is baked on its parent, so remove source",
  ],
  // Channel selectors of a foundation, and the minAge warning (which does not make a spec invalid).
  [
    "invalid/selectors.yaml",
    "invalid/selectors.yaml:9:13 spec.channels.ranged: set exactly one of latest, image (found none)",
  ],
  [
    "invalid/selectors.yaml",
    "invalid/selectors.yaml:9:15 spec.channels.ranged.version: a foundation channel selects a vendor AMI: use latest or image, not version",
  ],
  [
    "invalid/selectors.yaml",
    "invalid/selectors.yaml:10:11 spec.channels.both: set exactly one of latest, image (found latest and image)",
  ],
  [
    "invalid/selectors.yaml",
    "invalid/selectors.yaml:20:46 warning: spec.channels.release.minAge: minAge has no effect with image; it narrows latest and version",
  ],
  [
    "invalid/selectors.yaml",
    "invalid/selectors.yaml:31:39 warning: spec.channels.release.minAge: minAge has no effect with build; it narrows latest and version",
  ],
  [
    "invalid/retention.yaml",
    'invalid/retention.yaml:10:47 spec.retention.deprecateAfter: "0d" is not a positive duration (e.g. 14d)',
  ],
  [
    "invalid/retention.yaml",
    'invalid/retention.yaml:10:68 spec.retention.deregisterAfter: "0s" is not a positive duration (e.g. 30d)',
  ],
  // Channel gates and revocation.
  [
    "invalid/gates.yaml",
    "invalid/gates.yaml:9:30 spec.channels.release.parentIn: a foundation has no parent, so its channels take no parentIn",
  ],
  [
    "invalid/gates.yaml",
    "invalid/gates.yaml:10:13 spec.channels.soaked: set exactly one of latest, image (found none)",
  ],
  [
    "invalid/gates.yaml",
    "invalid/gates.yaml:10:15 spec.channels.soaked.follow: a foundation channel selects a vendor AMI: use latest or image, not follow",
  ],
  [
    "invalid/gates.yaml",
    "invalid/gates.yaml:22:21 spec.channels.loop.follow: channel loop cannot follow itself; name another channel of this spec, e.g. candidate",
  ],
  [
    "invalid/gates.yaml",
    'invalid/gates.yaml:23:24 spec.channels.release.follow: this spec has no channel "candidat" (its other channels: candidate, loop); did you mean "candidate"?',
  ],
  [
    "invalid/gates.yaml",
    'invalid/gates.yaml:23:56 spec.channels.release.parentIn: parent spec "vendor" has no channel "relase" (its channels: release, soaked); did you mean "release"?',
  ],
  [
    "invalid/gates.yaml",
    'invalid/gates.yaml:26:16 spec.revoked[1].build: "v1.0.0" is not a build id (expected VERSION+HASH, e.g. 2.3.0+5f2c91ab)',
  ],
  [
    "invalid/gates.yaml",
    'invalid/gates.yaml:27:16 spec.revoked[2].build: "1.0.0+5f2c91ab" is already revoked by entry 1; list each build once',
  ],
  [
    "invalid/gates.yaml",
    "invalid/gates.yaml:38:40 spec.channels.release.requires: requires the smoke check, but this spec declares no checks.smoke; add it under spec.checks",
  ],
  [
    "invalid/gates.yaml",
    "invalid/gates.yaml:47:3 spec.checks: a foundation is never baked, so it takes no checks; remove it, or use layer base",
  ],
  [
    "invalid/gates.yaml",
    "invalid/gates.yaml:49:30 spec.channels.release.requires: a foundation is not baked, so there is nothing for its channels to require checks of",
  ],
  [
    "invalid/gates.yaml",
    'invalid/gates.yaml:59:47 spec.checks.smoke.timeout: "0m" is not a positive duration; a check needs time to boot and run, e.g. 10m',
  ],
  [
    "invalid/gates.yaml",
    'invalid/gates.yaml:61:24 spec.channels.release.follow: this spec has no channel "constructor" (it has no other channels)',
  ],
  // Every pattern of the schema, explained in words.
  [
    "invalid/patterns.yaml",
    'invalid/patterns.yaml:6:27 spec.source.ssmParameter: "aws/service/ami-id" is not an absolute path (expected a path starting with /)',
  ],
  [
    "invalid/patterns.yaml",
    "invalid/patterns.yaml:20:28 spec.provision.repositories[0].name: \"-docker\" is not a valid repository name (expected letters, digits, '-', '_' and '.', starting with a letter or digit)",
  ],
  [
    "invalid/patterns.yaml",
    'invalid/patterns.yaml:21:21 spec.provision.files[0].path: "etc/motd" is not an absolute path (expected a path starting with / on Linux, or with a drive such as C:\\ on Windows)',
  ],
  [
    "invalid/patterns.yaml",
    'invalid/patterns.yaml:21:53 spec.provision.files[0].mode: "0999" is not a permission mode (expected three octal digits, optionally after a 0, e.g. "0644")',
  ],
  [
    "invalid/patterns.yaml",
    'invalid/patterns.yaml:23:19 spec.bake.instanceType: "t3" is not an instance type (expected FAMILY.SIZE, e.g. t3.medium)',
  ],
  [
    "invalid/patterns.yaml",
    'invalid/patterns.yaml:24:15 spec.bake.subnetId: "subnet-XYZ" is not a subnet id (expected subnet- and hex digits, e.g. subnet-0abc1234)',
  ],
  [
    "invalid/patterns.yaml",
    'invalid/patterns.yaml:25:24 spec.bake.securityGroupIds[0]: "sg_0abc" is not a security group id (expected sg- and hex digits, e.g. sg-0abc1234)',
  ],
  [
    "invalid/patterns.yaml",
    'invalid/patterns.yaml:26:15 spec.bake.kmsKeyId: "alias/bake" is not a KMS key ARN (expected arn:aws:kms:REGION:ACCOUNT:key/ID)',
  ],
  [
    "invalid/patterns.yaml",
    'invalid/patterns.yaml:28:16 spec.share.accounts[0]: "11112222333" is not an AWS account id (expected 12 digits, e.g. 111122223333)',
  ],
  [
    "invalid/patterns.yaml",
    'invalid/patterns.yaml:29:24 spec.share.organizationArns[0]: "arn:aws:organizations::111122223333:o-abc" is not an organization ARN (expected arn:aws:organizations::ACCOUNT:organization/o-ID)',
  ],
  [
    "invalid/patterns.yaml",
    'invalid/patterns.yaml:30:30 spec.share.organizationalUnitArns[0]: "arn:aws:organizations::111122223333:ou/o-abc/ou-1" is not an organizational unit ARN (expected arn:aws:organizations::ACCOUNT:ou/o-ID/ou-ROOT-ID)',
  ],
  [
    "invalid/patterns.yaml",
    'invalid/patterns.yaml:31:27 spec.share.kmsKeys.eu-west-1: "alias/images" is not a KMS key ARN (expected arn:aws:kms:REGION:ACCOUNT:key/ID)',
  ],
  // Schema limits: list and string lengths, number bounds, nested required fields, wrong types.
  [
    "invalid/schema-limits.yaml",
    "invalid/schema-limits.yaml:6:21 spec.source.owners: must list at least 1 item (AWS account ids (12 digits) or aliases (amazon, aws-marketplace) that publish the AMIs)",
  ],
  [
    "invalid/schema-limits.yaml",
    "invalid/schema-limits.yaml:6:31 spec.source.name: must not be empty (AMI name pattern; * matches any run of characters and ? one character, as in the EC2 name filter)",
  ],
  [
    "invalid/schema-limits.yaml",
    "invalid/schema-limits.yaml:7:12 spec.regions: must list at least 1 item (AWS regions the images must exist in)",
  ],
  [
    "invalid/schema-limits.yaml",
    'invalid/schema-limits.yaml:9:24 spec.channels.release.latest: expected true or false, got the string "yes"',
  ],
  [
    "invalid/schema-limits.yaml",
    'invalid/schema-limits.yaml:16:11 spec.parent.channel: missing required field "channel" (Channel of the parent whose build to bake on, e.g. release or candidate)',
  ],
  [
    "invalid/schema-limits.yaml",
    'invalid/schema-limits.yaml:18:12 spec.regions: expected a list, got the string "us-east-1"',
  ],
  [
    "invalid/schema-limits.yaml",
    "invalid/schema-limits.yaml:19:31 spec.bake.rootVolume.size: must be at most 16384 (got 20000)",
  ],
  [
    "invalid/schema-limits.yaml",
    "invalid/schema-limits.yaml:19:44 spec.bake.rootVolume.type: expected a string, got the number 3 (put the value in quotes)",
  ],
  [
    "invalid/schema-limits.yaml",
    "invalid/schema-limits.yaml:20:28 spec.retention.keepBuilds: must be at least 0 (got -1)",
  ],
  // Documents that are not ImageSpecs are skipped with a note; near misses are validated.
  [
    "invalid/documents.yaml",
    "invalid/documents.yaml:1:1 note: skipped: the document is a list, not a leaven.dev ImageSpec",
  ],
  [
    "invalid/documents.yaml",
    "invalid/documents.yaml:4:1 note: skipped: the document is a string, not a leaven.dev ImageSpec",
  ],
  [
    "invalid/documents.yaml",
    "invalid/documents.yaml:6:1 note: skipped: no apiVersion or kind; an ImageSpec starts with apiVersion: leaven.dev/v1alpha1 and kind: ImageSpec",
  ],
  [
    "invalid/documents.yaml",
    'invalid/documents.yaml:9:13 apiVersion: must be leaven.dev/v1alpha1 (got "example.com/v1")',
  ],
  [
    "invalid/documents.yaml",
    'invalid/documents.yaml:17:1 spec: missing required field "spec" (Desired state of one image layer)',
  ],
  [
    "invalid/documents.yaml",
    'invalid/documents.yaml:17:13 apiVersion: must be leaven.dev/v1alpha1 (got "leaven.dev/v1beta1")',
  ],
  ["invalid/documents.yaml", 'invalid/documents.yaml:18:7 kind: must be ImageSpec (got "ImageSet")'],
  [
    "invalid/documents.yaml",
    "invalid/documents.yaml:21:1 note: skipped: Deployment (no apiVersion) is not a leaven.dev ImageSpec",
  ],
  [
    "invalid/documents.yaml",
    "invalid/documents.yaml:24:1 note: skipped: no kind (v1) is not a leaven.dev ImageSpec",
  ],
  // Parents: the other wordings of a missing channel and of a layer mismatch, and a spec its own parent.
  [
    "invalid/parent-variants.yaml",
    'invalid/parent-variants.yaml:24:34 spec.parent.channel: spec "bare" has no channel "release" (it has no channels)',
  ],
  [
    "invalid/parent-variants.yaml",
    'invalid/parent-variants.yaml:33:36 spec.parent.channel: spec "ubuntu" has no channel "stable" (its channels: release)',
  ],
  [
    "invalid/parent-variants.yaml",
    'invalid/parent-variants.yaml:64:19 spec.parent.spec: an app is baked on a base, but "good-app" is an app',
  ],
  [
    "invalid/parent-variants.yaml",
    "invalid/parent-variants.yaml:73:19 spec.parent.spec: parent cycle self \u2192 self (each spec is baked on the next); change one parent to break it",
  ],
  [
    "invalid/parent-variants.yaml",
    "invalid/parent-variants.yaml:83:3 spec.version: a base needs a version (semver, e.g. 1.0.0)",
  ],
  [
    "invalid/parent-variants.yaml",
    'invalid/parent-variants.yaml:85:13 spec.regions[0]: "nowhere-1" is not an AWS region; did you mean "ca-west-1"?',
  ],
  // An unknown parent lists the defined specs up to eight names, and only names the missing one beyond.
  [
    "invalid/eight-specs.yaml",
    'invalid/eight-specs.yaml:39:37 spec.parent.spec: no spec named "platform" (defined specs: app, f1, f2, f3, f4, f5, f6, f7)',
  ],
  ["invalid/nine-specs.yaml", 'invalid/nine-specs.yaml:44:37 spec.parent.spec: no spec named "platform"'],
  // Edges: the values just inside each rule are accepted (12-digit owners and the aliases, AMI ids of 8 and
  // 17 hex digits, a foundation revoking a vendor image by id or name, a 1s bake, deregisterAfter equal to
  // deprecateAfter or either one alone, latest: false beside version, a declared check); those just outside
  // are reported.
  [
    "invalid/edges.yaml",
    'invalid/edges.yaml:7:69 spec.source.owners[4]: "1099720109477" is not an account id or owner alias (expected 12 digits, or amazon, aws-marketplace, self)',
  ],
  [
    "invalid/edges.yaml",
    'invalid/edges.yaml:13:24 spec.channels.eighteen.image: "ami-0123456789abcdef01" is not an AMI id (expected ami- and 8 to 17 hex digits, e.g. ami-0abcdef1234567890)',
  ],
  [
    "invalid/edges.yaml",
    'invalid/edges.yaml:14:24 spec.channels.prefixed.image: "my-ami-0123abcd" is not an AMI id (expected ami- and 8 to 17 hex digits, e.g. ami-0abcdef1234567890)',
  ],
  // latest: false selects nothing, in an app as in a base.
  [
    "invalid/edges.yaml",
    "invalid/edges.yaml:45:14 spec.channels.release: set exactly one of latest, build, version, follow (found none)",
  ],
  [
    "invalid/edges.yaml",
    'invalid/edges.yaml:47:16 spec.revoked[0].build: "1.0.0" is not a build id (expected VERSION+HASH, e.g. 2.3.0+5f2c91ab)',
  ],
  [
    "invalid/edges.yaml",
    'invalid/edges.yaml:59:24 spec.channels.release.follow: this spec has no channel "candidate" (it has no other channels)',
  ],
  // Values of the wrong type are the schema's to report; the rules on their content say nothing more.
  [
    "invalid/wrong-types.yaml",
    "invalid/wrong-types.yaml:7:22 spec.source.owners[0]: expected a string, got the number 123456 (put the value in quotes)",
  ],
  [
    "invalid/wrong-types.yaml",
    "invalid/wrong-types.yaml:19:13 spec.regions[0]: expected a string, got the number 5 (put the value in quotes)",
  ],
  [
    "invalid/wrong-types.yaml",
    'invalid/wrong-types.yaml:20:20 spec.bake.timeout: "30 minutes" is not a duration (expected a whole number followed by s, m, h, d or w, e.g. 30m, 7d)',
  ],
  [
    "invalid/wrong-types.yaml",
    "invalid/wrong-types.yaml:21:32 spec.retention.deprecateAfter: expected a string, got a list",
  ],
  [
    "invalid/wrong-types.yaml",
    'invalid/wrong-types.yaml:23:14 spec.channels.release: expected a mapping of fields, got the string "latest"',
  ],
  [
    "invalid/wrong-types.yaml",
    "invalid/wrong-types.yaml:24:39 spec.channels.gated.requires[0]: expected a string, got the number 5 (put the value in quotes)",
  ],
  [
    "invalid/wrong-types.yaml",
    "invalid/wrong-types.yaml:25:37 spec.channels.soaked.minAge: expected a string, got a list",
  ],
  [
    "invalid/wrong-types.yaml",
    'invalid/wrong-types.yaml:27:7 spec.revoked[0]: expected a mapping of fields, got the string "1.0.0+5f2c91ab"',
  ],
  [
    "invalid/wrong-types.yaml",
    'invalid/wrong-types.yaml:28:7 spec.revoked[1].build: missing required field "build" (The build id (base/app, e.g. 2.3.0+5f2c91ab) or the vendor image name or AMI id (foundation))',
  ],
  // An unknown layer gets no layer or channel rules (its image channel is not refused as a base's would be).
  [
    "invalid/wrong-types.yaml",
    'invalid/wrong-types.yaml:34:10 spec.layer: "bse" is not one of foundation, base, app; did you mean "base"?',
  ],
  [
    "invalid/wrong-types.yaml",
    'invalid/wrong-types.yaml:37:12 spec.regions: expected a list, got the string "us-east-1"',
  ],
  // regions is not a list, so no kmsKeys region is one of them (and the list in the message is empty).
  [
    "invalid/wrong-types.yaml",
    'invalid/wrong-types.yaml:40:7 spec.share.kmsKeys.us-east-1: region "us-east-1" is not one of this spec\'s regions (); add it to regions or remove this key',
  ],
];

describe("validation rules", () => {
  it.each(rules)("%s reports %s", async (fixture, expected) => {
    expect(await messages(fixture)).toContain(expected);
  });

  it.each([...new Set(rules.map(([file]) => file))])(
    "%s reports every problem at once and nothing else",
    async (fixture) => {
      const expected = rules.filter(([file]) => file === fixture).map(([, message]) => message);
      expect(await messages(fixture)).toEqual(expected);
    },
  );

  it("has a row for every invalid fixture", async () => {
    // A fixture without rows would only be checked for not crashing: its diagnostics must be pinned here.
    const files = await readdir(join(fixtures, "invalid"), { withFileTypes: true });
    const tested = new Set(rules.map(([file]) => file));
    expect(files.map((f) => `invalid/${f.name}`).filter((f) => !tested.has(f))).toEqual([]);
  });

  it("reports a file it cannot read at its first line, and reads the others", async () => {
    // A dangling symlink is listed like a file but fails to read; as root, permissions cannot be used.
    const dir = await mkdtemp(join(tmpdir(), "leaven-unreadable-"));
    try {
      await symlink(join(dir, "missing.yaml"), join(dir, "gone.yaml"));
      await copyFile(join(fixtures, "valid", "estate.yaml"), join(dir, "estate.yaml"));
      const result = await loadSpecs(["."], { cwd: dir });
      expect(result.diagnostics.map(formatDiagnostic)).toEqual([
        `gone.yaml:1:1 is a symbolic link to ${join(dir, "missing.yaml")}, which does not exist; fix or remove the link`,
      ]);
      expect(result.specs.map((s) => s.name)).toEqual(["ubuntu", "base", "app"]);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("accepts the valid fixtures without diagnostics", async () => {
    const result = await loadSpecs(["valid"], { cwd: fixtures });
    expect(result.diagnostics).toEqual([]);
    expect(result.specs.map((s) => s.name)).toEqual(["ubuntu", "vendor", "base", "platform", "app"]);
  });
});
