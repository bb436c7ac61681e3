// The operator against the in-process Kubernetes API server and the embedded simulator: the examples
// created through the REST API are baked, copied and promoted, their status written back.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import { GROUP, PLURAL, VERSION } from "../../controller/operator/imagespec-informers.ts";
import { FINALIZER } from "../../controller/operator/operator.ts";
import {
  allReady,
  conditionOf,
  createExamples,
  getSpec,
  type Harness,
  listSpecs,
  mergePatch,
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
    const channels = base.status?.channels as Record<string, { build: string; images: Record<string, string> }>;
    expect(Object.keys(channels.candidate!.images).sort()).toEqual(["eu-west-1", "us-east-1"]);
    const imageIds = new Set(leavenImages("us-east-1").map((i) => i.id));
    expect(imageIds.has(channels.candidate!.images["us-east-1"]!)).toBe(true);
    expect(leavenImages("eu-west-1").some((i) => i.tags[Tag.spec] === "ubuntu-base")).toBe(true);
  });
});
