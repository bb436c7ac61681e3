import { bucketFor } from "../../controller/cloud/rate-limits.ts";
import { Reconciler } from "../../controller/reconcile/reconciler.ts";
import type { SimulatorOptions } from "../../controller/sim/server.ts";
import { DEFAULT_TIMINGS } from "../../controller/sim/world.ts";
import type { ValidSpec } from "../../controller/validation/result.ts";
import type { BenchCase } from "../case.ts";
import { convergedEstate, makeSpec, ubuntuFoundation } from "../estate.ts";
import { seed, silentLogger, simTarget, vendorImagesOf } from "../sim-estate.ts";

const APPS = 200;
const REGIONS = ["us-east-1", "us-west-2", "eu-west-1", "eu-central-1", "ap-southeast-2"];
// Slow enough that loopback latency, which acceleration inflates, stays well under a token's refill time.
const SPEED = 10;

function fanOutSpecs(baseVersion: string, release: { latest: true } | { build: string }): ValidSpec[] {
  const specs = [
    ubuntuFoundation(["us-east-1"]),
    makeSpec("base", {
      layer: "base",
      parent: { spec: "ubuntu-jammy", channel: "release" },
      version: baseVersion,
      regions: ["us-east-1"],
      channels: { candidate: { latest: true }, release },
    }),
  ];
  for (let a = 0; a < APPS; a++) {
    specs.push(
      makeSpec(`app-${a}`, {
        layer: "app",
        parent: { spec: "base", channel: "release" },
        version: "1.0.0",
        provision: { packages: [`app-${a}=1.0.0`] },
        regions: REGIONS as [string, ...string[]],
        channels: { release: { latest: true } },
      }),
    );
  }
  return specs;
}

/** Grant times of a token bucket (full at t=0) for requests arriving at the given sorted times, in seconds. */
function grants(
  arrivals: readonly number[],
  bucket: { capacity: number; refillPerSecond: number },
): number[] {
  let tokens = bucket.capacity;
  let at = 0;
  return arrivals.map((arrival) => {
    const t = Math.max(arrival, at);
    tokens = Math.min(bucket.capacity, tokens + (t - at) * bucket.refillPerSecond);
    at = t;
    if (tokens >= 1) {
      tokens -= 1;
      return t;
    }
    const wait = (1 - tokens) / bucket.refillPerSecond;
    at = t + wait;
    tokens = 0;
    return at;
  });
}

/**
 * The fastest EC2's buckets and the simulator's durations allow, with zero observation latency:
 * launches paced by RunInstances (5, 2/s); each bake then takes pending + script + stopping; CreateImage
 * (mutate bucket) and its pending time; copies paced per destination region by CopyImage (100, 1/s), then
 * the copy's pending time. Tagging is batched and never the bottleneck.
 */
export function fanOutLowerBound(apps: number, copyRegions: number): number {
  const t = DEFAULT_TIMINGS;
  const bake = (t.instancePending + t.bakeScript + t.instanceStopping) / 1000;
  // EC2 keeps a bucket per action: each call below draws only from its own.
  const launches = grants(new Array<number>(apps).fill(0), bucketFor("RunInstances").size);
  const stops = launches.map((l) => l + bake);
  const created = grants(stops, bucketFor("CreateImage").size);
  const available = created.map((c) => c + t.imagePending / 1000).sort((a, b) => a - b);
  let done = Math.max(...available);
  for (let r = 0; r < copyRegions; r++) {
    const copies = grants(available, bucketFor("CopyImage").size);
    done = Math.max(done, ...copies.map((c) => c + t.copyPending / 1000));
  }
  return done;
}

/**
 * (c) One base promotion rebakes 200 apps and copies each to 4 more regions: on the kind simulator, on the
 * awkward one (consoles posted late, new ids visible after a while, default EBS encryption), and on the
 * awkward one with other tools in the account drawing tokens from every bucket (the noisy neighbour).
 */
function fanOut(name: string, simOptions: Omit<SimulatorOptions, "speed">, neighbour = false): BenchCase {
  return {
    name,
    size: `${APPS} apps rebaked × ${REGIONS.length} regions`,
    run: () => runFanOut(simOptions, neighbour),
  };
}

export const fanOutCase = fanOut("fan-out (base promotion)", {});
export const fanOutAwkwardCase = fanOut("fan-out (awkward EC2)", { awkward: true });
export const fanOutNoisyCase = fanOut(
  "fan-out (awkward, noisy neighbour 0.5/s)",
  { awkward: true, faults: { noisyNeighbour: 0.5 } },
  true,
);

async function runFanOut(simOptions: Omit<SimulatorOptions, "speed">, neighbour: boolean) {
  {
    const target = await simTarget({ speed: SPEED, ...simOptions });
    try {
      const before = fanOutSpecs("2.3.0", { latest: true });
      const vendor = await vendorImagesOf(target, before);
      const now = target.sim.clock.now();
      // The world before: base 2.3.0 released, every app baked on it; base 2.4.0 baked as a candidate.
      const world = convergedEstate(before, vendor, now - 3600_000, 1);
      const candidate = convergedEstate(
        fanOutSpecs("2.4.0", { latest: true }).slice(0, 2),
        vendor,
        now - 1800_000,
        1,
      );
      const newBase = candidate.images.find((i) => i.tags["leaven.dev/spec"] === "base")!;
      for (const image of candidate.images) {
        for (const key of Object.keys(image.tags))
          if (key.startsWith("leaven.dev/channel/")) delete image.tags[key];
      }
      seed(target.sim, [
        ...world.images,
        ...candidate.images.filter((i) => i.tags["leaven.dev/spec"] === "base"),
      ]);
      const promoted = fanOutSpecs("2.4.0", { build: newBase.tags["leaven.dev/build"]! });
      const validation = { specs: promoted, diagnostics: [], blocked: new Map<string, string>() };
      const reconciler = new Reconciler({
        cloud: target.cloud,
        clock: target.sim.clock,
        logger: silentLogger,
        pollIntervalMs: 10_000,
      });
      target.sim.resetStats();
      const simStart = target.sim.clock.now();
      const wallStart = performance.now();
      const { outcome, last } = await reconciler.run(() => validation);
      const wallMs = performance.now() - wallStart;
      const simulated = (target.sim.clock.now() - simStart) / 1000;
      const bound = fanOutLowerBound(APPS, REGIONS.length - 1);
      const stats = target.sim.stats();
      return {
        wallMs,
        extra: {
          outcome,
          passes: String(last.number),
          simulated: `${Math.round(simulated)} s`,
          "lower bound": `${Math.round(bound)} s`,
          ratio: `${(simulated / bound).toFixed(2)} (target ≤ 1.2)`,
          RunInstances: String(stats.byAction.RunInstances ?? 0),
          CopyImage: String(stats.byAction.CopyImage ?? 0),
          "throttled by action": JSON.stringify(stats.throttledByAction),
          throttled: neighbour
            ? `${stats.throttled} (${stats.throttledByNeighbour} by the neighbour; target: no other)`
            : `${stats.throttled} (target 0)`,
        },
      };
    } finally {
      await target.close();
    }
  }
}
