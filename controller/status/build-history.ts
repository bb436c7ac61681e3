// The build history of one spec, from what a pass observed and what the plan resolved: every build, its
// images per region, its channels, what it was baked on (down to the vendor image), whether the parent
// channel it was baked from has moved on since, and the failed bakes. Pure; `leaven builds` renders it.
import { channelsFromTags, DEFAULT_INSTALLATION, isLeavenOwned, Tag } from "../api/tags.ts";
import type { CloudImage, CloudInstance, Tags } from "../cloud/port.ts";
import type { Inventory } from "../observe/inventory.ts";
import type { SpecStatus } from "../plan/status.ts";

/** An image's state as an operator reads it; `missing`: the spec names the region, no image is there. */
export type RegionState = "available" | "pending" | "deprecated" | "disabled" | "failed" | "missing";

export interface RegionEntry {
  region: string;
  state: RegionState;
  imageId?: string;
  /** Channels whose tag is on this region's image (for a foundation: whose resolution picked it). */
  channels: string[];
}

/** One step of a lineage: a build of a spec, or (at the end) the vendor image a foundation picked. */
export interface ChainLink {
  spec: string;
  /** The build id; for a foundation, the vendor image name. */
  build: string;
  foundation: boolean;
  /** False when neither an image nor a bake instance of this build is observed: what it was baked on is unknown. */
  observed: boolean;
}

/** A build that never produced an image, as its bake instance records it. */
export interface BakeRecord {
  /** baking: the instance is still at it; failed: it recorded a failure; abandoned: terminated without one. */
  state: "baking" | "failed" | "abandoned";
  instanceId: string;
  reason?: string;
}

export interface BuildRecord {
  /**
   * From the build's package manifest (leaven.yaml manifests), when the bucket holds one: how many packages,
   * and how many were added, removed or changed since the next older build with a manifest.
   */
  packages?: { count: number; changes?: number };
  spec: string;
  /** The build id; for a foundation, the vendor image name. */
  build: string;
  version?: string;
  /** ISO 8601: the home image's creation, or the bake instance's launch for a build without images. */
  created?: string;
  homeRegion?: string;
  /** One entry per region of the history, in its order. */
  regions: RegionEntry[];
  /** Every channel the build is in, in any region. */
  channels: string[];
  /** What it was baked on, as its tags say (absent for a foundation's vendor image). */
  parent?: { spec: string; channel?: string; build?: string };
  /** The build itself first, down to the vendor image. */
  chain: ChainLink[];
  /**
   * The parent channel it was baked from now resolves to another build (`parentChannelNow`): a rebake is
   * due or done. Absent when that cannot be told (no parent, or the channel resolves to nothing now).
   */
  outdated?: boolean;
  parentChannelNow?: string;
  /** Present for a build without any image: its bake instance's record. */
  bake?: BakeRecord;
  /** Why the build failed: its bake's recorded reason, or its home image's failure. */
  failure?: string;
  /** The last console lines of its failed bake, while the plan can still read them. */
  console?: string[];
  /** spec.revoked's reason, from the leaven.dev/revoked tag. */
  revoked?: string;
  /** `spec/build` of the revoked build it descends from (leaven.dev/revoked-parent). */
  revokedParent?: string;
}

export interface BuildHistory {
  spec: string;
  layer: SpecStatus["layer"];
  /** The regions shown for every build: the spec's, then any other region holding one of its images. */
  regions: string[];
  /** Newest first. */
  builds: BuildRecord[];
}

export interface BuildHistoryInput {
  spec: string;
  inventory: Inventory;
  /** The plan's statuses: layers, and what every channel resolves to now. */
  statuses: readonly SpecStatus[];
  /** The spec's regions, home first (unknown for a spec blocked by invalid input). */
  regions?: readonly string[];
  /** Show only this region. */
  region?: string;
  now: number;
  installation?: string;
}

/** A build id is `VERSION+HASH8`; anything else a parent-build tag names is a vendor image name. */
const BUILD_ID = /\+[0-9a-f]{8}$/;

/** Lineages are a few levels deep; a cycle in (hand-edited) tags must not loop forever. */
const MAX_CHAIN = 32;

function regionState(image: CloudImage, now: number): RegionState {
  switch (image.state) {
    case "available": {
      const deprecated = image.deprecationTime !== undefined && Date.parse(image.deprecationTime) <= now;
      return deprecated ? "deprecated" : "available";
    }
    case "pending":
    case "transient":
      return "pending";
    case "disabled":
      return "disabled";
    default:
      return "failed";
  }
}

/** Of two images of one build in one region, the one the planner keeps: available first, then the older. */
function better(a: CloudImage, b: CloudImage): CloudImage {
  if (a.state === "available" && b.state !== "available") return a;
  if (b.state === "available" && a.state !== "available") return b;
  return a.creationDate <= b.creationDate ? a : b;
}

type BuildImages = Map<string, Map<string, CloudImage>>;

/**
 * Images grouped by spec and build, only for the specs asked about: one walk of the inventory serves the
 * spec and its ancestors, and a spec found later (a parent the tags name but the specs no longer do) costs
 * one more walk, never a full index of a 400,000-image estate.
 */
function imageGrouper(inventory: Inventory, installation: string) {
  const grouped = new Map<string, BuildImages>();
  const walk = (specs: ReadonlySet<string>) => {
    for (const spec of specs) grouped.set(spec, new Map());
    for (const image of inventory.images) {
      const spec = image.tags[Tag.spec];
      if (spec === undefined || !specs.has(spec)) continue;
      const build = image.tags[Tag.build];
      if (!build || image.state === "deregistered" || !isLeavenOwned(image.tags, installation)) continue;
      const builds = grouped.get(spec)!;
      let regions = builds.get(build);
      if (!regions) {
        regions = new Map();
        builds.set(build, regions);
      }
      const existing = regions.get(image.region);
      regions.set(image.region, existing ? better(existing, image) : image);
    }
  };
  return {
    prefetch: walk,
    builds(spec: string): BuildImages {
      if (!grouped.has(spec)) walk(new Set([spec]));
      return grouped.get(spec)!;
    },
  };
}

/** The image whose tags speak for the build: the home region's, else the oldest. */
function homeImageOf(images: ReadonlyMap<string, CloudImage>): CloudImage | undefined {
  let oldest: CloudImage | undefined;
  for (const image of images.values()) {
    const home = image.tags[Tag.homeRegion];
    if (home === image.region) return image;
    if (!oldest || image.creationDate < oldest.creationDate) oldest = image;
  }
  return oldest;
}

function newestFirst(a: BuildRecord, b: BuildRecord): number {
  const at = a.created ? Date.parse(a.created) : Number.NEGATIVE_INFINITY;
  const bt = b.created ? Date.parse(b.created) : Number.NEGATIVE_INFINITY;
  if (at !== bt) return bt - at;
  return a.build < b.build ? 1 : a.build > b.build ? -1 : 0;
}

/** The spec and every ancestor the plan knows of, nearest first. */
function lineageOf(spec: string, statuses: ReadonlyMap<string, SpecStatus>): Set<string> {
  const seen = new Set<string>();
  for (let name: string | undefined = spec; name !== undefined && !seen.has(name); ) {
    seen.add(name);
    name = statuses.get(name)?.parent?.spec;
  }
  return seen;
}

/** Computes `leaven builds SPEC`'s answer. Pure: the same inventory, statuses and time give the same history. */
export function buildHistory(input: BuildHistoryInput): BuildHistory {
  const statuses = new Map(input.statuses.map((s) => [s.name, s]));
  const layer = statuses.get(input.spec)?.layer ?? "unknown";
  const installation = input.installation ?? DEFAULT_INSTALLATION;
  if (layer === "foundation") return foundationHistory(input, statuses.get(input.spec)!);

  const grouper = imageGrouper(input.inventory, installation);
  grouper.prefetch(lineageOf(input.spec, statuses));
  const builds = grouper.builds(input.spec);

  const found = new Set<string>();
  for (const images of builds.values()) for (const region of images.keys()) found.add(region);
  const regions = historyRegions(input.regions ?? [], found, input.region);

  /** Follows parent-spec/parent-build tags down to the vendor image. */
  const chainFrom = (spec: string, build: string, tags: Tags | undefined): ChainLink[] => {
    const chain: ChainLink[] = [{ spec, build, foundation: false, observed: tags !== undefined }];
    let current = tags;
    while (current !== undefined && chain.length < MAX_CHAIN) {
      const parentSpec = current[Tag.parentSpec];
      const parentBuild = current[Tag.parentBuild];
      if (!parentSpec || !parentBuild) break;
      const parentLayer = statuses.get(parentSpec)?.layer;
      if (parentLayer === "foundation" || (parentLayer === undefined && !BUILD_ID.test(parentBuild))) {
        chain.push({ spec: parentSpec, build: parentBuild, foundation: true, observed: true });
        break;
      }
      const images = grouper.builds(parentSpec).get(parentBuild);
      current = images ? homeImageOf(images)?.tags : undefined;
      chain.push({
        spec: parentSpec,
        build: parentBuild,
        foundation: false,
        observed: current !== undefined,
      });
    }
    return chain;
  };

  const parentOf = (tags: Tags): Pick<BuildRecord, "parent" | "outdated" | "parentChannelNow"> => {
    const spec = tags[Tag.parentSpec];
    if (!spec) return {};
    const channel = tags[Tag.parentChannel];
    const build = tags[Tag.parentBuild];
    const parent = { spec, ...(channel ? { channel } : {}), ...(build ? { build } : {}) };
    const now = channel === undefined ? undefined : statuses.get(spec)?.channels[channel]?.build;
    if (now === undefined || build === undefined) return { parent };
    return { parent, outdated: now !== build, parentChannelNow: now };
  };

  const records: BuildRecord[] = [];
  for (const [build, images] of builds) {
    const home = homeImageOf(images)!;
    const tags = home.tags;
    const entries = regions.map((region): RegionEntry => {
      const image = images.get(region);
      if (!image) return { region, state: "missing", channels: [] };
      return {
        region,
        state: regionState(image, input.now),
        imageId: image.imageId,
        channels: channelsFromTags(image.tags),
      };
    });
    const channels = new Set<string>();
    let revoked: string | undefined;
    let revokedParent: string | undefined;
    for (const image of images.values()) {
      for (const channel of channelsFromTags(image.tags)) channels.add(channel);
      revoked ??= image.tags[Tag.revoked];
      revokedParent ??= image.tags[Tag.revokedParent];
    }
    const homeRegion = tags[Tag.homeRegion] ?? home.region;
    const homeImage = images.get(homeRegion);
    const failure =
      homeImage && regionState(homeImage, input.now) === "failed"
        ? `image ${homeImage.imageId} is ${homeImage.state}${homeImage.stateReason ? `: ${homeImage.stateReason}` : ""}`
        : undefined;
    records.push({
      spec: input.spec,
      build,
      ...(tags[Tag.version] ? { version: tags[Tag.version] } : {}),
      created: home.creationDate,
      homeRegion,
      regions: entries,
      channels: [...channels].sort(),
      ...parentOf(tags),
      chain: chainFrom(input.spec, build, tags),
      ...(failure ? { failure } : {}),
      ...(revoked ? { revoked } : {}),
      ...(revokedParent ? { revokedParent } : {}),
    });
  }

  // Builds that never got an image: their bake instance is the only record (failed bakes keep their
  // reason in its tags until EC2 forgets the terminated instance, about an hour later).
  for (const [build, instances] of bakesWithoutImages(
    input.inventory.instances,
    input.spec,
    builds,
    installation,
  )) {
    const latest = instances.reduce((a, b) => (b.launchTime > a.launchTime ? b : a));
    const failed = instances
      .filter((i) => i.tags[Tag.bakeResult] === "failed")
      .reduce<CloudInstance | undefined>((a, b) => (a && a.launchTime >= b.launchTime ? a : b), undefined);
    const live = latest.state !== "terminated" && latest.state !== "shutting-down";
    const bake: BakeRecord =
      live && latest !== failed
        ? { state: "baking", instanceId: latest.instanceId }
        : failed
          ? {
              state: "failed",
              instanceId: failed.instanceId,
              reason: failed.tags[Tag.bakeReason] ?? "bake failed (no reason recorded)",
            }
          : {
              state: "abandoned",
              instanceId: latest.instanceId,
              reason: `bake instance ${latest.instanceId} was terminated before an image was created`,
            };
    const tags = (failed ?? latest).tags;
    records.push({
      spec: input.spec,
      build,
      ...(tags[Tag.version] ? { version: tags[Tag.version] } : {}),
      created: (failed ?? latest).launchTime,
      homeRegion: (failed ?? latest).region,
      regions: regions.map((region) => ({ region, state: "missing", channels: [] })),
      channels: [],
      ...parentOf(tags),
      chain: chainFrom(input.spec, build, tags),
      bake,
      ...(bake.state === "failed" && bake.reason ? { failure: bake.reason } : {}),
    });
  }

  // Failed bakes whose instance EC2 has forgotten: their failure record (a launch template) remains.
  for (const failure of input.inventory.failures) {
    if (failure.spec !== input.spec || builds.has(failure.build)) continue;
    if (records.some((r) => r.build === failure.build)) continue;
    const tags = failure.tags;
    records.push({
      spec: input.spec,
      build: failure.build,
      ...(tags[Tag.version] ? { version: tags[Tag.version] } : {}),
      created: failure.at ?? "",
      homeRegion: failure.region,
      regions: regions.map((region) => ({ region, state: "missing", channels: [] })),
      channels: [],
      ...parentOf(tags),
      chain: chainFrom(input.spec, failure.build, tags),
      bake: {
        state: "failed",
        instanceId: failure.instanceId ?? failure.launchTemplateId,
        reason: failure.reason,
      },
      failure: failure.reason,
      ...(failure.console.length > 0 ? { console: failure.console } : {}),
    });
  }

  // The plan read the console of the desired build's failed bake: the history says what it said.
  const planned = statuses.get(input.spec)?.failure;
  const record = planned && records.find((r) => r.build === planned.build);
  if (record && planned) {
    record.failure ??= planned.reason;
    // A stopped bake whose console says it failed is not tagged so until apply terminates it.
    if (record.bake && record.bake.state !== "failed")
      record.bake = { ...record.bake, state: "failed", reason: planned.reason };
    if (planned.console && planned.console.length > 0) record.console = planned.console;
  }

  records.sort(newestFirst);
  return { spec: input.spec, layer, regions, builds: records };
}

/** Bake instances of the spec, by build, for builds with no image at all. */
function bakesWithoutImages(
  instances: readonly CloudInstance[],
  spec: string,
  builds: BuildImages,
  installation: string,
): Map<string, CloudInstance[]> {
  const byBuild = new Map<string, CloudInstance[]>();
  for (const instance of instances) {
    if (instance.tags[Tag.spec] !== spec || !isLeavenOwned(instance.tags, installation)) continue;
    // Other roles (checks) run an image that exists; only a bake stands for a build without one.
    if ((instance.tags[Tag.role] ?? "bake") !== "bake") continue;
    const build = instance.tags[Tag.build];
    if (!build || builds.has(build)) continue;
    byBuild.set(build, [...(byBuild.get(build) ?? []), instance]);
  }
  return byBuild;
}

function historyRegions(specRegions: readonly string[], found: ReadonlySet<string>, only?: string): string[] {
  const extra = [...found].filter((r) => !specRegions.includes(r)).sort();
  const all = [...specRegions, ...extra];
  return only === undefined ? all : all.filter((r) => r === only);
}

/** A foundation's builds are the vendor images observed for it, one per name across regions. */
function foundationHistory(input: BuildHistoryInput, status: SpecStatus): BuildHistory {
  const byName = new Map<string, Map<string, CloudImage>>();
  for (const image of input.inventory.vendorImages.get(input.spec) ?? []) {
    let regions = byName.get(image.name);
    if (!regions) {
      regions = new Map();
      byName.set(image.name, regions);
    }
    regions.set(image.region, image);
  }
  const found = new Set<string>();
  for (const images of byName.values()) for (const region of images.keys()) found.add(region);
  const regions = historyRegions(input.regions ?? [], found, input.region);
  const home = input.regions?.[0];
  const records: BuildRecord[] = [];
  for (const [name, images] of byName) {
    const homeImage =
      (home ? images.get(home) : undefined) ??
      [...images.values()].reduce((a, b) => (b.creationDate < a.creationDate ? b : a));
    // Foundations carry no channel tags: a channel is on the vendor image its selector resolved to.
    const channelsIn = (region: string, imageId: string) =>
      Object.entries(status.channels)
        .filter(([, c]) => c.build === name && c.images[region] === imageId)
        .map(([channel]) => channel)
        .sort();
    records.push({
      spec: input.spec,
      build: name,
      created: homeImage.creationDate,
      homeRegion: homeImage.region,
      regions: regions.map((region): RegionEntry => {
        const image = images.get(region);
        if (!image) return { region, state: "missing", channels: [] };
        return {
          region,
          state: regionState(image, input.now),
          imageId: image.imageId,
          channels: channelsIn(region, image.imageId),
        };
      }),
      channels: Object.entries(status.channels)
        .filter(([, c]) => c.build === name)
        .map(([channel]) => channel)
        .sort(),
      chain: [{ spec: input.spec, build: name, foundation: true, observed: true }],
    });
  }
  records.sort(newestFirst);
  return { spec: input.spec, layer: "foundation", regions, builds: records };
}
