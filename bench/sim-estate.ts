// Helpers for the benchmarks that run the real controller against the simulator over HTTP.
import { createAwsCloud } from "../controller/cloud/aws-adapter.ts";
import type { CloudImage } from "../controller/cloud/port.ts";
import { RegionRateLimiter } from "../controller/cloud/region-rate-limiter.ts";
import { silentLogger } from "../controller/log/logger.ts";
import { observeImages } from "../controller/observe/observe.ts";
import { type Simulator, type SimulatorOptions, startSimulator } from "../controller/sim/server.ts";
import type { ValidSpec } from "../controller/validation/result.ts";

export async function simTarget(options: SimulatorOptions) {
  const sim = await startSimulator(options);
  const adapter = createAwsCloud({
    endpoint: sim.endpoint,
    credentials: { accessKeyId: "AKIDBENCH", secretAccessKey: "bench" },
    clock: sim.clock,
    limiter: new RegionRateLimiter(sim.clock),
  });
  const close = async () => {
    adapter.close();
    await sim.close();
  };
  return { sim, adapter, cloud: adapter, close };
}

/** The simulator's vendor images for the specs' foundations, as the observer sees them. */
export async function vendorImagesOf(
  target: Awaited<ReturnType<typeof simTarget>>,
  specs: ValidSpec[],
): Promise<Map<string, CloudImage[]>> {
  const inventory = await observeImages(target.cloud, specs, { now: target.sim.clock.now() });
  return inventory.vendorImages;
}

/** Loads images straight into the simulator (no HTTP): the world a converged estate leaves behind. */
export function seed(sim: Simulator, images: readonly CloudImage[]): void {
  const batch = 20_000;
  for (let i = 0; i < images.length; i += batch) {
    sim.seedImages(
      images.slice(i, i + batch).map((image) => ({
        region: image.region,
        name: image.name,
        tags: image.tags,
        creationDate: Date.parse(image.creationDate),
        withSnapshot: false,
      })),
    );
  }
}

export { silentLogger };
