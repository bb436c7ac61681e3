// What `plan` reports per spec, and the clean-up rules around the bake state machine: exact statuses.
import { describe, expect, it } from "vitest";
import { channelTag, Tag } from "../../controller/api/tags.ts";
import type { ImageSpecSpec } from "../../controller/api/types.generated.ts";
import type { Action } from "../../controller/plan/actions.ts";
import { type PlanInput, plan } from "../../controller/plan/plan.ts";
import { buildIdFor, recipeHash } from "../../controller/plan/recipe.ts";
import { bakeInstance, DAY, inventory, leavenImage, MIN, spec, T0, ubuntu, vendorImage } from "./builders.ts";

const make = (extra: Partial<ImageSpecSpec> = {}, name = "base") =>
  spec(name, {
    layer: "base",
    parent: { spec: "ubuntu", channel: "release" },
    version: "2.3.0",
    regions: ["us-east-1", "eu-west-1"],
    channels: { candidate: { latest: true } },
    ...extra,
  });
const base = make();
const BUILD = buildIdFor("base", "2.3.0", recipeHash(base.document.spec), "ubuntu/images/jammy-20260301");
const OLD = "2.2.0+00000000";
const run = (input: Partial<PlanInput> & Pick<PlanInput, "specs">) =>
  plan({ inventory: inventory(), now: T0, ...input });
const statusOf = (p: ReturnType<typeof plan>, name: string) => p.statuses.find((s) => s.name === name)!;
const kinds = (actions: Action[]) =>
  actions.map((a) => `${a.kind} ${a.spec}${"instanceId" in a ? ` ${a.instanceId}` : ""}`);

describe("foundation statuses", () => {
  it("is Ready naming how many vendor images match", () => {
    expect(statusOf(run({ specs: [ubuntu] }), "ubuntu")).toEqual({
      name: "ubuntu",
      layer: "foundation",
      phase: "Ready",
      message: "2 vendor images match",
      channels: {
        release: {
          build: "ubuntu/images/jammy-20260301",
          images: { "us-east-1": "ami-0e2", "eu-west-1": "ami-0w2" },
        },
      },
      builds: ["ubuntu/images/jammy-20260301", "ubuntu/images/jammy-20260101"],
    });
  });

  it("waits naming each unresolved channel", () => {
    const soaking = spec("ubuntu", {
      ...ubuntu.document.spec,
      channels: { release: { latest: true, minAge: "60d" }, candidate: { latest: true } },
    });
    const status = statusOf(run({ specs: [soaking] }), "ubuntu");
    expect(status.phase).toBe("Waiting");
    expect(status.message).toBe(
      "release: no ready build is admitted; the newest, ubuntu/images/jammy-20260301, is 10d old, younger than minAge 60d",
    );
  });

  it("stalls when no vendor image matches", () => {
    const status = statusOf(
      run({ specs: [ubuntu], inventory: inventory({ vendorImages: new Map() }) }),
      "ubuntu",
    );
    expect(status).toMatchObject({
      phase: "Stalled",
      message:
        'no available vendor image matches "ubuntu/images/*" owned by 099720109477 in all of us-east-1, eu-west-1',
    });
  });
});

describe("base and app statuses", () => {
  it("reports a spec with a blind region once, and plans nothing for it", () => {
    const p = run({
      specs: [ubuntu, base],
      inventory: inventory({ regionErrors: new Map([["eu-west-1", "AuthFailure: no"]]) }),
    });
    expect(statusOf(p, "base")).toEqual({
      name: "base",
      layer: "base",
      phase: "Waiting",
      message: "cannot observe eu-west-1 (AuthFailure: no); nothing is changed for this spec until it can",
      channels: {},
      builds: [],
    });
    expect(p.actions).toEqual([]);
  });

  it("lists blocked specs with why, as layer unknown", () => {
    const p = run({ specs: [ubuntu], blocked: new Map([["broken", "invalid: bad yaml"]]) });
    expect(statusOf(p, "broken")).toEqual({
      name: "broken",
      layer: "unknown",
      phase: "Blocked",
      message: "invalid: bad yaml",
      channels: {},
      builds: [],
    });
  });

  it("waits for a parent channel that does not resolve, naming why", () => {
    const onCandidate = make({ parent: { spec: "ubuntu", channel: "nightly" } });
    expect(statusOf(run({ specs: [ubuntu, onCandidate] }), "base")).toMatchObject({
      phase: "Waiting",
      message: "waiting for ubuntu/nightly: not resolved; channel candidate: no ready build yet",
      parent: { spec: "ubuntu", channel: "nightly" },
    });
    const soaking = spec("ubuntu", {
      ...ubuntu.document.spec,
      channels: { release: { latest: true, minAge: "60d" } },
    });
    expect(statusOf(run({ specs: [soaking, base] }), "base").message).toMatch(
      /^waiting for ubuntu\/release: no ready build is admitted; the newest, ubuntu\/images\/jammy-20260301, is 10d old/,
    );
  });

  it("stalls a spec whose parent has no image in its home region", () => {
    const elsewhere = make({ regions: ["ap-southeast-2"] });
    expect(statusOf(run({ specs: [ubuntu, elsewhere] }), "base")).toMatchObject({
      phase: "Stalled",
      message:
        "ubuntu/release (ubuntu/images/jammy-20260301) has no image in ap-southeast-2, this spec's home region; add ap-southeast-2 to ubuntu's regions; channel candidate: no ready build yet",
    });
  });

  it("stalls a recipe that cannot be rendered, instead of crashing", () => {
    const huge = make({ provision: { script: "x".repeat(20_000) } });
    const p = run({ specs: [ubuntu, huge] });
    expect(statusOf(p, "base").phase).toBe("Stalled");
    expect(statusOf(p, "base").message).toMatch(/over EC2's 16384-byte user-data limit/);
    expect(p.actions).toEqual([]);
  });

  it("is Ready with its builds newest first and its parent, when everything is in place", () => {
    const tags = { [channelTag("candidate")]: "true" };
    const images = [
      leavenImage("us-east-1", "base", BUILD, { tags, createdAt: T0 }),
      leavenImage("eu-west-1", "base", BUILD, { tags, createdAt: T0 }),
      leavenImage("us-east-1", "base", OLD, { createdAt: T0 - DAY }),
    ];
    const status = statusOf(run({ specs: [ubuntu, base], inventory: inventory({ images }) }), "base");
    expect(status).toMatchObject({
      phase: "Ready",
      message: `${BUILD} is ready in 2 region(s)`,
      desiredBuild: BUILD,
      parent: { spec: "ubuntu", channel: "release", build: "ubuntu/images/jammy-20260301" },
      builds: [BUILD, OLD],
    });
  });

  it("observes but never changes a suspended spec", () => {
    const suspended = make({ suspend: true });
    const stray = bakeInstance("us-east-1", "base", OLD, "running", { id: "i-old" });
    const p = run({ specs: [ubuntu, suspended], inventory: inventory({ instances: [stray] }) });
    expect(p.actions).toEqual([]);
    expect(statusOf(p, "base")).toMatchObject({
      phase: "Suspended",
      message: "suspended: observed, not changed",
    });
  });

  it("fails a spec whose copy failed, naming the region", () => {
    const images = [
      leavenImage("us-east-1", "base", BUILD),
      { ...leavenImage("eu-west-1", "base", BUILD, { state: "failed" }), imageId: "ami-bad" },
    ];
    expect(statusOf(run({ specs: [ubuntu, base], inventory: inventory({ images }) }), "base")).toMatchObject({
      phase: "Failed",
      message: `build ${BUILD}: copy failed in eu-west-1 (ami-bad is failed); channel candidate: no ready build yet`,
    });
  });

  it("reports the worst phase first: a failed copy over a bake in progress", () => {
    const images = [
      leavenImage("us-east-1", "base", OLD, { tags: { [channelTag("candidate")]: "true" } }),
      { ...leavenImage("eu-west-1", "base", OLD, { state: "failed" }), imageId: "ami-bad" },
    ];
    const pinned = make({ channels: { candidate: { build: OLD } } });
    const p = run({ specs: [ubuntu, pinned], inventory: inventory({ images }) });
    expect(statusOf(p, "base").phase).toBe("Failed");
    expect(statusOf(p, "base").message).toMatch(new RegExp(`^build ${OLD.replace("+", "\\+")}: copy failed`));
  });
});

describe("clean-up of bake instances", () => {
  it.each([
    ["running", true],
    ["stopped", true],
    ["shutting-down", false],
    ["terminated", false],
  ] as const)("terminates a %s instance of a deleted spec: %s", (state, expected) => {
    const orphan = bakeInstance("us-east-1", "gone", OLD, state, { id: "i-orphan" });
    const p = run({ specs: [ubuntu], inventory: inventory({ instances: [orphan] }) });
    expect(p.actions).toEqual(
      expected
        ? [
            {
              kind: "terminate-instance",
              spec: "gone",
              build: OLD,
              region: "us-east-1",
              instanceId: "i-orphan",
              reason: "spec gone no longer exists",
            },
          ]
        : [],
    );
  });

  it("terminates an instance without spec or build tags, and says so", () => {
    const bare = {
      ...bakeInstance("us-east-1", "x", "y", "running", { id: "i-bare" }),
      tags: { [Tag.managedBy]: "leaven", [Tag.role]: "bake" },
    };
    expect(run({ specs: [ubuntu], inventory: inventory({ instances: [bare] }) }).actions).toEqual([
      {
        kind: "terminate-instance",
        spec: "",
        region: "us-east-1",
        instanceId: "i-bare",
        reason: "bake instance has no leaven.dev/spec tag",
      },
    ]);
  });

  it("leaves instances alone while a broken document may own them, or while their spec is blocked", () => {
    const orphan = bakeInstance("us-east-1", "gone", OLD, "running", { id: "i-orphan" });
    const inv = inventory({ instances: [orphan] });
    expect(run({ specs: [ubuntu], inventory: inv, unattributedErrors: true }).actions).toEqual([]);
    expect(run({ specs: [ubuntu], inventory: inv, blocked: new Map([["gone", "invalid"]]) }).actions).toEqual(
      [],
    );
  });

  it.each([
    ["running", true],
    ["shutting-down", false],
    ["terminated", false],
  ] as const)("terminates a %s instance of a build the spec no longer wants: %s", (state, expected) => {
    const stale = bakeInstance("us-east-1", "base", OLD, state, { id: "i-stale" });
    const p = run({ specs: [ubuntu, base], inventory: inventory({ instances: [stale] }) });
    const terminations = p.actions.filter((a) => a.kind === "terminate-instance");
    expect(terminations).toEqual(
      expected
        ? [
            {
              kind: "terminate-instance",
              spec: "base",
              build: OLD,
              region: "us-east-1",
              instanceId: "i-stale",
              reason: `build ${OLD} is no longer wanted (base now wants ${BUILD})`,
            },
          ]
        : [],
    );
  });
});

describe("distribution beyond the desired build", () => {
  it("copies a build a channel pins, and the build an unresolved channel is on", () => {
    const pinnedBuild = "2.1.0+11111111";
    const pinned = make({ channels: { candidate: { latest: true }, release: { build: pinnedBuild } } });
    const images = [
      leavenImage("us-east-1", "base", pinnedBuild, { createdAt: T0 - 5 * DAY }),
      leavenImage("us-east-1", "base", OLD, {
        createdAt: T0 - 2 * DAY,
        tags: { [channelTag("candidate")]: "true" },
      }),
      leavenImage("us-east-1", "base", "2.0.0+22222222", { createdAt: T0 - 9 * DAY }),
    ];
    const p = run({ specs: [ubuntu, pinned], inventory: inventory({ images }) });
    const copies = p.actions
      .filter((a) => a.kind === "copy-image")
      .map((a) => a.build)
      .sort();
    expect(copies).toEqual([pinnedBuild, OLD]);
    expect(kinds(p.actions)).toContain("launch-bake base");
  });

  it("sorts the regions where bakes must be observed", () => {
    const east = make({ regions: ["us-east-1"] }, "b1");
    const west = make({ regions: ["eu-west-1"] }, "b2");
    const p = run({ specs: [ubuntu, west, east] });
    expect(p.bakeRegions).toEqual(["eu-west-1", "us-east-1"]);
  });

  it("waits for a bake instance to be observed before the image counts as done", () => {
    const images = [
      leavenImage("us-east-1", "base", BUILD, { tags: { [Tag.bakeInstance]: "i-1" } }),
      leavenImage("eu-west-1", "base", BUILD),
    ];
    expect(run({ specs: [ubuntu, base], inventory: inventory({ images }) }).bakeRegions).toEqual([
      "us-east-1",
    ]);
    const clean = images.map((i) => {
      const { [Tag.bakeInstance]: _gone, ...tags } = i.tags;
      return { ...i, tags };
    });
    expect(run({ specs: [ubuntu, base], inventory: inventory({ images: clean }) }).bakeRegions).toEqual([]);
  });
});

describe("vendor images", () => {
  it("bake on the parent image's root device", () => {
    const sda = new Map([
      [
        "ubuntu",
        [
          vendorImage("us-east-1", "ubuntu/images/jammy-20260301", "ami-0e2", T0 - DAY),
          vendorImage("eu-west-1", "ubuntu/images/jammy-20260301", "ami-0w2", T0 - DAY),
        ],
      ],
    ]);
    const sized = make({ bake: { rootVolume: { size: 30 } } });
    const p = run({ specs: [ubuntu, sized], inventory: inventory({ vendorImages: sda }), now: T0 + MIN });
    const launch = p.actions.find((a) => a.kind === "launch-bake");
    if (launch?.kind !== "launch-bake") throw new Error("expected a launch");
    expect(launch.launch.rootVolume).toEqual({ deviceName: "/dev/sda1", size: 30 });
  });
});
