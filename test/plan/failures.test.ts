// A failed bake as the user sees it: the reason and the last console lines in the status, and with
// bake.keepFailedInstance the instance kept (stopped, tagged) for debugging instead of terminated.
import { describe, expect, it } from "vitest";
import { formatBakeMarker, parseBakeMarker } from "../../controller/api/bake-protocol.ts";
import { Tag } from "../../controller/api/tags.ts";
import { plan } from "../../controller/plan/plan.ts";
import { buildIdFor, recipeHash } from "../../controller/plan/recipe.ts";
import { bakeInstance, failureRecord, inventory, MIN, spec, T0, ubuntu } from "./builders.ts";

const make = (bake: Record<string, unknown>) =>
  spec("base", {
    layer: "base",
    parent: { spec: "ubuntu", channel: "release" },
    version: "2.3.0",
    bake: { timeout: "30m", ...bake },
    regions: ["us-east-1"],
    channels: { candidate: { latest: true } },
  });
const base = make({});
const build = buildIdFor("base", "2.3.0", recipeHash(base.document.spec), "ubuntu/images/jammy-20260301");

const console = [
  "cloud-init: running modules",
  ...Array.from({ length: 12 }, (_, i) => `apt: step ${i + 1}`),
  "E: Unable to locate package acme-base",
  "",
  formatBakeMarker({ build, result: "failure", reason: "step script exited 100" }),
  "reboot: Power down",
].join("\r\n");

const failedWorld = (state: "stopped" | "running", tags = {}) =>
  inventory({
    instances: [bakeInstance("us-east-1", "base", build, state, { id: "i-bad", tags })],
    consoles: new Map([["i-bad", parseBakeMarker(console, build)]]),
  });

describe("a failed bake", () => {
  it("reads the last ten console lines before the failure marker", () => {
    expect(parseBakeMarker(console, build)).toEqual({
      build,
      result: "failure",
      reason: "step script exited 100",
      tail: [
        ...Array.from({ length: 9 }, (_, i) => `apt: step ${i + 4}`),
        "E: Unable to locate package acme-base",
      ],
    });
    expect(parseBakeMarker(formatBakeMarker({ build, result: "success" }), build)).toEqual({
      build,
      result: "success",
    });
    expect(parseBakeMarker(formatBakeMarker({ build, result: "failure" }), build)).toEqual({
      build,
      result: "failure",
    });
  });

  it("shows the reason and the console tail in the status, and terminates the instance", () => {
    const p = plan({ specs: [ubuntu, base], inventory: failedWorld("stopped"), now: T0 + 10 * MIN });
    const status = p.statuses.find((s) => s.name === "base")!;
    expect(status.phase).toBe("Failed");
    expect(status.failure).toEqual({
      build,
      reason: "bake script failed: step script exited 100",
      console: [
        ...Array.from({ length: 9 }, (_, i) => `apt: step ${i + 4}`),
        "E: Unable to locate package acme-base",
      ],
    });
    expect(p.actions).toMatchObject([
      { kind: "terminate-instance", instanceId: "i-bad" },
      { kind: "record-failure", build },
    ]);
  });

  it("keeps the instance, tagged and stopped, with bake.keepFailedInstance", () => {
    const keep = make({ keepFailedInstance: true });
    const p = plan({ specs: [ubuntu, keep], inventory: failedWorld("stopped"), now: T0 + 10 * MIN });
    expect(p.actions.map((a) => a.kind)).toEqual(["keep-instance", "record-failure"]);
    expect(p.actions.slice(0, 1)).toEqual([
      {
        kind: "keep-instance",
        spec: "base",
        build,
        region: "us-east-1",
        instanceId: "i-bad",
        tags: { [Tag.bakeResult]: "failed", [Tag.bakeReason]: "bake script failed: step script exited 100" },
        stop: false,
        reason:
          "bake script failed: step script exited 100; keeping i-bad for debugging (bake.keepFailedInstance)",
      },
    ]);
  });

  it("stops a kept instance whose bake timed out", () => {
    const keep = make({ keepFailedInstance: true });
    const p = plan({ specs: [ubuntu, keep], inventory: failedWorld("running"), now: T0 + 31 * MIN });
    expect(p.actions).toMatchObject([
      { kind: "keep-instance", instanceId: "i-bad", stop: true },
      { kind: "record-failure" },
    ]);
  });

  it("leaves a kept instance alone on later passes, and terminates it on --retry", () => {
    const keep = make({ keepFailedInstance: true });
    const recorded = {
      [Tag.bakeResult]: "failed",
      [Tag.bakeReason]: "bake script failed: step script exited 100",
    };
    const record = failureRecord("us-east-1", "base", build, { instanceId: "i-bad" });
    const later = plan({
      specs: [ubuntu, keep],
      inventory: { ...failedWorld("stopped", recorded), failures: [record] },
      now: T0 + 60 * MIN,
    });
    expect(later.actions).toEqual([]);
    expect(later.statuses.find((s) => s.name === "base")?.phase).toBe("Failed");

    const retried = plan({
      specs: [ubuntu, keep],
      inventory: { ...failedWorld("stopped", recorded), failures: [record] },
      now: T0 + 60 * MIN,
      retry: new Set(["base"]),
    });
    expect(retried.actions.map((a) => `${a.kind} ${"instanceId" in a ? a.instanceId : ""}`)).toEqual([
      "terminate-instance i-bad",
      "delete-failure-record ",
      "launch-bake ",
    ]);
  });
});
