// The index a long-running process keeps across passes: made again only for the specs whose images changed,
// it must be the index of the new inventory, whatever the changes (added, removed, retagged, deregistered,
// duplicated, moved to another spec, given to another installation).
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { channelTag, Tag } from "../../controller/api/tags.ts";
import type { CloudImage } from "../../controller/cloud/port.ts";
import {
  type IndexedInventory,
  indexInventory,
  reindexInventory,
} from "../../controller/plan/index-inventory.ts";
import { inventory, leavenImage } from "./builders.ts";

const SPECS = ["base", "app", "web"];
const REGIONS = ["us-east-1", "eu-west-1"];

/** The index as plain, ordered data: specs sorted (their order is the one thing allowed to differ). */
function canonical(index: IndexedInventory) {
  return {
    builds: [...index.builds]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([spec, builds]) => [
        spec,
        [...builds].map(([id, b]) => [
          id,
          { ...b, images: [...b.images], channels: [...(b.channels ?? [])] },
        ]),
      ]),
    duplicates: index.duplicates.map((i) => i.imageId).sort(),
    parentImages: [...index.parentImages]
      .sort(([a], [b]) => (a < b ? -1 : 1))
      .map(([k, byRegion]) => [k, [...byRegion].map(([r, ids]) => [r, [...ids].sort()])]),
    imagesById: [...index.imagesById.keys()].sort(),
  };
}

const imageArb = fc.record({
  id: fc.integer({ min: 1, max: 40 }),
  spec: fc.constantFrom(...SPECS, undefined),
  build: fc.constantFrom("1.0.0+aa", "1.0.1+bb", "2.0.0+cc"),
  region: fc.constantFrom(...REGIONS),
  state: fc.constantFrom<CloudImage["state"]>("available", "available", "pending", "deregistered"),
  channel: fc.constantFrom("release", "candidate", undefined),
  parent: fc.constantFrom("p1", "p2", undefined),
  foreign: fc.constantFrom(false, false, false, true),
});

type ImageRecord = typeof imageArb extends fc.Arbitrary<infer T> ? T : never;

function makeImage(r: ImageRecord): CloudImage {
  const image = leavenImage(r.region, r.spec ?? "base", r.build, {
    id: `ami-${String(r.id).padStart(3, "0")}-${r.region}`,
    state: r.state,
    tags: {
      ...(r.channel ? { [channelTag(r.channel)]: "true" } : {}),
      ...(r.parent
        ? {
            [Tag.parentSpec]: "base",
            [Tag.parentBuild]: r.parent,
            [Tag.parentImage]: `ami-parent-${r.parent}`,
            [Tag.homeRegion]: r.region,
          }
        : {}),
      ...(r.foreign ? { [Tag.installation]: "other" } : {}),
    },
  });
  if (r.spec === undefined) delete image.tags[Tag.spec];
  return image;
}

describe("reindexInventory", () => {
  it("is the index of the new inventory when only the dirty specs' images changed", () => {
    fc.assert(
      fc.property(
        fc.array(imageArb, { maxLength: 30 }),
        fc.array(fc.record({ remove: fc.boolean(), image: imageArb }), { maxLength: 10 }),
        (initial, changes) => {
          const byId = new Map<string, CloudImage>();
          for (const r of initial) {
            const image = makeImage(r);
            byId.set(image.imageId, image);
          }
          const before = indexInventory(inventory({ images: [...byId.values()] }));
          const dirty = new Set<string>();
          const note = (image: CloudImage | undefined) => {
            if (image) dirty.add(image.tags[Tag.spec] ?? "");
          };
          for (const { remove, image: r } of changes) {
            const image = makeImage(r);
            note(byId.get(image.imageId));
            if (remove) byId.delete(image.imageId);
            else {
              note(image);
              byId.set(image.imageId, image);
            }
          }
          // An image without a spec tag is never in a build, but its parent tags still count.
          const after = inventory({ images: [...byId.values()] });
          expect(canonical(reindexInventory(before, after, undefined, dirty))).toEqual(
            canonical(indexInventory(after)),
          );
        },
      ),
      { numRuns: 300, seed: 20261202 },
    );
  });

  it("keeps the builds of specs whose images did not change as the very same objects", () => {
    const base = leavenImage("us-east-1", "base", "1.0.0+aa");
    const app = leavenImage("us-east-1", "app", "1.0.0+aa");
    const before = indexInventory(inventory({ images: [base, app] }));
    const moved = { ...app, tags: { ...app.tags, [channelTag("release")]: "true" } };
    const after = reindexInventory(before, inventory({ images: [base, moved] }), undefined, new Set(["app"]));
    expect(after.builds.get("base")).toBe(before.builds.get("base"));
    expect(after.builds.get("app")?.get("1.0.0+aa")?.channels).toEqual(new Map([["us-east-1", ["release"]]]));
  });
});
