// Events counted up rather than repeated, and informers that start before the CRD exists.
import { ApiextensionsV1Api } from "@kubernetes/client-node";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../controller/cloud/clock.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { EventRecorder } from "../../controller/operator/event-recorder.ts";
import { MemoryMetrics } from "../../controller/operator/operator-endpoints.ts";
import { allReady, createExamples, type Harness, imageSpecCrd, startHarness, waitFor } from "./harness.ts";

let h: Harness | undefined;
afterEach(async () => {
  await h?.close();
  h = undefined;
});

describe("EventRecorder", () => {
  it("counts a repeated reason and note up on one Event, and a new note is a new Event", async () => {
    h = await startHarness({ withoutCrd: true });
    const recorder = new EventRecorder({
      api: h.core,
      clock: systemClock,
      logger: silentLogger,
      instance: "test",
    });
    const target = { namespace: "default", name: "ubuntu-base", uid: "u-1" };
    const failed = {
      type: "Warning" as const,
      reason: "ActionFailed",
      note: "copy-image in eu-west-1 failed: throttled",
    };
    recorder.record(target, failed);
    recorder.record(target, failed);
    recorder.record(target, failed);
    recorder.record(target, { type: "Normal", reason: "BakeStarted", note: "baking 2.3.0+aaaaaaaa" });
    await recorder.flush();
    const events = await h.core.listNamespacedEvent({ namespace: "default" });
    const byReason = new Map(events.items.map((e) => [e.reason, e]));
    expect(events.items).toHaveLength(2);
    expect(byReason.get("ActionFailed")).toMatchObject({
      type: "Warning",
      count: 3,
      message: failed.note,
      involvedObject: { kind: "ImageSpec", name: "ubuntu-base", namespace: "default", uid: "u-1" },
    });
    expect(byReason.get("BakeStarted")?.count).toBe(1);
  });
});

describe("ImageSpec informers", () => {
  it("keep retrying with backoff while the CRD is missing, then reconcile once it is created", async () => {
    h = await startHarness({ withoutCrd: true });
    const metrics = new MemoryMetrics();
    const operator = await h.startOperator({ leaderElect: false, metrics });
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(operator.ready()).toBe(false);
    expect(operator.healthy()).toBe(true);
    await h.kc.makeApiClient(ApiextensionsV1Api).createCustomResourceDefinition({ body: imageSpecCrd() });
    await createExamples(h);
    const harness = h;
    await waitFor("the informer listed", () => operator.ready(), 10_000);
    await waitFor("every example Ready", () => allReady(harness), 60_000);
    expect(metrics.actions.get("launch-bake ok")).toBeGreaterThan(0);
    expect(metrics.durations.length).toBeGreaterThan(0);
    expect(metrics.imageCounts.get("ubuntu-base/candidate")).toBe(2);
    expect(metrics.leading).toBe(true);
  });
});
