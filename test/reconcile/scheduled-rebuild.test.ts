// Scheduled rebakes through the reconcile loop, against the simulator on a manual clock: a spec with
// rebuild.every bakes once per window with the same recipe and parent, the new build enters candidate by its
// selector while release stays pinned, the image records its window, a controller asleep across several
// windows bakes once, and two controllers in one window make one build.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { Reconciler, settled } from "../../controller/reconcile/reconciler.ts";
import { rebuildWindow } from "../../controller/schedule/rebuild-window.ts";
import { renderPlan } from "../../controller/status/render-plan.ts";
import { verdictOf } from "../../controller/status/verdict.ts";
import { MINUTE, type SimCloud, startSimCloud, untilSettled } from "../support/sim-cloud.ts";
import { baseSpec, ubuntuFoundation, validation } from "../support/sim-specs.ts";

const DAY = 24 * 60 * MINUTE;
let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

async function buildsOf(spec: string): Promise<string[]> {
  const images = await t.cloud.describeImages("us-east-1", {
    owners: ["self"],
    filters: [{ name: `tag:${Tag.spec}`, values: [spec] }],
  });
  return [...new Set(images.map((i) => i.tags[Tag.build]!))].sort();
}

const scheduled = () =>
  validation(
    ubuntuFoundation(),
    baseSpec("base", { rebuild: { every: "1d" }, channels: { candidate: { latest: true } } }),
  );

describe("scheduled rebakes", () => {
  it("bakes once per window, records the window on the image, and candidate follows", async () => {
    const r = new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger });
    const first = await untilSettled(t, r, scheduled(), 60);
    const base1 = first.statuses.find((s) => s.name === "base")!;
    const window1 = rebuildWindow({ every: "1d" }, t.clock.now())!;
    expect(base1.rebuild).toEqual({
      schedule: "every 1d",
      epoch: window1.epoch,
      next: new Date(window1.nextAt).toISOString(),
    });
    const [image] = await t.cloud.describeImages("us-east-1", {
      owners: ["self"],
      filters: [{ name: `tag:${Tag.build}`, values: [base1.desiredBuild!] }],
    });
    expect(image!.tags[Tag.rebuildEpoch]).toBe(window1.epoch);

    // Quiet within the window: plan says nothing is due and when the next rebake is.
    t.clock.advance(MINUTE);
    const { plan: quiet, inventory } = await r.plan(scheduled());
    expect(quiet.actions).toEqual([]);
    const verdict = verdictOf({
      command: "plan",
      diagnostics: [],
      statuses: quiet.statuses,
      actions: quiet.actions,
      regionErrors: inventory.regionErrors,
    });
    const text = renderPlan(quiet, verdict, t.clock.now());
    expect(text).toContain(
      `Scheduled rebakes:\n  base  every 1d: this window's build ${base1.desiredBuild} is ready, nothing due; next rebake ${new Date(window1.nextAt).toISOString().slice(0, 10)} 00:00 UTC (in `,
    );

    // The next window: a new build with the same recipe and parent, baked and put on candidate.
    t.clock.set(window1.nextAt + MINUTE);
    const second = await untilSettled(t, r, scheduled(), 60);
    const base2 = second.statuses.find((s) => s.name === "base")!;
    expect(base2.desiredBuild).not.toBe(base1.desiredBuild);
    expect(base2.desiredBuild!.split("+")[0]).toBe("1.0.0");
    expect(base2.channels.candidate!.build).toBe(base2.desiredBuild);
    expect(await buildsOf("base")).toEqual([base1.desiredBuild, base2.desiredBuild].sort());
  });

  it("a controller asleep across five windows bakes one build, of the window it wakes in", async () => {
    const r = new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger });
    const first = await untilSettled(t, r, scheduled(), 60);
    t.clock.advance(5 * DAY);
    const woke = await untilSettled(
      t,
      new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger }),
      scheduled(),
      60,
    );
    const builds = await buildsOf("base");
    expect(builds).toHaveLength(2);
    expect(builds).toContain(first.statuses.find((s) => s.name === "base")!.desiredBuild);
    expect(builds).toContain(woke.statuses.find((s) => s.name === "base")!.desiredBuild);
  });

  it("two controllers planning one window make one build", async () => {
    const a = new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger });
    const b = new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger });
    await untilSettled(t, a, scheduled(), 60);
    t.clock.advance(DAY);
    for (let i = 0; i < 60; i++) {
      t.clock.advance(MINUTE);
      const [pa, pb] = await Promise.all([a.pass(scheduled()), b.pass(scheduled())]);
      if (settled(pa) && settled(pb)) break;
    }
    const builds = await buildsOf("base");
    expect(builds).toHaveLength(2);
    // The new window's build was launched once: both controllers' launches carried one ClientToken.
    const instances = await t.cloud.describeInstances("us-east-1", [
      { name: `tag:${Tag.spec}`, values: ["base"] },
    ]);
    const newBuild = instances.filter((i) => builds.includes(i.tags[Tag.build]!));
    expect(newBuild.length).toBeGreaterThan(0);
    expect(new Set(instances.map((i) => i.instanceId)).size).toBe(instances.length);
    const perBuild = new Map<string, number>();
    for (const i of instances) perBuild.set(i.tags[Tag.build]!, (perBuild.get(i.tags[Tag.build]!) ?? 0) + 1);
    for (const count of perBuild.values()) expect(count).toBe(1);
  });
});
