// An apply whose changes are made but whose answers are lost (`--fault lost-response=RATE`) still converges,
// with no duplicate image and one bake instance per build: ClientTokens and read-back make retries safe.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { startSimulator } from "../../controller/sim/server.ts";
import { runCli, scratchEstate } from "../support/cli-process.ts";
import { duplicateImages, liveBakeInstances, readWorld } from "../support/sim-world.ts";

const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"];

/** Bake instances per build that are not exactly one: a lost RunInstances answer must not bake twice. */
function extraBakes(instances: readonly { build: string }[]): [string, number][] {
  const perBuild = new Map<string, number>();
  for (const instance of instances) perBuild.set(instance.build, (perBuild.get(instance.build) ?? 0) + 1);
  return [...perBuild.entries()].filter(([, n]) => n !== 1);
}

describe("leaven apply with lost responses", () => {
  it("converges on a standalone simulator that loses the answers to a fifth of the changes", async () => {
    const dir = scratchEstate();
    const statePath = join(dir, "standalone.json");
    const sim = await startSimulator({
      speed: 600,
      statePath,
      awkward: true,
      faults: { lostResponseRate: 0.2, seed: 3 },
    });
    try {
      const run = await runCli(["apply", "specs", "--sim-endpoint", sim.endpoint], dir);
      expect(run.code, run.stdout.slice(-3000)).toBe(0);
      expect(run.stdout).toMatch(/^Converged after \d+ pass(?:es)? in /m);
      // Answers were lost, of EC2 and SSM changes alike.
      const { errors, byAction } = sim.stats();
      expect((errors.InternalError ?? 0) + (errors.ServiceUnavailable ?? 0)).toBeGreaterThan(5);
      expect(errors.InternalServerError ?? 0).toBeGreaterThan(0);
      expect(byAction.RunInstances).toBeGreaterThan(0);
    } finally {
      await sim.close();
    }
    const world = await readWorld(statePath, REGIONS);
    expect(duplicateImages(world.images)).toEqual([]);
    // Only the bakery host of the volume bakes (api-server, order-worker) stays up.
    expect(liveBakeInstances(world.instances)).toEqual([]);
    expect(world.instances.filter((i) => i.role === "bakery" && i.state === "running")).toHaveLength(1);
    expect(extraBakes(world.instances)).toEqual([]);
  });

  it("converges through `apply --fault lost-response=0.2` on the embedded simulator, without duplicates", async () => {
    const dir = scratchEstate();
    const sim = ["--sim-state", join(dir, "sim.json"), "--sim-speed", "600"];
    const run = await runCli(["apply", "specs", ...sim, "--fault", "lost-response=0.2"], dir);
    expect(run.code, run.stdout.slice(-3000)).toBe(0);
    expect(run.stdout).toMatch(/^Converged after \d+ pass(?:es)? in /m);
    const world = await readWorld(join(dir, "sim.json"), REGIONS);
    expect(duplicateImages(world.images)).toEqual([]);
    // Only the bakery host of the volume bakes (api-server, order-worker) stays up.
    expect(liveBakeInstances(world.instances)).toEqual([]);
    expect(world.instances.filter((i) => i.role === "bakery" && i.state === "running")).toHaveLength(1);
    expect(extraBakes(world.instances)).toEqual([]);
    // And the world it left is what git says: a second apply without faults has nothing to do.
    const again = await runCli(["apply", "specs", ...sim], dir);
    expect(again.code).toBe(0);
    expect(again.stdout).toMatch(/^\d+ AWS requests \(0 mutating, 0 throttled\)\.$/m);
  });
});
