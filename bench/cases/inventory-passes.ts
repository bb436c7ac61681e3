// The inventory a long-running process keeps across passes (controller/observe/inventory-cache.ts), on the
// 400k-image estate through the AWS adapter and the simulator over HTTP: a pass with nothing changed, a pass
// after a channel edit (one app's release pinned to an older build), and a scheduled full walk — each with
// its EC2 requests. The simulator runs in another process, as EC2 does: the figures are Leaven's alone.

import type { ImageSpec } from "../../controller/api/types.generated.ts";
import { createAwsCloud } from "../../controller/cloud/aws-adapter.ts";
import { systemClock } from "../../controller/cloud/clock.ts";
import { RegionRateLimiter } from "../../controller/cloud/region-rate-limiter.ts";
import { Reconciler } from "../../controller/reconcile/reconciler.ts";
import type { ValidationResult, ValidSpec } from "../../controller/validation/result.ts";
import type { BenchCase } from "../case.ts";
import { startChildSim } from "../child-sim.ts";
import { BENCH_REGIONS, estateSpecs, olderBuildId } from "../estate.ts";
import { measure, megabytes } from "../measure.ts";
import { silentLogger } from "../sim-estate.ts";

const SPECS = 2000;
const BUILDS = 20;
const EDITED = "app-7";

type Stats = ReturnType<ReturnType<typeof createAwsCloud>["stats"]>;

function describeImages(stats: Stats): number {
  return Object.values(stats.byRegion).reduce(
    (sum, r) => sum + (r.byAction.DescribeImages?.requests ?? 0),
    0,
  );
}

/** Requests by action across regions, e.g. "DescribeImages 20, CreateTags 10". */
function byAction(stats: Stats): string {
  const counts = new Map<string, number>();
  for (const region of Object.values(stats.byRegion))
    for (const [action, c] of Object.entries(region.byAction))
      counts.set(action, (counts.get(action) ?? 0) + c.requests);
  return [...counts]
    .sort()
    .map(([a, n]) => `${a} ${n}`)
    .join(", ");
}

function pinned(spec: ValidSpec, build: string): ValidSpec {
  const document: ImageSpec = structuredClone(spec.document);
  document.spec.channels = { ...document.spec.channels, release: { build } };
  return { ...spec, document };
}

export const inventoryPassesCase: BenchCase = {
  name: "passes on a kept inventory",
  size: `${SPECS.toLocaleString("en")} specs × ${BENCH_REGIONS.length} regions × ${BUILDS} builds`,
  async run() {
    const sim = await startChildSim(SPECS, BUILDS, true);
    const cloud = createAwsCloud({
      endpoint: sim.endpoint,
      credentials: { accessKeyId: "AKIDBENCH", secretAccessKey: "bench" },
      clock: systemClock,
      limiter: new RegionRateLimiter(systemClock),
    });
    const target = { adapter: cloud, cloud };
    try {
      const specs = estateSpecs(SPECS, BENCH_REGIONS);
      const validation: ValidationResult = { specs, diagnostics: [], blocked: new Map() };
      let firstAction: number | undefined;
      const reconciler = new Reconciler({
        cloud: target.cloud,
        clock: systemClock,
        logger: silentLogger,
        onActionResult: () => {
          firstAction ??= performance.now();
        },
      });
      // The first pass walks every region in full and sweeps; the second finds nothing changed.
      await reconciler.pass(validation);
      await reconciler.pass(validation);

      target.adapter.resetStats();
      const quiet = await measure(() => reconciler.pass(validation));
      const quietStats = target.adapter.stats();

      const edited: ValidationResult = {
        ...validation,
        specs: specs.map((s) => (s.name === EDITED ? pinned(s, olderBuildId(EDITED, 1)) : s)),
      };
      target.adapter.resetStats();
      firstAction = undefined;
      let editStart = 0;
      const edit = await measure(() => {
        editStart = performance.now();
        return reconciler.pass(edited);
      });
      const editStats = target.adapter.stats();
      const toFirstAction = firstAction === undefined ? "none" : `${(firstAction - editStart).toFixed(0)} ms`;

      // What the full-walk schedule (every 10 minutes) does: every region walked again.
      reconciler.requestFullWalk("bench");
      target.adapter.resetStats();
      const full = await measure(() => reconciler.pass(edited));
      const fullStats = target.adapter.stats();
      const bound = BENCH_REGIONS.length * Math.ceil(sim.images / BENCH_REGIONS.length / 1000);
      return {
        wallMs: edit.wallMs,
        extra: {
          images: sim.images.toLocaleString("en"),
          "channel edit": `${edit.wallMs.toFixed(0)} ms (first action after ${toFirstAction}; ${edit.value.executed.length} actions; DescribeImages ${describeImages(editStats)} = ${BENCH_REGIONS.length} new-image + ${BENCH_REGIONS.length} edited-spec queries + ${BENCH_REGIONS.length} ownership read-backs before the retags; requests: ${byAction(editStats)}; target < 1 s)`,
          "nothing changed": `${quiet.wallMs.toFixed(0)} ms (DescribeImages ${describeImages(quietStats)}, requests: ${byAction(quietStats)}, plan reused: ${quiet.value.observation.reusedPlan}; target < 0.5 s)`,
          "full walk": `${full.wallMs.toFixed(0)} ms wall, ${full.cpuMs.toFixed(0)} ms CPU, heap peak ${megabytes(full.peakHeapBytes)} (inventory ${megabytes(full.baseHeapBytes)}); DescribeImages ${describeImages(fullStats)} (target Σ⌈n/1000⌉ = ${bound}), retried ${fullStats.retried}, throttled ${fullStats.throttled}; requests: ${byAction(fullStats)}`,
        },
      };
    } finally {
      cloud.close();
      sim.close();
    }
  },
};
