// Staged retirement end to end: the reconciler against the simulator over HTTP. An old build leaves its
// channels, its clock starts, it is deprecated and then deregistered with its snapshots — except where an
// instance or a launch template still uses it, which keeps exactly that region's image until it is free.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { type PassResult, Reconciler, settled } from "../../controller/reconcile/reconciler.ts";
import { renderPlan, renderRetention } from "../../controller/status/render-plan.ts";
import { verdictOf } from "../../controller/status/verdict.ts";
import type { ValidationResult } from "../../controller/validation/result.ts";
import { MINUTE, type SimCloud, startSimCloud } from "../support/sim-cloud.ts";
import { baseSpec, ubuntuFoundation, validation } from "../support/sim-specs.ts";

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

const HOUR = 60 * MINUTE;
const retention = { keepBuilds: 0, deprecateAfter: "1h", deregisterAfter: "3h" };
const v1 = validation(
  ubuntuFoundation(["us-east-1", "eu-west-1"]),
  baseSpec("base", { version: "1.0.0", retention }),
);
const v2 = validation(
  ubuntuFoundation(["us-east-1", "eu-west-1"]),
  baseSpec("base", { version: "1.0.1", retention }),
);

async function converge(r: Reconciler, specs: ValidationResult): Promise<PassResult> {
  for (let i = 0; i < 60; i++) {
    t.clock.advance(MINUTE);
    const pass = await r.pass(specs);
    if (settled(pass)) return pass;
  }
  throw new Error("not settled after 60 passes");
}

const imagesOf = (region: string, build: string) =>
  [...t.sim.world.region(region).images.values()].filter((i) => i.tags[Tag.build] === build);

describe("staged retirement", () => {
  it("deprecates, then deregisters an unused build with its snapshots, keeping the region where an instance uses it", async () => {
    const r = new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger });
    const first = await converge(r, v1);
    const old = first.statuses.find((s) => s.name === "base")!.desiredBuild!;
    const [oldEu] = imagesOf("eu-west-1", old);
    const [oldUs] = imagesOf("us-east-1", old);
    // Somebody's fleet in eu-west-1 runs the old build (not a Leaven instance: no tags at all).
    const fleet = await t.cloud.runInstance("eu-west-1", {
      imageId: oldEu!.imageId,
      instanceType: "t3.micro",
      userData: "",
      clientToken: "fleet",
      tags: {},
    });

    // v2 replaces it in both channels: the old build's clock starts.
    await converge(r, v2);
    expect(oldUs!.tags[Tag.unusedSince]).toBeDefined();

    t.clock.advance(HOUR + MINUTE);
    const deprecation = await r.pass(v2);
    expect(deprecation.executed.map((a) => `${a.kind} ${a.region}`).sort()).toEqual([
      "deprecate-image us-east-1",
    ]);
    expect(oldUs!.deprecationTime).toBeDefined();
    expect(oldUs!.tags[Tag.deprecatedAt]).toBeDefined();
    // What `leaven plan` shows for it: the stage, where, on what, and why.
    const text = renderPlan(
      deprecation.plan,
      verdictOf({
        command: "plan",
        diagnostics: [],
        statuses: deprecation.plan.statuses,
        actions: deprecation.plan.actions,
        regionErrors: new Map(),
      }),
    );
    expect(text).toContain(
      `  - deprecate    us-east-1      ${oldUs!.imageId} (${old})\n      because build ${old} of base is not used, unused since ${oldUs!.tags[Tag.unusedSince]}: deprecateAfter 1h has passed\n`,
    );
    // The current build is past the first stage's age too: kept, and why.
    const current = deprecation.statuses.find((s) => s.name === "base")!.desiredBuild!;
    const [currentUs] = imagesOf("us-east-1", current);
    const kept = renderRetention(deprecation.plan, t.clock.now());
    expect(kept[0]).toBe("Kept past their retirement age:");
    expect(kept).toContain(
      `  base ${current} us-east-1 ${currentUs!.imageId}: in channel candidate; in channel release; the build the spec wants now`,
    );
    expect(kept).toContain(
      `  base ${old} eu-west-1 ${oldEu!.imageId}: in use by instance ${fleet.instanceId} (running)`,
    );

    t.clock.advance(2 * HOUR);
    const deregistration = await r.pass(v2);
    expect(deregistration.executed.map((a) => `${a.kind} ${a.region}`)).toEqual([
      "deregister-image us-east-1",
    ]);
    expect(t.sim.world.region("us-east-1").images.has(oldUs!.imageId)).toBe(false);
    for (const snapshot of oldUs!.snapshotIds)
      expect(t.sim.world.region("us-east-1").snapshots.has(snapshot)).toBe(false);
    expect(t.sim.world.region("eu-west-1").images.has(oldEu!.imageId)).toBe(true);

    // The fleet stops (a stopped instance still needs its image), then is terminated: only then it goes.
    await t.cloud.stopInstances("eu-west-1", [fleet.instanceId]);
    t.clock.advance(MINUTE);
    expect((await r.pass(v2)).executed).toEqual([]);
    await t.cloud.terminateInstances("eu-west-1", [fleet.instanceId]);
    t.clock.advance(MINUTE);
    const last = await r.pass(v2);
    expect(last.executed.map((a) => `${a.kind} ${a.region}`)).toEqual(["deregister-image eu-west-1"]);
    expect(t.sim.world.region("eu-west-1").images.has(oldEu!.imageId)).toBe(false);
    // The current build is untouched.
    expect(last.statuses.find((s) => s.name === "base")!.phase).toBe("Ready");
    t.clock.advance(MINUTE);
    expect((await r.pass(v2)).executed).toEqual([]);
  });

  it("keeps an image that a launch template's default or latest version launches", async () => {
    const r = new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger });
    const first = await converge(r, v1);
    const old = first.statuses.find((s) => s.name === "base")!.desiredBuild!;
    const [oldUs] = imagesOf("us-east-1", old);
    await t.cloud.createLaunchTemplate("us-east-1", {
      name: "web-asg",
      clientToken: "web-asg",
      launch: { imageId: oldUs!.imageId, instanceType: "t3.micro", userData: "" },
      tags: {},
    });
    await converge(r, v2);
    t.clock.advance(4 * HOUR);
    const pass = await r.pass(v2);
    expect(pass.executed.map((a) => `${a.kind} ${a.region}`)).toEqual(["deregister-image eu-west-1"]);
    const kept = pass.plan.retention!.kept.find((k) => k.imageId === oldUs!.imageId);
    expect(kept?.protections).toEqual([
      expect.stringMatching(/^in use by launch template web-asg \(lt-[0-9a-f]{17}\) default version 1$/),
    ]);
    expect(t.sim.world.region("us-east-1").images.has(oldUs!.imageId)).toBe(true);
  });
});
