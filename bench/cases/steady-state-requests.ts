import { Reconciler } from "../../controller/reconcile/reconciler.ts";
import type { BenchCase } from "../case.ts";
import { BENCH_REGIONS, convergedEstate, estateSpecs } from "../estate.ts";
import { seed, seedPublished, silentLogger, simTarget, vendorImagesOf } from "../sim-estate.ts";

const SPECS = 2000;
const BUILDS = 20;

/**
 * (b) EC2 requests of one steady-state pass over 400k images, through the AWS adapter and the simulator: the
 * second pass of a process, whose inventory is kept (observe/inventory-cache.ts), so it refreshes rather
 * than walks (one new-image query per region). The target is at most Σ over regions of ⌈images/1000⌉
 * DescribeImages calls (a full walk's), nothing else and zero mutating calls; "passes on a kept inventory"
 * and "full walk" measure the walk itself.
 */
export const steadyStateRequestsCase: BenchCase = {
  name: "steady-state pass (EC2 requests)",
  size: `${SPECS.toLocaleString("en")} specs × ${BENCH_REGIONS.length} regions × ${BUILDS} builds`,
  async run() {
    const target = await simTarget({ speed: 1 });
    try {
      const specs = estateSpecs(SPECS, BENCH_REGIONS);
      const now = target.sim.clock.now();
      const estate = convergedEstate(specs, await vendorImagesOf(target, specs), now, BUILDS);
      seed(target.sim, estate.images);
      seedPublished(target.sim, specs, estate);
      const validation = { specs, diagnostics: [], blocked: new Map<string, string>() };
      const reconciler = new Reconciler({
        cloud: target.cloud,
        clock: target.sim.clock,
        logger: silentLogger,
      });
      await reconciler.pass(validation); // the first pass also sweeps for leaked bake instances and fills the vendor cache
      target.adapter.resetStats();
      const start = performance.now();
      const pass = await reconciler.pass(validation);
      const wallMs = performance.now() - start;
      const stats = target.adapter.stats();
      const perRegion = new Map<string, number>();
      for (const image of estate.images) perRegion.set(image.region, (perRegion.get(image.region) ?? 0) + 1);
      const bound = [...perRegion.values()].reduce((sum, n) => sum + Math.ceil(n / 1000), 0);
      const describeImages = Object.values(stats.byRegion).reduce(
        (sum, r) => sum + (r.byAction.DescribeImages?.requests ?? 0),
        0,
      );
      return {
        wallMs,
        extra: {
          images: estate.images.length.toLocaleString("en"),
          requests: String(stats.requests),
          DescribeImages: `${describeImages} (target Σ⌈n/1000⌉ = ${bound})`,
          other: String(stats.requests - describeImages),
          mutating: String(stats.mutating),
          throttled: String(stats.throttled),
          retried: String(stats.retried),
          "request target":
            stats.requests - describeImages === 0 && describeImages <= bound ? "met" : "missed",
          actions: String(pass.executed.length),
        },
      };
    } finally {
      await target.close();
    }
  },
};
