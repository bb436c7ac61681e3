// `leaven builds` against the simulator: the example estate converged, then a base bumped (children
// outdated), then a failing bake.
import { cpSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import type { BuildHistory } from "../../controller/status/build-history.ts";
import { runCli, scratchEstate } from "../support/cli-process.ts";
import { run } from "../support/in-process-cli.ts";
import { NO_CREDENTIALS, offlineAwsEnv } from "../support/offline-aws-env.ts";
import { readWorld } from "../support/sim-world.ts";
import { tempDir } from "../support/temp-dir.ts";

const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const sim = (dir: string) => ["--sim-state", join(dir, "sim.json"), "--sim-speed", "600"];
const BUILD = "\\d+\\.\\d+\\.\\d+\\+[0-9a-f]{8}";
const MINUTE = "\\d{4}-\\d{2}-\\d{2} \\d{2}:\\d{2}";
const JAMMY = "ubuntu-jammy ubuntu/images/…-\\d{8}";

/** A copy of a converged example estate (specs and simulator state), for a test to change. */
function copyOf(dir: string): string {
  const copy = tempDir("leaven-builds-");
  cpSync(dir, copy, { recursive: true });
  return copy;
}

let converged: string;

beforeAll(async () => {
  converged = scratchEstate();
  const apply = await run(["apply", "specs", ...sim(converged)], converged);
  if (apply.code !== 0) throw new Error(`the examples did not converge:\n${apply.stdout}\n${apply.stderr}`);
});

describe("leaven builds on the simulator", () => {
  it("lists a converged app's build with its channels and lineage down to the vendor image", async () => {
    const result = await run(["builds", "api-server", "specs", ...sim(converged)], converged);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain("embedded EC2 simulator");
    expect(result.stdout).toMatch(
      new RegExp(
        `^Builds of api-server \\(app\\) in us-east-1, eu-west-1, newest first:

BUILD {12}CREATED \\(UTC\\) {5}REGIONS {4}CHANNELS {12}PARENT
(1\\.14\\.2\\+[0-9a-f]{8})  ${MINUTE}  available  candidate, release  current
    api-server \\1 ← ubuntu-base (2\\.3\\.0\\+[0-9a-f]{8})
      ← ${JAMMY}
$`,
      ),
    );
  });

  it("changes nothing in the cloud", async () => {
    const dir = copyOf(converged);
    const before = await readWorld(join(dir, "sim.json"), REGIONS);
    expect((await run(["builds", "payments", "specs", ...sim(dir)], dir)).code).toBe(0);
    const after = await readWorld(join(dir, "sim.json"), REGIONS);
    expect(after).toEqual(before);
  });

  it("prints the history as JSON, and a foundation's vendor images with the channels on them", async () => {
    const json = await run(
      ["builds", "ubuntu-base", "specs", "--output", "json", ...sim(converged)],
      converged,
    );
    expect(json.code).toBe(0);
    expect(json.stderr).toBe("");
    const history = JSON.parse(json.stdout) as BuildHistory;
    expect(history).toMatchObject({
      spec: "ubuntu-base",
      layer: "base",
      regions: ["us-east-1", "eu-west-1"],
    });
    expect(history.builds).toHaveLength(1);
    expect(history.builds[0]).toMatchObject({
      version: "2.3.0",
      channels: ["candidate", "release"],
      outdated: false,
      regions: [
        { region: "us-east-1", state: "available", channels: ["candidate", "release"] },
        { region: "eu-west-1", state: "available", channels: ["candidate", "release"] },
      ],
      parent: { spec: "ubuntu-jammy", channel: "release" },
    });
    expect(history.builds[0]!.chain.map((l) => [l.spec, l.foundation])).toEqual([
      ["ubuntu-base", false],
      ["ubuntu-jammy", true],
    ]);

    const vendor = await run(["builds", "ubuntu-jammy", "specs", ...sim(converged)], converged);
    expect(vendor.code).toBe(0);
    const lines = vendor.stdout.split("\n");
    expect(lines[2]).toMatch(/^BUILD {21}CREATED \(UTC\) {5}REGIONS {4}CHANNELS$/);
    expect(lines[3]).toMatch(new RegExp(`^ubuntu/images/…-\\d{8}  ${MINUTE}  available  candidate$`));
    expect(lines[4]).toMatch(/^ {4}ubuntu\/images\/hvm-ssd\/ubuntu-jammy-22\.04-amd64-server-\d{8}$/);
    expect(vendor.stdout).toMatch(new RegExp(`^ubuntu/images/…-\\d{8}  ${MINUTE}  available  release$`, "m"));
  });

  it("shows one region with --region, and refuses a region the spec does not have", async () => {
    const one = await run(
      ["builds", "payments", "specs", "--region", "ap-southeast-2", ...sim(converged)],
      converged,
    );
    expect(one.code).toBe(0);
    expect(one.stdout.split("\n")[0]).toBe("Builds of payments (app) in ap-southeast-2, newest first:");

    const wrong = await run(["builds", "api-server", "specs", "--region", "eu-west-2"], converged);
    expect(wrong.code).toBe(1);
    expect(wrong.stderr).toBe(
      'leaven builds: api-server has no images in eu-west-2: its regions are us-east-1, eu-west-1; did you mean "eu-west-1"?\n',
    );
  });

  it("refuses an unknown spec with a suggestion, and a missing one, before starting the simulator", async () => {
    const unknown = await run(["builds", "apx-server", "specs"], converged);
    expect(unknown).toEqual({
      code: 1,
      stdout: "",
      stderr: 'leaven builds: no spec named "apx-server" in specs; did you mean "api-server"?\n',
    });
    const far = await run(["builds", "nothing-like-it", "specs"], converged);
    expect(far.stderr).toBe('leaven builds: no spec named "nothing-like-it" in specs.\n');
    const missing = await run(["builds"], converged);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toBe(
      "leaven builds: name the spec whose builds to list: leaven builds SPEC [paths…].\n",
    );
    const output = await run(["builds", "api-server", "specs", "--output", "yaml"], converged);
    expect(output.stderr).toBe('leaven builds: --output must be text or json, not "yaml".\n');
  });

  it("marks the builds on a base build that has left its channel as outdated, newest first", async () => {
    const dir = copyOf(converged);
    const basePath = join(dir, "specs/bases/ubuntu-base.yaml");
    writeFileSync(basePath, readFileSync(basePath, "utf8").replace("version: 2.3.0", "version: 2.4.0"));
    expect((await run(["apply", "specs", ...sim(dir)], dir)).code).toBe(0);

    const result = await run(["builds", "api-server", "specs", ...sim(dir)], dir);
    expect(result.code).toBe(0);
    const match = new RegExp(
      `^Builds of api-server \\(app\\) in us-east-1, eu-west-1, newest first:

BUILD {12}CREATED \\(UTC\\) {5}REGIONS {4}CHANNELS {12}PARENT
(${BUILD})  ${MINUTE}  available  candidate, release  current
    api-server \\1 ← ubuntu-base (2\\.4\\.0\\+[0-9a-f]{8})
      ← ${JAMMY}
(${BUILD})  ${MINUTE}  available  - {19}outdated
    api-server \\3 ← ubuntu-base (2\\.3\\.0\\+[0-9a-f]{8})
      ← ${JAMMY}
    outdated: ubuntu-base/candidate is now \\2, not \\4
$`,
    ).exec(result.stdout);
    expect(match, result.stdout).not.toBeNull();

    // The base's own history: the old build is current (its parent channel has not moved) but left its channels.
    const base = await run(["builds", "ubuntu-base", "specs", "--output", "json", ...sim(dir)], dir);
    const history = JSON.parse(base.stdout) as BuildHistory;
    expect(history.builds.map((b) => [b.version, b.channels, b.outdated])).toEqual([
      ["2.4.0", ["candidate", "release"], false],
      ["2.3.0", [], false],
    ]);
  });

  it("exits 1 without AWS credentials, saying so once with what to do", async () => {
    // No AWS service is contacted: no credentials but the test's (none), every request to a closed port.
    const dir = scratchEstate();
    const result = await runCli(
      ["builds", "order-worker", "specs", "--cloud", "aws", "--endpoint", "http://127.0.0.1:1"],
      dir,
      offlineAwsEnv(dir),
    );
    expect(result.code).toBe(1);
    expect(result.stdout).toBe("");
    expect(result.stderr).toBe(`leaven builds: ${NO_CREDENTIALS}\n`);
  });

  it("lists a failed bake with the reason its instance recorded, and the console its failure record kept", async () => {
    const dir = scratchEstate();
    const apply = await run(["apply", "specs", ...sim(dir), "--fault", "bake-fail=ledger"], dir);
    expect(apply.code).toBe(1);
    const result = await run(["builds", "ledger", "specs", ...sim(dir)], dir);
    expect(result.code).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(
        `^BUILD {11}CREATED \\(UTC\\) {5}REGIONS  CHANNELS  PARENT
(2\\.0\\.3\\+[0-9a-f]{8})  ${MINUTE}  failed   - {9}current
    ledger \\1 ← al2023-base 1\\.8\\.1\\+[0-9a-f]{8}
      ← al2023 …-2023\\.\\d+\\.\\d{8}\\.\\d+…
    failed: bake script failed: provision script exited with status 1
    last console lines:
(?: {6}.*\n)+$`,
        "m",
      ),
    );
  });
});
