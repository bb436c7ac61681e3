// The inventory a long-running process keeps across passes (apply's loop, and later `leaven run` and the
// operator). A full walk of a region lists every Leaven image there (⌈n/1000⌉ DescribeImages pages) and
// every parameter under its publish prefixes; it runs on the first pass, on a schedule (default every
// 10 minutes) and after a surprise. In between, a pass refreshes only what can have changed:
//   - images created since the last refresh: one DescribeImages with a `creation-date` filter per region
//     (hour-wide wildcards around the window, a margin each side for clock skew and EC2's listing lag);
//   - the images Leaven acted on in the last pass, the ones it created, and everything pending: by id;
//   - the images of specs whose document changed (or that are new): by their spec tag;
//   - the parameters Leaven put or deleted: by name.
// Everything else an image can go through without Leaven (retagged, deregistered, shared by someone else)
// is found by the next full walk, or sooner: an id Leaven watched that disappeared, or an action that
// failed with "not found", makes the region's next refresh a full walk.
import { DEFAULT_INSTALLATION, MANAGED_BY_VALUE, Tag } from "../api/tags.ts";
import type { CloudImage, CloudPort, Filter } from "../cloud/port.ts";
import type { Action } from "../plan/actions.ts";
import type { ValidSpec } from "../validation/result.ts";
import type { ObservedParameter } from "./inventory.ts";
import { errorMessage, keptByWalk, ownerFilter, regionsOf, walkOwnedImages } from "./observe.ts";
import { observeParameters, prefixesByRegion } from "./parameters.ts";

export const DEFAULT_FULL_WALK_INTERVAL_MS = 10 * 60_000;
/** How far before the last refresh the new-image window starts: clock skew plus EC2's listing lag. */
const NEW_IMAGE_MARGIN_MS = 15 * 60_000;
/** EC2 takes at most 200 values per filter. */
const FILTER_VALUES = 200;
/** Past this many ids (or changed specs) to read in one region, one full walk is cheaper and simpler. */
const MAX_TARGETED = 2000;
/** A created image that is not listed yet (eventual consistency) is looked for this many refreshes. */
const CREATED_LOOKS = 5;

export interface InventoryCacheOptions {
  cloud: CloudPort;
  /** A full walk of each region at least this often (clock time). */
  fullWalkIntervalMs?: number;
  installation?: string;
}

/** The images and parameters of one refresh, as the inventory of a pass holds them. */
export interface CachedObservation {
  regions: string[];
  images: CloudImage[];
  regionErrors: Map<string, string>;
  parameters: ObservedParameter[];
  parameterRegions: string[];
  parameterErrors?: Map<string, string>;
  /** Whether anything differs from the previous refresh (images, parameters, or regions walked). */
  changed: boolean;
  /** Whether a spec was added, edited or deleted since the previous refresh. */
  specsChanged: boolean;
  /** Regions walked in full this refresh, and why. */
  fullWalks: Map<string, string>;
  /**
   * What changed, by spec, when that is known: the specs whose document is new or edited, and the specs of
   * every image added, changed or removed. Undefined when a change cannot be attributed to a known spec (a full
   * walk or listing, a region that failed, a spec deleted, an image without a spec tag): then anything may have.
   */
  changes?: { documents: ReadonlySet<string>; images: ReadonlySet<string> };
}

interface RegionImages {
  images: Map<string, CloudImage>;
  /** Ids of the images pending: read again on every refresh until they settle. */
  pending: Set<string>;
  /** Clock time of the last successful full walk. */
  walkedAt: number;
  /** Clock time of the last successful refresh (full or not): where the next new-image window starts. */
  refreshedAt: number;
}

interface RegionParameters {
  /** The prefixes listed, joined: a change of prefixes lists the region again. */
  prefixes: string;
  byName: Map<string, ObservedParameter>;
  listedAt: number;
}

export class InventoryCache {
  private readonly cloud: CloudPort;
  private readonly fullWalkIntervalMs: number;
  private readonly installation: string | undefined;
  private readonly images = new Map<string, RegionImages>();
  private readonly parameters = new Map<string, RegionParameters>();
  /** region → image id → why it is read again (acted on, created, pending). */
  private readonly watched = new Map<string, Map<string, { created: number } | undefined>>();
  /** region → image ids Leaven deregistered: their disappearance is expected, not a surprise. */
  private readonly deregistered = new Map<string, Set<string>>();
  /** region → parameter names Leaven put or deleted. */
  private readonly touchedParameters = new Map<string, Set<string>>();
  /** region → why its next refresh is a full walk. */
  private readonly surprises = new Map<string, string>();
  private readonly fingerprints = new Map<string, string>();
  private readonly specRegions = new Map<string, readonly string[]>();
  private specsRemoved = false;
  /** Counts changes to the cached images: the list handed out is made again only when it moved. */
  private version = 0;
  private list?: { key: string; images: CloudImage[] };
  /** Specs of the images changed in this refresh; undefined once a change had no spec to name. */
  private imageChanges: Set<string> | undefined = new Set();

  constructor(options: InventoryCacheOptions) {
    this.cloud = options.cloud;
    this.fullWalkIntervalMs = options.fullWalkIntervalMs ?? DEFAULT_FULL_WALK_INTERVAL_MS;
    this.installation = options.installation;
  }

  /** Makes the next refresh of `region` (every region, when undefined) a full walk. */
  surprise(why: string, region?: string): void {
    for (const r of region === undefined ? [...this.images.keys()] : [region])
      if (!this.surprises.has(r)) this.surprises.set(r, why);
  }

  /** What the last pass did: its targets are read again, and a "not found" failure is a surprise. */
  noteResults(
    results: readonly { actions: readonly Action[]; ok: boolean; error?: string; created?: string }[],
  ): void {
    for (const result of results) {
      for (const action of result.actions) {
        if (action.kind === "put-parameter" || action.kind === "delete-parameter") {
          const name = action.kind === "put-parameter" ? action.parameter.name : action.name;
          setOf(this.touchedParameters, action.region).add(name);
          continue;
        }
        if ("imageId" in action && typeof action.imageId === "string") {
          this.watch(action.region, action.imageId);
          if (action.kind === "deregister-image" && result.ok)
            setOf(this.deregistered, action.region).add(action.imageId);
        }
        if ((action.kind === "create-image" || action.kind === "copy-image") && result.created)
          this.watch(action.region, result.created, CREATED_LOOKS);
        if (!result.ok && result.error !== undefined && isNotFound(result.error))
          this.surprise(`${action.kind} ${action.spec} failed: ${result.error}`, action.region);
      }
    }
  }

  private watch(region: string, imageId: string, looks?: number): void {
    const ids = this.watched.get(region) ?? new Map<string, { created: number } | undefined>();
    ids.set(imageId, looks === undefined ? ids.get(imageId) : { created: looks });
    this.watched.set(region, ids);
  }

  /** Brings the cached images and parameters up to date for `specs` and returns them. */
  async refresh(
    specs: readonly ValidSpec[],
    now: number,
    /** Regions no spec names that still hold something of this installation's (observe/stray-regions.ts). */
    strayRegions: readonly string[] = [],
  ): Promise<CachedObservation> {
    const named = regionsOf(specs);
    const regions = strayRegions.length === 0 ? named : [...new Set([...named, ...strayRegions])].sort();
    this.specsRemoved = false;
    this.imageChanges = new Set();
    const changedSpecs = this.changedSpecs(specs);
    const specsChanged = changedSpecs.size > 0 || this.specsRemoved;
    const regionErrors = new Map<string, string>();
    const fullWalks = new Map<string, string>();
    let changed = false;
    await Promise.all(
      regions.map(async (region) => {
        const why = this.fullWalkReason(region, now, changedSpecs.get(region));
        try {
          if (why !== undefined) {
            fullWalks.set(region, why);
            const images = await walkOwnedImages(this.cloud, region, this.installation);
            this.images.set(region, {
              images: new Map(images.map((i) => [i.imageId, i])),
              pending: new Set(images.filter((i) => i.state === "pending").map((i) => i.imageId)),
              walkedAt: now,
              refreshedAt: now,
            });
            this.surprises.delete(region);
            this.watched.delete(region);
            changed = true;
            this.imageChanges = undefined;
            this.version++;
          } else if (await this.refreshRegion(region, now, changedSpecs.get(region) ?? [])) changed = true;
          this.deregistered.delete(region);
        } catch (error) {
          regionErrors.set(region, errorMessage(error));
        }
      }),
    );
    const params = await this.refreshParameters(specs, now, fullWalks, strayRegions);
    const documents = new Set<string>();
    for (const names of changedSpecs.values()) for (const name of names) documents.add(name);
    if (params.changed) changed = true;
    // The same list as last time when no image changed: a new one costs a walk over every image.
    const included = regions.filter((region) => this.images.has(region) && !regionErrors.has(region));
    const key = `${this.version} ${included.join(" ")}`;
    if (this.list?.key !== key) {
      const images: CloudImage[] = [];
      for (const region of included)
        for (const image of this.images.get(region)!.images.values()) images.push(image);
      this.list = { key, images };
    }
    const images = this.list.images;
    return {
      regions,
      images,
      regionErrors,
      parameters: params.parameters,
      parameterRegions: params.regions,
      ...(params.errors.size > 0 ? { parameterErrors: params.errors } : {}),
      changed: changed || regionErrors.size > 0,
      specsChanged,
      fullWalks,
      ...(this.imageChanges && !params.listed && !this.specsRemoved && regionErrors.size === 0
        ? { changes: { documents, images: this.imageChanges } }
        : {}),
    };
  }

  /** Specs new or edited since the last refresh, by region (their regions now and before). */
  private changedSpecs(specs: readonly ValidSpec[]): Map<string, string[]> {
    const byRegion = new Map<string, string[]>();
    for (const { name, document } of specs) {
      const fingerprint = JSON.stringify(document);
      if (this.fingerprints.get(name) === fingerprint) continue;
      const regions = new Set([...document.spec.regions, ...(this.specRegions.get(name) ?? [])]);
      for (const region of regions) {
        const list = byRegion.get(region) ?? [];
        list.push(name);
        byRegion.set(region, list);
      }
      this.fingerprints.set(name, fingerprint);
      this.specRegions.set(name, document.spec.regions);
    }
    const names = new Set(specs.map((s) => s.name));
    for (const name of [...this.fingerprints.keys()]) {
      if (names.has(name)) continue;
      // A deleted spec: its images stay (retention decides), and the next plan must see it is gone.
      this.fingerprints.delete(name);
      this.specRegions.delete(name);
      this.specsRemoved = true;
    }
    return byRegion;
  }

  private fullWalkReason(
    region: string,
    now: number,
    changedSpecs: readonly string[] | undefined,
  ): string | undefined {
    const state = this.images.get(region);
    if (!state) return "first walk";
    const surprise = this.surprises.get(region);
    if (surprise !== undefined) return surprise;
    if (now - state.walkedAt >= this.fullWalkIntervalMs || now - state.refreshedAt > 24 * 3600_000)
      return "scheduled";
    if ((this.watched.get(region)?.size ?? 0) > MAX_TARGETED || (changedSpecs?.length ?? 0) > MAX_TARGETED)
      return "too many changes to read one by one";
    return undefined;
  }

  /** The incremental refresh of one region; true when an image was added, changed or removed. */
  private async refreshRegion(
    region: string,
    now: number,
    changedSpecs: readonly string[],
  ): Promise<boolean> {
    const state = this.images.get(region)!;
    const watched = this.watched.get(region) ?? new Map<string, { created: number } | undefined>();
    for (const id of state.pending) watched.set(id, watched.get(id));
    const ids = [...watched.keys()];
    const [fresh, byId, bySpec] = await Promise.all([
      this.describe(region, [
        ...ownerFilter,
        {
          name: "creation-date",
          values: creationDatePatterns(state.refreshedAt - NEW_IMAGE_MARGIN_MS, now + NEW_IMAGE_MARGIN_MS),
        },
      ]),
      Promise.all(
        chunks(ids, FILTER_VALUES).map((values) => this.describe(region, [{ name: "image-id", values }])),
      ),
      Promise.all(
        chunks([...changedSpecs], FILTER_VALUES).map((values) =>
          this.describe(region, [...ownerFilter, { name: `tag:${Tag.spec}`, values }]),
        ),
      ),
    ]);
    let changed = false;
    const remove = (id: string) => {
      const existing = state.images.get(id);
      if (!existing) return false;
      this.noteChange(existing);
      state.images.delete(id);
      return true;
    };
    const upsert = (image: CloudImage) => {
      if (!keptByWalk(image, this.installation)) {
        state.pending.delete(image.imageId);
        if (remove(image.imageId)) changed = true;
        return;
      }
      if (image.state === "pending") state.pending.add(image.imageId);
      else state.pending.delete(image.imageId);
      const existing = state.images.get(image.imageId);
      if (existing && sameImage(existing, image)) return;
      if (existing) this.noteChange(existing);
      this.noteChange(image);
      state.images.set(image.imageId, image);
      changed = true;
    };
    for (const image of fresh) upsert(image);
    const seen = new Set<string>();
    for (const image of byId.flat()) {
      seen.add(image.imageId);
      upsert(image);
    }
    const deregistered = this.deregistered.get(region);
    const keep = new Map<string, { created: number } | undefined>();
    for (const [id, created] of watched) {
      if (seen.has(id)) continue;
      state.pending.delete(id);
      if (remove(id)) {
        changed = true;
        // Gone without Leaven deregistering it: something else changes this region; walk it all next time.
        if (!deregistered?.has(id)) this.surprise(`image ${id} disappeared`, region);
      } else if (created && created.created > 1) keep.set(id, { created: created.created - 1 });
    }
    // Every image of a changed spec is in this answer: those cached but absent are gone.
    const specImages = bySpec.flat();
    const listed = new Set(specImages.map((i) => i.imageId));
    for (const image of specImages) upsert(image);
    const changedSet = new Set(changedSpecs);
    // Deleting the entry being visited is safe in a Map's iteration.
    for (const image of changedSet.size > 0 ? state.images.values() : []) {
      const spec = image.tags[Tag.spec];
      if (spec !== undefined && changedSet.has(spec) && !listed.has(image.imageId)) {
        remove(image.imageId);
        state.pending.delete(image.imageId);
        changed = true;
      }
    }
    if (keep.size > 0) this.watched.set(region, keep);
    else this.watched.delete(region);
    state.refreshedAt = now;
    return changed;
  }

  /** An image added, changed or removed: its spec's plan may change. */
  private noteChange(image: CloudImage): void {
    this.version++;
    const spec = image.tags[Tag.spec];
    if (spec === undefined) this.imageChanges = undefined;
    else this.imageChanges?.add(spec);
  }

  private describe(region: string, filters: Filter[]): Promise<CloudImage[]> {
    return this.cloud.describeImages(region, {
      owners: ["self"],
      filters,
      includeDeprecated: true,
      includeDisabled: true,
    });
  }

  /**
   * Parameters: listed in full where the region's images were walked in full, where its prefixes changed or
   * where the last listing failed; elsewhere only the names Leaven put or deleted are read again.
   */
  private async refreshParameters(
    specs: readonly ValidSpec[],
    now: number,
    fullWalks: ReadonlyMap<string, string>,
    strayRegions: readonly string[],
  ): Promise<{
    parameters: ObservedParameter[];
    regions: string[];
    errors: Map<string, string>;
    changed: boolean;
    /** Whether some region's parameters were listed in full (what changed there is not known by spec). */
    listed: boolean;
  }> {
    const prefixes = prefixesByRegion(specs, strayRegions);
    const errors = new Map<string, string>();
    const toList = [...prefixes].filter(([region, list]) => {
      const state = this.parameters.get(region);
      return !state || state.prefixes !== list.join(" ") || fullWalks.has(region);
    });
    let changed = false;
    if (toList.length > 0) {
      const listedRegions = new Set(toList.map(([region]) => region));
      const listed = await observeParameters(
        this.cloud,
        specs,
        this.installation,
        listedRegions,
        strayRegions,
      );
      for (const [region, list] of toList) {
        const error = listed.parameterErrors?.get(region);
        if (error !== undefined || !listed.parameterRegions.includes(region)) {
          errors.set(region, error ?? "not listed");
          this.parameters.delete(region);
          continue;
        }
        this.parameters.set(region, {
          prefixes: list.join(" "),
          byName: new Map(listed.parameters.filter((p) => p.region === region).map((p) => [p.name, p])),
          listedAt: now,
        });
        this.touchedParameters.delete(region);
        changed = true;
      }
    }
    await Promise.all(
      [...this.touchedParameters].map(async ([region, names]) => {
        const state = this.parameters.get(region);
        if (!state || !prefixes.has(region)) return;
        try {
          if (await this.rereadParameters(region, state, [...names])) changed = true;
          this.touchedParameters.delete(region);
        } catch (error) {
          errors.set(region, errorMessage(error));
        }
      }),
    );
    const parameters: ObservedParameter[] = [];
    const regions: string[] = [];
    for (const region of [...prefixes.keys()].sort()) {
      const state = this.parameters.get(region);
      if (!state || errors.has(region)) continue;
      regions.push(region);
      parameters.push(...state.byName.values());
    }
    parameters.sort((a, b) =>
      a.region === b.region ? (a.name < b.name ? -1 : 1) : a.region < b.region ? -1 : 1,
    );
    return { parameters, regions, errors, changed, listed: toList.length > 0 || errors.size > 0 };
  }

  /** Reads parameters Leaven put or deleted by name: value and version, and whether they carry its tags. */
  private async rereadParameters(region: string, state: RegionParameters, names: string[]): Promise<boolean> {
    let changed = false;
    for (const batch of chunks(names, 10)) {
      const [{ parameters }, ours] = await Promise.all([
        this.cloud.getParameters(region, batch),
        this.cloud.describeParameters(region, [
          { key: "Name", option: "Equals", values: batch },
          { key: `tag:${Tag.managedBy}`, values: [MANAGED_BY_VALUE] },
          { key: `tag:${Tag.installation}`, values: [this.installation ?? DEFAULT_INSTALLATION] },
        ]),
      ]);
      const owned = new Set(ours.map((p) => p.name));
      const found = new Map(parameters.map((p) => [p.name, p]));
      for (const name of batch) {
        const parameter = found.get(name);
        const before = state.byName.get(name);
        if (!parameter) {
          if (state.byName.delete(name)) changed = true;
          continue;
        }
        const after: ObservedParameter = {
          region,
          name,
          value: parameter.value,
          version: parameter.version,
          owned: owned.has(name),
          ...(before?.tags && !owned.has(name) ? { tags: before.tags } : {}),
        };
        if (
          !before ||
          before.value !== after.value ||
          before.version !== after.version ||
          before.owned !== after.owned
        )
          changed = true;
        state.byName.set(name, after);
      }
    }
    return changed;
  }
}

/** EC2 errors that say the target is gone: the cache was wrong about it, so the region is walked again. */
function isNotFound(error: string): boolean {
  return /NotFound|\.Unavailable|does not exist/i.test(error);
}

function sameImage(a: CloudImage, b: CloudImage): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * `creation-date` wildcards covering [from, to]: one per hour, or one per day for a window past a day.
 * EC2 compares the filter against the ISO 8601 creation date as a string, so `2026-12-02T04*` is an hour.
 */
export function creationDatePatterns(from: number, to: number): string[] {
  const hour = 3600_000;
  const day = 24 * hour;
  const patterns: string[] = [];
  if (to - from > day) {
    for (let t = Math.floor(from / day) * day; t <= to; t += day)
      patterns.push(`${new Date(t).toISOString().slice(0, 10)}*`);
  } else {
    for (let t = Math.floor(from / hour) * hour; t <= to; t += hour)
      patterns.push(`${new Date(t).toISOString().slice(0, 13)}*`);
  }
  return patterns.slice(0, FILTER_VALUES);
}

function chunks<T>(items: readonly T[], size: number): T[][] {
  const result: T[][] = [];
  for (let i = 0; i < items.length; i += size) result.push(items.slice(i, i + size));
  return result;
}

function setOf<K, V>(map: Map<K, Set<V>>, key: K): Set<V> {
  let set = map.get(key);
  if (!set) {
    set = new Set();
    map.set(key, set);
  }
  return set;
}
