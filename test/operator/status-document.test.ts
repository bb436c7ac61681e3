import { describe, expect, it } from "vitest";
import { sameStatus, statusDocument } from "../../controller/operator/status-document.ts";
import type { SpecStatus } from "../../controller/plan/status.ts";

const base: SpecStatus = {
  name: "ubuntu-base",
  layer: "base",
  phase: "Baking",
  message: "2.3.0+aaaaaaaa: baking on i-0123",
  desiredBuild: "2.3.0+aaaaaaaa",
  channels: {
    candidate: { build: "2.2.0+bbbbbbbb", images: { "us-east-1": "ami-1" } },
    release: { images: {} },
  },
  builds: ["2.2.0+bbbbbbbb"],
};
const t1 = new Date("2026-06-01T12:00:00Z");
const t2 = new Date("2026-06-01T12:05:00Z");

describe("statusDocument", () => {
  it("writes phase, channels, outdated builds and the three conditions", () => {
    const status = statusDocument(base, undefined, 4, t1);
    expect(status).toMatchObject({
      observedGeneration: 4,
      phase: "Baking",
      desiredBuild: "2.3.0+aaaaaaaa",
      channels: {
        candidate: { build: "2.2.0+bbbbbbbb", images: { "us-east-1": "ami-1" } },
        release: { images: {} },
      },
      outdatedBuilds: ["2.2.0+bbbbbbbb"],
    });
    expect(status.conditions).toEqual([
      {
        type: "Ready",
        status: "False",
        reason: "Baking",
        message: base.message,
        lastTransitionTime: t1.toISOString(),
        observedGeneration: 4,
      },
      {
        type: "Reconciling",
        status: "True",
        reason: "Baking",
        message: base.message,
        lastTransitionTime: t1.toISOString(),
        observedGeneration: 4,
      },
      {
        type: "Stalled",
        status: "False",
        reason: "NotStalled",
        message: "",
        lastTransitionTime: t1.toISOString(),
        observedGeneration: 4,
      },
    ]);
    expect(status.lastError).toBeUndefined();
  });

  it("moves lastTransitionTime only for conditions whose status changes, and keeps the last error until Ready", () => {
    const baking = statusDocument(base, undefined, 1, t1);
    const failed = statusDocument(
      {
        ...base,
        phase: "Failed",
        message: "bake failed",
        failure: { build: "2.3.0+aaaaaaaa", reason: "exit 1" },
      },
      baking,
      1,
      t2,
    );
    const byType = (s: typeof failed, type: string) => s.conditions!.find((c) => c.type === type)!;
    expect(byType(failed, "Ready").lastTransitionTime).toBe(t1.toISOString());
    expect(byType(failed, "Stalled")).toMatchObject({
      status: "True",
      reason: "Failed",
      lastTransitionTime: t2.toISOString(),
    });
    expect(byType(failed, "Reconciling").lastTransitionTime).toBe(t2.toISOString());
    expect(failed.lastError).toBe("2.3.0+aaaaaaaa: exit 1");
    const retrying = statusDocument(base, failed, 2, t2);
    expect(retrying.lastError).toBe("2.3.0+aaaaaaaa: exit 1");
    const ready = statusDocument({ ...base, phase: "Ready", message: "ready" }, retrying, 2, t2);
    expect(ready.lastError).toBeUndefined();
    expect(byType(ready, "Ready")).toMatchObject({ status: "True", reason: "Ready" });
  });

  it("says the same status is the same whatever the key order, so nothing is rewritten", () => {
    const a = statusDocument(base, undefined, 1, t1);
    const b = statusDocument(base, a, 1, t2);
    expect(sameStatus(JSON.parse(JSON.stringify(a)), b)).toBe(true);
  });
});
