// leaven.yaml's installation and lock fields: refused with the file and the field named.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { readLeavenConfig } from "../../controller/cli/cloud-target.ts";
import { tempDir } from "../support/temp-dir.ts";

function configIn(yaml: string): { dir: string; file: string } {
  const dir = tempDir("leaven-config-");
  const file = join(dir, "leaven.yaml");
  writeFileSync(file, yaml);
  return { dir, file };
}

describe("leaven.yaml: installation and lock", () => {
  it("reads them", () => {
    const { dir } = configIn(
      "installation: payments\nlock: { table: terraform-locks, region: eu-west-1, ttl: 2m }\n",
    );
    expect(readLeavenConfig(dir).config).toMatchObject({
      installation: "payments",
      lock: { table: "terraform-locks", region: "eu-west-1", ttl: "2m" },
    });
  });

  it.each([
    [
      "installation: Payments",
      'installation: "Payments" is not a valid installation name (it has uppercase letters)',
    ],
    ["installation: 7", "installation: expected a string, not number"],
    ["lock: leaven-locks", "lock: expected a mapping, e.g. lock: { table: leaven-locks }."],
    ["lock: { name: x }", "lock: unknown field name (known: table, region, endpoint, ttl)."],
    [
      "lock: { table: 'a b' }",
      'lock.table: "a b" is not a DynamoDB table name (3 to 255 letters, digits, _, - and .).',
    ],
    [
      "lock: { ttl: 90 }",
      'lock.ttl: "90" is not a duration (expected a whole number followed by s, m, h, d or w, e.g. 30m, 7d).',
    ],
    ["lock: { ttl: 5s }", "lock.ttl: 5s is too short; a lease lasts at least 10s."],
    ["lock: { region: 1 }", "lock.region: expected a string."],
  ])("refuses %s", (yaml, message) => {
    const { dir, file } = configIn(`${yaml}\n`);
    expect(() => readLeavenConfig(dir)).toThrow(`${file}: ${message}`);
  });
});
