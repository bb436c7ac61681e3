// What the operator tests share: the in-process API server with the ImageSpec CRD, the embedded simulator
// on a fast accelerated clock (fast timings, as test/support/histories.ts uses), the repo's examples
// created through the REST API, and operators started against them.
import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import {
  ApiextensionsV1Api,
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  KubeConfig,
  loadAllYaml,
  loadYaml,
  PatchStrategy,
  setHeaderOptions,
  type V1CustomResourceDefinition,
} from "@kubernetes/client-node";
import { type AwsCloud, createAwsCloud } from "../../controller/cloud/aws-adapter.ts";
import { RegionRateLimiter } from "../../controller/cloud/region-rate-limiter.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import type { ImageSpecObject } from "../../controller/operator/cluster-specs.ts";
import { GROUP, PLURAL, VERSION } from "../../controller/operator/imagespec-informers.ts";
import { Operator, type OperatorOptions } from "../../controller/operator/operator.ts";
import { type Simulator, startSimulator } from "../../controller/sim/server.ts";
import { type KubeApiServer, kubeconfigYaml, startKubeApiServer } from "../support/kube-api-server/index.ts";
import { FAST_TIMINGS } from "../support/sim-cloud.ts";

export const repo = fileURLToPath(new URL("../..", import.meta.url));
export const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** Simulated seconds per wall second: a 10 s bake takes 25 ms, a 10 s poll 25 ms. */
export const SPEED = 400;

export interface Harness {
  server: KubeApiServer;
  kc: KubeConfig;
  custom: CustomObjectsApi;
  core: CoreV1Api;
  leases: CoordinationV1Api;
  sim: Simulator;
  adapter: AwsCloud;
  operators: Operator[];
  startOperator(options?: Partial<OperatorOptions>): Promise<Operator>;
  close(): Promise<void>;
}

/** The ImageSpec CRD, typed as the API extensions client sends it. */
export function imageSpecCrd(): V1CustomResourceDefinition {
  // loadYaml keeps the schema's enums (the typed model's `_enum`); a plain parse would lose them.
  return loadYaml<V1CustomResourceDefinition>(readFileSync(join(repo, "crds/imagespec.yaml"), "utf8"));
}

export async function startHarness(
  options: { historyLimit?: number; withoutCrd?: boolean } = {},
): Promise<Harness> {
  const server = await startKubeApiServer(options.historyLimit ? { historyLimit: options.historyLimit } : {});
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigYaml(server.url));
  if (!options.withoutCrd)
    await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: imageSpecCrd() });
  const sim = await startSimulator({
    throttle: false,
    awkward: false,
    speed: SPEED,
    timings: FAST_TIMINGS,
  });
  const adapter = createAwsCloud({
    endpoint: sim.endpoint,
    credentials: { accessKeyId: "AKIDLEAVENSIM", secretAccessKey: "leaven-sim" },
    clock: sim.clock,
    limiter: new RegionRateLimiter(sim.clock),
  });
  const operators: Operator[] = [];
  const harness: Harness = {
    server,
    kc,
    custom: kc.makeApiClient(CustomObjectsApi),
    core: kc.makeApiClient(CoreV1Api),
    leases: kc.makeApiClient(CoordinationV1Api),
    sim,
    adapter,
    operators,
    async startOperator(extra = {}) {
      const operator = new Operator({
        kubeConfig: kc,
        installation: "default",
        cloud: adapter,
        cloudClock: sim.clock,
        logger: silentLogger,
        pollIntervalMs: 10_000,
        debounceMs: 20,
        leaseDurationMs: 3_000,
        renewDeadlineMs: 2_000,
        retryPeriodMs: 250,
        ...extra,
      });
      operators.push(operator);
      await operator.start();
      return operator;
    },
    async close() {
      for (const operator of operators) await operator.stop();
      adapter.close();
      await sim.close();
      await server.close();
    },
  };
  return harness;
}

/** Every YAML file under examples/, recursively. */
export function exampleFiles(dir = join(repo, "examples")): string[] {
  return readdirSync(dir)
    .sort()
    .flatMap((entry) => {
      const path = join(dir, entry);
      if (statSync(path).isDirectory()) return exampleFiles(path);
      return /\.ya?ml$/.test(entry) ? [path] : [];
    });
}

/** The examples' ImageSpecs, created through the REST API in `namespace`. */
export async function createExamples(h: Harness, namespace = "default"): Promise<string[]> {
  const names: string[] = [];
  for (const file of exampleFiles()) {
    for (const document of loadAllYaml(readFileSync(file, "utf8")) as ImageSpecObject[]) {
      if (document?.kind !== "ImageSpec") continue;
      await h.custom.createNamespacedCustomObject({
        group: GROUP,
        version: VERSION,
        namespace,
        plural: PLURAL,
        body: document,
      });
      names.push(document.metadata?.name ?? "");
    }
  }
  return names;
}

/** An app whose parent no spec defines: invalid input, which blocks only itself. */
export const orphanApp = {
  apiVersion: `${GROUP}/${VERSION}`,
  kind: "ImageSpec",
  metadata: { name: "orphan-app" },
  spec: {
    layer: "app",
    parent: { spec: "no-such-base", channel: "release" },
    version: "1.0.0",
    regions: ["us-east-1"],
    channels: { candidate: { latest: true } },
  },
};

/** Creates one ImageSpec through the REST API. */
export async function createSpec(h: Harness, body: object, namespace = "default"): Promise<void> {
  await h.custom.createNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    body,
  });
}

export async function getSpec(h: Harness, name: string, namespace = "default"): Promise<ImageSpecObject> {
  return (await h.custom.getNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
    name,
  })) as ImageSpecObject;
}

export async function listSpecs(h: Harness, namespace = "default"): Promise<ImageSpecObject[]> {
  const list = (await h.custom.listNamespacedCustomObject({
    group: GROUP,
    version: VERSION,
    namespace,
    plural: PLURAL,
  })) as { items: ImageSpecObject[] };
  return list.items;
}

/** Polls `check` until it holds; fails naming `what` and the last value seen. */
export async function waitFor<T>(
  what: string,
  check: () => Promise<T | undefined | false> | T | undefined | false,
  timeoutMs = 20_000,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined && value !== false) return value;
      last = value;
    } catch (error) {
      last = error;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what} (last: ${String(last)})`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface ConditionLike {
  type: string;
  status: string;
  reason?: string;
  observedGeneration?: number;
}

export function conditionOf(object: ImageSpecObject, type: string): ConditionLike | undefined {
  const conditions = (object.status?.conditions as ConditionLike[] | undefined) ?? [];
  return conditions.find((c) => c.type === type);
}

/** Every spec Ready for its current generation. */
export async function allReady(h: Harness, namespace = "default"): Promise<boolean> {
  const specs = await listSpecs(h, namespace);
  return (
    specs.length > 0 &&
    specs.every(
      (s) =>
        conditionOf(s, "Ready")?.status === "True" && s.status?.observedGeneration === s.metadata?.generation,
    )
  );
}
