// Helpers for the benchmarks that run the real controller against the simulator over HTTP.
import { createAwsCloud } from "../controller/cloud/aws-adapter.ts";
import type { CloudImage } from "../controller/cloud/port.ts";
import { RegionRateLimiter } from "../controller/cloud/region-rate-limiter.ts";
import { silentLogger } from "../controller/log/logger.ts";
import type { Inventory } from "../controller/observe/inventory.ts";
import { observeImages } from "../controller/observe/observe.ts";
import { plan } from "../controller/plan/plan.ts";
import { ManualClock } from "../controller/sim/manual-clock.ts";
import { SIM_ACCOUNT_ID } from "../controller/sim/regions.ts";
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
        // The estate's own ids: its copies' home-image and its home images' copy tags name them.
        imageId: image.imageId,
        name: image.name,
        tags: image.tags,
        creationDate: Date.parse(image.creationDate),
        // A baked image is backed by a snapshot, which its DescribeImages entry names.
        withSnapshot: true,
      })),
    );
  }
}

export { silentLogger };

/**
 * Publishes the estate's channels straight into the simulator (no HTTP), as Leaven's first apply would have:
 * the parameters a plan of the estate puts, with their tags. Without them a benchmark's first pass spends
 * minutes on PutParameter at SSM's 3 per second.
 */
export function seedPublished(sim: Simulator, specs: readonly ValidSpec[], inventory: Inventory): number {
  const planned = plan({
    specs,
    inventory: { ...inventory, parameters: [], parameterRegions: inventory.regions },
    now: sim.clock.now(),
  });
  let count = 0;
  for (const action of planned.actions) {
    if (action.kind !== "put-parameter") continue;
    const { name, value, dataType, tags } = action.parameter;
    sim.world.accountRegion(SIM_ACCOUNT_ID, action.region).parameters.set(name, {
      name,
      value,
      type: "String",
      dataType,
      version: 1,
      lastModified: sim.clock.now(),
      tags: { ...(tags ?? {}) },
    });
    count++;
  }
  return count;
}

/**
 * A manual clock on which sleeping moves time (retries, the rate limiter and the reconcile loop's waits are
 * simulated time passing), and the simulator driven by it: for cases that measure simulated time.
 */
export async function simulatedTimeTarget() {
  const clock = new ManualClock(Date.UTC(2026, 5, 1, 12));
  const sleep = clock.sleep.bind(clock);
  clock.sleep = async (ms: number) => {
    clock.advance(ms);
    await sleep(0);
  };
  return { clock, target: await simTarget({ clock, throttle: false }) };
}
