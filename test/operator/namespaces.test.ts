// --namespace: one informer per chosen namespace; resources elsewhere are not the operator's.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { FINALIZER } from "../../controller/operator/operator.ts";
import { allReady, createExamples, type Harness, listSpecs, startHarness, waitFor } from "./harness.ts";

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
  for (const name of ["platform", "elsewhere"])
    await h.core.createNamespace({ body: { metadata: { name } } });
});
afterEach(async () => {
  await h.close();
});

describe("leaven operator --namespace", () => {
  it("reconciles the chosen namespace and leaves the others alone", async () => {
    await createExamples(h, "platform");
    await createExamples(h, "elsewhere");
    const operator = await h.startOperator({ leaderElect: false, namespaces: ["platform"] });
    await waitFor("platform Ready", () => allReady(h, "platform"), 60_000);
    const last = operator.lastPass();
    expect(last?.pass.statuses).toHaveLength(9);
    expect(new Set(last?.sources.values())).toEqual(
      new Set(last?.pass.statuses.map((s) => `platform/${s.name}`)),
    );
    for (const spec of await listSpecs(h, "elsewhere")) {
      expect(spec.status).toBeUndefined();
      expect(spec.metadata?.finalizers ?? []).not.toContain(FINALIZER);
    }
  });

  it("blocks specs of one name in two watched namespaces: the name is ambiguous", async () => {
    await createExamples(h, "platform");
    await createExamples(h, "elsewhere");
    await h.startOperator({ leaderElect: false });
    await waitFor("every copy blocked", async () => {
      const specs = [...(await listSpecs(h, "platform")), ...(await listSpecs(h, "elsewhere"))];
      return specs.every(
        (s) =>
          (s.status?.conditions as { type: string; status: string; reason?: string }[] | undefined)?.find(
            (c) => c.type === "Stalled",
          )?.reason === "Blocked",
      );
    });
    const [spec] = await listSpecs(h, "elsewhere");
    expect(String(spec?.status?.message)).toContain("defined more than once");
    expect(
      [...h.sim.world.region("us-east-1").images.values()].filter((i) => i.tags["leaven.dev/managed-by"]),
    ).toEqual([]);
  });
});

describe("leaven operator with no ImageSpec", () => {
  /** A logger that keeps the warnings. */
  function warnings() {
    const said: Array<{ msg: string; fields?: Record<string, unknown> }> = [];
    const logger = {
      debug() {},
      info() {},
      error() {},
      warn(msg: string, fields?: Record<string, unknown>) {
        said.push({ msg, ...(fields ? { fields } : {}) });
      },
    };
    return { said, logger };
  }

  it("warns once, not every pass, that its namespace has none; specs elsewhere do not count", async () => {
    const { said, logger } = warnings();
    const operator = await h.startOperator({ leaderElect: false, namespaces: ["platform"], logger });
    const empty = {
      msg: "no ImageSpec in namespace platform: it has no ImageSpec resources (leaven.dev/v1alpha1); nothing to reconcile until one is created (`kubectl get imagespecs -A` lists every namespace's)",
      fields: { namespaces: ["platform"] },
    };
    await waitFor("a pass", () => operator.passes > 0);
    // Specs elsewhere are not the operator's.
    await createExamples(h, "elsewhere");
    const passes = operator.passes;
    (operator as unknown as { requeueAll(): void }).requeueAll();
    await waitFor("another pass", () => operator.passes > passes);
    expect(said).toEqual([empty]);

    await createExamples(h, "platform");
    await waitFor("platform Ready", () => allReady(h, "platform"), 60_000);
    expect(said).toEqual([empty]);
  });

  it("watching every namespace, says the cluster has none", async () => {
    const { said, logger } = warnings();
    const operator = await h.startOperator({ leaderElect: false, logger });
    await waitFor("a pass", () => operator.passes > 0);
    expect(said).toEqual([
      {
        msg: "no ImageSpec in any namespace: the cluster has no ImageSpec resources (leaven.dev/v1alpha1); nothing to reconcile until one is created",
        fields: { namespaces: "all" },
      },
    ]);
  });
});
