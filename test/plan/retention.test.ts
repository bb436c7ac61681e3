// Staged retirement on its own (planRetention called directly) over small inventories: which builds are
// protected and why, when each stage runs, that nothing runs before the images' use is known, restoration,
// orphans and their recorded policy.
import { describe, expect, it } from "vitest";
import { channelTag, Tag } from "../../controller/api/tags.ts";
import type { ImageSpecSpec } from "../../controller/api/types.generated.ts";
import type { CloudImage, Tags } from "../../controller/cloud/port.ts";
import type { Action } from "../../controller/plan/actions.ts";
import { indexInventory } from "../../controller/plan/index-inventory.ts";
import { deletionPolicyTags, parseSchedule, planRetention } from "../../controller/plan/retention.ts";
import type { ValidSpec } from "../../controller/validation/result.ts";
import { DAY, inventory, leavenImage, spec, T0 } from "./builders.ts";

const REGION = "us-east-1";
const iso = (t: number) => new Date(t).toISOString();

const base = (retention: ImageSpecSpec["retention"], extra: Partial<ImageSpecSpec> = {}): ValidSpec =>
  spec("base", {
    layer: "base",
    parent: { spec: "ubuntu", channel: "release" },
    version: "1.0.0",
    regions: [REGION],
    channels: { release: { latest: true } },
    ...(retention ? { retention } : {}),
    ...extra,
  });

/** Build n of base, made n days after T0, image ami-b<n>. */
function build(n: number, tags: Tags = {}, state: CloudImage["state"] = "available"): CloudImage {
  return leavenImage(REGION, "base", `1.0.${n}+0000000${n}`, {
    id: `ami-b${n}`,
    createdAt: T0 + n * DAY,
    state,
    tags: { [Tag.parentSpec]: "ubuntu", [Tag.parentBuild]: "jammy", ...tags },
  });
}

function run(
  specs: ValidSpec[],
  images: CloudImage[],
  options: {
    now?: number;
    usage?: Map<string, string[]> | "all-unused";
    desired?: string;
    scope?: ReadonlySet<string>;
  } = {},
) {
  const usage =
    options.usage === "all-unused" ? new Map(images.map((i) => [i.imageId, [] as string[]])) : options.usage;
  const inv = inventory({ images, ...(usage ? { usage } : {}) });
  const actions: Action[] = [];
  const result = planRetention(
    {
      specs,
      index: indexInventory(inv),
      inventory: inv,
      now: options.now ?? T0 + 100 * DAY,
      desired: new Map([["base", options.desired]]),
      ...(options.scope ? { scope: options.scope } : {}),
    },
    actions,
  );
  const summary = actions.map((a) => `${a.kind} ${"imageId" in a ? a.imageId : ""}`);
  return { actions, result, summary };
}

const release = { [channelTag("release")]: "true" };
const unusedSince = (t: number) => ({ [Tag.unusedSince]: iso(t) });

describe("planRetention: protections", () => {
  it("retires nothing without a retention policy", () => {
    const { actions, result } = run([base(undefined)], [build(1), build(2), build(3), build(4), build(5)]);
    expect(actions).toEqual([]);
    expect(result.kept).toEqual([]);
  });

  it("keeps the builds in channels, the desired build and the keepBuilds newest unused; starts the others' clocks", () => {
    const { summary, result } = run(
      [base({ keepBuilds: 1, deprecateAfter: "7d" })],
      [build(1), build(2), build(3, release), build(4), build(5)],
      { desired: "1.0.5+00000005" },
    );
    // 5 desired, 3 in release, 4 the one newest unused kept: 1 and 2 start their clocks.
    expect(summary).toEqual(["set-tags ami-b2", "set-tags ami-b1"]);
    expect(result.kept.map((k) => `${k.imageId}: ${k.protections.join("; ")}`)).toEqual([
      "ami-b5: the build the spec wants now",
      "ami-b4: one of the 1 newest unused builds kept (keepBuilds)",
      "ami-b3: in channel release",
    ]);
  });

  it("orders builds by their earliest image in any region: a late copy does not make a build newer", () => {
    const twoRegions = base({ keepBuilds: 1, deprecateAfter: "7d" }, { regions: [REGION, "eu-west-1"] });
    const at = (n: number, region: string, day: number) =>
      leavenImage(region, "base", `1.0.${n}+0000000${n}`, {
        id: `ami-b${n}-${region}`,
        createdAt: T0 + day * DAY,
        tags: { [Tag.parentSpec]: "ubuntu", [Tag.parentBuild]: "jammy", [Tag.homeRegion]: REGION },
      });
    // Build 1 was baked on day 10 and copied on day 30; build 2 was baked on day 20 and copied on day 21:
    // build 2 is the newer one, and the one keepBuilds keeps.
    const images = [at(1, REGION, 10), at(1, "eu-west-1", 30), at(2, REGION, 20), at(2, "eu-west-1", 21)];
    const { result } = run([twoRegions], images, { desired: "1.0.9+00000009" });
    expect(result.kept.map((k) => `${k.imageId}: ${k.protections.join("; ")}`).sort()).toEqual([
      "ami-b2-eu-west-1: one of the 1 newest unused builds kept (keepBuilds)",
      "ami-b2-us-east-1: one of the 1 newest unused builds kept (keepBuilds)",
    ]);
  });

  it("keeps a build that a live child was baked on, naming the child", () => {
    const child = leavenImage(REGION, "api", "2.0.0+c0000001", {
      id: "ami-c1",
      tags: { [Tag.parentSpec]: "base", [Tag.parentBuild]: "1.0.1+00000001" },
    });
    const { result, summary } = run([base({ keepBuilds: 0, deprecateAfter: "1d" })], [build(1), child]);
    expect(summary).toEqual([]);
    expect(result.kept.find((k) => k.imageId === "ami-b1")?.protections).toEqual([
      "parent of api 2.0.0+c0000001",
    ]);
  });

  it("planning a scope, keeps a parent for every child, however many, and plans nothing outside it", () => {
    const child = (n: number) =>
      leavenImage(REGION, "api", `2.0.${n}+c000000${n}`, {
        id: `ami-c${n}`,
        tags: { [Tag.parentSpec]: "base", [Tag.parentBuild]: "1.0.1+00000001" },
      });
    const policy = base({ keepBuilds: 0, deprecateAfter: "1d" });
    const scoped = run([policy], [build(1), build(2), child(1), child(2)], { scope: new Set(["base"]) });
    expect(scoped.summary).toEqual(["set-tags ami-b2"]);
    expect(scoped.result.kept.find((k) => k.imageId === "ami-b1")?.protections).toEqual([
      "parent of api 2.0.1+c0000001",
      "parent of api 2.0.2+c0000002",
    ]);
    // Whatever order the children were observed in.
    const reversed = run([policy], [build(1), build(2), child(2), child(1)]);
    expect(reversed.result.kept.find((k) => k.imageId === "ami-b1")?.protections).toEqual([
      "parent of api 2.0.1+c0000001",
      "parent of api 2.0.2+c0000002",
    ]);
    const outside = run([policy], [build(1), build(2), child(1)], { scope: new Set(["api"]) });
    expect(outside.summary).toEqual([]);
    expect(outside.result.kept).toEqual([]);
  });
});

describe("planRetention: stages", () => {
  const policy = { keepBuilds: 0, deprecateAfter: "7d", disableAfter: "14d", deregisterAfter: "30d" };
  const since = T0 + 50 * DAY;

  it.each([
    ["before any stage", 6, []],
    ["deprecates after deprecateAfter", 7, ["deprecate-image ami-b1"]],
    ["disables after disableAfter", 14, ["disable-image ami-b1"]],
    ["deregisters after deregisterAfter", 30, ["deregister-image ami-b1"]],
  ] as const)("%s", (_, days, expected) => {
    const tags = {
      ...unusedSince(since),
      ...(days >= 14 ? { [Tag.deprecatedAt]: iso(since + 7 * DAY) } : {}),
    };
    const { summary } = run([base(policy)], [build(1, tags)], {
      now: since + days * DAY,
      usage: "all-unused",
    });
    expect(summary).toEqual(expected);
  });

  it("records each stage's date and deprecates a minute ahead (EC2 refuses a past time)", () => {
    const now = since + 7 * DAY;
    const { actions } = run([base(policy)], [build(1, unusedSince(since))], { now, usage: "all-unused" });
    expect(actions).toEqual([
      {
        kind: "deprecate-image",
        spec: "base",
        build: "1.0.1+00000001",
        region: REGION,
        imageId: "ami-b1",
        deprecateAt: iso(now + 60_000),
        tags: { [Tag.deprecatedAt]: iso(now) },
        reason: `build 1.0.1+00000001 of base is not used, unused since ${iso(since)}: deprecateAfter 7d has passed`,
      },
    ]);
  });

  it("deregisters with the image's snapshots, and never when delete is false", () => {
    const image = build(1, unusedSince(since));
    const now = since + 40 * DAY;
    expect(run([base(policy)], [image], { now, usage: "all-unused" }).actions[0]).toMatchObject({
      kind: "deregister-image",
      snapshotIds: image.snapshotIds,
    });
    const kept = run([base({ ...policy, delete: false })], [build(1, unusedSince(since))], {
      now,
      usage: "all-unused",
    });
    expect(kept.summary).toEqual(["disable-image ami-b1"]);
  });

  it("never deregisters under --no-delete, whatever the policy", () => {
    const image = build(1, { ...unusedSince(since), [Tag.deprecatedAt]: iso(since + 7 * DAY) });
    const inv = inventory({ images: [image], usage: new Map([["ami-b1", []]]) });
    const actions: Action[] = [];
    planRetention(
      {
        specs: [base(policy)],
        index: indexInventory(inv),
        inventory: inv,
        now: since + 40 * DAY,
        desired: new Map(),
        noDelete: true,
      },
      actions,
    );
    expect(actions.map((a) => a.kind)).toEqual(["disable-image"]);
  });

  it("stages nothing until the image's use is observed, and asks for it", () => {
    const { summary, result } = run([base(policy)], [build(1, unusedSince(since))], {
      now: since + 30 * DAY,
    });
    expect(summary).toEqual([]);
    expect(result.usageNeeded).toEqual(new Map([[REGION, ["ami-b1"]]]));
  });

  it("keeps an image in use by an instance or a launch template, and says so", () => {
    const usage = new Map([
      ["ami-b1", ["instance i-0123 (stopped)", "launch template web (lt-0abc) default version 3"]],
    ]);
    const { summary, result } = run([base(policy)], [build(1, unusedSince(since))], {
      now: since + 30 * DAY,
      usage,
    });
    expect(summary).toEqual([]);
    expect(result.kept).toEqual([
      {
        spec: "base",
        build: "1.0.1+00000001",
        region: REGION,
        imageId: "ami-b1",
        protections: [
          "in use by instance i-0123 (stopped)",
          "in use by launch template web (lt-0abc) default version 3",
        ],
      },
    ]);
  });

  it("restores a retired build that a channel uses again", () => {
    const image = build(
      1,
      {
        ...release,
        ...unusedSince(since),
        [Tag.deprecatedAt]: iso(since + 7 * DAY),
        [Tag.disabledAt]: iso(since + 14 * DAY),
      },
      "disabled",
    );
    image.deprecationTime = iso(since + 7 * DAY);
    const { actions } = run([base(policy)], [image]);
    expect(actions).toEqual([
      {
        kind: "restore-image",
        spec: "base",
        build: "1.0.1+00000001",
        region: REGION,
        imageId: "ami-b1",
        enable: true,
        undeprecate: true,
        keys: [Tag.unusedSince, Tag.deprecatedAt, Tag.disabledAt],
        reason: "build 1.0.1+00000001 is used again (in channel release): its retirement is undone",
      },
    ]);
  });
});

describe("planRetention: deleted specs", () => {
  const retire = { onDelete: "retire" as const, deprecateAfter: "1d", deregisterAfter: "10d" };
  const orphanTags = { [Tag.onDelete]: "retire", [Tag.retention]: "deprecate=1d deregister=10d" };

  it("records the deletion policy on the images, and reads it back", () => {
    expect(deletionPolicyTags(base(retire).document)).toEqual(orphanTags);
    expect(parseSchedule(orphanTags[Tag.retention])).toEqual({
      deprecateAfter: "1d",
      deregisterAfter: "10d",
    });
    const { summary } = run([base(retire)], [build(1, release)]);
    expect(summary).toEqual(["set-tags ami-b1"]);
  });

  it("reports orphans with their use and retains them by default", () => {
    const { summary, result } = run([], [build(1, release)], { usage: "all-unused" });
    expect(summary).toEqual([]);
    expect(result.orphans).toEqual([
      {
        spec: "base",
        build: "1.0.1+00000001",
        images: { [REGION]: "ami-b1" },
        createdAt: iso(T0 + DAY),
        usedBy: [],
        onDelete: "retain",
      },
    ]);
  });

  it("retires orphans whose recorded policy is retire, on its schedule, whatever their channel tags", () => {
    const since = T0 + 90 * DAY;
    const { summary } = run([], [build(1, { ...release, ...orphanTags, ...unusedSince(since) })], {
      now: since + 10 * DAY,
      usage: "all-unused",
    });
    expect(summary).toEqual(["deregister-image ami-b1"]);
  });

  it("retires no orphan while a document could not be attributed to a spec", () => {
    const since = T0 + 90 * DAY;
    const inv = inventory({
      images: [build(1, { ...orphanTags, ...unusedSince(since) })],
      usage: new Map([["ami-b1", []]]),
    });
    const actions: Action[] = [];
    planRetention(
      {
        specs: [],
        index: indexInventory(inv),
        inventory: inv,
        now: since + 10 * DAY,
        desired: new Map(),
        unattributedErrors: true,
      },
      actions,
    );
    expect(actions).toEqual([]);
  });

  it("retires nothing anywhere while a region could not be observed", () => {
    const since = T0 + 90 * DAY;
    const inv = inventory({
      images: [build(1, unusedSince(since))],
      usage: new Map([["ami-b1", []]]),
      regionErrors: new Map([["eu-west-1", "RequestLimitExceeded"]]),
    });
    const actions: Action[] = [];
    const result = planRetention(
      {
        specs: [base({ keepBuilds: 0, deregisterAfter: "1d" })],
        index: indexInventory(inv),
        inventory: inv,
        now: since + 10 * DAY,
        desired: new Map(),
      },
      actions,
    );
    expect(actions).toEqual([]);
    expect(result.paused).toBe("retirement waits: eu-west-1 could not be observed");
  });
});

describe("planRetention: a region taken out of the spec", () => {
  const EU = "eu-west-1";
  const policy = { keepBuilds: 3, deprecateAfter: "7d", deregisterAfter: "30d" };
  const since = T0 + 50 * DAY;
  /** Build 1 of base in us-east-1 (home, in release) and its copy in eu-west-1, which the spec no longer names. */
  const home = (tags: Tags = {}) => build(1, { ...release, ...tags });
  const copy = (tags: Tags = {}, state: CloudImage["state"] = "available") =>
    leavenImage(EU, "base", "1.0.1+00000001", {
      id: "ami-b1-eu",
      createdAt: T0 + DAY,
      state,
      tags: { [Tag.parentSpec]: "ubuntu", [Tag.parentBuild]: "jammy", ...tags },
    });
  const child = (homeRegion: string | undefined) =>
    leavenImage(homeRegion ?? REGION, "api", "2.0.0+c0000001", {
      id: "ami-c1",
      tags: {
        [Tag.parentSpec]: "base",
        [Tag.parentBuild]: "1.0.1+00000001",
        ...(homeRegion ? { [Tag.homeRegion]: homeRegion } : {}),
      },
    });

  it("starts the clock of the copy there, though the build is in a channel and wanted where the spec still is", () => {
    const { actions, summary } = run([base(policy)], [home(), copy()], { desired: "1.0.1+00000001" });
    expect(summary).toEqual(["set-tags ami-b1-eu"]);
    expect(actions[0]).toMatchObject({
      region: EU,
      tags: { [Tag.unusedSince]: iso(T0 + 100 * DAY) },
      reason: "base is no longer in eu-west-1: its retirement clock starts",
    });
  });

  it.each([
    ["nothing before deprecateAfter", 6, [], []],
    ["deprecates after deprecateAfter", 7, [], ["deprecate-image ami-b1-eu"]],
    ["deregisters after deregisterAfter", 30, [Tag.deprecatedAt], ["deregister-image ami-b1-eu"]],
  ] as const)("%s, leaving the home image alone", (_, days, done, expected) => {
    const tags: Tags = { ...unusedSince(since) };
    for (const key of done) tags[key] = iso(since + 7 * DAY);
    const { summary, actions } = run([base(policy)], [home(), copy(tags)], {
      now: since + days * DAY,
      usage: "all-unused",
      desired: "1.0.1+00000001",
    });
    expect(summary).toEqual(expected);
    for (const action of actions)
      expect(action.reason).toMatch(
        /^base is no longer in eu-west-1, unused since .*: \w+After \d+d has passed$/,
      );
  });

  it("stages nothing there until the copy's use is observed, and keeps it while an instance uses it", () => {
    const tags = unusedSince(since);
    const unknown = run([base(policy)], [home(), copy(tags)], { now: since + 31 * DAY });
    expect(unknown.summary).toEqual([]);
    expect(unknown.result.usageNeeded).toEqual(new Map([[EU, ["ami-b1-eu"]]]));
    const used = run([base(policy)], [home(), copy(tags)], {
      now: since + 31 * DAY,
      usage: new Map([
        ["ami-b1", []],
        ["ami-b1-eu", ["instance i-0fleet (running)"]],
      ]),
    });
    expect(used.summary).toEqual([]);
    expect(used.result.kept.filter((k) => k.region === EU)).toEqual([
      {
        spec: "base",
        build: "1.0.1+00000001",
        region: EU,
        imageId: "ami-b1-eu",
        protections: ["in use by instance i-0fleet (running)"],
      },
    ]);
  });

  it("keeps the copy while it still carries a channel there, or a child was baked there (or says not where)", () => {
    const tags = unusedSince(since);
    const options = { now: since + 31 * DAY, usage: "all-unused" as const };
    const channel = run([base(policy)], [home(), copy({ ...tags, ...release })], options);
    expect(channel.summary).toEqual([]);
    expect(channel.result.kept.find((k) => k.region === EU)?.protections).toEqual([
      "in channel release in eu-west-1",
    ]);
    for (const where of [EU, undefined]) {
      const baked = run([base(policy)], [home(), copy(tags), child(where)], options);
      expect(baked.summary).toEqual([]);
      expect(baked.result.kept.find((k) => k.region === EU)?.protections).toEqual([
        "parent of api 2.0.0+c0000001",
      ]);
    }
    // A child baked where the spec still is does not need the copy.
    const elsewhere = run([base(policy)], [home(), copy(tags), child(REGION)], options);
    expect(elsewhere.summary).toEqual(["deregister-image ami-b1-eu"]);
  });

  it("retires nothing there without a retention schedule, and restores the copy once the region is back", () => {
    expect(run([base(undefined)], [home(), copy()]).summary).toEqual([]);
    const retired = copy({ ...unusedSince(since), [Tag.deprecatedAt]: iso(since + 7 * DAY) });
    retired.deprecationTime = iso(since + 7 * DAY);
    const back = base(policy, { regions: [REGION, EU] });
    const { actions } = run([back], [home(), retired], { desired: "1.0.1+00000001" });
    expect(actions).toEqual([
      {
        kind: "restore-image",
        spec: "base",
        build: "1.0.1+00000001",
        region: EU,
        imageId: "ami-b1-eu",
        enable: false,
        undeprecate: true,
        keys: [Tag.unusedSince, Tag.deprecatedAt],
        reason:
          "build 1.0.1+00000001 is used again (in channel release, the build the spec wants now): its retirement is undone",
      },
    ]);
  });

  it("retires nothing there while a region could not be observed", () => {
    const inv = inventory({
      images: [home(), copy(unusedSince(since))],
      usage: new Map([
        ["ami-b1", []],
        ["ami-b1-eu", []],
      ]),
      regionErrors: new Map([["ap-southeast-2", "RequestLimitExceeded"]]),
    });
    const actions: Action[] = [];
    planRetention(
      {
        specs: [base(policy)],
        index: indexInventory(inv),
        inventory: inv,
        now: since + 31 * DAY,
        desired: new Map(),
      },
      actions,
    );
    expect(actions).toEqual([]);
  });
});
