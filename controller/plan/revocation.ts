import { Tag } from "../api/tags.ts";
import type { CloudImage, CloudInstance } from "../cloud/port.ts";
import type { ValidSpec } from "../validation/result.ts";
import type { Action } from "./actions.ts";
import { revokedBuilds } from "./channels.ts";
import { buildChannels, type IndexedInventory } from "./index-inventory.ts";

export interface RevocationResult {
  /** `spec/build` of every build baked (directly or further up) on a revoked build → the revoked one. */
  tainted: Map<string, string>;
  /** Per spec, notes for its status: what is revoked or descends from a revoked build. */
  notes: Map<string, string[]>;
}

const key = (spec: string, build: string) => `${spec}/${build}`;

/** Tag values are at most 256 characters. */
const tagValue = (text: string) => text.slice(0, 256);

/**
 * Revocation, after channels have been resolved (revoked builds are never selected there): every image of
 * a revoked build is tagged leaven.dev/revoked with the reason, every image of a build baked on one (at any
 * depth) leaven.dev/revoked-parent, and a revoked build's images are disabled once none of them is in a
 * channel and no bake instance is launching from it. Vendor images of a revoked foundation image are not
 * Leaven's: they are only never selected, and their descendants marked.
 */
export function planRevocations(
  specs: readonly ValidSpec[],
  index: IndexedInventory,
  vendorImages: ReadonlyMap<string, readonly CloudImage[]>,
  instances: readonly CloudInstance[],
  actions: Action[],
): RevocationResult {
  const tainted = new Map<string, string>();
  const revokedRoots = new Map<string, string>();
  const notes = new Map<string, string[]>();
  const note = (spec: string, text: string) => {
    const list = notes.get(spec) ?? [];
    list.push(text);
    notes.set(spec, list);
  };
  const launchingFrom = new Set(
    instances.filter((i) => i.state !== "terminated" && i.state !== "shutting-down").map((i) => i.imageId),
  );

  // Specs are in topological order: a parent's revoked and tainted builds are known before its children.
  for (const { name, document: doc } of specs) {
    const revoked = revokedBuilds(doc);
    if (doc.spec.layer === "foundation") {
      for (const [entry, reason] of revoked) {
        for (const image of vendorImages.get(name) ?? []) {
          if (image.name === entry || image.imageId === entry)
            revokedRoots.set(key(name, image.name), reason);
        }
      }
      continue;
    }
    const builds = index.builds.get(name);
    if (!builds) continue;
    const suspended = doc.spec.suspend === true;
    for (const build of builds.values()) {
      const id = key(name, build.build);
      const reason = revoked.get(build.build);
      if (reason !== undefined) {
        revokedRoots.set(id, reason);
        note(name, `build ${build.build} is revoked (${reason})`);
        if (suspended) continue;
        const inChannels = buildChannels(build).size > 0;
        for (const image of build.images.values()) {
          if (image.tags[Tag.revoked] !== tagValue(reason)) {
            actions.push({
              kind: "set-tags",
              spec: name,
              build: build.build,
              region: image.region,
              imageId: image.imageId,
              tags: { [Tag.revoked]: tagValue(reason) },
              reason: `build ${build.build} is revoked: ${reason}`,
            });
          }
          if (image.state === "available" && !inChannels && !launchingFrom.has(image.imageId)) {
            actions.push({
              kind: "disable-image",
              spec: name,
              build: build.build,
              region: image.region,
              imageId: image.imageId,
              reason: `build ${build.build} is revoked (${reason}) and no channel or bake uses ${image.imageId}`,
            });
          }
        }
        continue;
      }
      const parent =
        build.parentSpec !== undefined && build.parentBuild !== undefined
          ? key(build.parentSpec, build.parentBuild)
          : undefined;
      const root = parent === undefined ? undefined : revokedRoots.has(parent) ? parent : tainted.get(parent);
      if (root === undefined) continue;
      tainted.set(id, root);
      const inChannels = buildChannels(build);
      if (inChannels.size > 0)
        note(
          name,
          `channel ${[...inChannels].sort().join(", ")} is on ${build.build}, baked on revoked ${root}; it moves when a build on a good parent is ready`,
        );
      if (suspended) continue;
      for (const image of build.images.values()) {
        if (image.tags[Tag.revokedParent] === root) continue;
        actions.push({
          kind: "set-tags",
          spec: name,
          build: build.build,
          region: image.region,
          imageId: image.imageId,
          tags: { [Tag.revokedParent]: root },
          reason: `build ${build.build} descends from revoked ${root}`,
        });
      }
    }
  }
  return { tainted, notes };
}
