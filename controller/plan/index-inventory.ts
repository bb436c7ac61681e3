import { CHECKS } from "../api/check-protocol.ts";
import { channelsFromTags, DEFAULT_INSTALLATION, hasChannelTag, isLeavenOwned, Tag } from "../api/tags.ts";
import type { CloudImage, CloudInstance } from "../cloud/port.ts";
import type { FailureRecord, Inventory } from "../observe/inventory.ts";

/** A build of a spec as observed: its image per region. */
export interface ObservedBuild {
  spec: string;
  build: string;
  version?: string;
  parentSpec?: string;
  parentBuild?: string;
  homeRegion?: string;
  images: Map<string, CloudImage>;
  /**
   * region → the channels its image carries (leaven.dev/channel/*), read once per plan by the index; a region
   * absent carries none. Undefined on a build not made by indexInventory: read from the tags then.
   */
  channels?: Map<string, readonly string[]>;
}

const NO_CHANNELS: readonly string[] = Object.freeze([]);
const NO_CHANNEL_MAP: Map<string, readonly string[]> = new Map();

/** The channels the build's image in `region` carries, sorted. */
export function imageChannels(build: ObservedBuild, region: string): readonly string[] {
  if (build.channels) return build.channels.get(region) ?? NO_CHANNELS;
  const image = build.images.get(region);
  return image ? channelsFromTags(image.tags) : NO_CHANNELS;
}

const NO_BUILD_CHANNELS: ReadonlySet<string> = new Set();

/** Every channel any of the build's images carries. */
export function buildChannels(build: ObservedBuild): ReadonlySet<string> {
  // Most builds are in no channel (the index gave them the shared empty map): nothing to allocate.
  if (build.channels?.size === 0) return NO_BUILD_CHANNELS;
  const channels = new Set<string>();
  for (const region of build.images.keys())
    for (const channel of imageChannels(build, region)) channels.add(channel);
  return channels;
}

/** The inventory grouped the way the planner asks questions of it. Built once per pass: O(images). */
export interface IndexedInventory {
  /** spec → build → observed build. */
  builds: Map<string, Map<string, ObservedBuild>>;
  /** `spec/build` → bake instances. */
  instancesByBuild: Map<string, CloudInstance[]>;
  /** Bake instances grouped by spec. */
  instancesBySpec: Map<string, CloudInstance[]>;
  /** `spec/build` → check instances (role = a check's name), which verify an image rather than bake one. */
  checksByBuild: Map<string, CloudInstance[]>;
  /** Check instances grouped by spec. */
  checksBySpec: Map<string, CloudInstance[]>;
  /** `spec/build` → the build's failure records (normally one, in its home region). */
  failuresByBuild: Map<string, FailureRecord[]>;
  /** Failure records grouped by spec. */
  failuresBySpec: Map<string, FailureRecord[]>;
  /** Every observed image (Leaven's and the vendors'), by id: built on first use (a large map is costly). */
  readonly imagesById: ReadonlyMap<string, CloudImage>;
  /** More than one image for the same build in one region: reported, never acted on blindly. */
  duplicates: CloudImage[];
  /**
   * `spec/build` → region → the image ids that children baked there record as their parent image: ids the
   * build's image in that region has had, so one that is gone now is known by its id (drift repair).
   */
  parentImages: Map<string, Map<string, Set<string>>>;
}

function isLive(image: CloudImage): boolean {
  return image.state !== "deregistered";
}

function better(a: CloudImage, b: CloudImage): CloudImage {
  // Prefer the available one; otherwise the older (the first one created wins, as with a ClientToken).
  if (a.state === "available" && b.state !== "available") return a;
  if (b.state === "available" && a.state !== "available") return b;
  return a.creationDate <= b.creationDate ? a : b;
}

/**
 * Only this installation's resources are indexed, so no planner rule can ever pick a foreign image or
 * instance (a look-alike with the right spec and build tags but another owner) as its target. The observer
 * filters the same way; this is the planner's own check, not a trust in the observer's.
 */
export function indexInventory(
  inventory: Inventory,
  installation: string = DEFAULT_INSTALLATION,
  /** An index of the same images (this pass's): its image part is kept, instances and records re-read. */
  previous?: IndexedInventory,
): IndexedInventory {
  if (previous) {
    // Not a spread: that would call the lazy imagesById getter and build the map it defers.
    const next = {
      builds: previous.builds,
      duplicates: previous.duplicates,
      parentImages: previous.parentImages,
      ...indexInstancesAndRecords(inventory, installation),
    };
    Object.defineProperty(next, "imagesById", { get: () => previous.imagesById, enumerable: true });
    return next as IndexedInventory;
  }
  const builds = new Map<string, Map<string, ObservedBuild>>();
  const duplicates: CloudImage[] = [];
  const parentImages = new Map<string, Map<string, Set<string>>>();
  for (const image of inventory.images) {
    if (!isLeavenOwned(image.tags, installation) || !isLive(image)) continue;
    addParentImage(parentImages, image);
    addImage(builds, duplicates, image);
  }
  readChannels(builds.values());
  return assemble(inventory, installation, builds, duplicates, parentImages);
}

/**
 * The index of `inventory` from an index of an earlier inventory in which only the images of the `dirty`
 * specs differ: their builds are indexed again, every other spec's are the earlier index's own objects. The
 * same index as indexInventory's, but for the order of specs in `builds` (a spec indexed again keeps its place,
 * a new one comes last), which no rule depends on.
 */
export function reindexInventory(
  previous: IndexedInventory,
  inventory: Inventory,
  installation: string = DEFAULT_INSTALLATION,
  dirty: ReadonlySet<string>,
): IndexedInventory {
  // No image changed (a pass after a spec edit): the images' part is the earlier index's as it is.
  if (dirty.size === 0)
    return assemble(inventory, installation, previous.builds, previous.duplicates, previous.parentImages);
  const rebuilt = new Map<string, Map<string, ObservedBuild>>();
  const duplicates = previous.duplicates.filter((image) => !dirty.has(image.tags[Tag.spec] ?? ""));
  const parentImages = new Map<string, Map<string, Set<string>>>();
  for (const image of inventory.images) {
    if (!isLeavenOwned(image.tags, installation) || !isLive(image)) continue;
    addParentImage(parentImages, image);
    const spec = image.tags[Tag.spec];
    if (spec !== undefined && dirty.has(spec)) addImage(rebuilt, duplicates, image);
  }
  readChannels(rebuilt.values());
  const builds = new Map(previous.builds);
  for (const spec of dirty) {
    const bySpec = rebuilt.get(spec);
    if (bySpec) builds.set(spec, bySpec);
    else builds.delete(spec);
  }
  return assemble(inventory, installation, builds, duplicates, parentImages);
}

/** A child's home image was baked on its parent's image in that region (its copies repeat the tag). */
function addParentImage(parentImages: IndexedInventory["parentImages"], image: CloudImage): void {
  const parentImage = image.tags[Tag.parentImage];
  if (!parentImage || image.tags[Tag.homeRegion] !== image.region || image.tags[Tag.homeImage]) return;
  const key = `${image.tags[Tag.parentSpec]}/${image.tags[Tag.parentBuild]}`;
  const byRegion = parentImages.get(key) ?? new Map<string, Set<string>>();
  const ids = byRegion.get(image.region) ?? new Set<string>();
  ids.add(parentImage);
  byRegion.set(image.region, ids);
  parentImages.set(key, byRegion);
}

function addImage(
  builds: Map<string, Map<string, ObservedBuild>>,
  duplicates: CloudImage[],
  image: CloudImage,
): void {
  const spec = image.tags[Tag.spec];
  const build = image.tags[Tag.build];
  if (!spec || !build) return;
  let bySpec = builds.get(spec);
  if (!bySpec) {
    bySpec = new Map();
    builds.set(spec, bySpec);
  }
  let observed = bySpec.get(build);
  if (!observed) {
    observed = {
      spec,
      build,
      version: image.tags[Tag.version],
      parentSpec: image.tags[Tag.parentSpec],
      parentBuild: image.tags[Tag.parentBuild],
      homeRegion: image.tags[Tag.homeRegion],
      images: new Map(),
    };
    bySpec.set(build, observed);
  }
  const existing = observed.images.get(image.region);
  if (existing) {
    duplicates.push(image);
    observed.images.set(image.region, better(existing, image));
  } else {
    observed.images.set(image.region, image);
  }
}

/** Channel tags, read once here: retention, channel moves and revocation all ask for them. */
function readChannels(specs: Iterable<Map<string, ObservedBuild>>): void {
  for (const bySpec of specs) {
    for (const build of bySpec.values()) {
      let channels: Map<string, readonly string[]> | undefined;
      for (const [region, image] of build.images) {
        if (!hasChannelTag(image.tags)) continue;
        const found = channelsFromTags(image.tags);
        channels ??= new Map();
        channels.set(region, found);
      }
      // Most builds are old and in no channel: they share one empty map.
      build.channels = channels ?? NO_CHANNEL_MAP;
    }
  }
}

function assemble(
  inventory: Inventory,
  installation: string,
  builds: IndexedInventory["builds"],
  duplicates: CloudImage[],
  parentImages: IndexedInventory["parentImages"],
): IndexedInventory {
  const instancesAndRecords = indexInstancesAndRecords(inventory, installation);
  let imagesById: Map<string, CloudImage> | undefined;
  return {
    get imagesById() {
      if (!imagesById) {
        imagesById = new Map();
        for (const images of inventory.vendorImages.values())
          for (const image of images) imagesById.set(image.imageId, image);
        for (const image of inventory.images)
          if (isLeavenOwned(image.tags, installation)) imagesById.set(image.imageId, image);
      }
      return imagesById;
    },
    builds,
    ...instancesAndRecords,
    duplicates,
    parentImages,
  };
}

type InstancesAndRecords = Pick<
  IndexedInventory,
  | "instancesByBuild"
  | "instancesBySpec"
  | "checksByBuild"
  | "checksBySpec"
  | "failuresByBuild"
  | "failuresBySpec"
>;

function indexInstancesAndRecords(inventory: Inventory, installation: string): InstancesAndRecords {
  const instancesByBuild = new Map<string, CloudInstance[]>();
  const instancesBySpec = new Map<string, CloudInstance[]>();
  const checksByBuild = new Map<string, CloudInstance[]>();
  const checksBySpec = new Map<string, CloudInstance[]>();
  for (const instance of inventory.instances) {
    if (!isLeavenOwned(instance.tags, installation)) continue;
    const spec = instance.tags[Tag.spec] ?? "";
    const build = instance.tags[Tag.build] ?? "";
    const isCheck = (CHECKS as readonly string[]).includes(instance.tags[Tag.role] ?? "");
    push(isCheck ? checksByBuild : instancesByBuild, `${spec}/${build}`, instance);
    push(isCheck ? checksBySpec : instancesBySpec, spec, instance);
  }
  const failuresByBuild = new Map<string, FailureRecord[]>();
  const failuresBySpec = new Map<string, FailureRecord[]>();
  for (const record of inventory.failures) {
    if (!isLeavenOwned(record.tags, installation)) continue;
    push(failuresByBuild, `${record.spec}/${record.build}`, record);
    push(failuresBySpec, record.spec, record);
  }
  return { instancesByBuild, instancesBySpec, checksByBuild, checksBySpec, failuresByBuild, failuresBySpec };
}

function push<K, V>(map: Map<K, V[]>, key: K, value: V): void {
  const list = map.get(key);
  if (list) list.push(value);
  else map.set(key, [value]);
}
