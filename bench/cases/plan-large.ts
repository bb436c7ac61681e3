import { plan } from "../../controller/plan/plan.ts";
import type { BenchCase } from "../case.ts";
import { BENCH_REGIONS, convergedEstate, estateSpecs, fakeVendorImages } from "../estate.ts";

const SPECS = 2000;
const BUILDS = 20;

/** (a) Planning a converged estate of 2,000 specs × 10 regions × 20 builds: time and heap. */
export const planLargeCase: BenchCase = {
  name: "plan (steady state)",
  size: `${SPECS.toLocaleString("en")} specs × ${BENCH_REGIONS.length} regions × ${BUILDS} builds`,
  async run() {
    const now = Date.UTC(2026, 10, 1);
    const specs = estateSpecs(SPECS, BENCH_REGIONS);
    const inventory = convergedEstate(specs, fakeVendorImages(BENCH_REGIONS, now), now, BUILDS);
    globalThis.gc?.();
    const heapBefore = process.memoryUsage().heapUsed;
    let peakHeap = heapBefore;
    const sampler = setInterval(() => {
      peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    }, 5);
    const start = performance.now();
    const result = plan({ specs, inventory, now });
    const wallMs = performance.now() - start;
    peakHeap = Math.max(peakHeap, process.memoryUsage().heapUsed);
    clearInterval(sampler);
    return {
      wallMs,
      extra: {
        images: inventory.images.length.toLocaleString("en"),
        actions: String(result.actions.length),
        ready: `${result.statuses.filter((s) => s.phase === "Ready").length}/${result.statuses.length}`,
        "peak heap": `${Math.round(peakHeap / 1024 / 1024)} MB (estate ${Math.round(heapBefore / 1024 / 1024)} MB)`,
        target: "< 2 s, < 1 GiB",
      },
    };
  },
};
