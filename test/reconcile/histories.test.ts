// The property: over random histories against the simulator — promotions, recipe edits, revocations, new
// vendor AMIs, spec deletions, bake-method switches (volume bakes with a warm pool), instances and launch
// templates using old images, look-alike foreign images and volumes, kill -9 between and inside passes, 5xx
// storms, days passing — the controller converges, every channel resolves to an available image everywhere,
// nothing used or unowned is ever deregistered or touched, no build has two images in a region, no bake
// volume or stray bake snapshot is left, no bakery host idles running, no action repeats past the
// no-progress limit, and one more pass is a no-op. `npm run soak` runs 10,000.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { historyArb, runHistory } from "../support/histories.ts";

const RUNS = Number(process.env.LEAVEN_HISTORIES ?? 200);

describe("random histories", () => {
  it(`hold every invariant over ${RUNS} histories`, { timeout: 20 * 60_000 }, async () => {
    let passes = 0;
    let deregistered = 0;
    let registered = 0;
    await fc.assert(
      fc.asyncProperty(historyArb, async (steps) => {
        const report = await runHistory(steps);
        passes += report.passes;
        deregistered += report.deregistered;
        registered += report.registered;
      }),
      { numRuns: RUNS, seed: 20261122, endOnFailure: false },
    );
    // The histories really exercise retirement, not only baking.
    console.log(
      `${RUNS} histories: ${passes} passes, ${deregistered} images deregistered, ${registered} volume bakes registered`,
    );
    expect(deregistered).toBeGreaterThan(0);
    expect(registered).toBeGreaterThan(RUNS / 2);
    expect(passes).toBeGreaterThan(RUNS);
  });
});
