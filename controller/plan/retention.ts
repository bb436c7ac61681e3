// Staged retirement. A build no channel, child build, instance or launch template uses, beyond the newest
// `keepBuilds`, starts a clock (leaven.dev/unused-since); by its age it is deprecated, optionally disabled,
// then deregistered with its snapshots. Every stage's date is a tag, so a restarted controller continues the
// schedule, and a build that is used again (a channel names it, a child is baked on it) is restored.
// Images of deleted specs are orphans: reported, and retired only when their last known policy says so.
import { Tag } from "../api/tags.ts";
import type { ImageSpec, Retention } from "../api/types.generated.ts";
import type { CloudImage, Tags } from "../cloud/port.ts";
import type { Inventory } from "../observe/inventory.ts";
import { parseDuration } from "../validation/durations.ts";
import type { ValidSpec } from "../validation/result.ts";
import type { Action } from "./actions.ts";
import {
  buildChannels,
  type IndexedInventory,
  imageChannels,
  type ObservedBuild,
} from "./index-inventory.ts";

const DEFAULT_KEEP = 3;
/** EC2 refuses a deprecation time in the past: deprecate a minute from now. */
const DEPRECATE_LEAD_MS = 60_000;

/** An image kept although a retirement stage's age has passed, and what keeps it. */
export interface KeptImage {
  spec: string;
  build: string;
  region: string;
  imageId: string;
  /** The protections, e.g. "in channel release", "in use by instance i-0abc (running)". */
  protections: string[];
}

/** A build of a spec that is no longer in the sources. */
export interface Orphan {
  spec: string;
  build: string;
  /** Region → image id. */
  images: Record<string, string>;
  /** ISO 8601: the oldest image's creation. */
  createdAt: string;
  /** What uses its images (empty when nothing does); undefined when use could not be observed. */
  usedBy?: string[];
  /** "retain" (reported only) or "retire" (on its recorded schedule). */
  onDelete: "retain" | "retire";
}

export interface RetentionResult {
  kept: KeptImage[];
  orphans: Orphan[];
  /** Images whose use must be observed (instances, launch templates) before a stage may run: by region. */
  usageNeeded: Map<string, string[]>;
  /** Why nothing was retired anywhere this pass, when that is so. */
  paused?: string;
}

export interface RetentionInput {
  specs: readonly ValidSpec[];
  blocked?: ReadonlyMap<string, string>;
  index: IndexedInventory;
  inventory: Inventory;
  now: number;
  /** The build each spec wants now: never retired. */
  desired: ReadonlyMap<string, string | undefined>;
  /** Some document could not be attributed to a spec: no orphan is retired (it might be that spec's). */
  unattributedErrors?: boolean;
  /** Nothing is deregistered or deleted, whatever the policies say (`--no-delete`). */
  noDelete?: boolean;
  /** Only these specs' builds are planned (plan/scope.ts); orphans are the base plan's. */
  scope?: ReadonlySet<string>;
}

/** The schedule a spec's images carry once its spec may be deleted (only with onDelete: retire). */
export function deletionPolicyTags(doc: ImageSpec): Tags {
  const retention = doc.spec.retention;
  if (retention?.onDelete !== "retire") return {};
  return { [Tag.onDelete]: "retire", [Tag.retention]: scheduleText(retention) };
}

function scheduleText(retention: Retention): string {
  const parts: string[] = [];
  if (retention.deprecateAfter) parts.push(`deprecate=${retention.deprecateAfter}`);
  if (retention.disableAfter) parts.push(`disable=${retention.disableAfter}`);
  if (retention.deregisterAfter) parts.push(`deregister=${retention.deregisterAfter}`);
  if (retention.delete === false) parts.push("delete=false");
  return parts.join(" ");
}

/** Reads a schedule back from the leaven.dev/retention tag; unknown parts are ignored. */
export function parseSchedule(text: string | undefined): Retention {
  const retention: Retention = {};
  for (const part of (text ?? "").split(" ")) {
    const [key, value] = part.split("=");
    if (!value) continue;
    if (key === "deprecate") retention.deprecateAfter = value;
    else if (key === "disable") retention.disableAfter = value;
    else if (key === "deregister") retention.deregisterAfter = value;
    else if (key === "delete") retention.delete = value !== "false";
  }
  return retention;
}

const RETIREMENT_TAGS = [Tag.unusedSince, Tag.deprecatedAt, Tag.disabledAt];

/** What uses a build and so keeps it, whatever its age. */
function buildProtections(
  spec: ImageSpec,
  build: ObservedBuild,
  desired: string | undefined,
  children: Children,
): string[] {
  const protections: string[] = [];
  const channels = buildChannels(build);
  if (channels.size > 0)
    for (const channel of [...channels].sort()) protections.push(`in channel ${channel}`);
  for (const [channel, selector] of Object.entries(spec.spec.channels ?? {})) {
    if (selector.build === build.build && !channels.has(channel))
      protections.push(`named by channel ${channel}'s selector`);
  }
  if (build.build === desired) protections.push("the build the spec wants now");
  for (const child of childrenOfBuild(children, build.spec, build.build))
    protections.push(`parent of ${child.name}`);
  return protections;
}

/**
 * What keeps a build's image in a region its spec no longer names: the channels that image still carries
 * (their removal is planned with it) and the children baked there — a child is baked on its parent's image
 * in the child's home region. The build's other protections are about its regions, not this one.
 */
function droppedRegionProtections(build: ObservedBuild, region: string, children: Children): string[] {
  const protections = imageChannels(build, region).map((channel) => `in channel ${channel} in ${region}`);
  for (const child of childrenOfBuild(children, build.spec, build.build))
    if (child.home === undefined || child.home === region) protections.push(`parent of ${child.name}`);
  return protections;
}

/**
 * Every live build's children (of the `parents` specs' builds, when given), by `spec/build` of the parent: a
 * parent is kept while a child exists.
 */
function childrenOf(index: IndexedInventory, parents?: ReadonlySet<string>): Children {
  const children: Children = new Map();
  for (const builds of index.builds.values()) {
    for (const build of builds.values()) {
      const { parentSpec, parentBuild } = build;
      if (!parentSpec || !parentBuild) continue;
      // Planning a scope, only its specs' builds are retired: only their children are asked for.
      if (parents && !parents.has(parentSpec)) continue;
      let bySpec = children.get(parentSpec);
      if (!bySpec) {
        bySpec = new Map();
        children.set(parentSpec, bySpec);
      }
      const list = bySpec.get(parentBuild);
      const child: Child = { name: `${build.spec} ${build.build}`, home: build.homeRegion };
      if (list) list.push(child);
      else bySpec.set(parentBuild, [child]);
    }
  }
  // Sorted: what a parent's protections say does not depend on the order the specs were indexed in.
  // Names ("spec build") are unique per parent build: no two compare equal.
  for (const bySpec of children.values())
    for (const list of bySpec.values()) if (list.length > 1) list.sort((a, b) => (a.name < b.name ? -1 : 1));
  return children;
}

/** A child build ("spec build") and its home region (undefined when its images do not say). */
interface Child {
  name: string;
  home: string | undefined;
}

/** Parent spec → parent build → its children. */
type Children = Map<string, Map<string, Child[]>>;

function childrenOfBuild(children: Children, spec: string, build: string): readonly Child[] {
  return children.get(spec)?.get(build) ?? NO_CHILDREN;
}

const NO_CHILDREN: readonly Child[] = Object.freeze([]);

function createdAt(build: ObservedBuild): number {
  // EC2's creation dates are ISO 8601 in UTC, all alike: the earliest string is the earliest time, and only
  // it is parsed (Date.parse for every image of every build was a tenth of a plan).
  let earliest: string | undefined;
  for (const image of build.images.values())
    if (earliest === undefined || image.creationDate < earliest) earliest = image.creationDate;
  return earliest === undefined ? Number.POSITIVE_INFINITY : Date.parse(earliest);
}

/** The stage due for an unused image now, or undefined (not yet, or done). */
type Stage = "deprecate" | "disable" | "deregister";

function dueStage(image: CloudImage, retention: Retention, now: number): Stage | undefined {
  const since = Date.parse(image.tags[Tag.unusedSince] ?? "");
  if (Number.isNaN(since)) return undefined;
  const past = (duration: string | undefined) =>
    duration !== undefined && now >= since + parseDuration(duration);
  if (retention.delete !== false && past(retention.deregisterAfter)) return "deregister";
  if (past(retention.disableAfter) && image.state === "available") return "disable";
  if (past(retention.deprecateAfter) && image.tags[Tag.deprecatedAt] === undefined) return "deprecate";
  return undefined;
}

/** The earliest stage's age: an image kept longer than this since it was made is "kept past its age". */
function firstAge(retention: Retention): number | undefined {
  const ages = [retention.deprecateAfter, retention.disableAfter, retention.deregisterAfter]
    .filter((d): d is string => d !== undefined)
    .map(parseDuration);
  return ages.length > 0 ? Math.min(...ages) : undefined;
}

function stageAction(
  stage: Stage,
  spec: string,
  build: string,
  image: CloudImage,
  retention: Retention,
  now: number,
  why: string,
): Action {
  const base = { spec, build, region: image.region, imageId: image.imageId };
  const at = new Date(now).toISOString();
  const since = image.tags[Tag.unusedSince];
  switch (stage) {
    case "deregister":
      return {
        kind: "deregister-image",
        ...base,
        snapshotIds: image.snapshotIds,
        reason: `${why}, unused since ${since}: deregisterAfter ${retention.deregisterAfter} has passed`,
      };
    case "disable":
      return {
        kind: "disable-image",
        ...base,
        tags: { [Tag.disabledAt]: at },
        reason: `${why}, unused since ${since}: disableAfter ${retention.disableAfter} has passed`,
      };
    case "deprecate":
      return {
        kind: "deprecate-image",
        ...base,
        deprecateAt: new Date(now + DEPRECATE_LEAD_MS).toISOString(),
        tags: { [Tag.deprecatedAt]: at },
        reason: `${why}, unused since ${since}: deprecateAfter ${retention.deprecateAfter} has passed`,
      };
  }
}

/** Undoes what retirement did to an image that is used again. */
function restore(
  spec: string,
  build: string,
  image: CloudImage,
  protections: readonly string[],
): Action | undefined {
  // Most images were never retired: no list made to find that out.
  let retired = false;
  for (const key of RETIREMENT_TAGS) if (image.tags[key] !== undefined) retired = true;
  if (!retired) return undefined;
  const keys = RETIREMENT_TAGS.filter((key) => image.tags[key] !== undefined);
  const why = protections.join(", ");
  return {
    kind: "restore-image",
    spec,
    build,
    region: image.region,
    imageId: image.imageId,
    enable: image.tags[Tag.disabledAt] !== undefined && image.state === "disabled",
    undeprecate: image.tags[Tag.deprecatedAt] !== undefined && image.deprecationTime !== undefined,
    keys,
    reason: `build ${build} is used again (${why}): its retirement is undone`,
  };
}

/**
 * Plans retirement for every spec with a retention policy and for orphans, and reports what is kept past
 * its age and why. An image is only ever staged after its use (instances, launch templates) was observed
 * this pass: until then it is listed in `usageNeeded` and left alone.
 */
export function planRetention(input: RetentionInput, actions: Action[]): RetentionResult {
  const { index, inventory, now } = input;
  const result: RetentionResult = { kept: [], orphans: [], usageNeeded: new Map() };
  const known = new Map(input.specs.map((s) => [s.name, s.document]));
  const usage = inventory.usage;
  const needUsage = (image: CloudImage) => {
    const list = result.usageNeeded.get(image.region) ?? [];
    list.push(image.imageId);
    result.usageNeeded.set(image.region, list);
  };
  const usersOf = (image: CloudImage): string[] | undefined => usage?.get(image.imageId);
  // A region that was not observed may hold children or users of any build: retire nothing anywhere.
  const blind = inventory.regionErrors.size > 0;
  const children = childrenOf(index, input.scope);

  // Stages an unprotected image: tag its clock, then each stage when due and its use is known to be none.
  const stage = (
    spec: string,
    build: ObservedBuild,
    image: CloudImage,
    retention: Retention,
    why: string,
    kept: string[],
  ) => {
    if (image.state !== "available" && image.state !== "disabled") return;
    if (image.tags[Tag.unusedSince] === undefined) {
      actions.push({
        kind: "set-tags",
        spec,
        build: build.build,
        region: image.region,
        imageId: image.imageId,
        tags: { [Tag.unusedSince]: new Date(now).toISOString() },
        reason: `${why}: its retirement clock starts`,
      });
      return;
    }
    const due = dueStage(image, input.noDelete ? { ...retention, delete: false } : retention, now);
    if (!due) return;
    const users = usersOf(image);
    if (users === undefined) {
      needUsage(image);
      return;
    }
    if (users.length > 0 || kept.length > 0) {
      result.kept.push({
        spec,
        build: build.build,
        region: image.region,
        imageId: image.imageId,
        protections: [...kept, ...users.map((u) => `in use by ${u}`)],
      });
      return;
    }
    if (blind) return;
    actions.push(stageAction(due, spec, build.build, image, retention, now, why));
  };

  for (const [specName, builds] of index.builds) {
    if (input.scope && !input.scope.has(specName)) continue;
    const doc = known.get(specName);
    if (input.blocked?.has(specName)) continue;
    if (doc) {
      if (doc.spec.layer === "foundation" || doc.spec.suspend) continue;
      const retention = doc.spec.retention ?? {};
      const policyTags = deletionPolicyTags(doc);
      const keep = retention.keepBuilds ?? DEFAULT_KEEP;
      const age = firstAge(retention);
      // Newest first; the newest `keep` builds that nothing else protects are kept.
      const ordered = [...builds.values()].sort((a, b) => createdAt(b) - createdAt(a));
      const regions = doc.spec.regions;
      let unusedKept = 0;
      for (const build of ordered) {
        const protections = buildProtections(doc, build, input.desired.get(specName), children);
        if (protections.length === 0 && unusedKept < keep) {
          unusedKept++;
          protections.push(`one of the ${keep} newest unused builds kept (keepBuilds)`);
        }
        for (const image of build.images.values()) {
          syncPolicy(specName, build.build, image, policyTags, actions);
          if (!regions.includes(image.region)) {
            // A region taken out of the spec: its images there retire on the spec's schedule, whatever the
            // build's standing in the regions it still names (re-adding the region restores them).
            if (age === undefined) continue;
            const kept = droppedRegionProtections(build, image.region, children);
            stage(specName, build, image, retention, `${specName} is no longer in ${image.region}`, kept);
            continue;
          }
          if (protections.length > 0) {
            const undo = restore(specName, build.build, image, protections);
            if (undo) actions.push(undo);
            else if (age !== undefined && now - Date.parse(image.creationDate) >= age)
              result.kept.push({
                spec: specName,
                build: build.build,
                region: image.region,
                imageId: image.imageId,
                protections,
              });
            continue;
          }
          if (age === undefined) continue;
          stage(specName, build, image, retention, `build ${build.build} of ${specName} is not used`, []);
        }
      }
      continue;
    }
    // An orphan: its spec is gone from the sources.
    for (const build of builds.values()) {
      const images = [...build.images.values()];
      const onDelete = images.some((i) => i.tags[Tag.onDelete] === "retire") ? "retire" : "retain";
      const users = images.map(usersOf);
      const usedBy = users.every((u) => u !== undefined) ? users.flatMap((u) => u ?? []) : undefined;
      result.orphans.push({
        spec: specName,
        build: build.build,
        images: Object.fromEntries(images.map((i) => [i.region, i.imageId]).sort()),
        createdAt: new Date(createdAt(build)).toISOString(),
        ...(usedBy !== undefined ? { usedBy } : {}),
        onDelete,
      });
      if (usedBy === undefined) for (const image of images) if (!usage?.has(image.imageId)) needUsage(image);
      if (onDelete !== "retire" || input.unattributedErrors) continue;
      const kept = childrenOfBuild(children, specName, build.build).map((c) => `parent of ${c.name}`);
      for (const image of images) {
        const retention = parseSchedule(image.tags[Tag.retention]);
        if (firstAge(retention) === undefined) continue;
        stage(specName, build, image, retention, `spec ${specName} was deleted (onDelete: retire)`, kept);
      }
    }
  }
  for (const [region, ids] of result.usageNeeded) result.usageNeeded.set(region, [...new Set(ids)].sort());
  const retiring =
    input.specs.some((s) => s.document.spec.retention !== undefined) || result.orphans.length > 0;
  if (blind && retiring)
    result.paused = `retirement waits: ${[...inventory.regionErrors.keys()].sort().join(", ")} could not be observed`;
  return result;
}

const POLICY_TAGS = [Tag.onDelete, Tag.retention];

/** Keeps the deletion policy recorded on a spec's images equal to the spec's (it outlives the spec). */
function syncPolicy(spec: string, build: string, image: CloudImage, wanted: Tags, actions: Action[]): void {
  // Asked of every image of every spec on every plan, and almost always in sync: nothing allocated then.
  let inSync = true;
  for (const key in wanted) if (image.tags[key] !== wanted[key]) inSync = false;
  for (const key of POLICY_TAGS)
    if (wanted[key] === undefined && image.tags[key] !== undefined) inSync = false;
  if (inSync) return;
  const set: Tags = {};
  for (const [key, value] of Object.entries(wanted)) if (image.tags[key] !== value) set[key] = value;
  const remove = [Tag.onDelete, Tag.retention].filter(
    (key) => wanted[key] === undefined && image.tags[key] !== undefined,
  );
  if (Object.keys(set).length > 0)
    actions.push({
      kind: "set-tags",
      spec,
      build,
      region: image.region,
      imageId: image.imageId,
      tags: set,
      reason: `retention.onDelete of ${spec} is retire: recorded on its images`,
    });
  if (remove.length > 0)
    actions.push({
      kind: "remove-tags",
      spec,
      build,
      region: image.region,
      imageId: image.imageId,
      keys: remove,
      reason: `retention.onDelete of ${spec} is retain: its images are kept once it is deleted`,
    });
}
