// Tagging a copy by id: the one write to an image that has no owner tag yet. The executor allows it only
// for the copy Leaven made — its name, copied from Leaven's own home image — and refuses look-alikes.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import type { Tags } from "../../controller/cloud/port.ts";
import { execute } from "../../controller/execute/executor.ts";
import type { TagCopyAction } from "../../controller/plan/actions.ts";
import { type SimCloud, startSimCloud } from "../support/sim-cloud.ts";

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

const BUILD = "1.0.0+0badcafe";
const NAME = "leaven/base/1.0.0_0badcafe";
const owned: Tags = { [Tag.managedBy]: MANAGED_BY_VALUE, [Tag.spec]: "base", [Tag.build]: BUILD };

/** A home image of Leaven's and an untagged copy of it in eu-west-1, as a CopyImage whose tags were lost. */
async function untaggedCopy(): Promise<{ home: string; copy: string }> {
  const [home] = t.sim.seedImages([{ region: "us-east-1", name: NAME, tags: owned }]);
  t.sim.setFaults({ dropCopyTags: true });
  const { imageId } = await t.cloud.copyImage("eu-west-1", {
    sourceRegion: "us-east-1",
    sourceImageId: home!,
    name: NAME,
    clientToken: "copy",
    tags: owned,
  });
  t.sim.setFaults({});
  return { home: home!, copy: imageId };
}

const snapshotsOf = (region: string, imageId: string) =>
  t.sim.world.region(region).images.get(imageId)?.snapshotIds ?? [];

const tagCopy = (
  imageId: string,
  sourceImageId: string,
  name = NAME,
  snapshotIds = snapshotsOf("eu-west-1", imageId),
): TagCopyAction => ({
  kind: "tag-copy",
  spec: "base",
  build: BUILD,
  region: "eu-west-1",
  imageId,
  name,
  sourceRegion: "us-east-1",
  sourceImageId,
  tags: { ...owned, [Tag.homeRegion]: "us-east-1", [Tag.homeImage]: sourceImageId },
  snapshotIds,
  reason: "test",
});

const tagsOf = (region: string, imageId: string) => t.sim.world.region(region).images.get(imageId)!.tags;

describe("tag-copy", () => {
  it("tags the copy Leaven made, and its snapshots", async () => {
    const { home, copy } = await untaggedCopy();
    expect(tagsOf("eu-west-1", copy)).toEqual({});
    const [snapshot] = snapshotsOf("eu-west-1", copy);
    const [result] = await execute(t.cloud, [tagCopy(copy, home)]);
    expect(result).toMatchObject({ ok: true });
    expect(t.sim.world.region("eu-west-1").snapshots.get(snapshot!)?.tags).toMatchObject(owned);
    expect(tagsOf("eu-west-1", copy)).toEqual({
      ...owned,
      [Tag.homeRegion]: "us-east-1",
      [Tag.homeImage]: home,
    });
  });

  it("refuses an untagged image of the right name that was not copied from Leaven's home image", async () => {
    const { home } = await untaggedCopy();
    const [lookAlike] = t.sim.seedImages([{ region: "eu-west-1", name: `${NAME}-x`, tags: {} }]);
    const [result] = await execute(t.cloud, [tagCopy(lookAlike!, home, `${NAME}-x`, [])]);
    expect(result).toEqual({
      actions: [tagCopy(lookAlike!, home, `${NAME}-x`, [])],
      ok: false,
      retryable: false,
      error: `refused: image ${lookAlike} in eu-west-1 is not the copy Leaven made: it is named ${NAME}-x and copied from (unknown), not ${NAME}-x from ${home}`,
    });
    expect(tagsOf("eu-west-1", lookAlike!)).toEqual({});
  });

  it("refuses to tag a snapshot that is not the copy's", async () => {
    const { home, copy } = await untaggedCopy();
    const [other] = t.sim.seedImages([{ region: "eu-west-1", name: "someone-else", tags: {} }]);
    const [otherSnapshot] = snapshotsOf("eu-west-1", other!);
    const [result] = await execute(t.cloud, [tagCopy(copy, home, NAME, [otherSnapshot!])]);
    expect(result?.error).toBe(`refused: image ${copy} in eu-west-1 does not own snapshot ${otherSnapshot}`);
    expect(t.sim.world.region("eu-west-1").snapshots.get(otherSnapshot!)?.tags).toEqual({});
  });

  it("refuses a copy that another owner has tagged since", async () => {
    const { home, copy } = await untaggedCopy();
    await t.cloud.createTags("eu-west-1", [copy], { [Tag.managedBy]: "packer" });
    const [result] = await execute(t.cloud, [tagCopy(copy, home)]);
    expect(result?.error).toBe(
      `refused: image ${copy} in eu-west-1 is not Leaven's to change: its leaven.dev/managed-by tag is "packer", not "leaven"`,
    );
    expect(tagsOf("eu-west-1", copy)).toEqual({ [Tag.managedBy]: "packer" });
  });

  it("refuses when the source image is not Leaven's", async () => {
    const { home, copy } = await untaggedCopy();
    await t.cloud.deleteTags("us-east-1", [home], [Tag.managedBy]);
    const [result] = await execute(t.cloud, [tagCopy(copy, home)]);
    expect(result?.error).toMatch(/^refused: image ami-[0-9a-f]{17} in us-east-1 is not Leaven's to change/);
    expect(tagsOf("eu-west-1", copy)).toEqual({});
  });
});
