// A pass after an edit plans only the edited spec's lineage and takes the rest from the last whole plan that
// found nothing to do (plan/scope.ts): against the simulator, the scope is exactly the lineage, the plan is
// the one a whole plan would make, and once the edit has converged the next pass plans everything again.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../controller/log/logger.ts";
import { type Plan, plan } from "../../controller/plan/plan.ts";
import { scopeOf } from "../../controller/plan/scope.ts";
import { type PassResult, Reconciler, settled } from "../../controller/reconcile/reconciler.ts";
import type { ValidationResult } from "../../controller/validation/result.ts";
import { advanceOnSleep, FAST_TIMINGS, MINUTE, type SimCloud, startSimCloud } from "../support/sim-cloud.ts";
import { baseSpec, ubuntuFoundation, validation } from "../support/sim-specs.ts";

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud({ timings: FAST_TIMINGS });
  advanceOnSleep(t.clock);
});
afterEach(async () => {
  await t.close();
});

const app = (name: string, overrides = {}) =>
  baseSpec(name, { layer: "app", parent: { spec: "base", channel: "release" }, ...overrides });

function estate(release?: string): ValidationResult {
  return validation(
    ubuntuFoundation(["us-east-1", "eu-west-1"]),
    baseSpec("base"),
    app("web", release ? { channels: { candidate: { latest: true }, release: { build: release } } } : {}),
    app("api"),
    app("worker", { version: "2.0.0" }),
  );
}

const canonical = (p: Plan) => ({
  actions: p.actions.map((a) => JSON.stringify(a)).sort(),
  statuses: [...p.statuses].sort((a, b) => (a.name < b.name ? -1 : 1)),
  bakeRegions: p.bakeRegions,
  kept: (p.retention?.kept ?? []).map((k) => JSON.stringify(k)).sort(),
});

async function untilSettled(r: Reconciler, specs: ValidationResult): Promise<PassResult[]> {
  const passes: PassResult[] = [];
  for (let i = 0; i < 60; i++) {
    t.clock.advance(MINUTE);
    const pass = await r.pass(specs);
    passes.push(pass);
    if (settled(pass)) return passes;
  }
  throw new Error("not settled after 60 passes");
}

describe("scopeOf", () => {
  it.each([
    ["a leaf app: itself and its ancestors", ["web"], ["base", "ubuntu", "web"]],
    [
      "a base: itself, every app on it, and the foundation",
      ["base"],
      ["api", "base", "ubuntu", "web", "worker"],
    ],
    ["the foundation: everything", ["ubuntu"], ["api", "base", "ubuntu", "web", "worker"]],
    ["an unknown name: nothing", ["gone"], []],
    ["two apps: both lineages", ["web", "api"], ["api", "base", "ubuntu", "web"]],
  ])("%s", (_, changed, expected) => {
    expect([...scopeOf(estate().specs, changed)].sort()).toEqual(expected);
  });
});

describe("a pass after a channel edit", () => {
  it("plans the edited spec's lineage alone, the plan a whole plan would make, then everything again", async () => {
    const plans: { plan: Plan; scoped?: ReadonlySet<string>; expected: Plan }[] = [];
    let current = estate();
    const r = new Reconciler({
      cloud: t.cloud,
      clock: t.clock,
      logger: silentLogger,
      onPlan: (planned, inventory, observation) => {
        const expected = plan({
          specs: current.specs,
          blocked: current.blocked,
          inventory: { ...inventory, images: [...inventory.images] },
          now: t.clock.now(),
        });
        plans.push({
          plan: planned,
          expected,
          ...(observation.scoped ? { scoped: observation.scoped } : {}),
        });
      },
    });
    await untilSettled(r, current);
    // Baked twice: web's first build and a second one (a version bump), so release can be pinned back.
    const first = (await untilSettled(r, current)).at(-1)!;
    const oldWeb = first.statuses.find((s) => s.name === "web")!.desiredBuild!;
    current = validation(
      ...current.specs.map((s) => (s.name === "web" ? app("web", { version: "1.1.0" }) : s)),
    );
    await untilSettled(r, current);
    // A quiet pass: the whole plan that finds nothing to do is the base.
    t.clock.advance(MINUTE);
    await r.pass(current);
    plans.length = 0;

    current = validation(
      ...current.specs.map((s) =>
        s.name === "web"
          ? app("web", {
              version: "1.1.0",
              channels: { candidate: { latest: true }, release: { build: oldWeb } },
            })
          : s,
      ),
    );
    const edit = await untilSettled(r, current);
    expect(plans[0]?.scoped && [...plans[0].scoped].sort()).toEqual(["base", "ubuntu", "web"]);
    expect(edit[0]!.executed.map((a) => a.kind).sort()).toEqual(
      expect.arrayContaining(["remove-tags", "set-tags"]),
    );
    const release = edit.at(-1)!.statuses.find((s) => s.name === "web")!.channels.release;
    expect(release?.build).toBe(oldWeb);
    // Every plan, scoped or not, is the whole plan's; after the scoped ones settle, everything is planned.
    for (const { plan: planned, expected } of plans) expect(canonical(planned)).toEqual(canonical(expected));
    t.clock.advance(MINUTE);
    await r.pass(current);
    expect(plans.at(-1)?.scoped).toBeUndefined();
  });
});
