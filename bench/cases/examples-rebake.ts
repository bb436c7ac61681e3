// The examples' app rebakes with each bake method: the examples converge on the simulator at its calibrated
// timings with every app baked one way, then every app's version is bumped (a rebake of each on the same
// base). Simulated time from the bump until every app's home image is available (the bake) and until all is
// Ready (copies to the other regions and shares included, which take as long whichever way the image was
// baked), and the EC2/SSM requests per rebaked app, driven by the loop apply runs (poll 15 s, as on AWS).
import { fileURLToPath } from "node:url";
import { Tag } from "../../controller/api/tags.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { Reconciler } from "../../controller/reconcile/reconciler.ts";
import type { BakeryConfig } from "../../controller/validation/leaven-config.ts";
import { loadSpecs } from "../../controller/validation/load-specs.ts";
import type { ValidationResult } from "../../controller/validation/result.ts";
import type { BenchCase } from "../case.ts";
import { simulatedTimeTarget } from "../sim-estate.ts";

const examples = fileURLToPath(new URL("../../examples", import.meta.url));
const POLL_MS = 15_000;

const bumped = (version: string) => version.replace(/(\d+)$/, (n) => String(Number(n) + 1));

/** The examples with every app baked by `method` (and, when `bump`, one patch version on). */
function variant(loaded: ValidationResult, method: "instance" | "volume", bump: boolean): ValidationResult {
  return {
    ...loaded,
    specs: loaded.specs.map((s) => {
      const spec = s.document.spec;
      if (spec.layer !== "app") return s;
      return {
        ...s,
        document: {
          ...s.document,
          spec: {
            ...spec,
            ...(bump && spec.version ? { version: bumped(spec.version) } : {}),
            bake: { ...spec.bake, method },
          },
        },
      };
    }),
  };
}

async function rebakeApps(loaded: ValidationResult, method: "instance" | "volume", bakery: BakeryConfig) {
  const { clock, target } = await simulatedTimeTarget();
  const apps = loaded.specs.filter((s) => s.document.spec.layer === "app");
  try {
    let bakedAt: number | undefined;
    const reconciler = new Reconciler({
      cloud: target.cloud,
      clock,
      logger: silentLogger,
      bakery,
      pollIntervalMs: POLL_MS,
      onPass: (pass) => {
        if (bakedAt !== undefined) return;
        const baked = apps.every((app) => {
          const build = pass.statuses.find((s) => s.name === app.name)?.desiredBuild;
          const home = app.document.spec.regions?.[0];
          return pass.inventory.images.some(
            (i) =>
              i.region === home &&
              i.state === "available" &&
              i.tags[Tag.spec] === app.name &&
              i.tags[Tag.build] === build,
          );
        });
        if (baked) bakedAt = clock.now();
      },
    });
    const converge = async (estate: ValidationResult) => {
      const { outcome, last } = await reconciler.run(() => estate, { maxPasses: 3_000 });
      if (outcome !== "converged")
        throw new Error(
          `${method}: ${outcome}: ${last.statuses
            .filter((s) => s.phase !== "Ready")
            .map((s) => `${s.name} ${s.message}`)
            .join("; ")}`,
        );
    };
    await converge(variant(loaded, method, false));
    clock.advance(60_000);
    target.adapter.resetStats();
    bakedAt = undefined;
    const start = clock.now();
    await converge(variant(loaded, method, true));
    const stats = target.adapter.stats();
    return {
      baked: (bakedAt ?? Number.NaN) - start,
      ready: clock.now() - start,
      perApp: Math.round(stats.requests / apps.length),
      apps: apps.length,
    };
  } finally {
    await target.close();
  }
}

const minutes = (ms: number) => `${(ms / 60_000).toFixed(1)}min`;

export const examplesRebakeCase: BenchCase = {
  name: "rebake: examples' apps, volume vs instance (simulated)",
  size: "examples: 5 apps on 2 bases, 1–3 regions, calibrated simulator timings",
  async run() {
    const loaded = await loadSpecs([examples]);
    if (loaded.diagnostics.some((d) => d.severity === "error"))
      throw new Error("the examples do not validate");
    const start = performance.now();
    const instance = await rebakeApps(loaded, "instance", {});
    // Three apps bake on ubuntu-base's one build (candidate and release agree), two on al2023-base's: a pool
    // of three per parent build, and a host that takes all five bakes at once.
    const pooled = await rebakeApps(loaded, "volume", { poolSize: 3, maxConcurrentBakes: 5 });
    return {
      wallMs: performance.now() - start,
      extra: {
        instance: `baked ${minutes(instance.baked)}, all Ready ${minutes(instance.ready)}, ${instance.perApp} req/app`,
        "volume+pool": `baked ${minutes(pooled.baked)}, all Ready ${minutes(pooled.ready)}, ${pooled.perApp} req/app`,
        "baked ratio": (pooled.baked / instance.baked).toFixed(2),
        "all-Ready ratio": (pooled.ready / instance.ready).toFixed(2),
        target: "volume ≤ ½ instance",
      },
    };
  },
};
