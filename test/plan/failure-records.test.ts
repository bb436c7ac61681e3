// A failed build keeps a record that outlives its bake instance: a launch template, made in the same
// pass as the instance is terminated, read back once EC2 has forgotten the instance, and deleted on
// --retry, once the build has an image, or when the build or its spec is no longer wanted.
import { describe, expect, it } from "vitest";
import { formatBakeMarker, parseBakeMarker } from "../../controller/api/bake-protocol.ts";
import {
  consoleTag,
  failureRecordToken,
  readFailureTags,
  tagValue,
} from "../../controller/api/failure-record.ts";
import { Tag } from "../../controller/api/tags.ts";
import type { FailureRecord, Inventory } from "../../controller/observe/inventory.ts";
import type { Action, RecordFailureAction } from "../../controller/plan/actions.ts";
import { type PlanInput, plan } from "../../controller/plan/plan.ts";
import { buildIdFor, recipeHash } from "../../controller/plan/recipe.ts";
import { bakeInstance, failureRecord, inventory, leavenImage, MIN, spec, T0, ubuntu } from "./builders.ts";

const make = (extra: Record<string, unknown> = {}) =>
  spec("base", {
    layer: "base",
    parent: { spec: "ubuntu", channel: "release" },
    version: "2.3.0",
    provision: { packages: ["acme-base"] },
    bake: { timeout: "30m", instanceType: "c6i.large", subnetId: "subnet-0abc1234", ...extra },
    regions: ["us-east-1", "eu-west-1"],
    channels: { candidate: { latest: true } },
  });
const base = make();
const build = buildIdFor("base", "2.3.0", recipeHash(base.document.spec), "ubuntu/images/jammy-20260301");

const consoleText = [
  ...Array.from({ length: 12 }, (_, i) => `apt: step ${i + 1}`),
  `E: ${"x".repeat(300)}`,
  formatBakeMarker({ build, result: "failure", reason: "step script exited 100" }),
].join("\r\n");
const tail = parseBakeMarker(consoleText, build)!.tail!;

const failedInstance = (state: "stopped" | "terminated", tags: Record<string, string> = {}) =>
  bakeInstance("us-east-1", "base", build, state, { id: "i-bad", tags });
const recordedOnInstance = {
  [Tag.bakeResult]: "failed",
  [Tag.bakeReason]: "bake script failed: step script exited 100",
};
const record = (extra: Partial<Parameters<typeof failureRecord>[3]> = {}) =>
  failureRecord("us-east-1", "base", build, {
    id: "lt-0000000000000000a",
    instanceId: "i-bad",
    reason: "bake script failed: step script exited 100",
    console: ["apt: step 12", "E: Unable to locate package acme-base"],
    ...extra,
  });

function run(parts: Partial<Inventory>, extra: Partial<PlanInput> = {}) {
  return plan({ specs: [ubuntu, base], inventory: inventory(parts), now: T0 + 10 * MIN, ...extra });
}
const statusOf = (p: ReturnType<typeof plan>, name = "base") => p.statuses.find((s) => s.name === name)!;
const brief = (a: Action) =>
  a.kind === "delete-failure-record"
    ? `forget ${a.launchTemplateId} ${a.build}: ${a.reason}`
    : a.kind === "terminate-instance"
      ? `terminate ${a.instanceId}`
      : a.kind === "launch-bake"
        ? `launch ${a.build}`
        : `${a.kind} ${"build" in a ? a.build : ""}`;

describe("recording a failed bake", () => {
  it("records it in the same pass as the instance is terminated: a launch template that relaunches the bake", () => {
    const p = run({
      instances: [failedInstance("stopped")],
      consoles: new Map([["i-bad", parseBakeMarker(consoleText, build)]]),
    });
    expect(p.actions.map((a) => a.kind)).toEqual(["terminate-instance", "record-failure"]);
    const recordAction = p.actions[1] as RecordFailureAction;
    expect(recordAction).toMatchObject({ spec: "base", build, region: "us-east-1" });
    const { template } = recordAction;
    expect(template.name).toBe(`leaven-failed-base-${build.replace("+", "_")}`);
    expect(template.clientToken).toBe(failureRecordToken("base", build, "i-bad"));
    expect(template.description).toBe(`Leaven: the failed bake of base ${build} (instance i-bad)`);
    // The very launch that failed: the instance's parent image, the spec's type, subnet and user data.
    expect(template.launch).toEqual({
      imageId: "ami-parent",
      instanceType: "c6i.large",
      subnetId: "subnet-0abc1234",
      userData: expect.stringContaining(`LEAVEN_BUILD_ID=${build}`),
    });
    expect(template.launch.userData).toContain("acme-base");
    expect(template.tags).toMatchObject({
      [Tag.managedBy]: "leaven",
      [Tag.spec]: "base",
      [Tag.build]: build,
      [Tag.role]: "failure",
      [Tag.bakeResult]: "failed",
      [Tag.bakeReason]: "bake script failed: step script exited 100",
      [Tag.failedAt]: new Date(T0 + 10 * MIN).toISOString(),
      [Tag.failedInstance]: "i-bad",
      [Tag.parentImage]: "ami-0e2",
    });
    // The last ten console lines, one tag each, oldest first, each cut to EC2's 256 characters.
    expect(tail).toHaveLength(10);
    expect(Object.keys(template.tags).filter((k) => k.startsWith("leaven.dev/console/"))).toEqual(
      Array.from({ length: 10 }, (_, i) => consoleTag(i + 1)),
    );
    expect(template.tags[consoleTag(1)]).toBe("apt: step 4");
    expect(template.tags[consoleTag(10)]).toBe(`E: ${"x".repeat(253)}`);
    expect(readFailureTags(template.tags).console).toEqual([...tail.slice(0, 9), `E: ${"x".repeat(253)}`]);
    expect(Object.keys(template.tags).length).toBeLessThanOrEqual(50);
    expect(statusOf(p)).toMatchObject({
      phase: "Failed",
      failure: { build, reason: "bake script failed: step script exited 100", console: tail },
    });
  });

  it("records a timed-out bake, and a kept instance's failure (bake.keepFailedInstance)", () => {
    const running = bakeInstance("us-east-1", "base", build, "running", { id: "i-slow" });
    const timedOut = run({ instances: [running] }, { now: T0 + 31 * MIN });
    expect(timedOut.actions.map((a) => a.kind)).toEqual(["terminate-instance", "record-failure"]);
    expect((timedOut.actions[1] as RecordFailureAction).template.tags).toMatchObject({
      [Tag.bakeReason]: "bake timed out after 30m (instance i-slow still running)",
      [Tag.failedInstance]: "i-slow",
    });
    expect(
      Object.keys((timedOut.actions[1] as RecordFailureAction).template.tags).some((k) =>
        k.startsWith("leaven.dev/console/"),
      ),
    ).toBe(false);

    const keep = make({ keepFailedInstance: true });
    const kept = plan({
      specs: [ubuntu, keep],
      inventory: inventory({
        instances: [failedInstance("stopped")],
        consoles: new Map([["i-bad", parseBakeMarker(consoleText, build)]]),
      }),
      now: T0 + 10 * MIN,
    });
    expect(kept.actions.map((a) => a.kind)).toEqual(["keep-instance", "record-failure"]);
  });

  it("does not record the same attempt twice, and records a failure only its instance carries", () => {
    // The record was made but tagging and terminating the instance was not: terminate again, only.
    const again = run({
      instances: [failedInstance("stopped")],
      consoles: new Map([["i-bad", parseBakeMarker(consoleText, build)]]),
      failures: [record()],
    });
    expect(again.actions.map(brief)).toEqual(["terminate i-bad"]);
    // Its instance is terminated and tagged, its record exists: nothing to do.
    const settled = run({
      instances: [failedInstance("terminated", recordedOnInstance)],
      failures: [record()],
    });
    expect(settled.actions).toEqual([]);
    expect(statusOf(settled).failure).toEqual({
      build,
      reason: "bake script failed: step script exited 100",
      console: ["apt: step 12", "E: Unable to locate package acme-base"],
    });
    // Recorded on the instance only (the record could not be made then): made now, from the tags.
    const healed = run({ instances: [failedInstance("terminated", recordedOnInstance)] });
    expect(healed.actions.map((a) => a.kind)).toEqual(["record-failure"]);
    expect((healed.actions[0] as RecordFailureAction).template.tags).toMatchObject({
      [Tag.bakeReason]: "bake script failed: step script exited 100",
      [Tag.failedInstance]: "i-bad",
    });
  });
});

describe("a failed build whose instance EC2 has forgotten", () => {
  it("stays Failed with the record's reason and console, and nothing is launched", () => {
    const p = run({ failures: [record()] }, { now: T0 + 3 * 60 * MIN });
    expect(p.actions).toEqual([]);
    expect(statusOf(p)).toMatchObject({
      phase: "Failed",
      message: expect.stringMatching(/^build \S+ failed: bake script failed: step script exited 100/),
      failure: {
        build,
        reason: "bake script failed: step script exited 100",
        console: ["apt: step 12", "E: Unable to locate package acme-base"],
      },
    });
    // Where the records could not be looked at, nothing is launched either.
    expect(run({ failures: [], instanceRegions: [] }).actions).toEqual([]);
  });

  it("is baked again on --retry, and its record deleted in the same pass", () => {
    const p = run({ failures: [record()] }, { retry: new Set(["base"]), now: T0 + 3 * 60 * MIN });
    expect(p.actions.map(brief)).toEqual([
      `forget lt-0000000000000000a ${build}: retry requested after: bake script failed: step script exited 100`,
      `launch ${build}`,
    ]);
    expect(statusOf(p).phase).toBe("Baking");
  });

  it("omits the console when the record has none", () => {
    expect(statusOf(run({ failures: [record({ console: [] })] })).failure).toEqual({
      build,
      reason: "bake script failed: step script exited 100",
    });
  });
});

describe("deleting a failure record", () => {
  it("once the build has an available image", () => {
    const home = leavenImage("us-east-1", "base", build, { id: "ami-home" });
    const p = run({ images: [home], failures: [record()] });
    expect(p.actions.filter((a) => a.kind === "delete-failure-record").map(brief)).toEqual([
      `forget lt-0000000000000000a ${build}: build ${build} has an available image, ami-home`,
    ]);
  });

  it("while the build bakes again (an older attempt's record), but not the record of the running attempt", () => {
    const running = bakeInstance("us-east-1", "base", build, "running", { id: "i-new" });
    const stale = run({ instances: [running], failures: [record()] });
    expect(stale.actions.map(brief)).toEqual([
      `forget lt-0000000000000000a ${build}: ${build} is baking again on i-new`,
    ]);
    const own = run({ instances: [running], failures: [record({ instanceId: "i-new" })] });
    expect(own.actions).toEqual([]);
  });

  it("when the spec wants another build, or is gone; not while it is blocked, suspended or unattributable", () => {
    const older = failureRecord("us-east-1", "base", "2.2.0+00000000", { id: "lt-0000000000000000b" });
    const awayFromHome = failureRecord("eu-west-1", "base", build, { id: "lt-0000000000000000c" });
    const p = run({ failures: [older, awayFromHome] });
    expect(p.actions.filter((a) => a.kind === "delete-failure-record").map(brief)).toEqual([
      `forget lt-0000000000000000b 2.2.0+00000000: build 2.2.0+00000000 is no longer wanted (base now wants ${build} in us-east-1)`,
      `forget lt-0000000000000000c ${build}: build ${build} is no longer wanted (base now wants ${build} in us-east-1)`,
    ]);

    const gone = failureRecord("us-east-1", "deleted", "1.0.0+00000000", { id: "lt-0000000000000000d" });
    expect(
      run({ failures: [gone] })
        .actions.filter((a) => a.kind === "delete-failure-record")
        .map(brief),
    ).toEqual(["forget lt-0000000000000000d 1.0.0+00000000: spec deleted no longer exists"]);
    expect(run({ failures: [gone] }, { unattributedErrors: true }).actions.map(brief)).toEqual([
      `launch ${build}`,
    ]);
    expect(
      run({ failures: [gone] }, { blocked: new Map([["deleted", "invalid: bad field"]]) }).actions.map(brief),
    ).toEqual([`launch ${build}`]);

    const suspended = make({});
    suspended.document.spec.suspend = true;
    const quiet = plan({
      specs: [ubuntu, suspended],
      inventory: inventory({ failures: [older, record()] }),
      now: T0,
    });
    expect(quiet.actions).toEqual([]);
  });

  it("never one that is not this installation's", () => {
    const foreign = (r: FailureRecord): FailureRecord => ({
      ...r,
      tags: { ...r.tags, [Tag.installation]: "team-b" },
    });
    const gone = failureRecord("us-east-1", "deleted", "1.0.0+00000000");
    const p = run({ failures: [foreign(record()), foreign(gone)] }, { retry: new Set(["base"]) });
    // Not its record: the build is not Failed for this installation, so it is simply baked.
    expect(p.actions.map(brief)).toEqual([`launch ${build}`]);
    expect(statusOf(p).failure).toBeUndefined();
  });
});

describe("the record's tags", () => {
  it("keeps tag values within what EC2 accepts", () => {
    expect(tagValue("a\tb\u0000c")).toBe("a b c");
    expect(tagValue("é".repeat(300))).toHaveLength(256);
    // A surrogate pair is never cut in half.
    expect(tagValue(`${"x".repeat(255)}😀`)).toBe("x".repeat(255));
  });
});
