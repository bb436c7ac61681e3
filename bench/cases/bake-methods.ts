// One app's rebake with each bake method, against the simulator at its calibrated timings (an instance bake
// boots, provisions and is imaged; a volume bake provisions a volume on the bakery host in a chroot, snapshots
// the changed blocks and registers them): simulated time from the version bump to the app's home image being
// Ready, and the EC2/SSM requests that took, driven by the loop apply runs (poll 15 s, as on AWS). The bakery host is already up (its first bake pays for its
// launch); the pool is off, then 1 (a bake takes a ready volume).
import type { ImageSpecSpec } from "../../controller/api/types.generated.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { Reconciler } from "../../controller/reconcile/reconciler.ts";
import type { BakeryConfig } from "../../controller/validation/leaven-config.ts";
import type { ValidationResult, ValidSpec } from "../../controller/validation/result.ts";
import type { BenchCase } from "../case.ts";
import { simulatedTimeTarget } from "../sim-estate.ts";

const REGION = "us-east-1";
const POLL_MS = 15_000;

function spec(name: string, body: Partial<ImageSpecSpec> & Pick<ImageSpecSpec, "layer">): ValidSpec {
  return {
    name,
    document: {
      apiVersion: "leaven.dev/v1alpha1",
      kind: "ImageSpec",
      metadata: { name },
      spec: { regions: [REGION], ...body } as ImageSpecSpec,
    },
    position: { file: `${name}.yaml`, line: 1, column: 1 },
  };
}

function estate(method: "instance" | "volume", version: string): ValidationResult {
  const specs = [
    spec("ubuntu", {
      layer: "foundation",
      source: {
        owners: ["099720109477"],
        name: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*",
        architecture: "x86_64",
      },
      channels: { release: { latest: true } },
    }),
    spec("app", {
      layer: "app",
      parent: { spec: "ubuntu", channel: "release" },
      version,
      provision: { packages: ["nginx"], script: "systemctl enable nginx" },
      bake: { method },
      channels: { release: { latest: true } },
    }),
  ];
  return { specs, diagnostics: [], blocked: new Map() };
}

async function rebake(method: "instance" | "volume", bakery: BakeryConfig) {
  const { clock, target } = await simulatedTimeTarget();
  try {
    let readyAt: number | undefined;
    const reconciler = new Reconciler({
      cloud: target.cloud,
      clock,
      logger: silentLogger,
      bakery,
      // As apply on AWS: straight on after a pass that acted, else a poll later (or sooner, reconcile/pacing.ts).
      pollIntervalMs: POLL_MS,
      onPass: (pass) => {
        if (readyAt === undefined && pass.statuses.find((s) => s.name === "app")?.phase === "Ready")
          readyAt = clock.now();
      },
    });
    // The loop apply runs: the time to the app's image being Ready (its volume is deleted a pass later).
    const until = async (version: string) => {
      const start = clock.now();
      readyAt = undefined;
      const { outcome } = await reconciler.run(() => estate(method, version), { maxPasses: 2_000 });
      if (outcome !== "converged" || readyAt === undefined)
        throw new Error(`${method} bake of ${version} did not finish (${outcome})`);
      return readyAt - start;
    };
    await until("1.0.0");
    clock.advance(60_000);
    target.adapter.resetStats();
    const ms = await until("1.0.1");
    const stats = target.adapter.stats();
    return { ms, requests: stats.requests, mutating: stats.mutating };
  } finally {
    await target.close();
  }
}

const minutes = (ms: number) => `${(ms / 60_000).toFixed(1)}min`;

export const bakeMethodsCase: BenchCase = {
  name: "rebake: volume vs instance (simulated)",
  size: "1 app, 1 region, calibrated simulator timings",
  async run() {
    const start = performance.now();
    const instance = await rebake("instance", {});
    const volume = await rebake("volume", {});
    const pooled = await rebake("volume", { poolSize: 1 });
    return {
      wallMs: performance.now() - start,
      extra: {
        instance: `${minutes(instance.ms)}/${instance.requests}req/${instance.mutating}mut`,
        volume: `${minutes(volume.ms)}/${volume.requests}req/${volume.mutating}mut`,
        "volume+pool": `${minutes(pooled.ms)}/${pooled.requests}req/${pooled.mutating}mut`,
        ratio: (volume.ms / instance.ms).toFixed(2),
        "ratio+pool": (pooled.ms / instance.ms).toFixed(2),
        target: "volume ≤ ½ instance",
      },
    };
  },
};
