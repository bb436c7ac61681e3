// A region taken out of every spec, end to end against the simulator over HTTP: a controller started after
// the edit still finds Leaven's image and parameters there (no spec names the region), removes the channels
// and parameters, retires the copy on the spec's schedule with its snapshot — and never touches a look-alike
// of another installation or without the owner tag — then stops looking once the region is empty.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CHANNEL_TAG_PREFIX, Tag } from "../../controller/api/tags.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { Reconciler } from "../../controller/reconcile/reconciler.ts";
import type { ValidationResult } from "../../controller/validation/result.ts";
import { MINUTE, requestsOf, type SimCloud, startSimCloud, untilSettled } from "../support/sim-cloud.ts";
import { baseSpec, ubuntuFoundation, validation } from "../support/sim-specs.ts";

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

const HOUR = 60 * MINUTE;
const AP = "ap-southeast-2";
const retention = { keepBuilds: 0, deprecateAfter: "1h", deregisterAfter: "3h" };
const before = validation(
  ubuntuFoundation(["us-east-1"]),
  baseSpec("base", { regions: ["us-east-1", AP], retention }),
);
const after = validation(
  ubuntuFoundation(["us-east-1"]),
  baseSpec("base", { regions: ["us-east-1"], retention }),
);

const converge = (r: Reconciler, specs: ValidationResult) => untilSettled(t, r, specs, 60);

const imagesIn = (region: string) => [...t.sim.world.region(region).images.values()];
const parametersIn = (region: string) => [...t.sim.world.region(region).parameters.keys()].sort();

describe("a region no spec names any more", () => {
  it("is still observed after a restart: channels and parameters removed, the copy retired on schedule, look-alikes untouched", async () => {
    const first = new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger });
    const converged = await converge(first, before);
    const build = converged.statuses.find((s) => s.name === "base")!.desiredBuild!;
    const [copy] = imagesIn(AP).filter((i) => i.tags[Tag.build] === build);
    expect(copy).toBeDefined();
    expect(parametersIn(AP)).toEqual(["/leaven/base/candidate", "/leaven/base/release"]);
    const snapshots = [...copy!.snapshotIds];
    // Look-alikes of the copy: another installation's, and one without the owner tag.
    const otherTags = { ...copy!.tags, [Tag.installation]: "other-team" };
    const untaggedTags = { ...copy!.tags };
    delete untaggedTags[Tag.managedBy];
    const lookAlikes = t.sim.seedImages([
      { region: AP, name: `${copy!.name}-other`, tags: otherTags },
      { region: AP, name: `${copy!.name}-untagged`, tags: untaggedTags },
    ]);

    // The region leaves the spec; a new process (what a restart is) reconciles the edited specs.
    const r = new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger });
    const edited = await converge(r, after);
    expect(edited.statuses.find((s) => s.name === "base")!.phase).toBe("Ready");
    expect(parametersIn(AP)).toEqual([]);
    const moved = t.sim.world.region(AP).images.get(copy!.imageId)!;
    expect(Object.keys(moved.tags).filter((k) => k.startsWith(CHANNEL_TAG_PREFIX))).toEqual([]);
    expect(moved.tags[Tag.unusedSince]).toBeDefined();
    // The build is current where the spec still is: its home image keeps everything.
    const [home] = imagesIn("us-east-1").filter((i) => i.tags[Tag.build] === build);
    expect(home!.tags[Tag.unusedSince]).toBeUndefined();

    t.clock.advance(HOUR + MINUTE);
    const deprecation = await r.pass(after);
    expect(
      deprecation.executed.map((a) => `${a.kind} ${a.region} ${"imageId" in a ? a.imageId : ""}`),
    ).toEqual([`deprecate-image ${AP} ${copy!.imageId}`]);
    expect(deprecation.executed[0]!.reason).toMatch(
      /^base is no longer in ap-southeast-2, unused since .*: deprecateAfter 1h has passed$/,
    );

    t.clock.advance(2 * HOUR);
    const deregistration = await r.pass(after);
    expect(deregistration.executed.map((a) => `${a.kind} ${a.region}`)).toEqual([`deregister-image ${AP}`]);
    expect(t.sim.world.region(AP).images.has(copy!.imageId)).toBe(false);
    for (const snapshot of snapshots) expect(t.sim.world.region(AP).snapshots.has(snapshot)).toBe(false);
    for (const id of lookAlikes) expect(t.sim.world.region(AP).images.get(id)?.tags).toBeDefined();
    expect(t.sim.world.region("us-east-1").images.has(home!.imageId)).toBe(true);

    // Nothing of this installation's is left there: after the next sweep, a pass no longer walks the region.
    t.clock.advance(31 * MINUTE);
    await r.pass(after);
    t.adapter.resetStats();
    t.clock.advance(MINUTE);
    expect((await r.pass(after)).executed).toEqual([]);
    expect(requestsOf(t.adapter, AP, "DescribeImages")).toBe(0);
  });

  it("is observed at once without a restart, and a spec bringing it back restores the retired copy, not copies it anew", async () => {
    const r = new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger });
    const converged = await converge(r, before);
    const build = converged.statuses.find((s) => s.name === "base")!.desiredBuild!;
    await converge(r, after);
    t.clock.advance(HOUR + MINUTE);
    await r.pass(after);
    const [copy] = imagesIn(AP).filter((i) => i.tags[Tag.build] === build);
    expect(copy!.tags[Tag.deprecatedAt]).toBeDefined();

    const back = await converge(r, before);
    expect(back.statuses.find((s) => s.name === "base")!.phase).toBe("Ready");
    const restored = t.sim.world.region(AP).images.get(copy!.imageId)!;
    expect(restored.tags[Tag.unusedSince]).toBeUndefined();
    expect(restored.tags[Tag.deprecatedAt]).toBeUndefined();
    expect(restored.deprecationTime).toBeUndefined();
    expect(imagesIn(AP).filter((i) => i.tags[Tag.build] === build)).toHaveLength(1);
    expect(parametersIn(AP)).toEqual(["/leaven/base/candidate", "/leaven/base/release"]);
  });
});

describe("an account that denies the regions its specs do not name", () => {
  it("converges as before and says once which regions it could not ask", async () => {
    const named = new Set(["us-east-1", AP]);
    // What an SCP on aws:RequestedRegion does: every call elsewhere is refused (DescribeRegions is asked here).
    const denied = new Proxy(t.cloud, {
      get(target, property, receiver) {
        const value = Reflect.get(target, property, receiver);
        if (typeof value !== "function") return value;
        return (region: string, ...rest: unknown[]) =>
          typeof region === "string" && region.includes("-") && !named.has(region)
            ? Promise.reject(new Error(`UnauthorizedOperation: explicit deny in a service control policy`))
            : value.call(target, region, ...rest);
      },
    });
    const warnings: { msg: string; fields?: Record<string, unknown> }[] = [];
    const logger = {
      ...silentLogger,
      warn: (msg: string, fields?: Record<string, unknown>) =>
        warnings.push({ msg, ...(fields ? { fields } : {}) }),
    };
    const r = new Reconciler({ cloud: denied, clock: t.clock, logger });
    const converged = await converge(r, before);
    expect(converged.statuses.map((s) => s.phase)).toEqual(["Ready", "Ready"]);
    t.clock.advance(31 * MINUTE);
    await r.pass(before);
    const said = warnings.filter((w) => w.msg.startsWith("regions no spec names"));
    expect(said).toHaveLength(1);
    expect(said[0]!.fields).toEqual({
      regions: expect.arrayContaining(["eu-west-1", "us-west-2"]),
      error: "UnauthorizedOperation: explicit deny in a service control policy",
    });
    expect((said[0]!.fields!.regions as string[]).length).toBe(13);
  });
});
