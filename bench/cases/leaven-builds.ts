// `leaven builds` over the 400k-image estate, from an already-observed inventory: the planner's statuses
// (which say what every parent channel resolves to now), the history of one app, and its text.
import { plan } from "../../controller/plan/plan.ts";
import { buildHistory } from "../../controller/status/build-history.ts";
import { vendorPatternsOf } from "../../controller/status/fit-text.ts";
import { renderBuilds } from "../../controller/status/render-builds.ts";
import type { BenchCase } from "../case.ts";
import { BENCH_REGIONS, convergedEstate, estateSpecs, fakeVendorImages } from "../estate.ts";
import { measure, megabytes } from "../measure.ts";

const SPECS = 2000;
const BUILDS = 20;
const SPEC = "app-7";

export const leavenBuildsCase: BenchCase = {
  name: "leaven builds (from inventory)",
  size: `${SPECS.toLocaleString("en")} specs × ${BENCH_REGIONS.length} regions × ${BUILDS} builds`,
  async run() {
    const now = Date.UTC(2026, 10, 1);
    const specs = estateSpecs(SPECS, BENCH_REGIONS);
    const inventory = convergedEstate(specs, fakeVendorImages(BENCH_REGIONS, now), now, BUILDS);
    const regions = specs.find((s) => s.name === SPEC)!.document.spec.regions;
    const vendorPatterns = vendorPatternsOf(specs);
    const history = (statuses: ReturnType<typeof plan>["statuses"]) =>
      renderBuilds(buildHistory({ spec: SPEC, inventory, statuses, regions, now }), { vendorPatterns });

    // The command's work once the inventory is observed: plan, then the history and its text.
    const whole = await measure(() => history(plan({ specs, inventory, now }).statuses));
    const { statuses } = plan({ specs, inventory, now });
    const alone = await measure(() => history(statuses));
    if (alone.value !== whole.value) throw new Error("leaven builds: the history differs between runs");
    const rows = whole.value.split("\n").filter((line) => /^\d/.test(line)).length;
    return {
      wallMs: whole.wallMs,
      extra: {
        images: inventory.images.length.toLocaleString("en"),
        spec: SPEC,
        builds: String(rows),
        "history+render": `${alone.wallMs.toFixed(0)} ms`,
        "peak heap": `${megabytes(whole.peakHeapBytes)} (estate ${megabytes(whole.baseHeapBytes)})`,
        target: "< 2 s",
      },
    };
  },
};
