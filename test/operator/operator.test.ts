// The operator against the in-process Kubernetes API server and the embedded simulator: the examples
// created through the REST API are baked, copied and promoted, their status written back.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import { GROUP, PLURAL, VERSION } from "../../controller/operator/imagespec-informers.ts";
import { FINALIZER } from "../../controller/operator/operator.ts";
import { MemoryMetrics } from "../../controller/operator/operator-endpoints.ts";
import {
  allReady,
  conditionOf,
  createExamples,
  createSpec,
  getSpec,
  type Harness,
  listSpecs,
  mergePatch,
  orphanApp,
  startHarness,
  waitFor,
} from "./harness.ts";

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

function leavenImages(region: string): { id: string; tags: Record<string, string> }[] {
  return [...h.sim.world.region(region).images.values()]
    .filter((i) => i.tags[Tag.managedBy] === "leaven")
    .map((i) => ({ id: i.imageId, tags: i.tags }));
}

describe("leaven operator", () => {
  it("reconciles the examples to Ready, with images in the simulator and status written back", async () => {
    const names = await createExamples(h);
    expect(names.length).toBe(9);
    await h.startOperator({ leaderElect: false });
    await waitFor("every example Ready", () => allReady(h), 60_000);
    const specs = await listSpecs(h);
    for (const spec of specs) {
      expect(spec.metadata?.finalizers).toContain(FINALIZER);
      const ready = conditionOf(spec, "Ready")!;
      expect(ready).toMatchObject({ status: "True", reason: "Ready", observedGeneration: 1 });
      expect(conditionOf(spec, "Stalled")).toMatchObject({ status: "False" });
      expect(conditionOf(spec, "Reconciling")).toMatchObject({ status: "False" });
      expect(spec.status?.phase).toBe("Ready");
    }
    const base = specs.find((s) => s.metadata?.name === "ubuntu-base")!;
    const channels = base.status?.channels as Record<
      string,
      { build: string; images: Record<string, string> }
    >;
    expect(Object.keys(channels.candidate!.images).sort()).toEqual(["eu-west-1", "us-east-1"]);
    const imageIds = new Set(leavenImages("us-east-1").map((i) => i.id));
    expect(imageIds.has(channels.candidate!.images["us-east-1"]!)).toBe(true);
    expect(leavenImages("eu-west-1").some((i) => i.tags[Tag.spec] === "ubuntu-base")).toBe(true);
  });
});

type Channels = Record<string, { build?: string; images: Record<string, string> }>;
const channelsOf = (spec: { status?: Record<string, unknown> }) => (spec.status?.channels ?? {}) as Channels;

async function patchSpec(name: string, body: object): Promise<void> {
  await h.custom.patchNamespacedCustomObject(
    { group: GROUP, version: VERSION, namespace: "default", plural: PLURAL, name, body },
    mergePatch,
  );
}

async function reasons(): Promise<Map<string, number>> {
  for (const operator of h.operators) await operator.flushEvents();
  const events = await h.core.listNamespacedEvent({ namespace: "default" });
  const counts = new Map<string, number>();
  for (const e of events.items)
    counts.set(e.reason ?? "", (counts.get(e.reason ?? "") ?? 0) + (e.count ?? 1));
  return counts;
}

describe("leaven operator: edits, deletion, events", () => {
  it("reconciles a version bump and a channel pinned back by merge patch, with observedGeneration and Events", async () => {
    await createExamples(h);
    await h.startOperator({ leaderElect: false });
    await waitFor("every example Ready", () => allReady(h), 60_000);
    const first = channelsOf(await getSpec(h, "ubuntu-base")).release!.build!;

    await patchSpec("ubuntu-base", { spec: { version: "2.3.1" } });
    const bumped = await waitFor(
      "ubuntu-base on 2.3.1, Ready at generation 2",
      async () => {
        const spec = await getSpec(h, "ubuntu-base");
        const release = channelsOf(spec).release?.build;
        return release?.startsWith("2.3.1+") &&
          conditionOf(spec, "Ready")?.status === "True" &&
          spec.status?.observedGeneration === 2
          ? spec
          : undefined;
      },
      60_000,
    );
    expect(conditionOf(bumped, "Ready")?.observedGeneration).toBe(2);

    // Roll release back: the channel field edited in the cluster (kubectl patch --type merge).
    await patchSpec("ubuntu-base", { spec: { channels: { release: { latest: null, build: first } } } });
    const pinned = await waitFor(
      "release back on the first build",
      async () => {
        const spec = await getSpec(h, "ubuntu-base");
        return channelsOf(spec).release?.build === first && spec.status?.observedGeneration === 3
          ? spec
          : undefined;
      },
      60_000,
    );
    const image = channelsOf(pinned).release!.images["us-east-1"]!;
    expect(h.sim.world.region("us-east-1").images.get(image)?.tags["leaven.dev/channel/release"]).toBe(
      "true",
    );
    expect(pinned.status?.outdatedBuilds).toEqual([first]);

    const seen = await reasons();
    for (const reason of ["BakeStarted", "ImageCreated", "CopyStarted", "Promoted"])
      expect(seen.get(reason) ?? 0, reason).toBeGreaterThan(0);
  });

  it("blocks only an invalid resource and its descendants, saying why in its status", async () => {
    await createExamples(h);
    await createSpec(h, orphanApp);
    await h.startOperator({ leaderElect: false });
    const orphan = await waitFor("orphan-app stalled", async () => {
      const spec = await getSpec(h, "orphan-app");
      return conditionOf(spec, "Stalled")?.status === "True" ? spec : undefined;
    });
    expect(conditionOf(orphan, "Stalled")?.reason).toBe("Blocked");
    expect(conditionOf(orphan, "Ready")?.status).toBe("False");
    expect(orphan.status?.lastError).toContain("no-such-base");
    await waitFor(
      "the other specs Ready",
      async () => {
        const specs = (await listSpecs(h)).filter((s) => s.metadata?.name !== "orphan-app");
        return specs.every((s) => conditionOf(s, "Ready")?.status === "True");
      },
      60_000,
    );
  });

  it("keeps a deleted spec's images (retain) and removes its finalizer", async () => {
    await createExamples(h);
    await h.startOperator({ leaderElect: false });
    await waitFor("every example Ready", () => allReady(h), 60_000);
    const images = Object.values(channelsOf(await getSpec(h, "api-server")).candidate!.images);
    expect(images.length).toBeGreaterThan(0);
    await h.custom.deleteNamespacedCustomObject({
      group: GROUP,
      version: VERSION,
      namespace: "default",
      plural: PLURAL,
      name: "api-server",
    });
    await waitFor("api-server gone", async () => {
      try {
        await getSpec(h, "api-server");
        return false;
      } catch (error) {
        return (error as { code?: number }).code === 404;
      }
    });
    for (const region of ["us-east-1", "eu-west-1"])
      for (const id of images) {
        const image = h.sim.world.region(region).images.get(id);
        if (image) expect(image.tags[Tag.spec]).toBe("api-server");
      }
    const all = [...h.sim.world.region("us-east-1").images.values()].filter(
      (i) => i.tags[Tag.spec] === "api-server",
    );
    expect(all.length).toBeGreaterThan(0);
    expect((await reasons()).get("DeletionPolicyApplied")).toBe(1);
    // Later passes leave them alone too.
    const before = h.operators[0]!.passes;
    await patchSpec("ubuntu-jammy", { metadata: { labels: { touched: "yes" } } });
    await waitFor("another pass", () => h.operators[0]!.passes > before);
    expect(
      [...h.sim.world.region("us-east-1").images.values()].filter((i) => i.tags[Tag.spec] === "api-server")
        .length,
    ).toBe(all.length);
  });
});

describe("leaven operator: informers and leadership", () => {
  it("recovers after the API server drops its watches and compacts history (410 Gone: relist)", async () => {
    await createExamples(h);
    await h.startOperator({ leaderElect: false });
    await waitFor("every example Ready", () => allReady(h), 60_000);
    const listsBefore = h.server.requests.filter(
      (r) => r.method === "GET" && /imagespecs(\?|$)/.test(r.path) && !r.path.includes("watch"),
    ).length;
    h.server.compactHistory();
    h.server.dropWatches({ abrupt: true });
    await patchSpec("ubuntu-base", { spec: { version: "2.3.2" } });
    h.server.compactHistory();
    h.server.dropWatches();
    await waitFor(
      "the edit after the drop reconciled",
      async () => {
        const spec = await getSpec(h, "ubuntu-base");
        return (
          spec.status?.observedGeneration === 2 && channelsOf(spec).candidate?.build?.startsWith("2.3.2+")
        );
      },
      60_000,
    );
    const listsAfter = h.server.requests.filter(
      (r) => r.method === "GET" && /imagespecs(\?|$)/.test(r.path) && !r.path.includes("watch"),
    ).length;
    expect(listsAfter).toBeGreaterThan(listsBefore);
  });

  it("hands over leadership: a killed leader's standby takes over within the lease duration", async () => {
    await createExamples(h);
    const a = await h.startOperator({ identity: "operator-a" });
    await waitFor("a leads", () => a.isLeader());
    const b = await h.startOperator({ identity: "operator-b" });
    await waitFor("every example Ready", () => allReady(h), 60_000);
    expect(b.isLeader()).toBe(false);
    expect(b.passes).toBe(0);
    expect(b.ready()).toBe(true);

    const killedAt = Date.now();
    await a.stop({ release: false });
    await waitFor("b leads", () => b.isLeader(), 10_000);
    // Lease 3 s, tried every 250 ms.
    expect(Date.now() - killedAt).toBeLessThan(3_000 + 1_500);
    await patchSpec("ubuntu-base", { spec: { version: "2.4.0" } });
    await waitFor(
      "b reconciles the edit",
      async () => {
        const spec = await getSpec(h, "ubuntu-base");
        return spec.status?.observedGeneration === 2 && conditionOf(spec, "Ready")?.status === "True";
      },
      60_000,
    );
    expect(b.passes).toBeGreaterThan(0);
    const lease = await h.leases.readNamespacedLease({
      name: "leaven-operator-default",
      namespace: "default",
    });
    expect(lease.spec?.holderIdentity).toBe("operator-b");
    expect(lease.spec?.leaseTransitions).toBe(1);

    // A graceful stop releases the Lease: a new standby takes over at its first try.
    const c = await h.startOperator({ identity: "operator-c" });
    const releasedAt = Date.now();
    await b.stop();
    await waitFor("c leads", () => c.isLeader(), 5_000);
    expect(Date.now() - releasedAt).toBeLessThan(1_500);
  });
});

describe("leaven operator: latency", () => {
  it("sends the first cloud action for an edit within a second", async () => {
    await createExamples(h);
    const metrics = new MemoryMetrics();
    let firstActionAt: number | undefined;
    const action = metrics.action.bind(metrics);
    metrics.action = (kind, result) => {
      if (kind === "launch-bake") firstActionAt ??= Date.now();
      action(kind, result);
    };
    await h.startOperator({ leaderElect: false, metrics });
    await waitFor("every example Ready", () => allReady(h), 60_000);
    firstActionAt = undefined;
    const editedAt = Date.now();
    await patchSpec("ubuntu-base", { spec: { version: "2.5.0" } });
    await waitFor("the bake of 2.5.0", () => firstActionAt, 10_000);
    // 41 ms measured with the 9 examples (debounce 20 ms here, 100 ms by default).
    expect(firstActionAt! - editedAt).toBeLessThan(1_000);
  });
});
