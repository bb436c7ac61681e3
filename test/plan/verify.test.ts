// The smoke check's state machine through the planner, and the `requires` gate it feeds.
import { describe, expect, it } from "vitest";
import { checkTags, Tag } from "../../controller/api/tags.ts";
import type { CloudImage, CloudInstance, Tags } from "../../controller/cloud/port.ts";
import type { Action } from "../../controller/plan/actions.ts";
import { plan } from "../../controller/plan/plan.ts";
import { buildIdFor, recipeHash } from "../../controller/plan/recipe.ts";
import { checkToken } from "../../controller/plan/verify.ts";
import { bakeInstance, inventory, leavenImage, MIN, spec, T0, ubuntu } from "./builders.ts";

const smoke = checkTags("smoke");
const base = spec("base", {
  layer: "base",
  parent: { spec: "ubuntu", channel: "release" },
  version: "2.3.0",
  regions: ["us-east-1"],
  bake: { instanceType: "t3.large" },
  checks: { smoke: { script: "systemctl is-active acme-agent", timeout: "10m" } },
  channels: { candidate: { latest: true }, release: { latest: true, requires: ["smoke"] } },
});
const build = buildIdFor("base", "2.3.0", recipeHash(base.document.spec), "ubuntu/images/jammy-20260301");

const image = (tags: Tags = {}): CloudImage =>
  leavenImage("us-east-1", "base", build, { id: "ami-new", tags });
const checker = (state: CloudInstance["state"], tags: Tags = {}, launchedAt = T0): CloudInstance =>
  bakeInstance("us-east-1", "base", build, state, {
    id: "i-check",
    launchedAt,
    tags: { [Tag.role]: "smoke", ...tags },
  });

const run = (images: CloudImage[], instances: CloudInstance[] = [], extra: Record<string, unknown> = {}) =>
  plan({
    specs: [ubuntu, base],
    inventory: inventory({
      images,
      instances,
      ...(extra.consoles ? { consoles: extra.consoles as Map<string, never> } : {}),
    }),
    now: (extra.now as number | undefined) ?? T0 + 5 * MIN,
    ...(extra.retry ? { retry: new Set(["base"]) } : {}),
  });
const statusOf = (p: ReturnType<typeof plan>) => p.statuses.find((s) => s.name === "base")!;
const brief = (a: Action) =>
  a.kind === "set-tags"
    ? `set ${Object.entries(a.tags)
        .map(([k, v]) => `${k.replace("leaven.dev/", "")}=${v}`)
        .join(" ")}`
    : a.kind === "terminate-instance"
      ? `terminate ${a.instanceId}${a.tags ? ` ${JSON.stringify(a.tags)}` : ""}`
      : a.kind === "remove-tags"
        ? `remove ${a.keys.join(" ")}`
        : a.kind;
const checkActions = (p: ReturnType<typeof plan>) =>
  p.actions.filter(
    (a) => !("tags" in a && a.kind === "set-tags" && Object.keys(a.tags).some((k) => k.includes("channel"))),
  );

describe("the smoke check", () => {
  it("launches one check instance from the new image, with its own token, tags and user data", () => {
    const p = run([image()]);
    const launch = p.actions.find((a) => a.kind === "launch-check");
    expect(launch).toMatchObject({
      kind: "launch-check",
      check: "smoke",
      build,
      launch: {
        imageId: "ami-new",
        instanceType: "t3.large",
        clientToken: checkToken("smoke", "base", build, "0"),
        tags: { [Tag.managedBy]: "leaven", [Tag.spec]: "base", [Tag.build]: build, [Tag.role]: "smoke" },
      },
      reason: `build ${build} has not been through its smoke check`,
    });
    if (launch?.kind !== "launch-check") throw new Error("expected launch-check");
    expect(launch.launch.userData).toContain("LEAVEN_CHECK=smoke");
    expect(launch.launch.userData).toContain("systemctl is-active acme-agent");
    expect(statusOf(p).phase).toBe("Verifying");
    expect(statusOf(p).message.startsWith(`launching the smoke check of ${build};`)).toBe(true);
    // Not admitted to release until it passed.
    expect(statusOf(p).channels.release?.message).toBe(
      `no ready build is admitted; the newest, ${build}, has not been through its smoke check yet`,
    );
  });

  it("waits while the check runs", () => {
    const p = run([image()], [checker("running")]);
    expect(checkActions(p)).toEqual([]);
    expect(statusOf(p).message).toContain(`smoke check of ${build} running on i-check`);
  });

  it("records a pass on the image and terminates the instance, recording it there too", () => {
    const consoles = new Map([["i-check", { build, result: "success" as const }]]);
    const p = run([image()], [checker("stopped")], { consoles });
    expect(checkActions(p).map(brief)).toEqual([
      `set check/smoke=passed check/smoke-at=2026-06-01T00:05:00.000Z`,
      `terminate i-check {"leaven.dev/bake-result":"success"}`,
    ]);
  });

  it("records a failure with its reason, and the status shows the console's last lines", () => {
    const consoles = new Map([
      [
        "i-check",
        {
          build,
          result: "failure" as const,
          reason: "the check script exited with status 3",
          tail: ["inactive"],
        },
      ],
    ]);
    const p = run([image()], [checker("stopped")], { consoles });
    expect(checkActions(p).map(brief)).toEqual([
      "set check/smoke=failed check/smoke-at=2026-06-01T00:05:00.000Z check/smoke-reason=the check script exited with status 3",
      `terminate i-check {"leaven.dev/bake-result":"failed","leaven.dev/bake-reason":"the check script exited with status 3"}`,
    ]);
    expect(statusOf(p)).toMatchObject({
      phase: "Failed",
      failure: {
        build,
        reason: `smoke check of ${build} failed: the check script exited with status 3`,
        console: ["inactive"],
      },
    });
  });

  it("fails a check that runs past its timeout", () => {
    const p = run([image()], [checker("running")], { now: T0 + 11 * MIN });
    expect(checkActions(p).map(brief)).toEqual([
      "set check/smoke=failed check/smoke-at=2026-06-01T00:11:00.000Z check/smoke-reason=timed out after 10m (instance i-check still running)",
      `terminate i-check {"leaven.dev/bake-result":"failed","leaven.dev/bake-reason":"timed out after 10m (instance i-check still running)"}`,
    ]);
  });

  it("reads a verdict left on a terminated instance when the image tags did not stick", () => {
    const p = run([image()], [checker("terminated", { [Tag.bakeResult]: "success" })]);
    expect(checkActions(p).map(brief)).toEqual([
      "set check/smoke=passed check/smoke-at=2026-06-01T00:05:00.000Z",
    ]);
    const lost = run([image()], [checker("terminated")]);
    expect(statusOf(lost).failure?.reason).toBe(
      `smoke check of ${build} failed: the check instance i-check ended before it reported a verdict`,
    );
  });

  it("never tests twice: a recorded pass admits the build to release", () => {
    const passed = image({ [smoke.result]: "passed", [smoke.at]: "2026-06-01T00:05:00.000Z" });
    const p = run([passed]);
    expect(p.actions.filter((a) => a.kind === "launch-check")).toEqual([]);
    expect(statusOf(p).channels.release?.build).toBe(build);
  });

  it("keeps a build that failed out of release, naming why", () => {
    const failed = image({ [smoke.result]: "failed", [smoke.reason]: "acme-agent inactive" });
    const p = run([failed]);
    expect(p.actions.filter((a) => a.kind === "launch-check")).toEqual([]);
    expect(statusOf(p).phase).toBe("Failed");
    expect(statusOf(p).channels.release?.message).toBe(
      `no ready build is admitted; the newest, ${build}, failed its smoke check (acme-agent inactive)`,
    );
  });

  it("tests a failed build again on --retry, with a new token", () => {
    const failed = image({ [smoke.result]: "failed", [smoke.reason]: "acme-agent inactive" });
    const p = run([failed], [], { retry: true });
    expect(checkActions(p).map(brief)).toEqual([`remove ${smoke.result} ${smoke.reason}`, "launch-check"]);
    const launch = p.actions.find((a) => a.kind === "launch-check");
    if (launch?.kind !== "launch-check") throw new Error("expected launch-check");
    expect(launch.launch.clientToken).toBe(checkToken("smoke", "base", build, `retry-${T0 + 5 * MIN}`));
  });

  it("terminates a check instance of a build no longer checked", () => {
    const other = bakeInstance("us-east-1", "base", "2.2.0+00000000", "running", {
      id: "i-stale",
      tags: { [Tag.role]: "smoke" },
    });
    const p = run([image({ [smoke.result]: "passed" })], [other]);
    expect(p.actions.filter((a) => a.kind === "terminate-instance").map(brief)).toEqual([
      "terminate i-stale",
    ]);
  });

  it("pins its token derivation", () => {
    expect(checkToken("smoke", "base", "2.3.0+5f2c91ab", "0")).toBe(
      "leaven-smoke-7608c3b5f2235b11b9fbe9940f37b009e361e404",
    );
  });
});
