// The smoke check's state machine, one observation at a time (planCheck called directly): for each
// situation, the exact state the user reads and the exact actions planned, with their reasons and tags.
import { describe, expect, it } from "vitest";
import type { BakeOutcome } from "../../controller/api/bake-protocol.ts";
import { checkTags, Tag } from "../../controller/api/tags.ts";
import type { ImageSpecSpec } from "../../controller/api/types.generated.ts";
import type { CloudImage, CloudInstance, Tags } from "../../controller/cloud/port.ts";
import type { Action } from "../../controller/plan/actions.ts";
import type { ObservedBuild } from "../../controller/plan/index-inventory.ts";
import { type CheckContext, checkToken, planCheck } from "../../controller/plan/verify.ts";
import { bakeInstance, inventory, leavenImage, MIN, spec, T0 } from "./builders.ts";

const BUILD = "2.3.0+0badcafe";
const LABEL = `smoke check of ${BUILD}`;
const NOW = T0 + 5 * MIN;
const smoke = checkTags("smoke");

const doc = (extra: Partial<ImageSpecSpec> = {}) =>
  spec("base", {
    layer: "base",
    parent: { spec: "ubuntu", channel: "release" },
    version: "2.3.0",
    regions: ["us-east-1", "eu-west-1"],
    checks: { smoke: { script: "systemctl is-active acme-agent", timeout: "10m" } },
    ...extra,
  }).document;

const image = (region: string, id: string, tags: Tags = {}, state: CloudImage["state"] = "available") =>
  leavenImage(region, "base", BUILD, { id, state, tags });
const observed = (...images: CloudImage[]): ObservedBuild => ({
  spec: "base",
  build: BUILD,
  version: "2.3.0",
  images: new Map(images.map((i) => [i.region, i])),
});
/** Home image in us-east-1 and its copy in eu-west-1, both with the given tags. */
const pair = (tags: Tags = {}) =>
  observed(image("us-east-1", "ami-home", tags), image("eu-west-1", "ami-eu", tags));
const checker = (id: string, state: CloudInstance["state"], tags: Tags = {}, launchedAt = T0) =>
  bakeInstance("us-east-1", "base", BUILD, state, { id, launchedAt, tags: { [Tag.role]: "smoke", ...tags } });
/** A stopped check instance whose stop time an earlier pass recorded. */
const stopped = (id: string, at: number) =>
  checker(id, "stopped", { [Tag.stoppedAt]: new Date(at).toISOString() });
const consoles = (outcome: Omit<BakeOutcome, "build">) =>
  inventory({ consoles: new Map([["i-check", { build: BUILD, ...outcome }]]) });

function ctx(extra: Partial<CheckContext> = {}): CheckContext {
  return {
    doc: doc(),
    check: "smoke",
    build: pair(),
    homeRegion: "us-east-1",
    instances: [],
    inventory: inventory(),
    now: NOW,
    retry: false,
    ...extra,
  };
}

const short = (tags: Tags) =>
  Object.entries(tags)
    .map(([k, v]) => `${k.replace("leaven.dev/", "")}=${v}`)
    .join(" ");
const brief = (a: Action) =>
  a.kind === "set-tags"
    ? `tag ${a.imageId} ${short(a.tags)}: ${a.reason}`
    : a.kind === "terminate-instance"
      ? `terminate ${a.instanceId}${a.tags ? ` ${short(a.tags)}` : ""}: ${a.reason}`
      : a.kind === "remove-tags"
        ? `untag ${a.imageId} ${a.keys.map((k) => k.replace("leaven.dev/", "")).join(",")}: ${a.reason}`
        : a.kind === "launch-check"
          ? `launch ${a.launch.imageId} ${a.launch.clientToken}: ${a.reason}`
          : a.kind === "tag-instance"
            ? `tag ${a.instanceId} ${short(a.tags)}: ${a.reason}`
            : a.kind;

function run(c: CheckContext): { state: unknown; actions: string[] } {
  const actions: Action[] = [];
  const state = planCheck(c, actions);
  return { state, actions: actions.map(brief) };
}

const AT = "check/smoke-at=2026-06-01T00:05:00.000Z";
const firstLaunch = `launch ami-home ${checkToken("smoke", "base", BUILD, "0")}: build ${BUILD} has not been through its smoke check`;

describe("planCheck", () => {
  it.each<[string, Partial<CheckContext>, unknown, string[]]>([
    [
      "no home image yet",
      { build: observed(image("eu-west-1", "ami-eu")) },
      { step: "running", message: "waiting for the home image" },
      [],
    ],
    [
      "a home image still pending",
      { build: observed(image("us-east-1", "ami-home", {}, "pending"), image("eu-west-1", "ami-eu")) },
      { step: "running", message: "waiting for the home image" },
      [],
    ],
    ["a recorded pass", { build: pair({ [smoke.result]: "passed" }) }, { step: "passed" }, []],
    [
      "a recorded pass on --retry: only a failure is tested again",
      { build: pair({ [smoke.result]: "passed" }), retry: true },
      { step: "passed" },
      [],
    ],
    [
      "a recorded pass, its check instance still up, others already ending",
      {
        build: pair({ [smoke.result]: "passed" }),
        instances: [
          checker("i-gone", "terminated"),
          checker("i-ending", "shutting-down"),
          checker("i-up", "stopped"),
        ],
      },
      { step: "passed" },
      [`terminate i-up: the ${LABEL} is recorded`],
    ],
    [
      "a recorded failure with its reason",
      { build: pair({ [smoke.result]: "failed", [smoke.reason]: "acme-agent inactive" }) },
      { step: "failed", message: `${LABEL} failed: acme-agent inactive` },
      [],
    ],
    [
      "a recorded failure without a reason",
      { build: pair({ [smoke.result]: "failed" }) },
      { step: "failed", message: `${LABEL} failed: no reason recorded` },
      [],
    ],
    [
      "--retry of a recorded failure: forget it everywhere, end the old instance, launch a new attempt",
      {
        build: observed(
          image("us-east-1", "ami-home", {
            [smoke.result]: "failed",
            [smoke.at]: "x",
            [smoke.reason]: "boom",
          }),
          image("eu-west-1", "ami-eu", { [smoke.result]: "failed" }),
        ),
        instances: [checker("i-old", "stopped"), checker("i-gone", "terminated")],
        retry: true,
      },
      { step: "running", message: `retrying the ${LABEL}` },
      [
        `untag ami-home check/smoke,check/smoke-at,check/smoke-reason: retry requested: the ${LABEL} runs again`,
        `untag ami-eu check/smoke: retry requested: the ${LABEL} runs again`,
        `terminate i-old: retrying the ${LABEL}`,
        `launch ami-home ${checkToken("smoke", "base", BUILD, `retry-${NOW}`)}: retry requested: ${LABEL} failed before`,
      ],
    ],
    [
      "instances in the home region not observed this pass",
      { inventory: inventory({ instanceRegions: ["eu-west-1"] }) },
      { step: "blind", message: "check instances in us-east-1 were not observed this pass" },
      [],
    ],
    ["nothing yet: launch", {}, { step: "running", message: `launching the ${LABEL}` }, [firstLaunch]],
    [
      "only an instance of an earlier attempt, terminated without a verdict tag",
      { instances: [checker("i-old", "terminated")] },
      {
        step: "failed",
        message: `${LABEL} failed: the check instance i-old ended before it reported a verdict`,
      },
      [
        `tag ami-home check/smoke=failed ${AT} check/smoke-reason=the check instance i-old ended before it reported a verdict: ${LABEL}: the check instance i-old ended before it reported a verdict`,
        `tag ami-eu check/smoke=failed ${AT} check/smoke-reason=the check instance i-old ended before it reported a verdict: ${LABEL}: the check instance i-old ended before it reported a verdict`,
      ],
    ],
    [
      "an instance shutting down with a pass recorded on it (the image tags failed)",
      { instances: [checker("i-check", "shutting-down", { [Tag.bakeResult]: "success" })] },
      { step: "running", message: `recording the ${LABEL}: passed` },
      [
        `tag ami-home check/smoke=passed ${AT}: the ${LABEL} passed on i-check`,
        `tag ami-eu check/smoke=passed ${AT}: the ${LABEL} passed on i-check`,
      ],
    ],
    [
      "a terminated instance with a failure and its reason recorded on it",
      {
        instances: [
          checker("i-check", "terminated", { [Tag.bakeResult]: "failed", [Tag.bakeReason]: "exit 3" }),
        ],
      },
      { step: "failed", message: `${LABEL} failed: exit 3` },
      [
        `tag ami-home check/smoke=failed ${AT} check/smoke-reason=exit 3: ${LABEL}: exit 3`,
        `tag ami-eu check/smoke=failed ${AT} check/smoke-reason=exit 3: ${LABEL}: exit 3`,
      ],
    ],
    [
      "two live instances: the first one is watched, the other terminated",
      { instances: [checker("i-check", "running"), checker("i-dup", "pending")] },
      { step: "running", message: `${LABEL} running on i-check` },
      [`terminate i-dup: duplicate ${LABEL} instance`],
    ],
    [
      "running exactly as long as its timeout",
      { instances: [checker("i-check", "running")], now: T0 + 10 * MIN },
      { step: "running", message: `${LABEL} running on i-check` },
      [],
    ],
    [
      "running past its timeout",
      { instances: [checker("i-check", "running")], now: T0 + 10 * MIN + 1 },
      { step: "failed", message: `${LABEL} failed: timed out after 10m (instance i-check still running)` },
      [
        `tag ami-home check/smoke=failed check/smoke-at=2026-06-01T00:10:00.001Z check/smoke-reason=timed out after 10m (instance i-check still running): the ${LABEL} timed out`,
        `tag ami-eu check/smoke=failed check/smoke-at=2026-06-01T00:10:00.001Z check/smoke-reason=timed out after 10m (instance i-check still running): the ${LABEL} timed out`,
        `terminate i-check bake-result=failed bake-reason=timed out after 10m (instance i-check still running): the ${LABEL} timed out`,
      ],
    ],
    [
      "stopped, no console output yet, first seen stopped: the stop time is recorded",
      { instances: [checker("i-check", "stopped")] },
      {
        step: "running",
        message: "waiting for the console output of i-check (stopped just now; waiting up to 20m)",
      },
      ["tag i-check stopped-at=2026-06-01T00:05:00.000Z: i-check is stopped: its console grace starts now"],
    ],
    [
      "stopped past the check's timeout since launch, within the grace since the stop",
      { instances: [stopped("i-check", T0 + 8 * MIN)], now: T0 + 28 * MIN },
      {
        step: "running",
        message: "waiting for the console output of i-check (stopped 20m ago; waiting up to 20m)",
      },
      [],
    ],
    [
      "stopped, no console output past the grace",
      { instances: [stopped("i-check", T0 + 8 * MIN)], now: T0 + 28 * MIN + 1 },
      {
        step: "failed",
        message: `${LABEL} failed: the check instance i-check stopped without a verdict on its console within bake.consoleGrace (20m) of the stop`,
      },
      [
        `tag ami-home check/smoke=failed check/smoke-at=2026-06-01T00:28:00.001Z check/smoke-reason=the check instance i-check stopped without a verdict on its console within bake.consoleGrace (20m) of the stop: the ${LABEL} failed on i-check`,
        `tag ami-eu check/smoke=failed check/smoke-at=2026-06-01T00:28:00.001Z check/smoke-reason=the check instance i-check stopped without a verdict on its console within bake.consoleGrace (20m) of the stop: the ${LABEL} failed on i-check`,
        `terminate i-check bake-result=failed bake-reason=the check instance i-check stopped without a verdict on its console within bake.consoleGrace (20m) of the stop: the ${LABEL} failed`,
      ],
    ],
    [
      "stopped with a pass on its console",
      { instances: [checker("i-check", "stopped")], inventory: consoles({ result: "success" }) },
      { step: "running", message: `recording the ${LABEL}: passed` },
      [
        `tag ami-home check/smoke=passed ${AT}: the ${LABEL} passed on i-check`,
        `tag ami-eu check/smoke=passed ${AT}: the ${LABEL} passed on i-check`,
        `terminate i-check bake-result=success: the ${LABEL} passed`,
      ],
    ],
    [
      "stopped with a failure on its console, before the timeout",
      {
        instances: [checker("i-check", "stopped")],
        inventory: consoles({ result: "failure", reason: "exit 3", tail: ["inactive", "exit 3"] }),
      },
      { step: "failed", message: `${LABEL} failed: exit 3`, console: ["inactive", "exit 3"] },
      [
        `tag ami-home check/smoke=failed ${AT} check/smoke-reason=exit 3: the ${LABEL} failed on i-check`,
        `tag ami-eu check/smoke=failed ${AT} check/smoke-reason=exit 3: the ${LABEL} failed on i-check`,
        `terminate i-check bake-result=failed bake-reason=exit 3: the ${LABEL} failed`,
      ],
    ],
  ])("%s", (_name, extra, state, actions) => {
    const result = run(ctx(extra));
    expect(result.state).toEqual(state);
    expect(result.actions).toEqual(actions);
  });

  it("records a verdict only on the images that are available, not on a copy still pending", () => {
    const build = observed(image("us-east-1", "ami-home"), image("eu-west-1", "ami-eu", {}, "pending"));
    const result = run(
      ctx({ build, instances: [checker("i-check", "stopped")], inventory: consoles({ result: "success" }) }),
    );
    expect(result.actions).toEqual([
      `tag ami-home check/smoke=passed ${AT}: the ${LABEL} passed on i-check`,
      `terminate i-check bake-result=success: the ${LABEL} passed`,
    ]);
  });

  it("cuts a long reason to the tag limits: 256 on the images, 250 on the instance", () => {
    const reason = `${"x".repeat(300)}`;
    const actions: Action[] = [];
    planCheck(
      ctx({ instances: [checker("i-check", "stopped")], inventory: consoles({ result: "failure", reason }) }),
      actions,
    );
    const tagged = actions.find((a) => a.kind === "set-tags");
    const terminated = actions.find((a) => a.kind === "terminate-instance");
    if (tagged?.kind !== "set-tags" || terminated?.kind !== "terminate-instance")
      throw new Error("expected both");
    expect(tagged.tags[smoke.reason]).toBe("x".repeat(256));
    expect(tagged.reason).toBe(`the ${LABEL} failed on i-check`);
    expect(terminated.tags?.[Tag.bakeReason]).toBe("x".repeat(250));
  });

  it("launches the check instance with the spec's bake network settings and a readable Name", () => {
    const actions: Action[] = [];
    planCheck(
      ctx({
        doc: doc({
          bake: {
            instanceType: "t3.large",
            subnetId: "subnet-1",
            securityGroupIds: ["sg-1", "sg-2"],
            instanceProfile: "leaven-bake",
          },
        }),
      }),
      actions,
    );
    expect(actions).toHaveLength(1);
    const launch = actions[0];
    if (launch?.kind !== "launch-check") throw new Error("expected launch-check");
    const { userData, ...rest } = launch.launch;
    expect(userData).toContain("systemctl is-active acme-agent");
    expect(rest).toEqual({
      imageId: "ami-home",
      instanceType: "t3.large",
      clientToken: checkToken("smoke", "base", BUILD, "0"),
      tags: {
        [Tag.managedBy]: "leaven",
        [Tag.installation]: "default",
        [Tag.spec]: "base",
        [Tag.build]: BUILD,
        [Tag.role]: "smoke",
        Name: `base ${BUILD} smoke check`,
      },
      subnetId: "subnet-1",
      securityGroupIds: ["sg-1", "sg-2"],
      instanceProfile: "leaven-bake",
    });
    expect(launch).toMatchObject({ spec: "base", build: BUILD, region: "us-east-1", check: "smoke" });
  });

  it("launches without network settings when the spec sets none", () => {
    const actions: Action[] = [];
    planCheck(ctx(), actions);
    const launch = actions[0];
    if (launch?.kind !== "launch-check") throw new Error("expected launch-check");
    expect(Object.keys(launch.launch).sort()).toEqual([
      "clientToken",
      "imageId",
      "instanceType",
      "tags",
      "userData",
    ]);
  });
});
