import {
  CHANNEL_SINCE_TAG_PREFIX,
  CHANNEL_TAG_PREFIX,
  channelSinceTag,
  channelsFromTags,
  channelTag,
  Tag,
} from "../api/tags.ts";
import type { ImageSpec } from "../api/types.generated.ts";
import type { CloudImage, Tags } from "../cloud/port.ts";
import type { Action } from "./actions.ts";
import type { ResolvedChannel } from "./foundation.ts";
import type { ObservedBuild } from "./index-inventory.ts";
import { canonicalJson, copyToken, imageNameFor, sha256 } from "./recipe.ts";

export type CopyState =
  | { step: "done" }
  | { step: "in-progress"; message: string }
  | { step: "failed"; message: string };

/** Tags a copy carries besides the source's: where its home image is. */
function copyTags(home: CloudImage, homeRegion: string): Tags {
  const tags: Tags = {};
  for (const [key, value] of Object.entries(home.tags)) {
    // Channel and share tags are per image: a copy earns its own.
    if (
      key.startsWith(CHANNEL_TAG_PREFIX) ||
      key.startsWith(CHANNEL_SINCE_TAG_PREFIX) ||
      key === Tag.shared ||
      key === Tag.bakeInstance
    )
      continue;
    tags[key] = value;
  }
  tags[Tag.homeRegion] = homeRegion;
  tags[Tag.homeImage] = home.imageId;
  return tags;
}

/** Copies an available home image to every other region of the spec, one CopyImage per missing region. */
export function planCopies(
  doc: ImageSpec,
  build: ObservedBuild,
  homeRegion: string,
  actions: Action[],
  untaggedCopies?: ReadonlyMap<string, CloudImage>,
): CopyState {
  const spec = doc.metadata.name;
  const home = build.images.get(homeRegion);
  if (!home || home.state !== "available")
    return { step: "in-progress", message: "home image not available yet" };
  const pending: string[] = [];
  const failed: string[] = [];
  for (const region of doc.spec.regions.slice(1)) {
    const copy = build.images.get(region);
    const untagged = copy ? undefined : untaggedCopies?.get(`${spec}/${build.build}/${region}`);
    if (untagged && untagged.state !== "failed" && untagged.state !== "deregistered") {
      actions.push({
        kind: "tag-copy",
        spec,
        build: build.build,
        region,
        imageId: untagged.imageId,
        name: imageNameFor(spec, build.build),
        sourceRegion: homeRegion,
        sourceImageId: home.imageId,
        tags: copyTags(home, homeRegion),
        reason: `copy ${untagged.imageId} of build ${build.build} in ${region} is not tagged as Leaven's (its tags did not stick)`,
      });
      pending.push(region);
    } else if (!copy) {
      const kmsKeyId = doc.spec.share?.kmsKeys?.[region];
      actions.push({
        kind: "copy-image",
        spec,
        build: build.build,
        region,
        copy: {
          sourceRegion: homeRegion,
          sourceImageId: home.imageId,
          name: imageNameFor(spec, build.build),
          description: `Leaven ${spec} ${build.build} copied from ${homeRegion} ${home.imageId}`,
          clientToken: copyToken(build.build, spec, region),
          ...(kmsKeyId ? { kmsKeyId } : {}),
          tags: copyTags(home, homeRegion),
        },
        reason: `build ${build.build} has no image in ${region}`,
      });
      pending.push(region);
    } else if (copy.state === "pending") {
      pending.push(region);
    } else if (copy.state !== "available") {
      failed.push(
        `${region} (${copy.imageId} is ${copy.state}${copy.stateReason ? `: ${copy.stateReason}` : ""})`,
      );
    }
  }
  if (failed.length > 0) return { step: "failed", message: `copy failed in ${failed.join(", ")}` };
  if (pending.length > 0) return { step: "in-progress", message: `copying to ${pending.join(", ")}` };
  return { step: "done" };
}

/** A build is ready when its image is available in every region of the spec. */
export function isReady(doc: ImageSpec, build: ObservedBuild): boolean {
  return doc.spec.regions.every((region) => build.images.get(region)?.state === "available");
}

export function resolvedImages(doc: ImageSpec, build: ObservedBuild): Map<string, string> {
  const images = new Map<string, string>();
  for (const region of doc.spec.regions) {
    const image = build.images.get(region);
    if (image?.state === "available") images.set(region, image.imageId);
  }
  return images;
}

/**
 * Moves channel tags so that, in every region, exactly the selected build's image carries
 * leaven.dev/channel/<name> (with leaven.dev/channel-since/<name>, when it entered). Channels that could not
 * be resolved keep their current tags: a channel that points at an old build is safer than one that points
 * at nothing — unless that build is revoked, which leaves every channel at once.
 */
export function planChannelTags(
  doc: ImageSpec,
  builds: ReadonlyMap<string, ObservedBuild>,
  resolved: ReadonlyMap<string, ResolvedChannel>,
  actions: Action[],
  now: number,
  revoked: ReadonlyMap<string, string> = new Map(),
): number {
  const spec = doc.metadata.name;
  const toSet = new Map<string, { image: CloudImage; build: string; tags: Tags; channels: string[] }>();
  const toRemove = new Map<
    string,
    { image: CloudImage; build: string; keys: string[]; channels: string[] }
  >();
  const regions = new Set(doc.spec.regions);
  for (const build of builds.values()) {
    const isRevoked = revoked.has(build.build);
    for (const [region, image] of build.images) {
      const current = new Set(channelsFromTags(image.tags));
      const remove = (channel: string) => {
        const entry = toRemove.get(image.imageId) ?? { image, build: build.build, keys: [], channels: [] };
        entry.keys.push(channelTag(channel));
        if (image.tags[channelSinceTag(channel)] !== undefined) entry.keys.push(channelSinceTag(channel));
        entry.channels.push(channel);
        toRemove.set(image.imageId, entry);
      };
      if (isRevoked) {
        for (const channel of current) remove(channel);
        continue;
      }
      for (const [channel, target] of resolved) {
        const wanted = regions.has(region) && target.images.get(region) === image.imageId;
        if (wanted && !current.has(channel)) {
          const entry = toSet.get(image.imageId) ?? { image, build: build.build, tags: {}, channels: [] };
          entry.tags[channelTag(channel)] = "true";
          entry.tags[channelSinceTag(channel)] = new Date(now).toISOString();
          entry.channels.push(channel);
          toSet.set(image.imageId, entry);
        } else if (!wanted && current.has(channel)) remove(channel);
      }
    }
  }
  for (const { image, build, tags, channels } of toSet.values()) {
    actions.push({
      kind: "set-tags",
      spec,
      build,
      region: image.region,
      imageId: image.imageId,
      tags,
      reason: `channel ${channels.join(", ")} of ${spec} selects ${build}`,
    });
  }
  for (const { image, build, keys, channels } of toRemove.values()) {
    actions.push({
      kind: "remove-tags",
      spec,
      build,
      region: image.region,
      imageId: image.imageId,
      keys,
      reason: revoked.has(build)
        ? `build ${build} is revoked (${revoked.get(build)}): it leaves channel ${channels.join(", ")}`
        : `channel ${channels.join(", ")} of ${spec} no longer selects ${build}`,
    });
  }
  return toSet.size + toRemove.size;
}

export function shareHash(doc: ImageSpec): string | undefined {
  const share = doc.spec.share;
  if (!share) return undefined;
  const permissions = {
    accounts: [...(share.accounts ?? [])].sort(),
    organizationArns: [...(share.organizationArns ?? [])].sort(),
    organizationalUnitArns: [...(share.organizationalUnitArns ?? [])].sort(),
  };
  if (
    permissions.accounts.length +
      permissions.organizationArns.length +
      permissions.organizationalUnitArns.length ===
    0
  ) {
    return undefined;
  }
  return sha256(canonicalJson(permissions)).slice(0, 12);
}

/** Grants launch permission on every available image of the spec whose leaven.dev/shared tag is stale. */
export function planSharing(
  doc: ImageSpec,
  builds: ReadonlyMap<string, ObservedBuild>,
  actions: Action[],
): number {
  const hash = shareHash(doc);
  const share = doc.spec.share;
  if (!hash || !share) return 0;
  let count = 0;
  for (const build of builds.values()) {
    for (const image of build.images.values()) {
      if (image.state !== "available" || image.tags[Tag.shared] === hash) continue;
      actions.push({
        kind: "share-image",
        spec: doc.metadata.name,
        build: build.build,
        region: image.region,
        imageId: image.imageId,
        permissions: {
          ...(share.accounts?.length ? { accounts: share.accounts } : {}),
          ...(share.organizationArns?.length ? { organizationArns: share.organizationArns } : {}),
          ...(share.organizationalUnitArns?.length
            ? { organizationalUnitArns: share.organizationalUnitArns }
            : {}),
        },
        shareHash: hash,
        reason: `share settings of ${doc.metadata.name} are not applied to ${image.imageId}`,
      });
      count++;
    }
  }
  return count;
}
