// The Kubernetes operator with 2,000 ImageSpec resources: the time from a channel edit (a merge patch of one
// app's spec.channels.release through the API server's REST API) to the first mutating EC2/SSM request, and
// the operator's steady-state memory. The real Operator (informers, work queue, Lease, status writes) runs in
// this process against the in-process API server; the simulator holds a converged estate in another
// process (bench/sim-child.ts, channels published), so the heap and RSS here are the operator's and the
// API server's, not the simulator's. Measured when written (2 shared cores, load ~4): 1.2–1.7 s edit to
// first action (putParameter), over the 1 s target. One traced run: the pass starts observing 178 ms after
// the patch (watch event, 100 ms debounce, validation); the plan is ready at 1,233 ms (the whole estate is
// replanned: indexInventory, planLayer, GC; nothing is incremental); then ~390 ms of reads (DescribeImages,
// SSM ListTagsForResource) before the first write. Steady heap ~185 MB (~125 MB the operator's), RSS ~800 MB.
import { ApiextensionsV1Api, CustomObjectsApi, KubeConfig } from "@kubernetes/client-node";
import { createAwsCloud } from "../../controller/cloud/aws-adapter.ts";
import { systemClock } from "../../controller/cloud/clock.ts";
import type { CloudPort } from "../../controller/cloud/port.ts";
import { RegionRateLimiter } from "../../controller/cloud/region-rate-limiter.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { GROUP, PLURAL, VERSION } from "../../controller/operator/imagespec-informers.ts";
import { Operator } from "../../controller/operator/operator.ts";
import { imageSpecCrd, mergePatch } from "../../test/operator/harness.ts";
import { kubeconfigYaml, startKubeApiServer } from "../../test/support/kube-api-server/index.ts";
import type { BenchCase } from "../case.ts";
import { startChildSim } from "../child-sim.ts";
import { BENCH_REGIONS, estateSpecs, olderBuildId } from "../estate.ts";
import { measure, megabytes } from "../measure.ts";

const SPECS = 2000;
const BUILDS = 5;
const EDITED = "app-7";
const NAMESPACE = "default";

/** The port with a hook on the first call that changes something (everything but describe/get/list). */
function watched(cloud: CloudPort, onMutating: (method: string) => void): CloudPort {
  return new Proxy(cloud, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || typeof property !== "string") return value;
      const reads = /^(describe|get|list)/.test(property);
      return (...args: unknown[]) => {
        if (!reads) onMutating(property);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

async function until(what: string, check: () => boolean, timeoutMs: number, stepMs = 20): Promise<void> {
  const start = performance.now();
  while (!check()) {
    if (performance.now() - start > timeoutMs) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}

function heapNow(): { heap: number; rss: number } {
  globalThis.gc?.();
  const usage = process.memoryUsage();
  return { heap: usage.heapUsed, rss: usage.rss };
}

export const operatorCase: BenchCase = {
  name: "operator: channel edit to first cloud action",
  size: `${SPECS.toLocaleString("en")} ImageSpecs × ${BENCH_REGIONS.length} regions × ${BUILDS} builds`,
  async run() {
    const setupStart = performance.now();
    const sim = await startChildSim(SPECS, BUILDS, true);
    const server = await startKubeApiServer({ historyLimit: 100_000 });
    let operator: Operator | undefined;
    const adapter = createAwsCloud({
      endpoint: sim.endpoint,
      credentials: { accessKeyId: "AKIDBENCH", secretAccessKey: "bench" },
      clock: systemClock,
      limiter: new RegionRateLimiter(systemClock),
    });
    try {
      const kc = new KubeConfig();
      kc.loadFromString(kubeconfigYaml(server.url));
      await kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: imageSpecCrd() });
      // The resources through the server's own create operation (admission, schema validation, storage),
      // in-process: 2,000 REST round trips would only time the HTTP layer, which the edit crosses anyway.
      const type = server.resource(`${GROUP}/${VERSION}`, PLURAL);
      const createStart = performance.now();
      for (const spec of estateSpecs(SPECS, BENCH_REGIONS))
        server.operations.create(type, NAMESPACE, spec.document, {});
      const createMs = performance.now() - createStart;
      const baseline = heapNow();

      let firstMutating: number | undefined;
      let firstMethod = "";
      const cloud = watched(adapter, (method) => {
        if (firstMutating !== undefined) return;
        firstMutating = performance.now();
        firstMethod = method;
      });
      let passes = 0;
      let settledPasses = 0;
      let lastPassAt = performance.now();
      let lastPassExecuted = 0;
      let planAt: number | undefined;
      let reusedPlan = false;
      operator = new Operator({
        kubeConfig: kc,
        installation: "default",
        cloud,
        cloudClock: systemClock,
        logger: silentLogger,
        resyncMs: 60 * 60_000,
        reconciler: {
          onPlan: (_plan, _inventory, observation) => {
            if (planAt !== undefined) return;
            planAt = performance.now();
            reusedPlan = observation.reusedPlan;
          },
        },
        onPass: (pass) => {
          passes++;
          lastPassAt = performance.now();
          lastPassExecuted = pass.executed.length;
          if (pass.executed.length === 0) settledPasses++;
        },
      });
      const convergeStart = performance.now();
      await operator.start();
      await until("the first pass with nothing to do", () => settledPasses > 0, 600_000, 50);
      // Quiet: a second with no pass (finalizer and status writes have come back through the watch).
      await until("a quiet second", () => performance.now() - lastPassAt > 1_000, 120_000, 50);
      const convergeMs = performance.now() - convergeStart;
      const setupMs = performance.now() - setupStart;
      const steady = heapNow();

      const custom = kc.makeApiClient(CustomObjectsApi);
      const ref = { group: GROUP, version: VERSION, namespace: NAMESPACE, plural: PLURAL };
      // A pass that changes nothing (a label edit queues a key, but plans nothing): its GC-traced peak.
      const passesBefore = passes;
      const quiet = await measure(async () => {
        await custom.patchNamespacedCustomObject(
          { ...ref, name: "app-11", body: { metadata: { labels: { "bench.leaven.dev/touched": "1" } } } },
          mergePatch,
        );
        await until("the quiet pass", () => passes > passesBefore, 60_000, 5);
      });
      if (lastPassExecuted !== 0) throw new Error(`a label edit executed ${lastPassExecuted} actions`);
      await new Promise((resolve) => setTimeout(resolve, 500));

      // The edit: app-7's release channel pinned to an older build, as a rollback would.
      firstMutating = undefined;
      planAt = undefined;
      const requestsBeforeEdit = adapter.stats().requests;
      const passesBeforeEdit = passes;
      let editStart = 0;
      const edit = await measure(async () => {
        editStart = performance.now();
        await custom.patchNamespacedCustomObject(
          {
            ...ref,
            name: EDITED,
            body: { spec: { channels: { release: { version: null, build: olderBuildId(EDITED, 1) } } } },
          },
          mergePatch,
        );
        await until("the first cloud action", () => firstMutating !== undefined, 60_000, 1);
      });
      const wallMs = firstMutating! - editStart;
      await until("the edit's pass", () => passes > passesBeforeEdit, 60_000, 5);
      const stats = adapter.stats();
      return {
        wallMs,
        extra: {
          images: sim.images.toLocaleString("en"),
          "edit to first action": `${wallMs.toFixed(0)} ms (${firstMethod}; debounce 100 ms included; target < 1 s)`,
          planned: `${((planAt ?? editStart) - editStart).toFixed(0)} ms after the edit${reusedPlan ? " (plan reused)" : ""}`,
          "edit pass": `${lastPassExecuted} actions, ${stats.requests - requestsBeforeEdit} EC2/SSM requests`,
          "heap peak edit (GC-traced)": megabytes(edit.peakHeapBytes),
          "steady heap": `${megabytes(steady.heap)} (${megabytes(steady.heap - baseline.heap)} over the API server holding the specs)`,
          "steady RSS": `${megabytes(steady.rss)} (${megabytes(baseline.rss)} before the operator)`,
          "quiet pass": `${quiet.wallMs.toFixed(0)} ms, heap peak ${megabytes(quiet.peakHeapBytes)}, CPU ${quiet.cpuMs.toFixed(0)} ms`,
          "initial convergence": `${(convergeMs / 1000).toFixed(1)} s, ${passes} passes`,
          setup: `${(setupMs / 1000).toFixed(1)} s (create ${createMs.toFixed(0)} ms)`,
          "EC2/SSM requests": `${stats.requests} (${stats.mutating} mutating, throttled ${stats.throttled})`,
        },
      };
    } finally {
      await operator?.stop();
      adapter.close();
      await server.close();
      sim.close();
    }
  },
};
