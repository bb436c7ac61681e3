// `leaven status` against the simulator: the example estate converged, a base bumped, a failing bake.
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { runCli, scratchEstate } from "../support/cli-process.ts";
import { run } from "../support/in-process-cli.ts";
import { NO_CREDENTIALS, offlineAwsEnv } from "../support/offline-aws-env.ts";
import { readWorld } from "../support/sim-world.ts";
import { tempDir } from "../support/temp-dir.ts";

const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const sim = (dir: string) => ["--sim-state", join(dir, "sim.json"), "--sim-speed", "600"];
const BUILD = "\\d+\\.\\d+\\.\\d+\\+[0-9a-f]{8}";

function lines(text: string): string[] {
  return text.trimEnd().split("\n");
}

let converged: string;

beforeAll(async () => {
  converged = scratchEstate();
  const apply = await run(["apply", "specs", ...sim(converged)], converged);
  if (apply.code !== 0) throw new Error(`the examples did not converge:\n${apply.stdout}\n${apply.stderr}`);
});

describe("leaven status on the simulator", () => {
  it("prints one row per spec within 80 columns and exits 0 when everything is Ready", async () => {
    const result = await run(["status", "specs", ...sim(converged)], converged);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("embedded EC2 simulator");
    for (const line of lines(result.stdout)) expect(line.length, line).toBeLessThanOrEqual(80);
    const rows = lines(result.stdout);
    expect(rows[0]).toBe("SPEC          PHASE  READY  CHANNELS");
    const expected = [
      /^al2023 {8}Ready {2}3\/3 {4}candidate,release …-2023\.\d+\.\d{8}\.\d+…$/,
      /^ubuntu-jammy {2}Ready {2}2\/2 {4}candidate ubuntu\/images\/…-\d{8}$/,
      /^ {28}release ubuntu\/images\/…-\d{8}$/,
      /^al2023-base {3}Ready {2}3\/3 {4}candidate,release 1\.8\.1\+[0-9a-f]{8}$/,
      /^ubuntu-base {3}Ready {2}2\/2 {4}candidate,release 2\.3\.0\+[0-9a-f]{8}$/,
      /^api-server {4}Ready {2}2\/2 {4}candidate,release 1\.14\.2\+[0-9a-f]{8}$/,
      /^ledger {8}Ready {2}2\/2 {4}candidate,release 2\.0\.3\+[0-9a-f]{8}$/,
      /^order-worker {2}Ready {2}1\/1 {4}release 0\.9\.4\+[0-9a-f]{8}$/,
      /^payments {6}Ready {2}3\/3 {4}candidate,release 5\.1\.0\+[0-9a-f]{8}$/,
      /^web-frontend {2}Ready {2}2\/2 {4}candidate,release 3\.2\.0\+[0-9a-f]{8}$/,
    ];
    expect(rows).toHaveLength(expected.length + 3);
    for (const [i, pattern] of expected.entries()) expect(rows[i + 1]).toMatch(pattern);
    expect(rows.at(-2)).toBe("");
    expect(rows.at(-1)).toBe("9 specs: 9 Ready; on the embedded simulator — not AWS.");
  });

  it("changes nothing in the cloud", async () => {
    const dir = tempDir("leaven-status-");
    cpSync(converged, dir, { recursive: true });
    const before = await readWorld(join(dir, "sim.json"), REGIONS);
    expect((await run(["status", "specs", "--wide", ...sim(dir)], dir)).code).toBe(0);
    expect(await readWorld(join(dir, "sim.json"), REGIONS)).toEqual(before);
  });

  it("--wide prints every channel's image per region", async () => {
    const result = await run(["status", "specs", "--wide", ...sim(converged)], converged);
    expect(result.code).toBe(0);
    const rows = lines(result.stdout);
    expect(rows[0]).toMatch(/^SPEC {10}LAYER {7}CHANNEL {4}BUILD +REGION {10}IMAGE {18}STATUS$/);
    // 2 foundations, 2 bases, 5 apps: channels × regions.
    const imageRows = rows.filter((r) => /\bami-[0-9a-f]{17}\b/.test(r));
    expect(imageRows).toHaveLength(2 * 3 + 2 * 2 + 2 * 3 + 2 * 2 + (2 * 2 + 2 * 2 + 1 + 2 * 3 + 2 * 2));
    expect(rows).toContainEqual(
      expect.stringMatching(
        new RegExp(`^payments +app +release +${BUILD} +ap-southeast-2 +ami-[0-9a-f]{17} +Ready$`),
      ),
    );
    expect(rows.at(-1)).toBe("9 specs: 9 Ready; on the embedded simulator — not AWS.");
  });

  it("--output json carries every status with its regions ready", async () => {
    const result = await run(["status", "specs", "--output", "json", ...sim(converged)], converged);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    const json = JSON.parse(result.stdout) as {
      specs: { name: string; phase: string; regions: { ready: number; total: number } }[];
      summary: string;
    };
    expect(json.summary).toBe("9 specs: 9 Ready.");
    expect(JSON.parse(result.stdout).verdict).toEqual({
      state: "converged",
      exitCode: 0,
      headline: "No changes. The images match the specs.",
      problems: [],
    });
    expect(json.specs.map((s) => [s.name, s.phase, `${s.regions.ready}/${s.regions.total}`])).toEqual([
      ["al2023", "Ready", "3/3"],
      ["ubuntu-jammy", "Ready", "2/2"],
      ["al2023-base", "Ready", "3/3"],
      ["ubuntu-base", "Ready", "2/2"],
      ["api-server", "Ready", "2/2"],
      ["ledger", "Ready", "2/2"],
      ["order-worker", "Ready", "1/1"],
      ["payments", "Ready", "3/3"],
      ["web-frontend", "Ready", "2/2"],
    ]);
  });

  it("exits 1 while a bumped base is still to bake, and says why under its row", async () => {
    const dir = tempDir("leaven-status-");
    cpSync(converged, dir, { recursive: true });
    const basePath = join(dir, "specs/bases/ubuntu-base.yaml");
    writeFileSync(basePath, readFileSync(basePath, "utf8").replace("version: 2.3.0", "version: 2.4.0"));
    const result = await run(["status", "specs", ...sim(dir)], dir);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(
      /^ubuntu-base {3}Baking {2}2\/2 {4}candidate,release 2\.3\.0\+[0-9a-f]{8}\n {2}2\.4\.0\+[0-9a-f]{8}: launching the bake instance$/m,
    );
    expect(lines(result.stdout).at(-1)).toBe(
      "9 specs: 8 Ready, 1 Baking; on the embedded simulator — not AWS.",
    );
  });

  it("exits 1 with a failed bake, its message cut at a word boundary within 80 columns", async () => {
    const dir = scratchEstate();
    expect((await run(["apply", "specs", ...sim(dir), "--fault", "bake-fail=ledger"], dir)).code).toBe(1);
    const result = await run(["status", "specs", ...sim(dir)], dir);
    expect(result.code).toBe(1);
    for (const line of lines(result.stdout)) expect(line.length, line).toBeLessThanOrEqual(80);
    expect(result.stdout).toMatch(
      /^ledger {8}Failed {2}0\/2 {4}candidate,release -\n {2}build 2\.0\.3\+[0-9a-f]{8} failed: bake script failed: provision script exited with…$/m,
    );
    expect(lines(result.stdout).slice(-2)).toEqual([
      "9 specs: 8 Ready, 1 Failed; on the embedded simulator — not AWS.",
      "1 spec failed: ledger.",
    ]);

    const wide = await run(["status", "specs", "--wide", ...sim(dir)], dir);
    expect(wide.code).toBe(1);
    expect(wide.stdout).toMatch(
      /^ {2}ledger {2}Failed {5}build 2\.0\.3\+[0-9a-f]{8} failed: bake script failed: provision script exited with status 1; /m,
    );
  });

  it("exits 1 without AWS credentials, saying so once, before observing anything", async () => {
    // No AWS service is contacted: no credentials but the test's (none), every request to a closed port.
    const dir = scratchEstate();
    const result = await runCli(
      ["status", "specs", "--cloud", "aws", "--endpoint", "http://127.0.0.1:1"],
      dir,
      offlineAwsEnv(dir),
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(`leaven status: ${NO_CREDENTIALS}\n`);
  });

  it("exits 1 when a spec is invalid, and rejects an unknown output format", async () => {
    const dir = tempDir("leaven-status-");
    cpSync(converged, dir, { recursive: true });
    const ledger = join(dir, "specs/apps/ledger.yaml");
    writeFileSync(ledger, readFileSync(ledger, "utf8").replace("version: 2.0.3", "version: two"));
    const result = await run(["status", "specs", ...sim(dir)], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/specs\/apps\/ledger\.yaml:\d+:\d+ spec\.version: /);
    expect(result.stdout).toMatch(/^ledger {8}Blocked {2}- {6}-$/m);

    const output = await run(["status", "specs", "--output", "yaml"], converged);
    expect(output).toEqual({
      code: 1,
      stdout: "",
      stderr: 'leaven status: --output must be text or json, not "yaml".\n',
    });
  });
});
