// A channel move through the reconcile loop, against the simulator: when the new image cannot be tagged,
// the old image keeps the channel — in the pass that fails and in the passes after, when the add is given
// up on — so consumers never find zero images in a region.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { CHANNEL_TAG_PREFIX, channelTag, Tag } from "../../controller/api/tags.ts";
import { CloudError, type CloudPort } from "../../controller/cloud/port.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { type PassResult, Reconciler } from "../../controller/reconcile/reconciler.ts";
import { MINUTE, type SimCloud, startSimCloud, untilSettled } from "../support/sim-cloud.ts";
import { baseSpec, ubuntuFoundation, validation } from "../support/sim-specs.ts";

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

describe("channel moves in the loop", () => {
  it("keeps the old image in the channel while the new one cannot be tagged, pass after pass", async () => {
    let failChannelTags = false;
    const cloud: CloudPort = {
      ...t.cloud,
      createTags: async (region, ids, tags) => {
        if (failChannelTags && Object.keys(tags).some((k) => k.startsWith(CHANNEL_TAG_PREFIX)))
          throw new CloudError(
            "UnauthorizedOperation",
            "You are not authorized to perform this operation.",
            403,
            false,
          );
        return t.cloud.createTags(region, ids, tags);
      },
    };
    const r = new Reconciler({ cloud, clock: t.clock, logger: silentLogger });
    const first = await untilSettled(t, r, validation(ubuntuFoundation(), baseSpec("base")));
    const oldBuild = first.statuses.find((s) => s.name === "base")!.desiredBuild!;

    // Version 1.1.0 bakes a new build; its channel tags cannot be written.
    const next = validation(ubuntuFoundation(), baseSpec("base", { version: "1.1.0" }));
    let move: PassResult | undefined;
    for (let i = 0; i < 40 && !move; i++) {
      t.clock.advance(MINUTE);
      failChannelTags = true;
      const pass = await r.pass(next);
      // The pass that moves the channels (not the one that records a copy on its home image).
      const moves = pass.executed.some(
        (a) => a.kind === "set-tags" && Object.keys(a.tags).some((k) => k.startsWith(CHANNEL_TAG_PREFIX)),
      );
      if (moves) move = pass;
    }
    if (!move) throw new Error("the channels never moved");
    const held = move.results.filter((res) => res.actions[0]!.kind === "remove-tags");
    expect(held.length).toBe(2);
    for (const result of held) {
      expect(result).toMatchObject({ ok: false, retryable: true });
      expect(result.error).toMatch(
        /^not run: ami-[0-9a-f]{17} keeps channel candidate, release of base in (us-east-1|eu-west-1) until ami-[0-9a-f]{17} has it, and tagging ami-[0-9a-f]{17} failed \(UnauthorizedOperation: You are not authorized to perform this operation\.\); the next pass tries the move again$/,
      );
    }

    // The next pass gives up on the add (a 4xx is not repeated in a run); the removal waits with it.
    t.clock.advance(MINUTE);
    const after = await r.pass(next);
    expect(after.executed.filter((a) => a.kind === "set-tags" || a.kind === "remove-tags")).toEqual([]);
    expect(after.statuses.find((s) => s.name === "base")).toMatchObject({
      phase: "Stalled",
      message: expect.stringMatching(
        /^UnauthorizedOperation: You are not authorized to perform this operation\./,
      ),
    });
    for (const region of ["us-east-1", "eu-west-1"]) {
      const tagged = (await t.adapter.describeImages(region, { owners: ["self"] })).filter(
        (image) => image.tags[channelTag("release")] === "true",
      );
      expect(tagged.map((image) => image.tags[Tag.build])).toEqual([oldBuild]);
    }
  });
});
