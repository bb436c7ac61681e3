// leaven.yaml: checked against schemas/leaven-config.schema.json and its rules, each problem at its
// file:line:column with the field named, as specs are.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readLeavenConfig } from "../../controller/cli/cloud-target.ts";
import { tempDir } from "../support/temp-dir.ts";

function configIn(yaml: string): string {
  const dir = tempDir("leaven-config-");
  writeFileSync(join(dir, "leaven.yaml"), yaml);
  return dir;
}

/** The message readLeavenConfig refuses the file with, the file shown relative to its folder. */
function refusal(yaml: string, options: { cloudGiven?: boolean } = {}): string {
  const dir = configIn(yaml);
  try {
    readLeavenConfig(dir, { cwd: dir, ...options });
  } catch (error) {
    return (error as Error).message;
  }
  throw new Error("expected leaven.yaml to be refused");
}

describe("leaven.yaml", () => {
  it("reads a valid file", () => {
    const dir = configIn(
      "cloud: aws\nprofile: images-admin\ninstallation: payments\nlock: { table: terraform-locks, region: eu-west-1, ttl: 2m }\n",
    );
    expect(readLeavenConfig(dir).config).toEqual({
      cloud: "aws",
      profile: "images-admin",
      installation: "payments",
      lock: { table: "terraform-locks", region: "eu-west-1", ttl: "2m" },
    });
  });

  it("reads the bakery of volume bakes, and refuses what it cannot use at its line", () => {
    const dir = configIn(
      "cloud: sim\nbakery:\n  instanceType: t3.large\n  instanceProfile: leaven-bakery\n  idleStop: 10m\n  maxConcurrentBakes: 2\n  hostInstanceId: i-0abc123\n",
    );
    expect(readLeavenConfig(dir).config.bakery).toEqual({
      instanceType: "t3.large",
      instanceProfile: "leaven-bakery",
      idleStop: "10m",
      maxConcurrentBakes: 2,
      hostInstanceId: "i-0abc123",
    });
    expect(refusal("cloud: sim\nbakery:\n  maxConcurrentBakes: 0\n")).toMatch(
      /^leaven\.yaml:3:23 bakery\.maxConcurrentBakes: /,
    );
    expect(refusal("cloud: sim\nbakery:\n  hostInstanceId: my-host\n")).toMatch(
      /^leaven\.yaml:3:19 bakery\.hostInstanceId: /,
    );
  });

  it("needs to say where the images live, unless --cloud does", () => {
    expect(refusal("profile: images-admin\n")).toBe(
      "leaven.yaml:1:1 missing cloud: say where the images of these specs live, `cloud: aws` (your AWS account) or `cloud: simulator` (the embedded EC2 simulator: nothing real is created)",
    );
    expect(refusal("")).toBe(
      "leaven.yaml:1:1 missing cloud: say where the images of these specs live, `cloud: aws` (your AWS account) or `cloud: simulator` (the embedded EC2 simulator: nothing real is created)",
    );
    const dir = configIn("profile: images-admin\n");
    expect(readLeavenConfig(dir, { cloudGiven: true }).config).toEqual({ profile: "images-admin" });
  });

  it("accepts simulator and sim for the embedded simulator", () => {
    expect(readLeavenConfig(configIn("cloud: simulator\n")).config.cloud).toBe("simulator");
    expect(readLeavenConfig(configIn("cloud: sim\n")).config.cloud).toBe("sim");
  });

  it.each([
    [
      "cloud: aws\nprofle: images-admin",
      'leaven.yaml:2:1 profle: unknown field "profle" (allowed: cloud, region, profile, endpoint, installation, sim, bakery, lock, manifests); did you mean "profile"?',
    ],
    ["cloud: gcp", 'leaven.yaml:1:8 cloud: "gcp" is not one of aws, simulator, sim'],
    [
      "cloud: simulatr",
      'leaven.yaml:1:8 cloud: "simulatr" is not one of aws, simulator, sim; did you mean "simulator"?',
    ],
    [
      "cloud: sim\nsim: { sped: 5 }",
      'leaven.yaml:2:8 sim.sped: unknown field "sped" (allowed: state, speed, awkward); did you mean "speed"?',
    ],
    [
      "cloud: sim\nsim: { speed: fast }",
      'leaven.yaml:2:15 sim.speed: expected a number, got the string "fast"',
    ],
    [
      "cloud: aws\ninstallation: Payments",
      'leaven.yaml:2:15 installation: "Payments" is not a valid installation name (it has uppercase letters): use 1 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit — it is recorded in the leaven.dev/installation tag',
    ],
    [
      "cloud: aws\ninstallation: 7",
      "leaven.yaml:2:15 installation: expected a string, got the number 7 (put the value in quotes)",
    ],
    [
      "cloud: aws\nmanifests: { bucket: Acme_Manifests }",
      'leaven.yaml:2:22 manifests.bucket: "Acme_Manifests" is not an S3 bucket name (3 to 63 lowercase letters, digits, . and -, starting and ending with a letter or digit), e.g. acme-image-manifests',
    ],
    [
      "cloud: aws\nmanifests: { bucket: acme-manifests, prefix: /leaven }",
      'leaven.yaml:2:46 manifests.prefix: "/leaven" is not a key prefix: no leading "/" and no empty segments, e.g. leaven/manifests',
    ],
    [
      "cloud: aws\nmanifests: { prefix: leaven }",
      'leaven.yaml:2:12 manifests.bucket: missing required field "bucket" (The S3 bucket that holds the manifests; it must exist (the simulator creates it))',
    ],
    [
      "cloud: aws\nlock: leaven-locks",
      'leaven.yaml:2:7 lock: expected a mapping of fields, got the string "leaven-locks"',
    ],
    [
      "cloud: aws\nlock: { name: x }",
      'leaven.yaml:2:9 lock.name: unknown field "name" (allowed: table, region, endpoint, ttl)',
    ],
    [
      "cloud: aws\nlock: { table: 'a b' }",
      'leaven.yaml:2:16 lock.table: "a b" is not a DynamoDB table name (3 to 255 letters, digits, _, - and .), e.g. leaven-locks',
    ],
    [
      "cloud: aws\nlock: { ttl: 90 }",
      "leaven.yaml:2:14 lock.ttl: expected a string, got the number 90 (put the value in quotes)",
    ],
    [
      "cloud: aws\nlock: { ttl: 90x }",
      'leaven.yaml:2:14 lock.ttl: "90x" is not a duration (expected a whole number followed by s, m, h, d or w, e.g. 30m, 7d)',
    ],
    [
      "cloud: aws\nlock: { ttl: 5s }",
      "leaven.yaml:2:14 lock.ttl: 5s is too short; a lease lasts at least 10s",
    ],
    [
      "cloud: aws\nlock: { region: 1 }",
      "leaven.yaml:2:17 lock.region: expected a string, got the number 1 (put the value in quotes)",
    ],
    [
      "- cloud: aws",
      "leaven.yaml:1:1 expected a mapping of fields, e.g. `cloud: aws` and `profile: NAME` on their own lines",
    ],
    ["cloud: aws\n---\ncloud: sim", "leaven.yaml:3:1 leaven.yaml holds one document; remove this one"],
    [
      "cloud: [aws",
      "leaven.yaml:2:1 invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]; fix the syntax (this document was skipped)",
    ],
  ])("refuses %j", (yaml, message) => {
    expect(refusal(`${yaml}\n`)).toBe(message);
  });

  it("reports every problem at once, in the order of the file", () => {
    expect(refusal("profle: images-admin\nregion: 5\n")).toBe(
      [
        "leaven.yaml:1:1 missing cloud: say where the images of these specs live, `cloud: aws` (your AWS account) or `cloud: simulator` (the embedded EC2 simulator: nothing real is created)",
        'leaven.yaml:1:1 profle: unknown field "profle" (allowed: cloud, region, profile, endpoint, installation, sim, bakery, lock, manifests); did you mean "profile"?',
        "leaven.yaml:2:9 region: expected a string, got the number 5 (put the value in quotes)",
      ].join("\n"),
    );
  });
});
