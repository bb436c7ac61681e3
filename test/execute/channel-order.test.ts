// A channel move never leaves consumers with zero tagged images in a region: the pure pairing of removals
// with the adds they wait for, then the executor against the simulator with an injected failure.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { channelSinceTag, channelTag, MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import { CloudError, type CloudPort, type Tags } from "../../controller/cloud/port.ts";
import { channelMoves, heldBackReason } from "../../controller/execute/channel-order.ts";
import { execute } from "../../controller/execute/executor.ts";
import type { Action, RemoveTagsAction, SetTagsAction } from "../../controller/plan/actions.ts";
import { type SimCloud, startSimCloud } from "../support/sim-cloud.ts";

const release = channelTag("release");
const candidate = channelTag("candidate");

const add = (imageId: string, tags: Tags, extra: Partial<SetTagsAction> = {}): SetTagsAction => ({
  kind: "set-tags",
  spec: "base",
  build: "1.1.0+new",
  region: "us-east-1",
  imageId,
  tags,
  reason: "channel release of base selects 1.1.0+new",
  ...extra,
});
const remove = (
  imageId: string,
  keys: string[],
  extra: Partial<RemoveTagsAction> = {},
): RemoveTagsAction => ({
  kind: "remove-tags",
  spec: "base",
  build: "1.0.0+old",
  region: "us-east-1",
  imageId,
  keys,
  reason: "channel release of base no longer selects 1.0.0+old",
  ...extra,
});

describe("channelMoves", () => {
  const onNew = add("ami-new", {
    [release]: "true",
    [channelSinceTag("release")]: "2026-06-01T00:00:00.000Z",
  });
  it.each<[string, Action[], string[]]>([
    [
      "a move in one region",
      [onNew, remove("ami-old", [release, channelSinceTag("release")])],
      ["ami-old <- ami-new"],
    ],
    ["the removal listed first", [remove("ami-old", [release]), onNew], ["ami-old <- ami-new"]],
    ["another region", [onNew, remove("ami-old", [release], { region: "eu-west-1" })], []],
    ["another spec", [onNew, remove("ami-old", [release], { spec: "app" })], []],
    ["another channel", [onNew, remove("ami-old", [candidate])], []],
    ["a revoked build leaving its channels", [onNew, remove("ami-old", [release], { revoked: true })], []],
    ["a channel that no longer exists (no add)", [remove("ami-old", [channelTag("beta")])], []],
    ["no channel tag in the removal", [onNew, remove("ami-old", [Tag.bakeInstance])], []],
    ["the add on the same image (not a move)", [onNew, remove("ami-new", [release])], []],
    [
      "one removal of two channels, each moving to its own image",
      [onNew, add("ami-cand", { [candidate]: "true" }), remove("ami-old", [release, candidate])],
      ["ami-old <- ami-new,ami-cand"],
    ],
    [
      "an add that only records a check",
      [add("ami-new", { [release]: "false" }), remove("ami-old", [release])],
      [],
    ],
  ])("%s", (_name, actions, expected) => {
    const moves = channelMoves(actions);
    expect([...moves].map(([r, adds]) => `${r.imageId} <- ${adds.map((a) => a.imageId).join(",")}`)).toEqual(
      expected,
    );
  });

  it("says why a removal did not run and what happens next", () => {
    expect(heldBackReason(remove("ami-old", [release, candidate]), onNew, "InternalError: boom")).toBe(
      "not run: ami-old keeps channel release of base in us-east-1 until ami-new has it, and tagging ami-new failed (InternalError: boom); the next pass tries the move again",
    );
  });
});

describe("execute: channel moves on the simulator", () => {
  let t: SimCloud;
  beforeEach(async () => {
    t = await startSimCloud();
  });
  afterEach(async () => {
    await t.close();
  });

  const owned = (build: string, tags: Tags = {}) => ({
    [Tag.managedBy]: MANAGED_BY_VALUE,
    [Tag.spec]: "base",
    [Tag.build]: build,
    ...tags,
  });
  function world(): { oldImage: string; newImage: string } {
    const [oldImage, newImage] = t.sim.seedImages([
      { region: "us-east-1", name: "leaven/base/1.0.0_old", tags: owned("1.0.0+old", { [release]: "true" }) },
      { region: "us-east-1", name: "leaven/base/1.1.0_new", tags: owned("1.1.0+new") },
    ]);
    return { oldImage: oldImage!, newImage: newImage! };
  }
  const tagsOf = async (imageId: string) =>
    (await t.adapter.describeImages("us-east-1", { imageIds: [imageId] }))[0]!.tags;

  /** The cloud, recording the order of tag calls, with CreateTags failing when `fail` says so. */
  function recording(fail?: (tags: Tags) => CloudError | undefined) {
    const calls: string[] = [];
    const port: CloudPort = {
      ...t.cloud,
      createTags: async (region, ids, tags) => {
        calls.push(`start CreateTags ${ids.join(",")}`);
        const error = fail?.(tags);
        if (error) throw error;
        await t.cloud.createTags(region, ids, tags);
        calls.push(`end CreateTags ${ids.join(",")}`);
      },
      deleteTags: async (region, ids, keys) => {
        calls.push(`start DeleteTags ${ids.join(",")}`);
        await t.cloud.deleteTags(region, ids, keys);
        calls.push(`end DeleteTags ${ids.join(",")}`);
      },
    };
    return { port, calls };
  }

  it("adds the channel to the new image before taking it off the old one", async () => {
    const { oldImage, newImage } = world();
    const { port, calls } = recording();
    // The plan lists removals first; the executor still adds first.
    const results = await execute(port, [remove(oldImage, [release]), add(newImage, { [release]: "true" })]);
    expect(results.every((r) => r.ok)).toBe(true);
    expect(calls).toEqual([
      `start CreateTags ${newImage}`,
      `end CreateTags ${newImage}`,
      `start DeleteTags ${oldImage}`,
      `end DeleteTags ${oldImage}`,
    ]);
    expect((await tagsOf(newImage))[release]).toBe("true");
    expect((await tagsOf(oldImage))[release]).toBeUndefined();
  });

  it("does not take the channel off the old image when tagging the new one fails", async () => {
    const { oldImage, newImage } = world();
    const { port, calls } = recording(
      () =>
        new CloudError(
          "UnauthorizedOperation",
          "You are not authorized to perform this operation.",
          403,
          false,
        ),
    );
    const removal = remove(oldImage, [release]);
    const addition = add(newImage, { [release]: "true" });
    const results = await execute(port, [removal, addition]);
    expect(results).toEqual([
      {
        actions: [addition],
        ok: false,
        retryable: false,
        error: "UnauthorizedOperation: You are not authorized to perform this operation.",
      },
      {
        actions: [removal],
        ok: false,
        retryable: true,
        error: `not run: ${oldImage} keeps channel release of base in us-east-1 until ${newImage} has it, and tagging ${newImage} failed (UnauthorizedOperation: You are not authorized to perform this operation.); the next pass tries the move again`,
      },
    ]);
    expect(calls).toEqual([`start CreateTags ${newImage}`]);
    // Consumers still find the channel in us-east-1.
    expect((await tagsOf(oldImage))[release]).toBe("true");
  });

  it("still takes a revoked build off its channels when the new image cannot be tagged", async () => {
    const { oldImage, newImage } = world();
    const { port } = recording(() => new CloudError("InternalError", "boom", 500, true));
    const results = await execute(port, [
      add(newImage, { [release]: "true" }),
      remove(oldImage, [release], {
        revoked: true,
        reason: "build 1.0.0+old is revoked (CVE): it leaves channel release",
      }),
    ]);
    expect(results.map((r) => [r.actions[0]!.kind, r.ok])).toEqual(
      expect.arrayContaining([
        ["set-tags", false],
        ["remove-tags", true],
      ]),
    );
    expect((await tagsOf(oldImage))[release]).toBeUndefined();
  });

  it("runs removals no add replaces as before, in the same pass as a failing move elsewhere", async () => {
    const { oldImage, newImage } = world();
    const [other] = t.sim.seedImages([
      {
        region: "us-east-1",
        name: "leaven/base/0.9.0_gone",
        tags: owned("0.9.0+gone", { [channelTag("beta")]: "true" }),
      },
    ]);
    const { port } = recording(() => new CloudError("InternalError", "boom", 500, true));
    const results = await execute(port, [
      add(newImage, { [release]: "true" }),
      remove(oldImage, [release]),
      remove(other!, [channelTag("beta")], { reason: "channel beta of base no longer exists" }),
    ]);
    const byImage = new Map(results.map((r) => [(r.actions[0] as { imageId: string }).imageId, r]));
    expect(byImage.get(other!)?.ok).toBe(true);
    expect(byImage.get(oldImage)).toMatchObject({ ok: false, retryable: true });
    expect((await tagsOf(other!))[channelTag("beta")]).toBeUndefined();
    expect((await tagsOf(oldImage))[release]).toBe("true");
  });
});
