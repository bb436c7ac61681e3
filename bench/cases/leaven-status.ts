// `leaven status` over the 400k-image estate, from an already-observed inventory: the plan's statuses and
// the 80-column overview of 2,000 specs.
import { plan } from "../../controller/plan/plan.ts";
import { vendorPatternsOf } from "../../controller/status/fit-text.ts";
import { renderStatus } from "../../controller/status/render-status.ts";
import type { BenchCase } from "../case.ts";
import { BENCH_REGIONS, convergedEstate, estateSpecs, fakeVendorImages } from "../estate.ts";
import { measure, megabytes } from "../measure.ts";

const SPECS = 2000;
const BUILDS = 20;

export const leavenStatusCase: BenchCase = {
  name: "leaven status (from inventory)",
  size: `${SPECS.toLocaleString("en")} specs × ${BENCH_REGIONS.length} regions × ${BUILDS} builds`,
  async run() {
    const now = Date.UTC(2026, 10, 1);
    const specs = estateSpecs(SPECS, BENCH_REGIONS);
    const inventory = convergedEstate(specs, fakeVendorImages(BENCH_REGIONS, now), now, BUILDS);
    const view = (statuses: ReturnType<typeof plan>["statuses"]) =>
      renderStatus({
        statuses,
        regions: new Map(specs.map((s) => [s.name, s.document.spec.regions])),
        vendorPatterns: vendorPatternsOf(specs),
      });

    const whole = await measure(() => view(plan({ specs, inventory, now }).statuses));
    const { statuses } = plan({ specs, inventory, now });
    const alone = await measure(() => view(statuses));
    const lines = whole.value.split("\n");
    const widest = lines.reduce((max, line) => Math.max(max, line.length), 0);
    return {
      wallMs: whole.wallMs,
      extra: {
        images: inventory.images.length.toLocaleString("en"),
        lines: lines.length.toLocaleString("en"),
        "widest line": String(widest),
        render: `${alone.wallMs.toFixed(0)} ms`,
        summary: JSON.stringify(lines.at(-2)),
        "peak heap": `${megabytes(whole.peakHeapBytes)} (estate ${megabytes(whole.baseHeapBytes)})`,
        target: "< 2 s",
      },
    };
  },
};
