import { plan } from "../../controller/plan/plan.ts";
import type { BenchCase } from "../case.ts";
import { BENCH_REGIONS, convergedEstate, estateSpecs, fakeVendorImages } from "../estate.ts";
import { measure, megabytes } from "../measure.ts";

const BUILDS = 20;

/** Planning a converged estate of `specs` × 10 regions × 20 builds: time and the GC-traced peak heap. */
function planCase(specsCount: number, target: string, optIn = false): BenchCase {
  return {
    name:
      specsCount === 2000
        ? "plan (steady state)"
        : `plan (steady state, ${specsCount.toLocaleString("en")} specs)`,
    size: `${specsCount.toLocaleString("en")} specs × ${BENCH_REGIONS.length} regions × ${BUILDS} builds`,
    ...(optIn ? { optIn } : {}),
    async run() {
      const now = Date.UTC(2026, 10, 1);
      const specs = estateSpecs(specsCount, BENCH_REGIONS);
      const inventory = convergedEstate(specs, fakeVendorImages(BENCH_REGIONS, now), now, BUILDS);
      const m = await measure(() => plan({ specs, inventory, now }));
      return {
        wallMs: m.wallMs,
        extra: {
          images: inventory.images.length.toLocaleString("en"),
          actions: String(m.value.actions.length),
          ready: `${m.value.statuses.filter((s) => s.phase === "Ready").length}/${m.value.statuses.length}`,
          "peak heap (GC-traced)": `${megabytes(m.peakHeapBytes)} (estate ${megabytes(m.baseHeapBytes)})`,
          target,
        },
      };
    },
  };
}

/** (a) 400k images. */
export const planLargeCase = planCase(2000, "< 2 s, < 1 GiB");
/** 1M images: what the planner costs for the largest estates the issue names. */
export const planMillionCase = planCase(5000, "< 2 s");
