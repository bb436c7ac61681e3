// No busy loops: an action that succeeds without changing what the next pass observes is repeated a
// handful of times with growing waits, then its spec stalls with the reason. Driven through `run`, the
// loop `apply` uses, against the simulator over HTTP with faults that make writes not stick.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { channelTag, MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { imageNameFor } from "../../controller/plan/recipe.ts";
import { FIRST_BACKOFF_MS, MAX_REPEATS } from "../../controller/reconcile/progress.ts";
import { Reconciler } from "../../controller/reconcile/reconciler.ts";
import { MINUTE, requestsOf, type SimCloud, startSimCloud } from "../support/sim-cloud.ts";
import { baseSpec, ubuntuFoundation, validation } from "../support/sim-specs.ts";

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

const estate = validation(ubuntuFoundation(), baseSpec("base"));

function reconciler(): Reconciler {
  return new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger, pollIntervalMs: MINUTE });
}

/** `run` as apply drives it, with the manual clock jumping over every sleep. */
async function run(r: Reconciler, maxPasses = 200) {
  const sleep = t.clock.sleep.bind(t.clock);
  t.clock.sleep = async (ms: number) => {
    t.clock.advance(ms);
    await sleep(0);
  };
  return r.run(() => estate, { maxPasses });
}

describe("no busy loops", () => {
  it("tags a copy whose tags did not stick by id instead of copying it again, and converges", async () => {
    t.sim.setFaults({ dropCopyTags: true });
    const { outcome, last } = await run(reconciler());
    expect(outcome).toBe("converged");
    expect(requestsOf(t.adapter, "eu-west-1", "CopyImage")).toBe(1);
    const copies = [...t.sim.world.region("eu-west-1").images.values()].filter((i) =>
      i.name.startsWith("leaven/base/"),
    );
    expect(copies).toHaveLength(1);
    expect(copies[0]!.tags).toMatchObject({
      [Tag.managedBy]: MANAGED_BY_VALUE,
      [Tag.spec]: "base",
      [channelTag("release")]: "true",
    });
    for (const snapshot of copies[0]!.snapshotIds)
      expect(t.sim.world.region("eu-west-1").snapshots.get(snapshot)?.tags[Tag.managedBy]).toBe(
        MANAGED_BY_VALUE,
      );
    expect(last.statuses.find((s) => s.name === "base")!.phase).toBe("Ready");
  });

  it("stalls a spec whose channel tag never sticks after a handful of repeats, with the reason", async () => {
    t.sim.setFaults({ dropTags: [channelTag("candidate")] });
    const started = t.clock.now();
    const { outcome, last } = await run(reconciler());
    expect(outcome).toBe("stalled");
    const base = last.statuses.find((s) => s.name === "base")!;
    expect(base.phase).toBe("Stalled");
    expect(base.message).toMatch(
      new RegExp(
        `^no progress: set-tags set-tags/(eu-west-1|us-east-1)/ami-[0-9a-f]{17}/leaven\\.dev/channel/candidate,leaven\\.dev/channel-since/candidate keeps being needed after succeeding ${MAX_REPEATS + 1} times: the next pass still observes what it was to change \\(channel candidate of base selects 1\\.0\\.0\\+[0-9a-f]{8}\\) — fix the cause and run apply again; `,
      ),
    );
    // The candidate tag in each region: first try and MAX_REPEATS repeats, no more.
    const calls = t.sim.stats().byAction.CreateTags ?? 0;
    expect(calls).toBeLessThanOrEqual(2 * (MAX_REPEATS + 1) + 4);
    // The repeats waited 5 s, 10 s, 20 s: backing off, not spinning.
    expect(t.clock.now() - started).toBeGreaterThan(FIRST_BACKOFF_MS * (2 ** MAX_REPEATS - 1));
  });

  it("stalls a bake whose image name is held by a foreign image after one CreateImage, naming the image", async () => {
    // Find the build id the spec bakes, then plant a look-alike under its image name.
    const r = reconciler();
    const first = await r.pass(estate);
    const build = first.statuses.find((s) => s.name === "base")!.desiredBuild!;
    const [foreign] = t.sim.seedImages([
      {
        region: "us-east-1",
        name: imageNameFor("base", build),
        tags: { [Tag.spec]: "base", [Tag.build]: build },
      },
    ]);
    const { outcome, last } = await run(r);
    expect(outcome).toBe("stalled");
    expect(t.sim.stats().byAction.CreateImage).toBe(1);
    const base = last.statuses.find((s) => s.name === "base")!;
    expect(base.phase).toBe("Stalled");
    expect(base.message).toContain(
      `InvalidAMIName.Duplicate: image name ${imageNameFor("base", build)} is taken in us-east-1 by ${foreign}: it is not Leaven's (it has no leaven.dev/managed-by tag).`,
    );
    // The foreign image is untouched.
    expect(t.sim.world.region("us-east-1").images.get(foreign!)!.tags).toEqual({
      [Tag.spec]: "base",
      [Tag.build]: build,
    });
  });
});
