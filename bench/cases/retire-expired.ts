import { Tag } from "../../controller/api/tags.ts";
import { bucketFor } from "../../controller/cloud/rate-limits.ts";
import { Reconciler } from "../../controller/reconcile/reconciler.ts";
import type { ValidSpec } from "../../controller/validation/result.ts";
import type { BenchCase } from "../case.ts";
import { BENCH_REGIONS, convergedEstate, makeSpec, ubuntuFoundation } from "../estate.ts";
import { silentLogger, simTarget, vendorImagesOf } from "../sim-estate.ts";

const SPECS = Number(process.env.LEAVEN_BENCH_RETIRE_SPECS ?? 100);
/** Expired builds per spec, each in every region: SPECS × BUILDS × regions images to retire. */
const BUILDS = Number(process.env.LEAVEN_BENCH_RETIRE_BUILDS ?? 100);
/** Five regions: each has its own buckets, so the bound is per region. */
const REGIONS = BENCH_REGIONS.slice(0, 5);
// Fast enough to finish in minutes, slow enough that the client stays ahead of the buckets' refill.
const SPEED = 8;
const DAY = 24 * 3600_000;

function retiringSpecs(): ValidSpec[] {
  const specs: ValidSpec[] = [ubuntuFoundation(REGIONS)];
  for (let s = 0; s < SPECS; s++) {
    specs.push(
      makeSpec(`svc-${s}`, {
        layer: "base",
        parent: { spec: "ubuntu-jammy", channel: "release" },
        version: "1.0.0",
        provision: { packages: [`svc-${s}=1.0.0`] },
        regions: [...REGIONS] as [string, ...string[]],
        channels: { release: { latest: true } },
        retention: { keepBuilds: 0, deprecateAfter: "7d", deregisterAfter: "30d" },
      }),
    );
  }
  return specs;
}

/** The earliest the last of n DeregisterImage calls in one region can be granted by EC2's bucket, in s. */
export function deregisterLowerBound(perRegion: number): number {
  const { capacity, refillPerSecond } = bucketFor("DeregisterImage").size;
  return Math.max(0, perRegion - capacity) / refillPerSecond;
}

/**
 * Retire 50,000 expired images with their snapshots: every old build has been unused for 40 days and is
 * deprecated already, so its one remaining stage — DeregisterImage with DeleteAssociatedSnapshots — is due.
 * The minimum is one DeregisterImage per image; the time bound is the deregister bucket per region.
 */
export const retireExpiredCase: BenchCase = {
  name: "retire expired images",
  size: `${(SPECS * BUILDS * REGIONS.length).toLocaleString("en")} images + snapshots, ${REGIONS.length} regions`,
  async run() {
    const target = await simTarget({ speed: SPEED });
    try {
      const specs = retiringSpecs();
      const now = target.sim.clock.now();
      const estate = convergedEstate(specs, await vendorImagesOf(target, specs), now, BUILDS + 1);
      const expired = new Set<string>();
      target.sim.seedImages(
        estate.images.map((image) => {
          const old = image.tags[Tag.build]?.startsWith("0.9.") === true;
          if (old) expired.add(image.imageId);
          const tags = old
            ? {
                ...image.tags,
                [Tag.unusedSince]: new Date(now - 40 * DAY).toISOString(),
                [Tag.deprecatedAt]: new Date(now - 33 * DAY).toISOString(),
              }
            : image.tags;
          return {
            region: image.region,
            name: image.name,
            tags,
            creationDate: Date.parse(image.creationDate),
            snapshotTags: { [Tag.managedBy]: "leaven", [Tag.spec]: image.tags[Tag.spec] ?? "" },
          };
        }),
      );
      const snapshotsBefore = REGIONS.reduce((sum, r) => sum + target.sim.world.region(r).snapshots.size, 0);
      const validation = { specs, diagnostics: [], blocked: new Map<string, string>() };
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
      const bound = deregisterLowerBound(expired.size / REGIONS.length);
      const stats = target.sim.stats();
      const imagesLeft = REGIONS.reduce((sum, r) => sum + target.sim.world.region(r).images.size, 0);
      const snapshotsLeft = REGIONS.reduce((sum, r) => sum + target.sim.world.region(r).snapshots.size, 0);
      return {
        wallMs,
        extra: {
          outcome:
            outcome === "converged"
              ? outcome
              : `${outcome} (${last.statuses.find((st) => st.phase !== "Ready")?.message.slice(0, 300)})`,
          passes: String(last.number),
          retired: expired.size.toLocaleString("en"),
          "snapshots deleted": (snapshotsBefore - snapshotsLeft).toLocaleString("en"),
          "images left": imagesLeft.toLocaleString("en"),
          DeregisterImage: `${stats.byAction.DeregisterImage ?? 0} (minimum ${expired.size})`,
          "other mutating": `${stats.mutating - (stats.byAction.DeregisterImage ?? 0)} (SSM pointers published: ${stats.byAction.PutParameter ?? 0})`,
          describe: String(stats.requests - stats.mutating),
          simulated: `${Math.round(simulated)} s`,
          "lower bound": `${Math.round(bound)} s`,
          ratio: `${(simulated / bound).toFixed(2)} (target ≤ 1.2)`,
          throttled: `${stats.throttled} (target 0)`,
        },
      };
    } finally {
      await target.close();
    }
  },
};
