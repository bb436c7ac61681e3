// The bake state machine, one observation at a time: for each situation, the exact state the user reads
// and the exact actions planned.
import { describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import type { ImageSpecSpec } from "../../controller/api/types.generated.ts";
import type { CloudImage, CloudInstance } from "../../controller/cloud/port.ts";
import type { Action } from "../../controller/plan/actions.ts";
import { type BakeContext, buildTags, planBake } from "../../controller/plan/bake.ts";
import { launchToken, rebakeAttempt } from "../../controller/plan/recipe.ts";
import { bakeInstance, inventory, leavenImage, MIN, spec, T0 } from "./builders.ts";

const BUILD = "2.3.0+0badcafe";
const KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const doc = (extra: Partial<ImageSpecSpec> = {}) =>
  spec("base", {
    layer: "base",
    parent: { spec: "ubuntu", channel: "release" },
    version: "2.3.0",
    regions: ["us-east-1"],
    bake: { timeout: "30m" },
    ...extra,
  }).document;

function ctx(extra: Partial<BakeContext> = {}): BakeContext {
  return {
    doc: doc(),
    build: BUILD,
    recipe: "0123456789abcdef",
    homeRegion: "us-east-1",
    parent: { spec: "ubuntu", channel: "release", build: "ubuntu/jammy-1", imageId: "ami-parent" },
    instances: [],
    inventory: inventory(),
    now: T0 + 5 * MIN,
    retry: false,
    ...extra,
  };
}
const instance = (
  id: string,
  state: CloudInstance["state"],
  extra: Record<string, string> = {},
  launchedAt = T0,
) => bakeInstance("us-east-1", "base", BUILD, state, { id, launchedAt, tags: extra });
/** A stopped bake instance whose stop time an earlier pass recorded in leaven.dev/stopped-at. */
const stoppedAt = (id: string, at: number, extra: Record<string, string> = {}) =>
  instance(id, "stopped", { [Tag.stoppedAt]: new Date(at).toISOString(), ...extra });
const home = (
  state: CloudImage["state"] = "available",
  tags: Record<string, string> = {},
  stateReason?: string,
) => ({
  ...leavenImage("us-east-1", "base", BUILD, { id: "ami-home", state, tags }),
  ...(stateReason ? { stateReason } : {}),
});

function run(c: BakeContext): { state: unknown; actions: Action[] } {
  const actions: Action[] = [];
  const state = planBake(c, actions);
  return { state, actions };
}
const brief = (a: Action) =>
  a.kind === "terminate-instance"
    ? `terminate ${a.instanceId}${a.tags ? ` ${a.tags[Tag.bakeReason]}` : ""}: ${a.reason}`
    : a.kind === "launch-bake"
      ? `launch ${a.launch.clientToken}: ${a.reason}`
      : a.kind === "remove-tags"
        ? `untag ${a.imageId} ${a.keys.join(",")}: ${a.reason}`
        : a.kind === "deregister-image"
          ? `deregister ${a.imageId} ${a.snapshotIds.join(",")}: ${a.reason}`
          : a.kind === "create-image"
            ? `create ${a.image.name} from ${a.image.instanceId}: ${a.reason}`
            : a.kind === "record-failure"
              ? `record ${a.template.tags[Tag.failedInstance]} ${a.template.tags[Tag.bakeReason]}`
              : a.kind === "tag-instance"
                ? `tag ${a.instanceId} ${Object.entries(a.tags)
                    .map(([k, v]) => `${k}=${v}`)
                    .join(",")}: ${a.reason}`
                : a.kind;

describe("planBake", () => {
  it.each<[string, Partial<BakeContext>, unknown, string[]]>([
    [
      "an available image with its instance gone",
      { homeImage: home("available", { [Tag.bakeInstance]: "i-gone" }) },
      "done",
      ["untag ami-home leaven.dev/bake-instance: bake instance i-gone is gone"],
    ],
    [
      "an available image, its bake instance still up",
      {
        homeImage: home("available", { [Tag.bakeInstance]: "i-1" }),
        instances: [instance("i-1", "stopped")],
      },
      "done",
      [`terminate i-1: image ami-home of build ${BUILD} is available; the bake instance is no longer needed`],
    ],
    [
      "an available image whose region's instances were not observed",
      {
        homeImage: home("available", { [Tag.bakeInstance]: "i-1" }),
        inventory: inventory({ instanceRegions: [] }),
      },
      "done",
      [],
    ],
    [
      "a pending image",
      { homeImage: home("pending") },
      { step: "in-progress", message: "image ami-home is pending" },
      [],
    ],
    [
      "a failed image",
      { homeImage: home("failed", {}, "Client.ImageFailed") },
      { step: "failed", message: "image ami-home is failed: Client.ImageFailed" },
      [],
    ],
    [
      "a failed image on --retry",
      { homeImage: home("failed"), retry: true },
      { step: "in-progress", message: "retrying: deregistering ami-home" },
      ["DEREGISTER"],
    ],
    [
      "nothing, where instances were not observed",
      { inventory: inventory({ instanceRegions: ["eu-west-1"] }) },
      { step: "blind", message: "bake instances in us-east-1 were not observed this pass" },
      [],
    ],
    ["nothing at all", {}, { step: "in-progress", message: "launching the bake instance" }, ["LAUNCH0"]],
    [
      "a running instance within its timeout",
      { instances: [instance("i-1", "running")], now: T0 + 90_000 },
      { step: "in-progress", message: "baking on i-1 (2m of 30m)" },
      [],
    ],
    [
      "a pending instance, seconds in",
      { instances: [instance("i-1", "pending")], now: T0 + 20_000 },
      { step: "in-progress", message: "baking on i-1 (20s of 30m)" },
      [],
    ],
    [
      "a running instance exactly at its timeout",
      { instances: [instance("i-1", "running")], now: T0 + 30 * MIN },
      { step: "in-progress", message: "baking on i-1 (30m of 30m)" },
      [],
    ],
    [
      "a running instance past its timeout",
      { instances: [instance("i-1", "running")], now: T0 + 30 * MIN + 1 },
      { step: "failed", message: "bake timed out after 30m (instance i-1 still running)" },
      [
        "terminate i-1 bake timed out after 30m (instance i-1 still running): bake timed out after 30m (instance i-1 still running)",
        "record i-1 bake timed out after 30m (instance i-1 still running)",
      ],
    ],
    [
      "a stopping instance",
      { instances: [instance("i-1", "stopping")] },
      { step: "in-progress", message: "bake instance i-1 is stopping" },
      [],
    ],
    [
      "a stopped instance first seen stopped, its console not out yet: the stop time is recorded",
      { instances: [instance("i-1", "stopped")], now: T0 + 30 * MIN },
      {
        step: "in-progress",
        message: "waiting for the console output of i-1 (stopped just now; waiting up to 20m)",
      },
      [
        "tag i-1 leaven.dev/stopped-at=2026-06-01T00:30:00.000Z: i-1 is stopped: its console grace starts now",
      ],
    ],
    [
      "a stopped instance past bake.timeout since launch but within the grace since its stop",
      { instances: [stoppedAt("i-1", T0 + 100 * MIN)], now: T0 + 119 * MIN },
      {
        step: "in-progress",
        message: "waiting for the console output of i-1 (stopped 19m ago; waiting up to 20m)",
      },
      [],
    ],
    [
      "a stopped instance exactly at the end of its grace",
      { instances: [stoppedAt("i-1", T0 + 10 * MIN)], now: T0 + 30 * MIN },
      {
        step: "in-progress",
        message: "waiting for the console output of i-1 (stopped 20m ago; waiting up to 20m)",
      },
      [],
    ],
    [
      "a stopped instance with no marker past its grace",
      { instances: [stoppedAt("i-1", T0 + 10 * MIN)], now: T0 + 30 * MIN + 1 },
      {
        step: "failed",
        message:
          "bake instance i-1 stopped without a result marker on its console within bake.consoleGrace (20m) of the stop",
      },
      [
        "terminate i-1 bake instance i-1 stopped without a result marker on its console within bake.consoleGrace (20m) of the stop: bake instance i-1 stopped without a result marker on its console within bake.consoleGrace (20m) of the stop",
        "record i-1 bake instance i-1 stopped without a result marker on its console within bake.consoleGrace (20m) of the stop",
      ],
    ],
    [
      "a stop time from EC2's state-transition reason, which needs no tag",
      {
        instances: [{ ...instance("i-1", "stopped"), stoppedAt: new Date(T0 + 25 * MIN).toISOString() }],
        now: T0 + 30 * MIN,
      },
      {
        step: "in-progress",
        message: "waiting for the console output of i-1 (stopped 5m ago; waiting up to 20m)",
      },
      [],
    ],
    [
      "EC2's stop time wins over an older tag",
      {
        instances: [{ ...stoppedAt("i-1", T0), stoppedAt: new Date(T0 + 25 * MIN).toISOString() }],
        now: T0 + 30 * MIN,
      },
      {
        step: "in-progress",
        message: "waiting for the console output of i-1 (stopped 5m ago; waiting up to 20m)",
      },
      [],
    ],
    [
      "a longer bake.consoleGrace",
      {
        doc: doc({ bake: { timeout: "30m", consoleGrace: "45m" } }),
        instances: [stoppedAt("i-1", T0 + 10 * MIN)],
        now: T0 + 50 * MIN,
      },
      {
        step: "in-progress",
        message: "waiting for the console output of i-1 (stopped 40m ago; waiting up to 45m)",
      },
      [],
    ],
    [
      "a stopped instance whose console says it failed without a reason",
      {
        instances: [instance("i-1", "stopped")],
        inventory: inventory({ consoles: new Map([["i-1", { build: BUILD, result: "failure" as const }]]) }),
      },
      { step: "failed", message: "bake script failed: no reason given" },
      [
        "terminate i-1 bake script failed: no reason given: bake script failed: no reason given",
        "record i-1 bake script failed: no reason given",
      ],
    ],
    [
      "a stopped instance whose console says it succeeded: the verdict is recorded with the image",
      {
        instances: [instance("i-1", "stopped")],
        inventory: inventory({ consoles: new Map([["i-1", { build: BUILD, result: "success" as const }]]) }),
      },
      { step: "in-progress", message: "creating the image from i-1" },
      [
        `tag i-1 leaven.dev/bake-result=success: the console of i-1 says the bake of ${BUILD} succeeded`,
        `create leaven/base/2.3.0_0badcafe from i-1: bake of ${BUILD} succeeded on i-1`,
      ],
    ],
    [
      "a stopped instance recorded as succeeded, hours later, its console gone",
      {
        instances: [stoppedAt("i-1", T0 + 10 * MIN, { [Tag.bakeResult]: "success" })],
        now: T0 + 3 * 60 * MIN,
      },
      { step: "in-progress", message: "creating the image from i-1" },
      [`create leaven/base/2.3.0_0badcafe from i-1: bake of ${BUILD} succeeded on i-1`],
    ],
    [
      "two live instances",
      { instances: [instance("i-1", "running"), instance("i-2", "running")] },
      { step: "in-progress", message: "baking on i-1 (5m of 30m)" },
      [`terminate i-2: duplicate bake instance for ${BUILD} (keeping i-1)`],
    ],
    [
      "a live instance recorded as failed",
      { instances: [instance("i-1", "stopped", { [Tag.bakeResult]: "failed", [Tag.bakeReason]: "boom" })] },
      { step: "failed", message: "boom" },
      // Recorded on the instance only (an earlier pass could not make the record): recorded now.
      [`terminate i-1: bake of ${BUILD} failed; cleaning up its instance`, "record i-1 boom"],
    ],
    [
      "a terminated instance recorded as failed without a reason",
      { instances: [instance("i-1", "terminated", { [Tag.bakeResult]: "failed" })] },
      { step: "failed", message: "bake failed" },
      ["record i-1 bake failed"],
    ],
    [
      "a terminated instance that never made an image",
      { instances: [instance("i-1", "terminated")] },
      { step: "failed", message: "bake instance i-1 was terminated before its image was created" },
      [],
    ],
    [
      "a terminated instance that succeeded (its image is on its way)",
      { instances: [instance("i-1", "terminated", { [Tag.bakeResult]: "success" })] },
      { step: "in-progress", message: "launching the bake instance" },
      ["LAUNCH0"],
    ],
    [
      "a failed bake on --retry",
      {
        instances: [instance("i-1", "terminated", { [Tag.bakeResult]: "failed", [Tag.bakeReason]: "boom" })],
        retry: true,
      },
      { step: "in-progress", message: "retrying the bake" },
      ["LAUNCHRETRY"],
    ],
  ])("%s", (_name, extra, state, expected) => {
    const c = ctx(extra);
    const { state: actual, actions } = run(c);
    if (state === "done") expect(actual).toEqual({ step: "done", image: c.homeImage });
    else expect(actual).toEqual(state);
    const lines = actions.map(brief);
    const wanted = expected.map((line) =>
      line === "LAUNCH0"
        ? `${lines[0]?.split(":")[0]}: no image of build ${BUILD} exists (recipe 01234567 on ubuntu/release = ubuntu/jammy-1)`
        : line === "LAUNCHRETRY"
          ? `${lines[0]?.split(":")[0]}: retry requested after: boom`
          : line === "DEREGISTER"
            ? `deregister ami-home ${c.homeImage?.snapshotIds.join(",")}: retry requested: image ami-home is failed`
            : line,
    );
    expect(lines).toEqual(wanted);
  });

  it("launches on the parent image with the spec's bake settings, tags and a token per attempt", () => {
    const withBake = doc({
      bake: {
        timeout: "30m",
        instanceType: "c6i.large",
        subnetId: "subnet-0abc1234",
        securityGroupIds: ["sg-0abc1234"],
        instanceProfile: "bakery",
        rootVolume: { size: 16, type: "gp3" },
      },
      provision: { packages: ["acme"] },
    });
    const first = run(ctx({ doc: withBake, commit: "abc123" })).actions[0];
    const retry = run(
      ctx({
        doc: withBake,
        instances: [instance("i-1", "terminated", { [Tag.bakeResult]: "failed" })],
        retry: true,
      }),
    ).actions[0];
    if (first?.kind !== "launch-bake" || retry?.kind !== "launch-bake") throw new Error("expected launches");
    expect(first.launch).toMatchObject({
      imageId: "ami-parent",
      instanceType: "c6i.large",
      subnetId: "subnet-0abc1234",
      securityGroupIds: ["sg-0abc1234"],
      instanceProfile: "bakery",
      rootVolume: { deviceName: "/dev/xvda", size: 16, type: "gp3" },
    });
    expect(first.launch.userData).toContain("acme");
    expect(first.launch.tags).toEqual({
      ...buildTags({ ...ctx({ doc: withBake, commit: "abc123" }) }),
      [Tag.role]: "bake",
    });
    expect(first.launch.tags[Tag.commit]).toBe("abc123");
    expect(retry.launch.clientToken).not.toBe(first.launch.clientToken);
    const plain = run(ctx()).actions[0];
    if (plain?.kind !== "launch-bake") throw new Error("expected a launch");
    expect(plain.launch.instanceType).toBe("t3.medium");
    expect(Object.keys(plain.launch)).toEqual(["imageId", "instanceType", "userData", "clientToken", "tags"]);
    const onUbuntu = run(
      ctx({
        doc: doc({ bake: { rootVolume: { size: 20 } } }),
        parent: {
          spec: "ubuntu",
          channel: "release",
          build: "b",
          imageId: "ami-p",
          rootDeviceName: "/dev/sda1",
        },
      }),
    ).actions[0];
    if (onUbuntu?.kind !== "launch-bake") throw new Error("expected a launch");
    expect(onUbuntu.launch.rootVolume).toEqual({ deviceName: "/dev/sda1", size: 20 });
  });

  it.each<[string, Partial<ImageSpecSpec["bake"]>, unknown]>([
    ["a key alone", { kmsKeyId: KEY }, { deviceName: "/dev/sda1", kmsKeyId: KEY }],
    [
      "a key with a sized root volume",
      { kmsKeyId: KEY, rootVolume: { size: 30, type: "gp3" } },
      { deviceName: "/dev/sda1", size: 30, type: "gp3", kmsKeyId: KEY },
    ],
    ["no key", { rootVolume: { size: 30 } }, { deviceName: "/dev/sda1", size: 30 }],
    ["neither", {}, undefined],
  ])("encrypts the bake's root volume with bake.kmsKeyId: %s", (_name, bake, rootVolume) => {
    const parent = {
      spec: "ubuntu",
      channel: "release",
      build: "b",
      imageId: "ami-p",
      rootDeviceName: "/dev/sda1",
    };
    const launched = run(ctx({ doc: doc({ bake: { timeout: "30m", ...bake } }), parent })).actions[0];
    if (launched?.kind !== "launch-bake") throw new Error("expected a launch");
    expect(launched.launch.rootVolume).toEqual(rootVolume);
    // The failure record relaunches the very same bake.
    const failed = run(
      ctx({
        doc: doc({ bake: { timeout: "30m", ...bake } }),
        parent,
        instances: [instance("i-1", "running")],
        now: T0 + 31 * MIN,
      }),
    ).actions.find((a) => a.kind === "record-failure");
    if (failed?.kind !== "record-failure") throw new Error("expected a failure record");
    expect(failed.template.launch.rootVolume).toEqual(rootVolume);
  });

  it("tags a build with who made it and from what", () => {
    expect(buildTags(ctx({ commit: "abc123" }))).toEqual({
      [Tag.managedBy]: "leaven",
      [Tag.installation]: "default",
      [Tag.spec]: "base",
      [Tag.layer]: "base",
      [Tag.version]: "2.3.0",
      [Tag.build]: BUILD,
      [Tag.recipe]: "0123456789abcdef",
      [Tag.parentSpec]: "ubuntu",
      [Tag.parentChannel]: "release",
      [Tag.parentBuild]: "ubuntu/jammy-1",
      [Tag.parentImage]: "ami-parent",
      [Tag.homeRegion]: "us-east-1",
      [Tag.commit]: "abc123",
      Name: `base ${BUILD}`,
    });
    expect(buildTags(ctx())[Tag.commit]).toBeUndefined();
    expect(buildTags(ctx({ installation: "payments" }))[Tag.installation]).toBe("payments");
    expect(buildTags(ctx({ doc: doc({ version: undefined }) }))[Tag.version]).toBe("");
  });

  it("creates the image with the build's tags and the instance to clean up, described by lineage", () => {
    const { actions } = run(
      ctx({
        instances: [instance("i-1", "stopped")],
        inventory: inventory({ consoles: new Map([["i-1", { build: BUILD, result: "success" as const }]]) }),
      }),
    );
    expect(actions.map((a) => a.kind)).toEqual(["tag-instance", "create-image"]);
    expect(actions[1]).toMatchObject({
      kind: "create-image",
      image: {
        instanceId: "i-1",
        description: `Leaven base ${BUILD} on ubuntu/ubuntu/jammy-1`,
        tags: { ...buildTags(ctx()), [Tag.bakeInstance]: "i-1" },
      },
    });
  });

  it("records at most 250 characters of a failure on the instance", () => {
    const reason = "x".repeat(300);
    const { actions } = run(
      ctx({
        instances: [instance("i-1", "stopped")],
        inventory: inventory({
          consoles: new Map([["i-1", { build: BUILD, result: "failure" as const, reason }]]),
        }),
      }),
    );
    const terminate = actions[0];
    if (terminate?.kind !== "terminate-instance") throw new Error("expected a terminate");
    expect(terminate.tags?.[Tag.bakeReason]).toBe(`bake script failed: ${reason}`.slice(0, 250));
    expect(terminate.tags?.[Tag.bakeResult]).toBe("failed");
  });
});

describe("planBake: a home image that disappeared is rebaked", () => {
  it("launches the same build again with a token derived from the dead image ids, tagged rebake-of", () => {
    const { state, actions } = run(ctx({ deadHomeImages: ["ami-gone2", "ami-gone1"] }));
    expect(state).toEqual({ step: "in-progress", message: "rebaking: ami-gone2, ami-gone1 is gone" });
    expect(actions).toHaveLength(1);
    const launch = actions[0];
    if (launch?.kind !== "launch-bake") throw new Error("expected a launch");
    expect(launch.reason).toBe(
      `the home image of build ${BUILD} in us-east-1, ami-gone2, ami-gone1, is gone: baking the same build again`,
    );
    expect(launch.launch.clientToken).toBe(launchToken(BUILD, rebakeAttempt(["ami-gone1", "ami-gone2"])));
    expect(launch.launch.clientToken).not.toBe(launchToken(BUILD, "0"));
    expect(launch.launch.tags[Tag.rebakeOf]).toBe("ami-gone2,ami-gone1");
  });

  it("does not take the terminated instance that made the dead image for a failed bake", () => {
    const done = instance("i-old", "terminated");
    const { state, actions } = run(ctx({ deadHomeImages: ["ami-gone"], instances: [done] }));
    expect(state).toEqual({ step: "in-progress", message: "rebaking: ami-gone is gone" });
    expect(actions.map((a) => a.kind)).toEqual(["launch-bake"]);
  });

  it("creates the rebake's image with the rebake-of tag its instance carries", () => {
    const stopped = instance("i-new", "stopped", { [Tag.rebakeOf]: "ami-gone" });
    const { actions } = run(
      ctx({
        instances: [stopped],
        inventory: inventory({ consoles: new Map([["i-new", { build: BUILD, result: "success" }]]) }),
      }),
    );
    const create = actions.find((a) => a.kind === "create-image");
    if (create?.kind !== "create-image") throw new Error("expected create-image");
    expect(create.image.tags[Tag.rebakeOf]).toBe("ami-gone");
  });
});

describe("planBake: a console that expired unread", () => {
  const stoppedLongAgo = instance("i-old", "stopped", { [Tag.stoppedAt]: new Date(T0).toISOString() });
  const silent = (id: string) =>
    inventory({ silentConsoles: new Set([id]), consoles: new Map([[id, undefined]]) });

  it("terminates the instance as unknown past the grace, instead of failing a build that may be good", () => {
    const { state, actions } = run(
      ctx({ instances: [stoppedLongAgo], inventory: silent("i-old"), now: T0 + 90 * MIN }),
    );
    expect(state).toEqual({
      step: "in-progress",
      message:
        "the console of i-old shows nothing stopped 90m ago, past bake.consoleGrace 20m (EC2 keeps it about an hour after its last post): the outcome of the bake is unknown; baking again",
    });
    expect(actions).toHaveLength(1);
    const terminate = actions[0];
    if (terminate?.kind !== "terminate-instance") throw new Error("expected a terminate");
    expect(terminate.tags?.[Tag.bakeResult]).toBe("unknown");
  });

  it("bakes again with a token derived from the unknown instance, once it is gone", () => {
    const gone = instance("i-old", "terminated", {
      [Tag.bakeResult]: "unknown",
      [Tag.bakeReason]: "its console expired",
    });
    const { state, actions } = run(ctx({ instances: [gone] }));
    expect(state).toEqual({ step: "in-progress", message: "baking again: the outcome on i-old is unknown" });
    const launch = actions[0];
    if (launch?.kind !== "launch-bake") throw new Error("expected a launch");
    expect(launch.launch.clientToken).toBe(launchToken(BUILD, "after-i-old"));
    expect(launch.reason).toBe(
      `the outcome of the bake on i-old is unknown (its console expired): baking ${BUILD} again`,
    );
  });

  it("still fails a bake whose console shows output without a marker", () => {
    const { state } = run(
      ctx({
        instances: [stoppedLongAgo],
        inventory: inventory({ consoles: new Map([["i-old", undefined]]) }),
        now: T0 + 90 * MIN,
      }),
    );
    expect(state).toMatchObject({ step: "failed" });
  });
});

describe("a Windows lineage's bake", () => {
  const windows = (extra: Partial<BakeContext> = {}) =>
    ctx({
      platform: "windows",
      doc: doc({ bake: {}, provision: { packages: ["7zip"], files: [{ path: "C:\\a.txt", content: "a" }] } }),
      ...extra,
    });

  it("launches with EC2Launch v2 PowerShell user data", () => {
    const [launch] = run(windows()).actions;
    expect(launch?.kind).toBe("launch-bake");
    const userData = launch?.kind === "launch-bake" ? launch.launch.userData : "";
    expect(userData.startsWith("version: 1.1\ntasks:\n  - task: executeScript\n")).toBe(true);
    expect(userData).toContain("& choco.exe install '7zip' --yes --no-progress");
  });

  it.each([
    ["windows", 60 * MIN, "baking on i-1 (60m of 90m)"],
    ["linux", 44 * MIN, "baking on i-1 (44m of 45m)"],
  ] as const)("a %s bake's default timeout allows its length", (platform, elapsed, message) => {
    const c = windows({ platform, instances: [instance("i-1", "running")], now: T0 + elapsed });
    expect(run(c).state).toEqual({ step: "in-progress", message });
  });

  it("times a Windows bake out after 90m by default", () => {
    const c = windows({ instances: [instance("i-1", "running")], now: T0 + 90 * MIN + 1 });
    expect(run(c).state).toEqual({
      step: "failed",
      message: "bake timed out after 90m (instance i-1 still running)",
    });
  });
});

describe("planBake with a manifests bucket", () => {
  const store = (a: Action) =>
    a.kind === "store-manifest"
      ? `store ${a.instanceId} → ${a.imageId} on ${a.parent.spec}/${a.parent.build}`
      : brief(a);
  it.each<[string, Partial<BakeContext>, unknown, string[]]>([
    [
      "an available image without a manifest: stored from its instance, which waits",
      {
        manifests: true,
        homeImage: home("available", { [Tag.bakeInstance]: "i-1" }),
        instances: [instance("i-1", "stopped")],
      },
      { step: "in-progress", message: `storing the package manifest of ${BUILD}` },
      ["store i-1 → ami-home on ubuntu/ubuntu/jammy-1"],
    ],
    [
      "a pending image without a manifest",
      {
        manifests: true,
        homeImage: home("pending", { [Tag.bakeInstance]: "i-1" }),
        instances: [instance("i-1", "stopped")],
      },
      { step: "in-progress", message: `storing the package manifest of ${BUILD}` },
      ["store i-1 → ami-home on ubuntu/ubuntu/jammy-1"],
    ],
    [
      "a stored manifest: the instance goes",
      {
        manifests: true,
        homeImage: home("available", { [Tag.bakeInstance]: "i-1", [Tag.manifest]: "stored" }),
        instances: [instance("i-1", "stopped")],
      },
      "done",
      [`terminate i-1: image ami-home of build ${BUILD} is available; the bake instance is no longer needed`],
    ],
    [
      "a console that held none: the instance goes",
      {
        manifests: true,
        homeImage: home("available", { [Tag.bakeInstance]: "i-1", [Tag.manifest]: "none" }),
        instances: [instance("i-1", "stopped")],
      },
      "done",
      [`terminate i-1: image ami-home of build ${BUILD} is available; the bake instance is no longer needed`],
    ],
    [
      "no bucket configured: nothing to store",
      {
        homeImage: home("available", { [Tag.bakeInstance]: "i-1" }),
        instances: [instance("i-1", "stopped")],
      },
      "done",
      [`terminate i-1: image ami-home of build ${BUILD} is available; the bake instance is no longer needed`],
    ],
    [
      "the instance is gone (a manifest cannot be read any more)",
      { manifests: true, homeImage: home("available", { [Tag.bakeInstance]: "i-gone" }) },
      "done",
      ["untag ami-home leaven.dev/bake-instance: bake instance i-gone is gone"],
    ],
    [
      "a Windows lineage prints no manifest",
      {
        manifests: true,
        platform: "windows",
        homeImage: home("available", { [Tag.bakeInstance]: "i-1" }),
        instances: [instance("i-1", "stopped")],
      },
      "done",
      [`terminate i-1: image ami-home of build ${BUILD} is available; the bake instance is no longer needed`],
    ],
  ])("%s", (_label, extra, state, actions) => {
    const result = run(ctx(extra));
    expect(result.state).toEqual(
      state === "done" ? { step: "done", image: expect.objectContaining({ imageId: "ami-home" }) } : state,
    );
    expect(result.actions.map(store)).toEqual(actions);
  });
});
