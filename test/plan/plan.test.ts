import { describe, expect, it } from "vitest";
import { formatBakeMarker, parseBakeMarker } from "../../controller/api/bake-protocol.ts";
import { copyTag, Tag } from "../../controller/api/tags.ts";
import type { Action } from "../../controller/plan/actions.ts";
import { plan } from "../../controller/plan/plan.ts";
import { buildIdFor, launchToken, rebakeAttempt, recipeHash } from "../../controller/plan/recipe.ts";
import {
  bakeInstance,
  DAY,
  failureRecord,
  inventory,
  leavenImage,
  MIN,
  spec,
  T0,
  ubuntu,
} from "./builders.ts";

const base = spec("base", {
  layer: "base",
  parent: { spec: "ubuntu", channel: "release" },
  version: "2.3.0",
  provision: { packages: ["acme-base=2.3.0"] },
  bake: { timeout: "30m" },
  regions: ["us-east-1", "eu-west-1"],
  channels: { candidate: { latest: true } },
});
const newestUbuntu = "ubuntu/images/jammy-20260301";
const baseBuild = buildIdFor("base", "2.3.0", recipeHash(base.document.spec), newestUbuntu);

const kinds = (actions: Action[]) => actions.map((a) => `${a.kind} ${a.spec} ${a.region}`);
const statusOf = (p: ReturnType<typeof plan>, name: string) => p.statuses.find((s) => s.name === name)!;

describe("plan: the bake state machine, one step per observation", () => {
  it("launches a bake on the parent channel's image when nothing exists", () => {
    const p = plan({ specs: [ubuntu, base], inventory: inventory(), now: T0 });
    expect(kinds(p.actions)).toEqual(["launch-bake base us-east-1"]);
    const launch = p.actions[0]!;
    if (launch.kind !== "launch-bake") throw new Error("expected launch-bake");
    expect(launch.launch.imageId).toBe("ami-0e2");
    expect(launch.build).toBe(baseBuild);
    expect(launch.launch.clientToken).toBe(launchToken(baseBuild, "0"));
    expect(launch.launch.instanceType).toBe("t3.medium");
    expect(launch.launch.tags).toMatchObject({
      [Tag.managedBy]: "leaven",
      [Tag.spec]: "base",
      [Tag.build]: baseBuild,
      [Tag.parentSpec]: "ubuntu",
      [Tag.parentBuild]: newestUbuntu,
      [Tag.parentImage]: "ami-0e2",
      [Tag.role]: "bake",
    });
    expect(launch.launch.userData).toContain(`LEAVEN_BUILD_ID=${baseBuild}`);
    expect(statusOf(p, "base")).toMatchObject({ phase: "Baking", desiredBuild: baseBuild });
    expect(p.bakeRegions).toEqual(["us-east-1"]);
  });

  it("does not launch where bake instances were not observed", () => {
    const p = plan({ specs: [ubuntu, base], inventory: inventory({ instanceRegions: [] }), now: T0 });
    expect(p.actions).toEqual([]);
    expect(statusOf(p, "base").message).toContain("bake instances in us-east-1 were not observed this pass");
  });

  it.each([
    ["pending", 1, []],
    ["running", 10, []],
    ["stopping", 20, []],
  ] as const)("waits while the bake instance is %s", (state, minutes, expected) => {
    const inv = inventory({ instances: [bakeInstance("us-east-1", "base", baseBuild, state)] });
    const p = plan({ specs: [ubuntu, base], inventory: inv, now: T0 + minutes * MIN });
    expect(kinds(p.actions)).toEqual(expected);
    expect(statusOf(p, "base").phase).toBe("Baking");
  });

  it("terminates a bake that outlives its timeout and fails the build with the reason", () => {
    const inv = inventory({
      instances: [bakeInstance("us-east-1", "base", baseBuild, "running", { id: "i-slow" })],
    });
    const p = plan({ specs: [ubuntu, base], inventory: inv, now: T0 + 31 * MIN });
    expect(p.actions).toMatchObject([
      {
        kind: "terminate-instance",
        instanceId: "i-slow",
        tags: {
          [Tag.bakeResult]: "failed",
          [Tag.bakeReason]: "bake timed out after 30m (instance i-slow still running)",
        },
      },
      {
        kind: "record-failure",
        template: {
          tags: {
            [Tag.bakeReason]: "bake timed out after 30m (instance i-slow still running)",
            [Tag.failedInstance]: "i-slow",
          },
        },
      },
    ]);
    expect(statusOf(p, "base")).toMatchObject({
      phase: "Failed",
      message: expect.stringContaining(`build ${baseBuild} failed: bake timed out after 30m`),
    });
  });

  it("creates the image when the console carries the success marker", () => {
    const instance = bakeInstance("us-east-1", "base", baseBuild, "stopped", { id: "i-done" });
    const consoles = new Map([
      ["i-done", parseBakeMarker(formatBakeMarker({ build: baseBuild, result: "success" }), baseBuild)],
    ]);
    const p = plan({
      specs: [ubuntu, base],
      inventory: inventory({ instances: [instance], consoles }),
      now: T0 + 10 * MIN,
    });
    expect(p.actions).toMatchObject([
      { kind: "tag-instance", instanceId: "i-done", tags: { [Tag.bakeResult]: "success" } },
      {
        kind: "create-image",
        image: {
          instanceId: "i-done",
          name: `leaven/base/${baseBuild.replace("+", "_")}`,
          tags: { [Tag.build]: baseBuild, [Tag.bakeInstance]: "i-done" },
        },
      },
    ]);
  });

  it("fails the build and terminates the instance when the console carries the failure marker", () => {
    const instance = bakeInstance("us-east-1", "base", baseBuild, "stopped", { id: "i-bad" });
    const marker = formatBakeMarker({ build: baseBuild, result: "failure", reason: "step script exited 3" });
    const consoles = new Map([["i-bad", parseBakeMarker(marker, baseBuild)]]);
    const p = plan({
      specs: [ubuntu, base],
      inventory: inventory({ instances: [instance], consoles }),
      now: T0 + 10 * MIN,
    });
    expect(p.actions).toMatchObject([
      {
        kind: "terminate-instance",
        instanceId: "i-bad",
        tags: { [Tag.bakeResult]: "failed", [Tag.bakeReason]: "bake script failed: step script exited 3" },
      },
      { kind: "record-failure", template: { tags: { [Tag.failedInstance]: "i-bad" } } },
    ]);
    expect(statusOf(p, "base").phase).toBe("Failed");
  });

  it("waits for a late console for bake.consoleGrace from the stop, then fails", () => {
    const instance = bakeInstance("us-east-1", "base", baseBuild, "stopped", { id: "i-quiet" });
    const consoles = new Map([["i-quiet", undefined]]);
    const first = plan({
      specs: [ubuntu, base],
      inventory: inventory({ instances: [instance], consoles }),
      now: T0 + 10 * MIN,
    });
    // The first pass that sees it stopped records when: the grace counts from there, restarts included.
    expect(first.actions).toMatchObject([
      { kind: "tag-instance", instanceId: "i-quiet", tags: { [Tag.stoppedAt]: "2026-06-01T00:10:00.000Z" } },
    ]);
    const tagged = { ...instance, tags: { ...instance.tags, [Tag.stoppedAt]: "2026-06-01T00:10:00.000Z" } };
    const early = plan({
      specs: [ubuntu, base],
      inventory: inventory({ instances: [tagged], consoles }),
      now: T0 + 30 * MIN,
    });
    expect(early.actions).toEqual([]);
    const late = plan({
      specs: [ubuntu, base],
      inventory: inventory({ instances: [tagged], consoles }),
      now: T0 + 30 * MIN + 1,
    });
    expect(late.actions).toMatchObject([
      { kind: "terminate-instance", instanceId: "i-quiet" },
      { kind: "record-failure" },
    ]);
    expect(statusOf(late, "base").message).toContain("stopped without a result marker on its console");
  });

  it("does not retry a failed build unless asked, and then with a new launch token", () => {
    const failed = bakeInstance("us-east-1", "base", baseBuild, "terminated", {
      tags: { [Tag.bakeResult]: "failed", [Tag.bakeReason]: "bake script failed: boom" },
    });
    const record = failureRecord("us-east-1", "base", baseBuild, { instanceId: failed.instanceId });
    const p = plan({
      specs: [ubuntu, base],
      inventory: inventory({ instances: [failed], failures: [record] }),
      now: T0 + 60 * MIN,
    });
    expect(p.actions).toEqual([]);
    expect(statusOf(p, "base").message).toBe(
      `build ${baseBuild} failed: bake script failed: boom; channel candidate: no ready build yet`,
    );

    const retried = plan({
      specs: [ubuntu, base],
      inventory: inventory({ instances: [failed], failures: [record] }),
      now: T0 + 60 * MIN,
      retry: new Set(["base"]),
    });
    expect(kinds(retried.actions)).toEqual([
      "delete-failure-record base us-east-1",
      "launch-bake base us-east-1",
    ]);
    const launch = retried.actions[1] as Extract<Action, { kind: "launch-bake" }>;
    expect(launch.launch.clientToken).not.toBe(launchToken(baseBuild, "0"));
  });

  it("waits while the image is pending, then terminates the instance and copies to the other regions", () => {
    const instance = bakeInstance("us-east-1", "base", baseBuild, "stopped", { id: "i-baked" });
    const pending = leavenImage("us-east-1", "base", baseBuild, {
      state: "pending",
      tags: { [Tag.bakeInstance]: "i-baked" },
    });
    const p1 = plan({
      specs: [ubuntu, base],
      inventory: inventory({ images: [pending], instances: [instance] }),
      now: T0,
    });
    expect(p1.actions).toEqual([]);
    expect(statusOf(p1, "base").message).toContain("is pending");

    const available = { ...pending, state: "available" as const, imageId: "ami-home" };
    const p2 = plan({
      specs: [ubuntu, base],
      inventory: inventory({ images: [available], instances: [instance] }),
      now: T0,
    });
    expect(kinds(p2.actions).sort()).toEqual([
      "copy-image base eu-west-1",
      "terminate-instance base us-east-1",
    ]);
    const copy = p2.actions.find((a) => a.kind === "copy-image") as Extract<Action, { kind: "copy-image" }>;
    expect(copy.copy).toMatchObject({ sourceRegion: "us-east-1", sourceImageId: "ami-home" });
    expect(copy.copy.tags[Tag.homeImage]).toBe("ami-home");
    expect(copy.copy.tags[Tag.bakeInstance]).toBeUndefined();
    expect(statusOf(p2, "base").phase).toBe("Copying");
  });

  it("removes the bake-instance marker once the instance is gone", () => {
    const image = leavenImage("us-east-1", "base", baseBuild, {
      id: "ami-home",
      tags: { [Tag.bakeInstance]: "i-old" },
    });
    const gone = bakeInstance("us-east-1", "base", baseBuild, "terminated", {
      id: "i-old",
      tags: { [Tag.bakeResult]: "success" },
    });
    const p = plan({
      specs: [ubuntu, base],
      inventory: inventory({ images: [image], instances: [gone] }),
      now: T0,
    });
    expect(p.actions).toContainEqual(
      expect.objectContaining({ kind: "remove-tags", imageId: "ami-home", keys: [Tag.bakeInstance] }),
    );
  });

  it("moves channel tags once the build is available in every region", () => {
    const home = leavenImage("us-east-1", "base", baseBuild, {
      id: "ami-home",
      tags: { [copyTag("eu-west-1")]: "ami-copy" },
    });
    const copy = leavenImage("eu-west-1", "base", baseBuild, { id: "ami-copy" });
    const oldBuild = "2.2.0+0000aaaa";
    const oldHome = leavenImage("us-east-1", "base", oldBuild, {
      id: "ami-old",
      createdAt: T0 - DAY,
      tags: { "leaven.dev/channel/candidate": "true" },
    });
    const p = plan({
      specs: [ubuntu, base],
      inventory: inventory({ images: [home, copy, oldHome] }),
      now: T0,
    });
    expect(p.actions).toEqual([
      expect.objectContaining({
        kind: "set-tags",
        imageId: "ami-home",
        tags: {
          "leaven.dev/channel/candidate": "true",
          "leaven.dev/channel-since/candidate": "2026-06-01T00:00:00.000Z",
        },
      }),
      expect.objectContaining({
        kind: "set-tags",
        imageId: "ami-copy",
        tags: {
          "leaven.dev/channel/candidate": "true",
          "leaven.dev/channel-since/candidate": "2026-06-01T00:00:00.000Z",
        },
      }),
      expect.objectContaining({
        kind: "remove-tags",
        imageId: "ami-old",
        keys: ["leaven.dev/channel/candidate"],
      }),
    ]);
    expect(statusOf(p, "base")).toMatchObject({
      phase: "Promoting",
      channels: {
        candidate: { build: baseBuild, images: { "us-east-1": "ami-home", "eu-west-1": "ami-copy" } },
      },
    });
  });

  it("is converged when the tags already match: no actions, Ready", () => {
    const tags = { "leaven.dev/channel/candidate": "true" };
    const images = [
      leavenImage("us-east-1", "base", baseBuild, { tags: { ...tags, [copyTag("eu-west-1")]: "ami-c" } }),
      leavenImage("eu-west-1", "base", baseBuild, { tags, id: "ami-c" }),
    ];
    const p = plan({ specs: [ubuntu, base], inventory: inventory({ images }), now: T0 });
    expect(p.actions).toEqual([]);
    expect(statusOf(p, "base").phase).toBe("Ready");
    expect(p.bakeRegions).toEqual([]);
  });
});

describe("plan: lineage", () => {
  const ready = (name: string, build: string, channels: string[], createdAt = T0) =>
    ["us-east-1", "eu-west-1"].map((region) =>
      leavenImage(region, name, build, {
        createdAt,
        id: `ami-${name}-${build}-${region}`,
        tags: {
          ...Object.fromEntries(channels.map((c) => [`leaven.dev/channel/${c}`, "true"])),
          ...(region === "us-east-1" ? { [copyTag("eu-west-1")]: `ami-${name}-${build}-eu-west-1` } : {}),
        },
      }),
    );
  const promotable = spec("base", {
    ...base.document.spec,
    channels: { candidate: { latest: true }, release: { build: "2.2.0+0000aaaa" } },
  });
  const onRelease = spec("api", {
    layer: "app",
    parent: { spec: "base", channel: "release" },
    version: "1.0.0",
    regions: ["us-east-1"],
    channels: { release: { latest: true } },
  });
  const onCandidate = spec("worker", {
    layer: "app",
    parent: { spec: "base", channel: "candidate" },
    version: "1.0.0",
    regions: ["us-east-1"],
    channels: { release: { latest: true } },
  });
  const world = inventory({
    images: [
      ...ready("base", "2.2.0+0000aaaa", ["release"], T0 - DAY),
      ...ready("base", baseBuild, ["candidate"]),
    ],
  });

  it("bakes each child on its parent channel's build", () => {
    const p = plan({ specs: [ubuntu, promotable, onRelease, onCandidate], inventory: world, now: T0 });
    const launches = p.actions.filter(
      (a): a is Extract<Action, { kind: "launch-bake" }> => a.kind === "launch-bake",
    );
    expect(launches.map((a) => [a.spec, a.launch.tags[Tag.parentBuild]])).toEqual([
      ["api", "2.2.0+0000aaaa"],
      ["worker", baseBuild],
    ]);
  });

  it("promotion (editing base's release) rebakes exactly the children on base/release", () => {
    const apiOld = buildIdFor("api", "1.0.0", recipeHash(onRelease.document.spec), "2.2.0+0000aaaa");
    const workerBuild = buildIdFor("worker", "1.0.0", recipeHash(onCandidate.document.spec), baseBuild);
    const converged = inventory({
      images: [
        ...world.images,
        leavenImage("us-east-1", "api", apiOld, { tags: { "leaven.dev/channel/release": "true" } }),
        leavenImage("us-east-1", "worker", workerBuild, { tags: { "leaven.dev/channel/release": "true" } }),
      ],
    });
    expect(
      plan({ specs: [ubuntu, promotable, onRelease, onCandidate], inventory: converged, now: T0 }).actions,
    ).toEqual([]);

    const promoted = spec("base", {
      ...promotable.document.spec,
      channels: { candidate: { latest: true }, release: { build: baseBuild } },
    });
    const p = plan({ specs: [ubuntu, promoted, onRelease, onCandidate], inventory: converged, now: T0 });
    expect(kinds(p.actions)).toEqual([
      "set-tags base us-east-1",
      "set-tags base eu-west-1",
      "remove-tags base us-east-1",
      "remove-tags base eu-west-1",
      "launch-bake api us-east-1",
    ]);
    // The old app build keeps its channel until the new one is ready.
    expect(statusOf(p, "api").channels.release?.build).toBe(apiOld);
  });

  it("waits for a parent channel that does not resolve yet", () => {
    const p = plan({ specs: [ubuntu, base, onCandidate], inventory: inventory(), now: T0 });
    expect(statusOf(p, "worker")).toMatchObject({
      phase: "Waiting",
      message: "waiting for base/candidate: no ready build yet; channel release: no ready build yet",
    });
  });

  it("stalls when the parent has no image in the child's home region", () => {
    const far = spec("far", { ...onCandidate.document.spec, regions: ["ap-southeast-2"] });
    const p = plan({ specs: [ubuntu, promotable, far], inventory: world, now: T0 });
    expect(statusOf(p, "far")).toMatchObject({
      phase: "Stalled",
      message: expect.stringContaining(
        `base/candidate (${baseBuild}) has no image in ap-southeast-2, this spec's home region; add ap-southeast-2 to base's regions`,
      ),
    });
    expect(p.actions.filter((a) => a.spec === "far")).toEqual([]);
  });

  it("leaves blocked specs' instances alone and terminates those of deleted specs", () => {
    const inv = inventory({
      instances: [
        bakeInstance("us-east-1", "broken", "1.0.0+aaaaaaaa", "running", { id: "i-broken" }),
        bakeInstance("us-east-1", "deleted", "1.0.0+bbbbbbbb", "running", { id: "i-deleted" }),
      ],
    });
    const p = plan({ specs: [ubuntu], blocked: new Map([["broken", "invalid"]]), inventory: inv, now: T0 });
    expect(p.actions).toEqual([
      expect.objectContaining({
        kind: "terminate-instance",
        instanceId: "i-deleted",
        reason: "spec deleted no longer exists",
      }),
    ]);
    // A document too broken to name its spec might be the "deleted" one: then nothing is cleaned up.
    const unsure = plan({
      specs: [ubuntu],
      blocked: new Map([["broken", "invalid"]]),
      inventory: inv,
      now: T0,
      unattributedErrors: true,
    });
    expect(unsure.actions).toEqual([]);
  });

  it("plans nothing for a suspended spec but still reports it", () => {
    const suspended = spec("base", { ...base.document.spec, suspend: true });
    const p = plan({ specs: [ubuntu, suspended], inventory: inventory(), now: T0 });
    expect(p.actions).toEqual([]);
    expect(statusOf(p, "base").phase).toBe("Suspended");
  });
});

describe("plan: regions that could not be observed", () => {
  it("plans nothing for a spec with a blind region, and its children wait", () => {
    const app = spec("app", {
      layer: "app",
      parent: { spec: "base", channel: "candidate" },
      version: "1.0.0",
      regions: ["us-east-1"],
      channels: { release: { latest: true } },
    });
    const inv = inventory({
      regionErrors: new Map([["eu-west-1", "RequestLimitExceeded: Request limit exceeded."]]),
    });
    const p = plan({ specs: [ubuntu, base, app], inventory: inv, now: T0 });
    expect(p.actions).toEqual([]);
    expect(statusOf(p, "base")).toMatchObject({
      phase: "Waiting",
      message:
        "cannot observe eu-west-1 (RequestLimitExceeded: Request limit exceeded.); nothing is changed for this spec until it can",
    });
    expect(statusOf(p, "app").message).toContain("waiting for base/candidate: cannot observe eu-west-1");
  });
});

describe("plan: a home image observed gone is baked again", () => {
  const launchOf = (p: ReturnType<typeof plan>) => {
    const launch = p.actions.find((a) => a.kind === "launch-bake");
    if (launch?.kind !== "launch-bake") throw new Error("expected a launch");
    return launch;
  };
  const copy = (tags: Record<string, string>) =>
    leavenImage("eu-west-1", "base", baseBuild, {
      id: "ami-copy",
      tags: { [Tag.homeRegion]: "us-east-1", ...tags },
    });

  it.each<[string, ReturnType<typeof leavenImage>[], string[]]>([
    ["nothing names it: the first attempt's token", [], []],
    ["its copy names it", [copy({ [Tag.homeImage]: "ami-gone" })], ["ami-gone"]],
    [
      "a copy of another home region does not count",
      [copy({ [Tag.homeImage]: "ami-elsewhere", [Tag.homeRegion]: "eu-central-1" })],
      [],
    ],
    [
      "a child baked on it in the home region names it too",
      [
        copy({ [Tag.homeImage]: "ami-gone" }),
        leavenImage("us-east-1", "api", "1.0.0+cafe0001", {
          tags: {
            [Tag.homeRegion]: "us-east-1",
            [Tag.parentSpec]: "base",
            [Tag.parentBuild]: baseBuild,
            [Tag.parentImage]: "ami-older",
          },
        }),
      ],
      ["ami-gone", "ami-older"],
    ],
    [
      "a child's copy (it names its own home image) does not",
      [
        leavenImage("eu-west-1", "api", "1.0.0+cafe0001", {
          tags: {
            [Tag.homeRegion]: "us-east-1",
            [Tag.homeImage]: "ami-api-home",
            [Tag.parentSpec]: "base",
            [Tag.parentBuild]: baseBuild,
            [Tag.parentImage]: "ami-older",
          },
        }),
      ],
      [],
    ],
  ])("%s", (_name, images, dead) => {
    const p = plan({ specs: [ubuntu, base], inventory: inventory({ images }), now: T0 });
    const launch = launchOf(p);
    expect(launch.launch.clientToken).toBe(
      launchToken(baseBuild, dead.length > 0 ? rebakeAttempt(dead) : "0"),
    );
    expect(launch.launch.tags[Tag.rebakeOf]).toBe(dead.length > 0 ? dead.join(",") : undefined);
  });
});
