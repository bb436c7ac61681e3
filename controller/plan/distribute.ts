import {
  CHANNEL_SINCE_TAG_PREFIX,
  CHANNEL_TAG_PREFIX,
  COPY_TAG_PREFIX,
  channelSinceTag,
  channelTag,
  copyTag,
  Tag,
} from "../api/tags.ts";
import type { ImageSpec } from "../api/types.generated.ts";
import type { CloudImage, ObservedLaunchPermissions, Tags } from "../cloud/port.ts";
import type { Action } from "./actions.ts";
import type { ResolvedChannel } from "./foundation.ts";
import { imageChannels, type ObservedBuild } from "./index-inventory.ts";
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
      key === Tag.bakeInstance ||
      key === Tag.manifest ||
      key === Tag.bakeVolume ||
      key.startsWith(COPY_TAG_PREFIX) ||
      key === Tag.unusedSince ||
      key === Tag.deprecatedAt ||
      key === Tag.disabledAt
    )
      continue;
    tags[key] = value;
  }
  tags[Tag.homeRegion] = homeRegion;
  tags[Tag.homeImage] = home.imageId;
  return tags;
}

/**
 * Copies an available home image to every other region of the spec, one CopyImage per missing region. Each
 * copy, once observed, is recorded on the home image (leaven.dev/copy/<region>), so that a copy which later
 * disappears is known by its id: its replacement is requested with a token of a new generation (EC2 would
 * answer the old token with the dead copy's id for ever). `deadParents` are further ids this build's image in
 * a region is known to have had: what the children baked on it there record as their parent image.
 */
export function planCopies(
  doc: ImageSpec,
  build: ObservedBuild,
  homeRegion: string,
  actions: Action[],
  untaggedCopies?: ReadonlyMap<string, CloudImage>,
  knownImages?: ReadonlyMap<string, ReadonlySet<string>>,
): CopyState {
  const spec = doc.metadata.name;
  const home = build.images.get(homeRegion);
  if (!home || home.state !== "available")
    return { step: "in-progress", message: "home image not available yet" };
  const pending: string[] = [];
  const failed: string[] = [];
  const record: Tags = {};
  const rebakedSource = home.tags[Tag.rebakeOf] ? home.imageId : undefined;
  for (const region of doc.spec.regions.slice(1)) {
    const copy = build.images.get(region);
    if (copy && copy.state !== "failed" && home.tags[copyTag(region)] !== copy.imageId)
      record[copyTag(region)] = copy.imageId;
    const pointsAt = copy?.tags[Tag.homeImage];
    // Only after a rebake: a copy pointing elsewhere for any other reason (a duplicate home image) is left be.
    if (copy?.state === "available" && rebakedSource && pointsAt && pointsAt !== home.imageId) {
      // The home image was rebaked: the copies point at the original that exists now.
      actions.push({
        kind: "set-tags",
        spec,
        build: build.build,
        region,
        imageId: copy.imageId,
        tags: { [Tag.homeImage]: home.imageId },
        reason: `the home image of ${build.build} is now ${home.imageId} (was ${pointsAt})`,
      });
    }
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
        snapshotIds: untagged.snapshotIds,
        reason: `copy ${untagged.imageId} of build ${build.build} in ${region} is not tagged as Leaven's (its tags did not stick)`,
      });
      pending.push(region);
    } else if (!copy) {
      const kmsKeyId = doc.spec.share?.kmsKeys?.[region];
      // Ids this build had in the region that are gone now: the copy recorded on the home image, and the
      // parent images of children baked here.
      const dead = new Set(knownImages?.get(region) ?? []);
      const recorded = home.tags[copyTag(region)];
      if (recorded) dead.add(recorded);
      const deadCopies = [...dead].sort();
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
          clientToken: copyToken(build.build, spec, region, {
            deadCopies,
            ...(rebakedSource ? { rebakedSource } : {}),
          }),
          ...(kmsKeyId ? { kmsKeyId } : {}),
          tags: copyTags(home, homeRegion),
        },
        reason:
          deadCopies.length > 0
            ? `build ${build.build}'s image in ${region}, ${deadCopies.join(", ")}, is gone: copying it again`
            : `build ${build.build} has no image in ${region}`,
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
  const recordedRegions = Object.keys(record).map((key) => key.slice(COPY_TAG_PREFIX.length));
  if (recordedRegions.length > 0)
    actions.push({
      kind: "set-tags",
      spec,
      build: build.build,
      region: homeRegion,
      imageId: home.imageId,
      tags: record,
      reason: `record the copies of ${build.build} in ${recordedRegions.join(", ")} on its home image, so a lost copy is repaired`,
    });
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
  const specChannels = doc.spec.channels ?? {};
  // Runs for every image of the spec on every plan: no allocation unless a tag must move.
  const remove = (image: CloudImage, build: string, channel: string) => {
    const entry = toRemove.get(image.imageId) ?? { image, build, keys: [], channels: [] };
    entry.keys.push(channelTag(channel));
    if (image.tags[channelSinceTag(channel)] !== undefined) entry.keys.push(channelSinceTag(channel));
    entry.channels.push(channel);
    toRemove.set(image.imageId, entry);
  };
  const targets = new Set([...resolved.values()].map((target) => target.build));
  for (const build of builds.values()) {
    // Neither in a channel nor a channel's target (most builds: old ones): no tag of it moves.
    if (build.channels?.size === 0 && !targets.has(build.build)) continue;
    const isRevoked = revoked.has(build.build);
    for (const [region, image] of build.images) {
      const current = imageChannels(build, region);
      if (isRevoked) {
        for (const channel of current) remove(image, build.build, channel);
        continue;
      }
      // A channel the spec no longer has: nobody may find this image by it any more.
      for (const channel of current)
        if (!Object.hasOwn(specChannels, channel)) remove(image, build.build, channel);
      const inRegion = regions.has(region);
      for (const [channel, target] of resolved) {
        const wanted = inRegion && target.images.get(region) === image.imageId;
        const has = current.includes(channel);
        if (wanted && !has) {
          const entry = toSet.get(image.imageId) ?? { image, build: build.build, tags: {}, channels: [] };
          entry.tags[channelTag(channel)] = "true";
          entry.tags[channelSinceTag(channel)] = new Date(now).toISOString();
          entry.channels.push(channel);
          toSet.set(image.imageId, entry);
        } else if (!wanted && has) remove(image, build.build, channel);
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
      ...(revoked.has(build) ? { revoked: true as const } : {}),
      reason: revoked.has(build)
        ? `build ${build} is revoked (${revoked.get(build)}): it leaves channel ${channels.join(", ")}`
        : channels.every((c) => !Object.hasOwn(doc.spec.channels ?? {}, c))
          ? `${spec} has no channel ${channels.join(", ")}`
          : `channel ${channels.join(", ")} of ${spec} no longer selects ${build}`,
    });
  }
  return toSet.size + toRemove.size;
}

/** What spec.share asks for: the complete set of who may launch, and who may create volumes from snapshots. */
export interface DesiredShare {
  /** Every account, organization and OU that may launch the images, sorted and without duplicates. */
  permissions: { accounts: string[]; organizationArns: string[]; organizationalUnitArns: string[] };
  /** Accounts given create-volume permission on the snapshots: the accounts when share.snapshots is true. */
  snapshotAccounts: string[];
  /** Recorded in leaven.dev/shared once applied: an image whose tag equals it is in sync. */
  hash: string;
  /** Nobody else may launch (no share, or an empty one). */
  empty: boolean;
}

const sortedUnique = (values: readonly string[] | undefined) => [...new Set(values ?? [])].sort();

/**
 * The desired share settings and their hash. The hash covers the sorted accounts, organization and OU ARNs,
 * plus `snapshots: true` only when set, so specs written before share.snapshots keep their hash (and their
 * images are not re-shared). No share, or an empty one, has a hash too — the hash of three empty lists — so
 * that an image Leaven shared before is unshared once and then recognised as in sync.
 */
export function desiredShare(doc: ImageSpec): DesiredShare {
  const share = doc.spec.share;
  const permissions = {
    accounts: sortedUnique(share?.accounts),
    organizationArns: sortedUnique(share?.organizationArns),
    organizationalUnitArns: sortedUnique(share?.organizationalUnitArns),
  };
  const hashed = {
    accounts: [...(share?.accounts ?? [])].sort(),
    organizationArns: [...(share?.organizationArns ?? [])].sort(),
    organizationalUnitArns: [...(share?.organizationalUnitArns ?? [])].sort(),
    ...(share?.snapshots === true ? { snapshots: true } : {}),
  };
  return {
    permissions,
    snapshotAccounts: share?.snapshots === true ? permissions.accounts : [],
    hash: sha256(canonicalJson(hashed)).slice(0, 12),
    empty:
      permissions.accounts.length +
        permissions.organizationArns.length +
        permissions.organizationalUnitArns.length ===
      0,
  };
}

export function shareHash(doc: ImageSpec): string {
  return desiredShare(doc).hash;
}

/**
 * Level-based sharing: every available image whose leaven.dev/shared tag is not the desired hash gets one
 * share-image action, which makes its launch permissions (and its snapshots' create-volume permissions)
 * exactly the desired ones. An image in sync costs nothing (the tag is read with the image walk). When the
 * spec shares with nobody, only images that carry leaven.dev/shared — Leaven shared them — are touched:
 * an image Leaven never shared has nothing of Leaven's to remove.
 */
export function planSharing(
  doc: ImageSpec,
  builds: ReadonlyMap<string, ObservedBuild>,
  actions: Action[],
  observed?: ReadonlyMap<string, ObservedLaunchPermissions>,
): number {
  const desired = desiredShare(doc);
  const spec = doc.metadata.name;
  const { accounts, organizationArns, organizationalUnitArns } = desired.permissions;
  let count = 0;
  for (const build of builds.values()) {
    for (const image of build.images.values()) {
      const current = image.tags[Tag.shared];
      if (image.state !== "available") continue;
      const read = current === desired.hash ? observed?.get(image.imageId) : undefined;
      const drift = read ? permissionDrift(desired.permissions, read) : undefined;
      if (current === desired.hash && !drift) continue;
      if (desired.empty && current === undefined) continue;
      actions.push({
        kind: "share-image",
        spec,
        build: build.build,
        region: image.region,
        imageId: image.imageId,
        permissions: {
          ...(accounts.length ? { accounts } : {}),
          ...(organizationArns.length ? { organizationArns } : {}),
          ...(organizationalUnitArns.length ? { organizationalUnitArns } : {}),
        },
        snapshotIds: [...image.snapshotIds],
        snapshotAccounts: desired.snapshotAccounts,
        shareHash: desired.hash,
        reason: drift
          ? `launch permissions of ${image.imageId} were changed behind Leaven's back (${drift}): set back to spec.share`
          : desired.empty
            ? `${spec} shares with nobody now: permissions Leaven granted on ${image.imageId} are removed`
            : `share settings of ${spec} are not applied to ${image.imageId}`,
      });
      count++;
    }
  }
  return count;
}

/** What differs between the wanted launch permissions and those read back, e.g. "777788889999 missing"; undefined when none. */
export function permissionDrift(
  wanted: DesiredShare["permissions"],
  read: ObservedLaunchPermissions,
): string | undefined {
  const notes: string[] = [];
  const compare = (want: readonly string[], have: readonly string[]) => {
    const haveSet = new Set(have);
    const wantSet = new Set(want);
    for (const v of want) if (!haveSet.has(v)) notes.push(`${v} missing`);
    for (const v of have) if (!wantSet.has(v)) notes.push(`${v} added`);
  };
  compare(wanted.accounts, read.accounts);
  compare(wanted.organizationArns, read.organizationArns);
  compare(wanted.organizationalUnitArns, read.organizationalUnitArns);
  if (read.public) notes.push("made public");
  return notes.length > 0 ? notes.join(", ") : undefined;
}

export interface CopyCap {
  /** Copies waiting for a slot, by spec and destination region. */
  queued: Map<string, Map<string, number>>;
  /** Copies in flight per destination region once this plan runs: pending ones plus those it starts. */
  copying: Map<string, number>;
}

/**
 * EC2 runs a limited number of AMI copies into one destination region at a time, and refuses more with
 * ResourceLimitExceeded. Keeps, per destination region, at most `limit` minus the copies already pending
 * there of the planned copy-image actions (in plan order: parents first, each spec's desired build
 * first) and drops the rest: they are planned again on a later pass, when copies have completed. Returns
 * the copies dropped, by spec and region, for the status.
 */
export function capCopies(
  actions: Action[],
  images: readonly CloudImage[],
  limit: number,
  untaggedCopies?: ReadonlyMap<string, CloudImage>,
): CopyCap {
  const inFlight = new Map<string, number>();
  // Nothing to cap (most passes): no walk over every image to count the copies in flight.
  if (!actions.some((action) => action.kind === "copy-image"))
    return { queued: new Map(), copying: inFlight };
  const isCopy = (image: CloudImage) =>
    image.tags[Tag.homeRegion] !== undefined
      ? image.tags[Tag.homeRegion] !== image.region
      : image.sourceImageId !== undefined;
  const seen = new Set<string>();
  const count = (image: CloudImage) => {
    if (image.state !== "pending" || seen.has(image.imageId) || !isCopy(image)) return;
    seen.add(image.imageId);
    inFlight.set(image.region, (inFlight.get(image.region) ?? 0) + 1);
  };
  for (const image of images) count(image);
  for (const image of untaggedCopies?.values() ?? []) count(image);
  const queued: CopyCap["queued"] = new Map();
  let kept = 0;
  for (const action of actions) {
    if (action.kind === "copy-image") {
      const running = inFlight.get(action.region) ?? 0;
      if (running >= limit) {
        const bySpec = queued.get(action.spec) ?? new Map<string, number>();
        bySpec.set(action.region, (bySpec.get(action.region) ?? 0) + 1);
        queued.set(action.spec, bySpec);
        continue;
      }
      inFlight.set(action.region, running + 1);
    }
    actions[kept++] = action;
  }
  actions.length = kept;
  return { queued, copying: inFlight };
}

/** The status note of a spec whose copies wait, e.g. "2 copies to eu-west-1 queued: …". */
export function queuedCopiesNote(queued: ReadonlyMap<string, number>, cap: CopyCap, limit: number): string {
  return [...queued]
    .map(
      ([region, count]) =>
        `${count} ${count === 1 ? "copy" : "copies"} to ${region} queued: EC2 runs at most ${limit} AMI copies into a region at once and ${cap.copying.get(region) ?? 0} are in progress`,
    )
    .join("; ");
}
