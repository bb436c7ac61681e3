// The inventory a long-running process keeps across passes (controller/observe/inventory-cache.ts): what a
// pass refreshes, and the property that matters — over random histories of spec edits, bakes, copies,
// retirements, clock jumps and changes made behind Leaven's back, the inventory a pass plans from equals a
// fresh full walk of the cloud at that moment, and so does the plan made from it. The only exception is the
// one the design allows: a change nobody told Leaven about (a retag, a deregistration, a parameter edited by
// hand) is found by the region's next full walk, which must come within the full-walk interval.
import fc from "fast-check";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { channelTag, MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import type { ImageSpecSpec } from "../../controller/api/types.generated.ts";
import type { CloudImage } from "../../controller/cloud/port.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import type { Inventory, ObservedParameter } from "../../controller/observe/inventory.ts";
import { creationDatePatterns, InventoryCache } from "../../controller/observe/inventory-cache.ts";
import { walkOwnedImages } from "../../controller/observe/observe.ts";
import { observeParameters } from "../../controller/observe/parameters.ts";
import { observeUsage } from "../../controller/observe/usage.ts";
import { type Plan, plan } from "../../controller/plan/plan.ts";
import { Reconciler } from "../../controller/reconcile/reconciler.ts";
import { imageState } from "../../controller/sim/images.ts";
import type { ValidationResult, ValidSpec } from "../../controller/validation/result.ts";
import { spec } from "../plan/builders.ts";
import {
  advanceOnSleep,
  FAST_TIMINGS,
  MINUTE,
  requestTable,
  type SimCloud,
  startSimCloud,
} from "../support/sim-cloud.ts";
import { baseSpec, ubuntuFoundation, validation } from "../support/sim-specs.ts";

const HOUR = 60 * MINUTE;
const FULL_WALK = 10 * MINUTE;

describe("creationDatePatterns", () => {
  it.each([
    ["within one hour", "2026-12-02T04:10:00Z", "2026-12-02T04:40:00Z", ["2026-12-02T04*"]],
    ["across an hour", "2026-12-02T04:50:00Z", "2026-12-02T05:20:00Z", ["2026-12-02T04*", "2026-12-02T05*"]],
    ["across midnight", "2026-12-01T23:45:00Z", "2026-12-02T00:15:00Z", ["2026-12-01T23*", "2026-12-02T00*"]],
    [
      "past a day: one per day",
      "2026-12-01T10:00:00Z",
      "2026-12-03T01:00:00Z",
      ["2026-12-01*", "2026-12-02*", "2026-12-03*"],
    ],
  ])("%s", (_, from, to, expected) => {
    expect(creationDatePatterns(Date.parse(from), Date.parse(to))).toEqual(expected);
  });
});

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud({
    timings: FAST_TIMINGS,
  });
});
afterEach(async () => {
  await t.close();
});

const published = (regions: [string, ...string[]] = ["us-east-1", "eu-west-1"]) =>
  validation(ubuntuFoundation(regions), baseSpec("base", { regions }));

/** The cloud as a fresh full walk sees it now: what the cache must agree with. */
async function freshWalk(specs: readonly ValidSpec[], regions: readonly string[]) {
  const images = new Map<string, CloudImage[]>();
  for (const region of regions) images.set(region, await walkOwnedImages(t.cloud, region));
  // Regions the inventory holds beyond the specs' are the stray ones (observe/stray-regions.ts): listed too.
  const named = new Set(specs.flatMap((s) => s.document.spec.regions));
  const strays = regions.filter((region) => !named.has(region));
  const parameters = await observeParameters(t.cloud, specs, undefined, undefined, strays);
  return { images, parameters: parameters.parameters };
}

const byId = (images: readonly CloudImage[]) =>
  [...images].sort((a, b) => (a.imageId < b.imageId ? -1 : 1)).map((i) => JSON.stringify(i));
const byName = (parameters: readonly ObservedParameter[]) =>
  [...parameters].map((p) => JSON.stringify(p)).sort();

describe("InventoryCache", () => {
  it("walks each region in full first, then asks only for new images, acted-on ids and changed specs", async () => {
    const specs = published();
    const reconciler = new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger });
    for (let i = 0; i < 30; i++) {
      t.clock.advance(MINUTE);
      const pass = await reconciler.pass(specs);
      if (pass.executed.length === 0 && pass.statuses.every((s) => s.phase === "Ready")) break;
    }
    const cache = new InventoryCache({ cloud: t.cloud });
    const first = await cache.refresh(specs.specs, t.clock.now());
    expect(first.fullWalks).toEqual(
      new Map([
        ["eu-west-1", "first walk"],
        ["us-east-1", "first walk"],
      ]),
    );
    t.adapter.resetStats();
    t.clock.advance(MINUTE);
    const quiet = await cache.refresh(specs.specs, t.clock.now());
    expect(quiet.changed).toBe(false);
    expect(quiet.specsChanged).toBe(false);
    expect(requestTable(t.adapter)).toEqual({ "eu-west-1 DescribeImages": 1, "us-east-1 DescribeImages": 1 });

    // Somebody else's Leaven (another process of this installation) makes an image: the creation-date query finds it.
    const [made] = t.sim.seedImages([
      {
        region: "eu-west-1",
        name: "leaven/base/by-hand",
        tags: { [Tag.managedBy]: MANAGED_BY_VALUE, [Tag.spec]: "base", [Tag.build]: "9.9.9+0badc0de" },
      },
    ]);
    t.clock.advance(MINUTE);
    const found = await cache.refresh(specs.specs, t.clock.now());
    expect(found.changed).toBe(true);
    expect(found.images.map((i) => i.imageId)).toContain(made);

    // An edited spec: its images are read by their spec tag, one request per region, nothing else.
    t.adapter.resetStats();
    const edited = validation(
      ubuntuFoundation(["us-east-1", "eu-west-1"]),
      baseSpec("base", { regions: ["us-east-1", "eu-west-1"], version: "1.0.1" }),
    );
    t.clock.advance(MINUTE);
    const afterEdit = await cache.refresh(edited.specs, t.clock.now());
    expect(afterEdit.specsChanged).toBe(true);
    expect(afterEdit.fullWalks.size).toBe(0);
    expect(requestTable(t.adapter)).toEqual({ "eu-west-1 DescribeImages": 2, "us-east-1 DescribeImages": 2 });

    // A deregistration Leaven was not told about is found by the scheduled full walk.
    const victim = afterEdit.images.find((i) => i.region === "us-east-1" && i.tags[Tag.spec] === "base")!;
    await t.cloud.deregisterImage("us-east-1", victim.imageId);
    t.clock.advance(MINUTE);
    const stale = await cache.refresh(edited.specs, t.clock.now());
    expect(stale.images.map((i) => i.imageId)).toContain(victim.imageId);
    t.clock.advance(FULL_WALK);
    const walked = await cache.refresh(edited.specs, t.clock.now());
    expect(walked.fullWalks.get("us-east-1")).toBe("scheduled");
    expect(walked.images.find((i) => i.imageId === victim.imageId)?.state ?? "gone").not.toBe("available");
  });

  it("reads back what the last pass acted on, and walks a region whose watched image disappeared", async () => {
    const specs = published();
    const cache = new InventoryCache({ cloud: t.cloud });
    const [id] = t.sim.seedImages([
      {
        region: "us-east-1",
        name: "leaven/base/1",
        creationDate: t.clock.now() - 3 * HOUR,
        tags: { [Tag.managedBy]: MANAGED_BY_VALUE, [Tag.spec]: "base", [Tag.build]: "1.0.0+00000001" },
      },
    ]);
    await cache.refresh(specs.specs, t.clock.now());
    await t.cloud.createTags("us-east-1", [id!], { [channelTag("release")]: "true" });
    cache.noteResults([
      {
        ok: true,
        actions: [
          {
            kind: "set-tags",
            spec: "base",
            build: "1.0.0+00000001",
            region: "us-east-1",
            imageId: id!,
            tags: { [channelTag("release")]: "true" },
            reason: "test",
          },
        ],
      },
    ]);
    t.clock.advance(MINUTE);
    const after = await cache.refresh(specs.specs, t.clock.now());
    expect(after.images.find((i) => i.imageId === id)?.tags[channelTag("release")]).toBe("true");

    // The image is gone although Leaven did not deregister it: the region is walked in full next time.
    cache.noteResults([
      {
        ok: true,
        actions: [
          {
            kind: "set-tags",
            spec: "base",
            build: "1.0.0+00000001",
            region: "us-east-1",
            imageId: id!,
            tags: {},
            reason: "test",
          },
        ],
      },
    ]);
    await t.cloud.deregisterImage("us-east-1", id!);
    t.clock.advance(MINUTE);
    await cache.refresh(specs.specs, t.clock.now());
    t.clock.advance(MINUTE);
    const next = await cache.refresh(specs.specs, t.clock.now());
    expect(next.fullWalks).toEqual(new Map([["us-east-1", `image ${id} disappeared`]]));
  });
});

// ——— The property ———

type Step =
  | { kind: "bump"; spec: "base" | "app" }
  | { kind: "pin"; channel: "candidate" | "release"; pick: number }
  | { kind: "unpin" }
  | { kind: "region"; add: boolean }
  | { kind: "toggle-app" }
  | { kind: "wait"; minutes: number }
  // Somebody's fleet on one of Leaven's images, and its end: what retirement must see, outside the cache.
  | { kind: "use"; pick: number }
  | { kind: "free" }
  | { kind: "passes"; count: number }
  // Behind Leaven's back, found by the next refresh:
  | { kind: "foreign-leaven-image"; region: number }
  // Behind Leaven's back, found by the next full walk:
  | { kind: "retag"; pick: number }
  | { kind: "untag-channel"; pick: number }
  | { kind: "deregister"; pick: number }
  | { kind: "parameter-by-hand"; region: number };

const stepArb: fc.Arbitrary<Step> = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant("bump" as const),
      spec: fc.constantFrom("base" as const, "app" as const),
    }),
    weight: 1,
  },
  fc.record({
    kind: fc.constant("pin" as const),
    channel: fc.constantFrom("candidate" as const, "release" as const),
    pick: fc.nat(10),
  }),
  { arbitrary: fc.record({ kind: fc.constant("unpin" as const) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("region" as const), add: fc.boolean() }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("toggle-app" as const) }), weight: 1 },
  {
    arbitrary: fc.record({ kind: fc.constant("wait" as const), minutes: fc.constantFrom(1, 4, 9, 11, 45) }),
    weight: 3,
  },
  {
    arbitrary: fc.record({ kind: fc.constant("passes" as const), count: fc.integer({ min: 1, max: 5 }) }),
    weight: 3,
  },
  { arbitrary: fc.record({ kind: fc.constant("use" as const), pick: fc.nat(50) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant("free" as const) }), weight: 3 },
  {
    arbitrary: fc.record({ kind: fc.constant("foreign-leaven-image" as const), region: fc.nat(2) }),
    weight: 1,
  },
  { arbitrary: fc.record({ kind: fc.constant("retag" as const), pick: fc.nat(50) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("untag-channel" as const), pick: fc.nat(50) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("deregister" as const), pick: fc.nat(50) }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant("parameter-by-hand" as const), region: fc.nat(2) }), weight: 1 },
);

const ALL_REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"] as const;

interface Model {
  base: number;
  app: number;
  appPresent: boolean;
  threeRegions: boolean;
  pins: Partial<Record<"candidate" | "release", string>>;
}

function specsOf(model: Model): ValidationResult {
  const regions: [string, ...string[]] = model.threeRegions
    ? [...ALL_REGIONS]
    : [ALL_REGIONS[0], ALL_REGIONS[1]];
  const channels: Record<string, { latest?: boolean; build?: string }> = {
    candidate: model.pins.candidate ? { build: model.pins.candidate } : { latest: true },
    release: model.pins.release ? { build: model.pins.release } : { latest: true },
  };
  const base = baseSpec("base", {
    regions,
    version: `1.0.${model.base}`,
    channels,
    retention: { keepBuilds: 1, deprecateAfter: "1h", deregisterAfter: "1d" },
  } as Partial<ImageSpecSpec>);
  const app = spec("app", {
    layer: "app",
    parent: { spec: "base", channel: "release" },
    version: `2.0.${model.app}`,
    provision: { packages: ["curl"] },
    regions: [regions[0]],
    channels: { release: { latest: true } },
    retention: { keepBuilds: 0, deprecateAfter: "1h", deregisterAfter: "1d", onDelete: "retire" },
  } as ImageSpecSpec & Pick<ImageSpecSpec, "layer">);
  return validation(ubuntuFoundation(regions), base, ...(model.appPresent ? [app] : []));
}

/** The inventory's images and parameters in `region`, as comparable strings. */
function regionView(inventory: Pick<Inventory, "images" | "parameters">, region: string) {
  return {
    images: byId(inventory.images.filter((i) => i.region === region)),
    parameters: byName((inventory.parameters ?? []).filter((p) => p.region === region)),
  };
}

/** A plan with its lists in one order: what it does, not the order it found things in. */
const canonical = (p: Plan) => ({
  actions: p.actions.map((a) => JSON.stringify(a)).sort(),
  statuses: [...p.statuses].sort((a, b) => (a.name < b.name ? -1 : 1)),
  bakeRegions: p.bakeRegions,
  retention: p.retention && {
    ...p.retention,
    kept: p.retention.kept.map((k) => JSON.stringify(k)).sort(),
    orphans: p.retention.orphans.map((o) => JSON.stringify(o)).sort(),
    usageNeeded: [...p.retention.usageNeeded].sort(),
  },
});

const sortedInventory = (inventory: Inventory): Inventory => ({
  ...inventory,
  images: [...inventory.images].sort((a, b) => (a.imageId < b.imageId ? -1 : 1)),
  parameters: [...(inventory.parameters ?? [])].sort((a, b) =>
    `${a.region} ${a.name}` < `${b.region} ${b.name}` ? -1 : 1,
  ),
});

let ownPlansCompared = 0;
let scopedPlansCompared = 0;

async function runHistory(steps: readonly Step[]): Promise<{ compared: number; plansCompared: number }> {
  const model: Model = { base: 0, app: 0, appPresent: true, threeRegions: false, pins: {} };
  /** region → when a change Leaven cannot see before a full walk was made there (first one since the last walk). */
  const dirty = new Map<string, number>();
  let compared = 0;
  let plansCompared = 0;
  let current = specsOf(model);
  const violations: string[] = [];
  const reconciler = new Reconciler({
    cloud: t.cloud,
    clock: t.clock,
    logger: silentLogger,
    fullWalkIntervalMs: FULL_WALK,
    onPlan: async (plan_, inventory, observation) => {
      const now = t.clock.now();
      for (const region of observation.fullWalks.keys()) dirty.delete(region);
      for (const [region, since] of dirty)
        if (inventory.regions.includes(region) && now - since > FULL_WALK + MINUTE)
          violations.push(`${region} changed behind Leaven's back at ${since} and was not walked by ${now}`);
      if (inventory.regionErrors.size > 0) return;
      const fresh = await freshWalk(current.specs, inventory.regions);
      if (observation.reusedPlan && dirty.size === 0) {
        // A reused plan must still be right: the world it was made from has not changed, so a plan from a
        // fresh walk (with the images' use observed) at the time it was made is the very same plan.
        const now_ = observation.plannedAt;
        const freshInventory: Inventory = {
          ...inventory,
          images: [...fresh.images.values()].flat(),
          parameters: fresh.parameters,
          usage: new Map(),
        };
        const input = { specs: current.specs, blocked: current.blocked, now: now_ };
        let again = plan({ ...input, inventory: freshInventory });
        const needed = again.retention?.usageNeeded;
        if (needed && needed.size > 0) {
          await observeUsage(t.cloud, freshInventory, needed);
          again = plan({ ...input, inventory: freshInventory });
        }
        if (JSON.stringify(again) !== JSON.stringify(plan_))
          violations.push(
            `at ${t.clock.now()}: the reused plan of ${now_} is not what the world gives now: ${again.actions.map((a) => `${a.kind} ${a.region}`).join(", ")}`,
          );
      }
      const freshInventory: Inventory = {
        ...inventory,
        images: [...fresh.images.values()].flat(),
        parameters: fresh.parameters,
      };
      for (const region of inventory.regions) {
        if (dirty.has(region)) continue;
        compared++;
        const cached = regionView(inventory, region);
        const walked = regionView(freshInventory, region);
        if (JSON.stringify(cached) !== JSON.stringify(walked))
          violations.push(
            `${region} at ${now}: the inventory differs from a full walk:\n${JSON.stringify({ cached, walked }, null, 1)}`,
          );
      }
      if (dirty.size > 0) return;
      plansCompared++;
      const input = { specs: current.specs, blocked: current.blocked, now };
      const fromCache = plan({ ...input, inventory: sortedInventory(inventory) });
      const fromWalk = plan({ ...input, inventory: sortedInventory(freshInventory) });
      if (JSON.stringify(fromCache) !== JSON.stringify(fromWalk))
        violations.push(`at ${now}: the plan from the inventory differs from the plan from a full walk`);
      if (observation.reusedPlan) return;
      // The reconciler's own plan — from the index it keeps across passes, and planned only for the changed
      // specs' lineage where it could be — is the plan of a fresh walk, but for the order of its actions.
      ownPlansCompared++;
      if (observation.scoped) scopedPlansCompared++;
      if (JSON.stringify(canonical(plan_)) !== JSON.stringify(canonical(fromWalk)))
        violations.push(
          `at ${now}: the reconciler's ${observation.scoped ? `plan of ${[...observation.scoped].join(", ")}` : "plan"} differs from the plan from a full walk:\n${JSON.stringify({ own: canonical(plan_), walked: canonical(fromWalk) }, null, 1)}`,
        );
    },
  });
  const pass = async () => {
    t.clock.advance(20_000);
    current = specsOf(model);
    await reconciler.pass(current);
  };
  const leavenImages = () =>
    ALL_REGIONS.flatMap((region) =>
      [...t.sim.world.region(region).images.values()]
        .filter((i) => i.tags[Tag.managedBy] === MANAGED_BY_VALUE)
        .map((i) => ({ region, image: i })),
    );
  const fleet: { region: string; instanceId: string }[] = [];
  const markDirty = (region: string) => {
    if (!dirty.has(region)) dirty.set(region, t.clock.now());
  };
  for (const step of steps) {
    switch (step.kind) {
      case "bump":
        model[step.spec]++;
        break;
      case "pin": {
        const builds = [
          ...new Set(
            leavenImages().flatMap(({ image }) =>
              image.tags[Tag.spec] === "base" ? [image.tags[Tag.build]!] : [],
            ),
          ),
        ].sort();
        const build = builds[step.pick % Math.max(1, builds.length)];
        if (build) model.pins[step.channel] = build;
        break;
      }
      case "unpin":
        model.pins = {};
        break;
      case "region":
        model.threeRegions = step.add;
        break;
      case "toggle-app":
        model.appPresent = !model.appPresent;
        break;
      case "wait":
        t.clock.advance(step.minutes * MINUTE);
        break;
      case "use": {
        const images = leavenImages().filter(
          ({ image }) =>
            imageState(image, t.clock.now()) === "available" &&
            !Object.keys(image.tags).some((k) => k.startsWith("leaven.dev/channel/")),
        );
        const picked = images[step.pick % Math.max(1, images.length)];
        if (!picked) break;
        // An image EC2 will not launch yet (pending) is simply not used.
        const launched = await t.cloud
          .runInstance(picked.region, {
            imageId: picked.image.imageId,
            instanceType: "t3.micro",
            userData: "",
            clientToken: `fleet-${t.clock.now()}`,
            tags: {},
          })
          .catch(() => undefined);
        if (launched) fleet.push({ region: picked.region, instanceId: launched.instanceId });
        break;
      }
      case "free": {
        const instance = fleet.shift();
        if (instance) await t.cloud.terminateInstances(instance.region, [instance.instanceId]);
        break;
      }
      case "passes":
        for (let i = 0; i < step.count; i++) await pass();
        break;
      case "foreign-leaven-image": {
        const region = ALL_REGIONS[step.region % ALL_REGIONS.length]!;
        t.sim.seedImages([
          {
            region,
            name: `leaven/base/other-${t.clock.now()}`,
            tags: {
              [Tag.managedBy]: MANAGED_BY_VALUE,
              [Tag.spec]: "base",
              [Tag.build]: `0.0.${t.clock.now() % 1000}+feedface`,
              [Tag.homeRegion]: region,
            },
          },
        ]);
        break;
      }
      case "retag":
      case "untag-channel":
      case "deregister": {
        const images = leavenImages();
        const picked = images[step.pick % Math.max(1, images.length)];
        if (!picked) break;
        const { region, image } = picked;
        if (step.kind === "retag")
          await t.cloud.createTags(region, [image.imageId], { team: `t${step.pick}` });
        else if (step.kind === "untag-channel") {
          const channels = Object.keys(image.tags).filter((k) => k.startsWith("leaven.dev/channel/"));
          if (channels.length === 0) break;
          await t.cloud.deleteTags(region, [image.imageId], channels);
        } else await t.cloud.deregisterImage(region, image.imageId);
        markDirty(region);
        break;
      }
      case "parameter-by-hand": {
        const region = ALL_REGIONS[step.region % ALL_REGIONS.length]!;
        const parameters = t.sim.world.region(region).parameters;
        const ours = [...parameters.values()].find((p) => p.tags[Tag.managedBy] === MANAGED_BY_VALUE);
        if (!ours) break;
        ours.value = "ami-0fedcba9876543210";
        ours.version++;
        markDirty(region);
        break;
      }
    }
    await pass();
  }
  // The dirty regions are walked within the interval, and then everything agrees.
  t.clock.advance(FULL_WALK);
  await pass();
  const observed = new Set(current.specs.flatMap((s) => s.document.spec.regions));
  const unwalked = [...dirty.keys()].filter((region) => observed.has(region));
  if (unwalked.length > 0) violations.push(`still not walked: ${unwalked.join(", ")}`);
  if (violations.length > 0) throw new Error(violations.join("\n"));
  return { compared, plansCompared };
}

const RUNS = Number(process.env.LEAVEN_INVENTORY_HISTORIES ?? 25);

describe("the incremental inventory", () => {
  it(`equals a fresh full walk, and plans the same, over ${RUNS} random histories`, {
    timeout: 10 * 60_000,
  }, async () => {
    let compared = 0;
    let plansCompared = 0;
    await fc.assert(
      fc.asyncProperty(fc.array(stepArb, { minLength: 3, maxLength: 20 }), async (steps) => {
        // Each history gets a world of its own.
        await t.close();
        t = await startSimCloud({
          timings: FAST_TIMINGS,
        });
        advanceOnSleep(t.clock);
        const report = await runHistory(steps);
        compared += report.compared;
        plansCompared += report.plansCompared;
      }),
      { numRuns: RUNS, seed: 20261202, endOnFailure: true },
    );
    // The comparisons really ran, most of them with nothing hidden from the refresh.
    expect(compared).toBeGreaterThan(RUNS * 5);
    expect(plansCompared).toBeGreaterThan(RUNS * 2);
    expect(ownPlansCompared).toBeGreaterThan(RUNS);
    expect(scopedPlansCompared).toBeGreaterThan(0);
    console.log(
      `${ownPlansCompared} plans of the reconciler compared, ${scopedPlansCompared} of them scoped`,
    );
  });
});
