// End to end: the CLI as a user runs it, against the embedded simulator over HTTP.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import { startSimulator } from "../../controller/sim/server.ts";
import { runCli, scratchEstate, startCli, waitFor } from "../support/cli-process.ts";
import { duplicateImages, liveBakeInstances, readWorld } from "../support/sim-world.ts";

const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const fast = (dir: string) => ["--sim-state", join(dir, "sim.json"), "--sim-speed", "600"];

/** The final summary line: "Converged after N passes in …." then "R AWS requests (M mutating, T throttled).": EC2 and SSM. */
function summary(stdout: string): { outcome: string; requests: number; mutating: number; throttled: number } {
  const match =
    /^(Converged|Stalled|Stopped) after \d+ pass(?:es)? .*\.\n(\d+) AWS requests \((\d+) mutating, (\d+) throttled\)\.$/m.exec(
      stdout,
    );
  if (!match) throw new Error(`no summary line in:\n${stdout.slice(-3000)}`);
  return {
    outcome: match[1]!,
    requests: Number(match[2]),
    mutating: Number(match[3]),
    throttled: Number(match[4]),
  };
}

function channelRow(stdout: string, spec: string, channel: string, region: string): string[] | undefined {
  return stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .find((cells) => cells[0] === spec && cells[2] === channel && cells[4] === region);
}

describe("leaven apply on the simulator", () => {
  it("converges the examples from an empty world, and a second apply changes nothing", async () => {
    const dir = scratchEstate();
    const first = await runCli(["apply", "specs", "--wide", ...fast(dir)], dir);
    expect(first.stderr).toContain("embedded EC2 simulator");
    expect(first.stderr).toContain("faster than AWS's");
    expect(summary(first.stdout).outcome).toBe("Converged");
    expect(first.code).toBe(0);
    for (const spec of [
      "ubuntu-base",
      "al2023-base",
      "api-server",
      "ledger",
      "payments",
      "web-frontend",
      "order-worker",
    ]) {
      expect(channelRow(first.stdout, spec, "release", "us-east-1")?.[6], spec).toBe("Ready");
    }
    expect(channelRow(first.stdout, "payments", "release", "ap-southeast-2")?.[5]).toMatch(
      /^ami-[0-9a-f]{17}$/,
    );

    const second = await runCli(["apply", "specs", "--wide", ...fast(dir)], dir);
    expect(summary(second.stdout)).toMatchObject({ outcome: "Converged", mutating: 0, throttled: 0 });
    const plan = await runCli(["plan", "specs", "--detailed-exitcode", ...fast(dir)], dir);
    expect(plan.stdout).toContain(
      "No changes. The images match the specs; on the embedded simulator — not AWS.",
    );
    expect(plan.code).toBe(0);

    const world = await readWorld(join(dir, "sim.json"), REGIONS);
    expect(duplicateImages(world.images)).toEqual([]);
    // Only the bakery host of the volume bakes (api-server, order-worker) stays up.
    expect(liveBakeInstances(world.instances)).toEqual([]);
    expect(world.instances.filter((i) => i.role === "bakery" && i.state === "running")).toHaveLength(1);
  });

  it("promotes: editing the base's release channel rebakes exactly the children on base/release", async () => {
    const dir = scratchEstate();
    const first = await runCli(["apply", "specs", "--wide", ...fast(dir)], dir);
    expect(first.code).toBe(0);
    const releaseBefore = channelRow(first.stdout, "ubuntu-base", "release", "us-east-1")![3]!;

    // A new base recipe makes a new candidate; release stays pinned on the old build.
    const basePath = join(dir, "specs/bases/ubuntu-base.yaml");
    const base = readFileSync(basePath, "utf8");
    writeFileSync(
      basePath,
      base
        .replace("version: 2.3.0", "version: 2.4.0")
        .replace(
          "release: { latest: true, parentIn: release }",
          `release: { build: "${releaseBefore}", parentIn: release }`,
        ),
    );
    const candidate = await runCli(["apply", "specs", "--wide", ...fast(dir)], dir);
    expect(candidate.code).toBe(0);
    const newBase = channelRow(candidate.stdout, "ubuntu-base", "candidate", "us-east-1")![3]!;
    expect(newBase).toMatch(/^2\.4\.0\+[0-9a-f]{8}$/);
    expect(channelRow(candidate.stdout, "ubuntu-base", "release", "us-east-1")![3]).toBe(releaseBefore);
    // api-server bakes on the candidate base, but its release requires the base's release (parentIn):
    // the new build enters its candidate channel only.
    const parentOfChannel = async (spec: string, channel: string) => {
      const images = (await readWorld(join(dir, "sim.json"), REGIONS)).images;
      const tagged = images.filter((i) => i.spec === spec && i.tags[`leaven.dev/channel/${channel}`]);
      return [...new Set(tagged.map((i) => i.tags[Tag.parentBuild]))];
    };
    expect(await parentOfChannel("api-server", "candidate")).toEqual([newBase]);
    expect(await parentOfChannel("api-server", "release")).toEqual([releaseBefore]);

    // Promotion is a one-line edit.
    writeFileSync(
      basePath,
      readFileSync(basePath, "utf8").replace(
        `release: { build: "${releaseBefore}", parentIn: release }`,
        `release: { build: "${newBase}", parentIn: release }`,
      ),
    );
    const plan = await runCli(["plan", "specs", "--output", "json", ...fast(dir)], dir);
    const planned = JSON.parse(plan.stdout) as { actions: { kind: string; spec: string }[] };
    expect(
      planned.actions
        // order-worker bakes on a volume: its bake starts with the volume, not an instance.
        .filter((a) => a.kind === "launch-bake" || a.kind === "create-volume")
        .map((a) => a.spec)
        .sort(),
    ).toEqual(["order-worker", "web-frontend"]);

    const promoted = await runCli(["apply", "specs", "--wide", ...fast(dir)], dir);
    expect(promoted.code).toBe(0);
    expect(channelRow(promoted.stdout, "ubuntu-base", "release", "us-east-1")![3]).toBe(newBase);
    expect(await parentOfChannel("api-server", "release")).toEqual([newBase]);
    const world = await readWorld(join(dir, "sim.json"), REGIONS);
    const parentsOf = (spec: string) =>
      new Set(world.images.filter((i) => i.spec === spec).map((i) => i.tags[Tag.parentBuild]));
    expect(parentsOf("web-frontend")).toEqual(new Set([releaseBefore, newBase]));
    expect(parentsOf("order-worker")).toEqual(new Set([releaseBefore, newBase]));
    // api-server bakes on the candidate: it followed the candidate, once per base build.
    expect(parentsOf("api-server")).toEqual(new Set([releaseBefore, newBase]));
    // Specs on the Amazon Linux base were never touched.
    expect(world.images.filter((i) => i.spec === "ledger").map((i) => i.build)).toHaveLength(2);
  });

  it("reports a failing bake with its reason and still converges the unrelated specs", async () => {
    const dir = scratchEstate();
    const run = await runCli(["apply", "specs", "--wide", ...fast(dir), "--fault", "bake-fail=ledger"], dir);
    expect(run.code).toBe(1);
    expect(summary(run.stdout).outcome).toBe("Stalled");
    expect(run.stdout).toMatch(
      /^ledger: Failed — build 2\.0\.3\+[0-9a-f]{8} failed: bake script failed: provision script exited with status 1/m,
    );
    for (const spec of ["payments", "api-server", "web-frontend", "order-worker"]) {
      expect(channelRow(run.stdout, spec, "release", "us-east-1")?.[6], spec).toBe("Ready");
    }
    const world = await readWorld(join(dir, "sim.json"), REGIONS);
    // Only the bakery host of the volume bakes (api-server, order-worker) stays up.
    expect(liveBakeInstances(world.instances)).toEqual([]);
    expect(world.instances.filter((i) => i.role === "bakery" && i.state === "running")).toHaveLength(1);
    // Not retried in a loop: exactly one bake instance for the failed build.
    expect(world.instances.filter((i) => i.spec === "ledger")).toHaveLength(1);

    // An explicit retry re-arms it (the fault is gone now).
    const retry = await runCli(["apply", "specs", "--wide", ...fast(dir), "--retry", "ledger"], dir);
    expect(retry.code).toBe(0);
    expect(channelRow(retry.stdout, "ledger", "release", "us-east-1")?.[6]).toBe("Ready");
  });

  it("converges through injected 5xx errors and throttling", async () => {
    const dir = scratchEstate();
    const run = await runCli(
      ["apply", "specs", "--wide", ...fast(dir), "--fault", "5xx=0.1", "--fault", "throttle=0.05"],
      dir,
    );
    expect(summary(run.stdout).outcome).toBe("Converged");
    expect(run.code).toBe(0);
    const world = await readWorld(join(dir, "sim.json"), REGIONS);
    expect(duplicateImages(world.images)).toEqual([]);
  });

  it("does not let an invalid spec stop the valid, unrelated ones", async () => {
    const dir = scratchEstate();
    const ledger = join(dir, "specs/apps/ledger.yaml");
    writeFileSync(ledger, readFileSync(ledger, "utf8").replace("version: 2.0.3", "version: two"));
    const run = await runCli(["apply", "specs", "--wide", ...fast(dir)], dir);
    expect(run.stderr).toMatch(/specs\/apps\/ledger\.yaml:\d+:\d+ spec\.version: /);
    expect(run.code).toBe(1);
    expect(channelRow(run.stdout, "payments", "release", "us-east-1")?.[6]).toBe("Ready");
    const world = await readWorld(join(dir, "sim.json"), REGIONS);
    expect(world.images.filter((i) => i.spec === "ledger")).toEqual([]);
  });

  it("reconciles against a simulator started separately, on that simulator's clock", async () => {
    const dir = scratchEstate();
    const sim = await startSimulator({ speed: 600, statePath: join(dir, "standalone.json") });
    try {
      const run = await runCli(["apply", "specs", "--sim-endpoint", sim.endpoint], dir);
      expect(run.stderr).toContain(`Cloud: Leaven EC2 simulator at ${sim.endpoint} (started separately)`);
      expect(summary(run.stdout).outcome).toBe("Converged");
      // Simulated minutes passed, not wall-clock ones: the controller followed the simulator's clock.
      expect(run.stdout).toMatch(/Converged after \d+ passes in \S+ \(\d+m\d+s of simulated time\)\./);
    } finally {
      await sim.close();
    }
  });

  it("resumes after kill -9 mid-bake and mid-copy with no duplicate and no leaked instance", async () => {
    const dir = scratchEstate();
    const args = ["apply", "specs", "--wide", ...fast(dir), "--sim-speed", "120"];
    // Killed right after the first bakes launched…
    const first = startCli(args, dir);
    await waitFor(first.output, (out) => out.includes('"kind":"launch-bake"'));
    first.child.kill("SIGKILL");
    expect((await first.done).signal).toBe("SIGKILL");
    // …and again right after the first copies started.
    const second = startCli(args, dir);
    await waitFor(second.output, (out) => out.includes('"kind":"copy-image"'), 60_000);
    second.child.kill("SIGKILL");
    await second.done;

    const last = await runCli(["apply", "specs", "--wide", ...fast(dir)], dir);
    expect(summary(last.stdout).outcome).toBe("Converged");
    const world = await readWorld(join(dir, "sim.json"), REGIONS);
    expect(duplicateImages(world.images)).toEqual([]);
    // Only the bakery host of the volume bakes (api-server, order-worker) stays up.
    expect(liveBakeInstances(world.instances)).toEqual([]);
    expect(world.instances.filter((i) => i.role === "bakery" && i.state === "running")).toHaveLength(1);
    const perBuild = new Map<string, number>();
    for (const instance of world.instances)
      perBuild.set(instance.build, (perBuild.get(instance.build) ?? 0) + 1);
    expect([...perBuild.values()].every((n) => n === 1)).toBe(true);
  });
});
