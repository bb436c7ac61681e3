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
    expect(
      operator
        .lastStatuses()
        .map((s) => s.name)
        .sort(),
    ).toHaveLength(9);
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
