import type { BakeOutcome } from "../api/bake-protocol.ts";
import { VOLUME_BAKE_ROLE } from "../api/bakery-roles.ts";
import { Tag } from "../api/tags.ts";
import type { Clock } from "../cloud/clock.ts";
import type { CloudImage, CloudPort } from "../cloud/port.ts";
import { channelMoves } from "../execute/channel-order.ts";
import { type ActionResult, execute } from "../execute/executor.ts";
import type { ManifestTarget } from "../execute/store-manifest.ts";
import type { Logger } from "../log/logger.ts";
import { emptyInventory, type Inventory } from "../observe/inventory.ts";
import { type CachedObservation, InventoryCache } from "../observe/inventory-cache.ts";
import {
  errorMessage,
  homeRegionsOf,
  observeBakes,
  observeVendorImages,
  regionsOf,
  VendorCache,
} from "../observe/observe.ts";
import { observePermissions, permissionChecks } from "../observe/permissions.ts";
import { observeSnapshots } from "../observe/snapshots.ts";
import { findStrayRegions } from "../observe/stray-regions.ts";
import { observeUsage } from "../observe/usage.ts";
import { hasVolumeBakes, observeVolumeBakes, regionsWithVolumeBakes } from "../observe/volume-bakes.ts";
import { type Action, actionKey } from "../plan/actions.ts";
import { BAKERY_DEFAULTS } from "../plan/bakery.ts";
import { shareHash } from "../plan/distribute.ts";
import { type IndexedInventory, indexInventory, reindexInventory } from "../plan/index-inventory.ts";
import { type Plan, plan, volumeHomesOf } from "../plan/plan.ts";
import { type PlanScope, scopeOf } from "../plan/scope.ts";
import { isProgressing, type SpecStatus } from "../plan/status.ts";
import { actionEvent } from "../status/action-text.ts";
import { parseDuration } from "../validation/durations.ts";
import type { BakeryConfig } from "../validation/leaven-config.ts";
import type { ValidationResult } from "../validation/result.ts";
import { type NextLook, nextLook } from "./pacing.ts";
import { fingerprintOf, ProgressTracker } from "./progress.ts";

export interface ReconcilerOptions {
  cloud: CloudPort;
  clock: Clock;
  logger: Logger;
  /** Git commit of the specs, recorded on every image. */
  commit?: string;
  /** Retirement never deregisters or deletes anything (`--no-delete`). */
  noDelete?: boolean;
  /** Specs whose failed build may be tried again, once. */
  retry?: Iterable<string>;
  /** How long to wait between passes while bakes and copies are in flight (clock time). */
  pollIntervalMs?: number;
  /** How often every home region's bake instances are swept for leaks (clock time). */
  sweepIntervalMs?: number;
  vendorTtlMs?: number;
  concurrencyPerRegion?: number;
  /** AMI copies in flight into one region (default: EC2's limit); more wait for a later pass. */
  maxConcurrentCopies?: number;
  /** A full walk of each region at least this often (clock time; default 10 minutes). */
  fullWalkIntervalMs?: number;
  /**
   * A pass that observes no change, with nothing in flight and nothing done last pass, reuses the last plan
   * for up to this long (clock time; default 5 minutes): the planner's time-based rules (minAge, retention ages)
   * are at most this late.
   */
  replanIntervalMs?: number;
  /** Called with each pass's plan and inventory before anything is executed (tests compare inventories). */
  onPlan?: (plan: Plan, inventory: Inventory, observation: PassResult["observation"]) => void | Promise<void>;
  onPass?: (pass: PassResult) => void;
  onActionResult?: (result: ActionResult) => void;
  /**
   * This controller's installation (default "default"): only its resources are observed as its own, planned
   * for and changed; every other installation's are foreign.
   */
  installation?: string;
  /** The manifests bucket (leaven.yaml manifests): each bake's package manifest is stored there. */
  manifests?: ManifestTarget;
  /** leaven.yaml bakery: the host of volume bakes. */
  bakery?: BakeryConfig;
}

export interface PassResult {
  number: number;
  startedAt: number;
  plan: Plan;
  /** Statuses after the pass, with action failures folded in. */
  statuses: SpecStatus[];
  results: ActionResult[];
  inventory: Inventory;
  /** The actions that were executed (the plan's, minus those given up on or backing off). */
  executed: Action[];
  /** Actions that succeeded before and are planned again: held back until their backoff ends. */
  deferred: Action[];
  /** How the pass observed: regions walked in full (and why), and whether the last plan was reused. */
  observation: {
    fullWalks: Map<string, string>;
    reusedPlan: boolean;
    /** When the plan was made: the pass's start, or an earlier pass's for a reused plan. */
    plannedAt: number;
    /**
     * The specs planned again when only part of the estate changed since a whole plan found nothing to do
     * (plan/scope.ts); undefined when every spec was planned (or the plan reused).
     */
    scoped?: ReadonlySet<string>;
  };
  /** Something observed in flight may end before the poll interval: look again then (reconcile/pacing.ts). */
  nextLook?: NextLook;
}

const DEFAULT_POLL_MS = 15_000;

export type Outcome = "converged" | "stalled" | "interrupted";

/** An action that failed with an error retrying cannot fix is not repeated in the same run. */
interface Failure {
  error: string;
  retryable: boolean;
  count: number;
  /** The failed action's content: once the spec changes what the action asks for, it is tried again. */
  fingerprint: string;
}

const MAX_RETRYABLE_FAILURES = 3;

/**
 * The loop: observe → plan → execute, one step per pass, until nothing is left to do. Level-based: every
 * pass starts from what is observed, so a killed process resumes from the cloud's state.
 */
export class Reconciler {
  private options: ReconcilerOptions;
  private readonly vendorCache: VendorCache;
  private readonly failures = new Map<string, Failure>();
  private readonly consoles = new Map<string, BakeOutcome>();
  private readonly progress = new ProgressTracker();
  /** Copies Leaven made, by `spec/build/region`: found by id when the walk does not find them tagged. */
  private readonly copies = new Map<string, { region: string; imageId: string }>();
  private readonly retry: Set<string>;
  private lastSweep = Number.NEGATIVE_INFINITY;
  /** Regions where the last look found this installation's volumes or a bakery host (not terminated). */
  private readonly volumeLeftovers = new Set<string>();
  /** Regions where the last look at their volume bakes saw a bake volume: looked at every pass until none. */
  private readonly volumeBakesSeen = new Set<string>();
  /**
   * Regions no spec names where the last sweep found something of this installation's: observed on every
   * pass like the specs' regions until a sweep finds them empty (observe/stray-regions.ts).
   */
  private strayRegions: string[] = [];
  /** The regions the last sweep could not ask (logged when this changes). */
  private strayUnasked = "";
  /** The regions the specs named on the last pass: one they no longer name is observed as stray at once. */
  private namedRegions: ReadonlySet<string> = new Set();
  private passes = 0;
  private readonly cache: InventoryCache;
  /** The last pass's plan and what it was made from, for a pass that observes no change. */
  private last?: { plan: Plan; plannedAt: number; inputs: string; quiet: boolean; vendor: string };
  /**
   * The last whole plan that found nothing to do, and the specs planned again since (their lineage): while
   * only those change, a pass plans them alone and takes the rest from it (plan/scope.ts).
   */
  private base?: {
    plan: Plan;
    plannedAt: number;
    inputs: string;
    vendor: string;
    names: string;
    scope: ReadonlySet<string>;
  };
  /** The images' index of an earlier pass, the regions it covers, and the specs whose images changed since. */
  private index?: { index: IndexedInventory; regions: string; dirty: Set<string> | undefined };

  constructor(options: ReconcilerOptions) {
    this.options = options;
    this.vendorCache = new VendorCache(options.vendorTtlMs ?? 10 * 60_000);
    this.retry = new Set(options.retry ?? []);
    this.cache = new InventoryCache({
      cloud: options.cloud,
      ...(options.installation ? { installation: options.installation } : {}),
      ...(options.fullWalkIntervalMs !== undefined ? { fullWalkIntervalMs: options.fullWalkIntervalMs } : {}),
    });
  }

  /**
   * Observes and plans without changing anything (for `leaven plan`). `withoutRetry` is the same plan
   * with no spec re-armed: what `--retry` is judged on (only a Failed spec has a build to retry).
   */
  async plan(
    validation: ValidationResult,
  ): Promise<{ plan: Plan; inventory: Inventory; withoutRetry: Plan }> {
    const now = this.options.clock.now();
    // This refresh takes in any spec change: a later pass must not reuse a plan made before it.
    this.last = undefined;
    this.base = undefined;
    const { inventory } = await this.observe(validation, now, true);
    const { plan: planned } = await this.planWithUsage(validation, inventory, now, true);
    const withoutRetry = this.retry.size > 0 ? this.makePlan(validation, inventory, now, new Set()) : planned;
    return { plan: planned, inventory, withoutRetry };
  }

  private makePlan(
    validation: ValidationResult,
    inventory: Inventory,
    now: number,
    retry: ReadonlySet<string> = this.retry,
    index?: IndexedInventory,
    scope?: PlanScope,
  ): Plan {
    return plan(
      {
        ...(scope ? { scope } : {}),
        specs: validation.specs,
        blocked: validation.blocked,
        inventory,
        now,
        retry,
        unattributedErrors: validation.diagnostics.some(
          (d) => d.severity === "error" && d.spec === undefined,
        ),
        noDelete: this.options.noDelete === true,
        ...(this.options.manifests ? { manifests: true } : {}),
        ...(this.options.installation ? { installation: this.options.installation } : {}),
        ...(this.options.commit ? { commit: this.options.commit } : {}),
        ...(this.options.maxConcurrentCopies
          ? { maxConcurrentCopies: this.options.maxConcurrentCopies }
          : {}),
        ...(this.options.bakery ? { bakery: this.options.bakery } : {}),
      },
      index,
    );
  }

  /**
   * Plans; when retirement wants to stage images whose use is not known, observes their use (instances,
   * launch templates) and plans again: the check runs in the same pass as the retirement, right before it.
   */
  private async planWithUsage(
    validation: ValidationResult,
    inventory: Inventory,
    now: number,
    swept: boolean,
    scoped?: PlanScope,
  ): Promise<{ plan: Plan; usageObserved: boolean; scope?: PlanScope }> {
    // The images' index is built once per pass (from the last one's, where few specs' images changed); each
    // plan below re-indexes only instances and records.
    const index = this.indexFor(inventory);
    let scope = scoped;
    let first = this.makePlan(validation, inventory, now, this.retry, index, scope);
    // Where a bake is needed or in flight, its instances are observed and the plan made again: the planner
    // never launches a bake where it did not look.
    if (!swept && first.bakeRegions.length > 0) {
      await observeBakes(
        this.options.cloud,
        inventory,
        first.bakeRegions,
        this.consoles,
        this.options.installation,
      );
      scope = widened(scope, validation, inventory);
      first = this.makePlan(validation, inventory, now, this.retry, index, scope);
    }
    // Volume bakes (bake.method: volume): their hosts, volumes, snapshots and commands, only where such a bake
    // is needed or in flight, and on a sweep in every home region of a spec using the method (leaks, idle hosts).
    // Where no spec bakes on a volume any more but Leaven's volumes or host were seen, and wherever a bake
    // volume was seen, every pass looks until they are gone; on a sweep every region of the estate is asked
    // cheaply whether it holds any (a spec deleted or switched to the instance method before this process
    // saw them).
    const homes = volumeHomesOf(validation.specs);
    const leftovers = [...this.volumeLeftovers].filter((region) => !homes.has(region));
    const volumeRegions = new Set(swept ? homes : (first.volumeBakeRegions ?? []));
    for (const region of leftovers) volumeRegions.add(region);
    for (const region of this.volumeBakesSeen) volumeRegions.add(region);
    if (swept) {
      const unasked = [...new Set(inventory.regions)].filter(
        (region) => !volumeRegions.has(region) && !inventory.regionErrors.has(region),
      );
      if (unasked.length > 0) {
        const probe = await regionsWithVolumeBakes(this.options.cloud, unasked, this.options.installation);
        for (const region of probe.found) volumeRegions.add(region);
        for (const [region, error] of probe.errors)
          this.options.logger.warn("volume bakes not looked for: none left there is swept this pass", {
            region,
            error,
          });
      }
    }
    if (volumeRegions.size > 0) {
      const bakery = this.options.bakery;
      await observeVolumeBakes(this.options.cloud, inventory, [...volumeRegions].sort(), {
        ...(this.options.installation ? { installation: this.options.installation } : {}),
        ...(bakery?.hostInstanceId ? { hostInstanceId: bakery.hostInstanceId } : {}),
        ...(bakery?.imageId ? { imageId: bakery.imageId } : {}),
        launchRegions: homes,
        ...(this.options.manifests ? { commandOutput: this.options.manifests } : {}),
        idle: { stopMs: parseDuration(bakery?.idleStop ?? BAKERY_DEFAULTS.idleStop), now },
      });
      const observed = inventory.volumeBakes!;
      const remember = (regions: Set<string>, region: string, seen: boolean) =>
        seen ? regions.add(region) : regions.delete(region);
      for (const region of observed.regions) {
        remember(
          this.volumeLeftovers,
          region,
          hasVolumeBakes(region, observed.volumes, observed.hosts, this.options.installation),
        );
        // A bake volume is looked at every pass until it is gone, whatever becomes of its spec: deleted or
        // switched mid-bake, its volume is swept at once rather than at the next sweep.
        remember(
          this.volumeBakesSeen,
          region,
          observed.volumes.some((v) => v.region === region && v.tags[Tag.role] === VOLUME_BAKE_ROLE),
        );
      }
      first = this.makePlan(validation, inventory, now, this.retry, index, scope);
    }
    const needed = first.retention?.usageNeeded;
    if (!needed || needed.size === 0)
      return { plan: first, usageObserved: false, ...(scope ? { scope } : {}) };
    const failed = await observeUsage(this.options.cloud, inventory, needed);
    for (const [region, error] of failed)
      this.options.logger.warn("image use not observed: nothing is retired there this pass", {
        region,
        error,
      });
    return {
      plan: this.makePlan(validation, inventory, now, this.retry, index, scope),
      usageObserved: true,
      ...(scope ? { scope } : {}),
    };
  }

  /** How long a plan, reused or the base of a scoped one, stands for the planner's time-based rules. */
  private get replanIntervalMs(): number {
    return this.options.replanIntervalMs ?? 5 * 60_000;
  }

  /** This pass's images' index: the last one where no image changed, re-read for the specs whose did. */
  private indexFor(inventory: Inventory): IndexedInventory {
    const regions = inventory.regions.filter((r) => !inventory.regionErrors.has(r)).join(" ");
    const kept = this.index;
    const index =
      kept && kept.regions === regions && kept.dirty
        ? reindexInventory(kept.index, inventory, this.options.installation, kept.dirty)
        : indexInventory(inventory, this.options.installation);
    this.index = { index, regions, dirty: new Set() };
    return index;
  }

  /**
   * The part of the estate to plan when only some specs changed since the base plan found nothing to do;
   * undefined when everything must be planned.
   */
  private scopeFor(
    validation: ValidationResult,
    changes: CachedObservation["changes"],
    inputs: string,
    vendor: string,
    now: number,
    sweep: boolean,
  ): PlanScope | undefined {
    const base = this.base;
    if (!base || !changes || sweep || this.copies.size > 0) return undefined;
    if (base.inputs !== inputs || base.vendor !== vendor || base.names !== namesOf(validation))
      return undefined;
    if (now - base.plannedAt >= this.replanIntervalMs) return undefined;
    const specs = scopeOf(validation.specs, [...base.scope, ...changes.documents, ...changes.images]);
    return { specs, base: base.plan };
  }

  private async observe(
    validation: ValidationResult,
    now: number,
    sweep: boolean,
  ): Promise<{
    inventory: Inventory;
    quiet: boolean;
    fullWalks: Map<string, string>;
    changes: CachedObservation["changes"];
  }> {
    const { cloud, installation } = this.options;
    const named = new Set(regionsOf(validation.specs));
    const left = [...this.namedRegions].filter((region) => !named.has(region));
    if (left.length > 0) this.strayRegions = [...new Set([...this.strayRegions, ...left])].sort();
    this.namedRegions = named;
    if (sweep) await this.findStrayRegions(named);
    const vendor: Inventory = emptyInventory();
    const [cached] = await Promise.all([
      this.cache.refresh(validation.specs, now, this.strayRegions),
      observeVendorImages(cloud, validation.specs, vendor, { now, vendorCache: this.vendorCache }),
    ]);
    const regionErrors = new Map([...cached.regionErrors, ...vendor.regionErrors]);
    const inventory: Inventory = {
      ...emptyInventory(),
      regions: cached.regions,
      images: cached.images,
      regionErrors,
      vendorImages: vendor.vendorImages,
      ...(vendor.vendorProblems ? { vendorProblems: vendor.vendorProblems } : {}),
      parameters: cached.parameters,
      parameterRegions: cached.parameterRegions,
      ...(cached.parameterErrors ? { parameterErrors: cached.parameterErrors } : {}),
    };
    // Nothing observed changed and nothing is in flight: the last plan still holds (see replanIntervalMs).
    const quiet =
      !sweep &&
      !cached.changed &&
      !cached.specsChanged &&
      this.last?.quiet === true &&
      this.last.vendor === vendorFingerprint(inventory) &&
      this.copies.size === 0;
    await this.observeUntaggedCopies(inventory);
    if (sweep) {
      // Permissions changed behind Leaven's back do not show in its tags: read some back on each sweep.
      const hashes = new Map(validation.specs.map((s) => [s.name, shareHash(s.document)]));
      await observePermissions(cloud, inventory, permissionChecks(hashes, inventory.images, installation));
      // Leaven's snapshots, for the orphaned-snapshot sweep: on the same schedule as the instance sweep.
      await observeSnapshots(
        cloud,
        inventory,
        inventory.regions.filter((region) => !inventory.regionErrors.has(region)),
      );
      for (const [region, error] of inventory.snapshotErrors ?? [])
        this.options.logger.warn("snapshots not listed: none is swept there this pass", { region, error });
    }
    // Bake instances: in every home region on a sweep (leaks); otherwise only where the plan finds a bake
    // needed or in flight (planBakes): a steady-state pass costs the image refresh and nothing else.
    if (sweep)
      await observeBakes(
        cloud,
        inventory,
        [...new Set([...homeRegionsOf(validation.specs), ...this.strayRegions])].sort(),
        this.consoles,
        this.options.installation,
      );
    // What the index of the last pass must read again; anything unattributed rebuilds it.
    if (this.index) {
      if (!cached.changes) this.index.dirty = undefined;
      else for (const spec of cached.changes.images) this.index.dirty?.add(spec);
    }
    return { inventory, quiet, fullWalks: cached.fullWalks, changes: cached.changes };
  }

  /** The git commit recorded on what is baked from now on (watch mode: the checkout's HEAD moved). */
  setCommit(commit: string | undefined): void {
    const { commit: _old, ...rest } = this.options;
    this.options = commit ? { ...rest, commit } : rest;
  }

  /** Makes the next pass walk every region in full (e.g. when told the cloud changed behind its back). */
  requestFullWalk(why: string): void {
    this.cache.surprise(why);
  }

  /**
   * On a sweep: the regions no spec names that still hold something of this installation's. A region that
   * cannot be asked keeps its standing from the last sweep (a stray region stays observed); the failure is
   * logged, and the next sweep asks again. (A region the specs stop naming between sweeps is stray at once.)
   */
  private async findStrayRegions(named: ReadonlySet<string>): Promise<void> {
    // Any region answers DescribeRegions for its partition; with no spec at all, the SDK's usual default.
    const askIn = [...named].sort()[0] ?? "us-east-1";
    const probe = await findStrayRegions(this.options.cloud, askIn, named, this.options.installation);
    // Said once per change: an account whose policy denies the regions it does not use (an SCP on
    // aws:RequestedRegion is common) would otherwise warn about each of them on every sweep.
    const unasked = [...probe.errors.keys()].sort().join(" ");
    if (unasked !== this.strayUnasked && probe.errors.size > 0)
      this.options.logger.warn("regions no spec names not looked at for Leaven's resources left there", {
        regions: [...probe.errors.keys()].sort(),
        error: [...probe.errors.values()][0],
      });
    this.strayUnasked = unasked;
    for (const region of probe.found)
      if (!this.strayRegions.includes(region))
        this.options.logger.info("observing a region no spec names: Leaven's resources are left there", {
          region,
          found: probe.contents.get(region),
        });
    const unanswered = probe.listed
      ? this.strayRegions.filter((region) => probe.errors.has(region))
      : this.strayRegions;
    this.strayRegions = [...new Set([...probe.found, ...unanswered])]
      .filter((region) => !named.has(region))
      .sort();
  }

  /** Copies whose id Leaven was given but the owner-tag walk did not find: read them by id. */
  private async observeUntaggedCopies(inventory: Inventory): Promise<void> {
    // Nothing to look for (the usual case): no walk over every image to find out.
    if (this.copies.size === 0) return;
    for (const i of inventory.images)
      this.copies.delete(`${i.tags[Tag.spec]}/${i.tags[Tag.build]}/${i.region}`);
    const byRegion = new Map<string, Map<string, string>>();
    for (const [key, { region, imageId }] of this.copies) {
      if (inventory.regionErrors.has(region)) continue;
      const ids = byRegion.get(region) ?? new Map<string, string>();
      ids.set(imageId, key);
      byRegion.set(region, ids);
    }
    const untagged = new Map<string, CloudImage>();
    await Promise.all(
      [...byRegion].map(async ([region, ids]) => {
        try {
          const images = await this.options.cloud.describeImages(region, {
            owners: ["self"],
            filters: [{ name: "image-id", values: [...ids.keys()] }],
            includeDeprecated: true,
            includeDisabled: true,
          });
          for (const image of images) untagged.set(ids.get(image.imageId)!, image);
        } catch (error) {
          inventory.regionErrors.set(region, errorMessage(error));
        }
      }),
    );
    if (untagged.size > 0) inventory.untaggedCopies = untagged;
  }

  /** One pass: observe, plan, execute. */
  async pass(validation: ValidationResult): Promise<PassResult> {
    const { clock, logger } = this.options;
    const startedAt = clock.now();
    const sweepDue = startedAt - this.lastSweep >= (this.options.sweepIntervalMs ?? 30 * 60_000);
    const { inventory, quiet, fullWalks, changes } = await this.observe(validation, startedAt, sweepDue);
    if (sweepDue) this.lastSweep = startedAt;
    const inputs = inputsFingerprint(validation, this.retry);
    const vendor = vendorFingerprint(inventory);
    const reuse =
      quiet &&
      this.last !== undefined &&
      this.last.inputs === inputs &&
      startedAt - this.last.plannedAt < this.replanIntervalMs;
    const {
      plan: planned,
      usageObserved,
      scope,
    } = reuse
      ? { plan: this.last!.plan, usageObserved: false, scope: undefined }
      : await this.planWithUsage(
          validation,
          inventory,
          startedAt,
          sweepDue,
          this.scopeFor(validation, changes, inputs, vendor, startedAt, sweepDue),
        );
    const plannedAt = reuse ? this.last!.plannedAt : startedAt;
    const observation: PassResult["observation"] = {
      fullWalks,
      reusedPlan: reuse,
      plannedAt,
      ...(scope ? { scoped: scope.specs } : {}),
    };
    await this.options.onPlan?.(planned, inventory, observation);
    for (const [region, error] of inventory.regionErrors)
      logger.warn("region not observed", { region, error });

    const executed: Action[] = [];
    const deferred: Action[] = [];
    const givenUp = new Map<string, Failure>();
    this.progress.keepOnly(planned.actions);
    for (const action of planned.actions) {
      const verdict = this.progress.judge(action, startedAt);
      if (!verdict.run) {
        if ("stalled" in verdict) {
          if (!givenUp.has(action.spec))
            givenUp.set(action.spec, { error: verdict.stalled, retryable: false, count: 1, fingerprint: "" });
        } else deferred.push(action);
        continue;
      }
      const failure = this.failures.get(actionKey(action));
      // The key stays the same when the user fixes e.g. the instance type (not part of the build id):
      // only the very same request is given up on.
      if (
        failure &&
        failure.fingerprint === fingerprintOf(action) &&
        (!failure.retryable || failure.count >= MAX_RETRYABLE_FAILURES)
      )
        givenUp.set(action.spec, failure);
      else executed.push(action);
    }
    // A channel removal whose add is held back (given up on, or backing off) waits with it: a channel move
    // never leaves a region without the channel (execute/channel-order.ts).
    const moves = channelMoves(planned.actions);
    const running = new Set(executed);
    const waiting = executed.filter(
      (action) => action.kind === "remove-tags" && moves.get(action)?.some((add) => !running.has(add)),
    );
    for (const action of waiting) executed.splice(executed.indexOf(action), 1);
    for (const action of executed) {
      if (action.kind === "launch-bake" || action.kind === "launch-check") this.retry.delete(action.spec);
    }
    let results: ActionResult[];
    try {
      results = await execute(this.options.cloud, executed, {
        now: () => clock.now(),
        ...(this.options.installation ? { installation: this.options.installation } : {}),
        ...(this.options.manifests ? { manifests: this.options.manifests } : {}),
        ...(this.options.concurrencyPerRegion
          ? { concurrencyPerRegion: this.options.concurrencyPerRegion }
          : {}),
        onResult: (result) => {
          for (const action of result.actions) {
            const key = actionKey(action);
            if (result.ok) {
              this.failures.delete(key);
              this.progress.succeededAt(action, clock.now());
              if (action.kind === "copy-image" && result.created)
                this.copies.set(`${action.spec}/${action.build}/${action.region}`, {
                  region: action.region,
                  imageId: result.created,
                });
              const event = actionEvent(action, result, inventory.images);
              logger.info(event.msg, event.fields);
            } else {
              const previous = this.failures.get(key);
              const fingerprint = fingerprintOf(action);
              this.failures.set(key, {
                error: result.error ?? "unknown error",
                retryable: result.retryable !== false,
                count: (previous?.fingerprint === fingerprint ? previous.count : 0) + 1,
                fingerprint,
              });
              const event = actionEvent(action, result, inventory.images);
              logger.error(event.msg, event.fields);
            }
          }
          this.options.onActionResult?.(result);
        },
      });
    } catch (error) {
      // What went through is not known: every region is walked in full next pass.
      this.cache.surprise(`a pass ended early: ${errorMessage(error)}`);
      throw error;
    }

    this.cache.noteResults(results);
    // A pass that did something, held something back or saw something in flight is not a base to reuse.
    const quietPass =
      executed.length === 0 &&
      deferred.length === 0 &&
      givenUp.size === 0 &&
      planned.actions.length === 0 &&
      planned.bakeRegions.length === 0 &&
      (planned.volumeCleanupRegions?.length ?? 0) === 0 &&
      inventory.instances.length === 0 &&
      // Retirement held back by an image's use depends on instances and templates the cache does not hold.
      !usageObserved &&
      planned.statuses.every((s) => s.phase === "Ready" || s.phase === "Suspended");
    // A plan made in part is never reused whole: its parts are of different times. When it finds nothing to
    // do it is the next base, as old as the base it was made from (replanIntervalMs bounds that age).
    this.last = { plan: planned, plannedAt, inputs, quiet: quietPass && !scope, vendor };
    if (scope) {
      if (this.base)
        this.base = quietPass
          ? { ...this.base, plan: planned, scope: new Set() }
          : { ...this.base, scope: scope.specs };
    } else if (!reuse) {
      this.base = quietPass
        ? { plan: planned, plannedAt, inputs, vendor, names: namesOf(validation), scope: new Set() }
        : undefined;
    }
    const statuses = planned.statuses.map((status) => {
      const failure = givenUp.get(status.name) ?? this.lastFailureOf(status.name, results);
      if (!failure) return status;
      // EC2 refuses a launch token whose instance is gone: that bake ended earlier without an image.
      const hint = failure.error.startsWith("IdempotentInstanceTerminated")
        ? ` — an earlier bake of this build ended without an image; run apply --retry ${status.name} to bake it again`
        : "";
      return {
        ...status,
        phase: "Stalled" as const,
        message: `${failure.error}${failure.retryable ? " (retried; still failing)" : ""}${hint || " — fix the cause and run apply again"}; ${status.message}`,
      };
    });
    const result: PassResult = {
      number: ++this.passes,
      startedAt,
      plan: planned,
      statuses,
      results,
      inventory,
      executed,
      deferred,
      observation,
    };
    const look = nextLook(inventory, clock.now(), this.options.pollIntervalMs ?? DEFAULT_POLL_MS);
    if (look) result.nextLook = look;
    this.options.onPass?.(result);
    return result;
  }

  private lastFailureOf(spec: string, results: readonly ActionResult[]): Failure | undefined {
    for (const result of results) {
      if (result.ok || result.retryable !== false) continue;
      if (result.actions.some((a) => a.spec === spec))
        return { error: result.error ?? "", retryable: false, count: 1, fingerprint: "" };
    }
    return undefined;
  }

  /**
   * Passes until converged (nothing to do, everything ready), stalled (nothing to do, nothing in flight,
   * something not ready) or `shouldStop` says so. `reload` gives the specs for each pass.
   */
  async run(
    reload: () => Promise<ValidationResult> | ValidationResult,
    options: { once?: boolean; shouldStop?: () => boolean; maxPasses?: number } = {},
  ): Promise<{ outcome: Outcome; last: PassResult }> {
    const { clock } = this.options;
    const poll = this.options.pollIntervalMs ?? DEFAULT_POLL_MS;
    for (;;) {
      const last = await this.pass(await reload());
      if (options.once) return { outcome: settled(last) ?? "interrupted", last };
      const done = settled(last);
      if (done) return { outcome: done, last };
      if (options.shouldStop?.() || (options.maxPasses !== undefined && last.number >= options.maxPasses)) {
        return { outcome: "interrupted", last };
      }
      if (last.executed.length === 0) {
        // Backing off: wake when the first held-back action may run again, not a whole poll later.
        const until = Math.min(...last.deferred.map((a) => this.progress.notBefore(a)));
        await clock.sleep(Math.max(0, Math.min(poll, last.nextLook?.ms ?? poll, until - clock.now())));
      }
    }
  }
}

/**
 * What a plan depends on besides the inventory, the specs' documents and the clock: what blocks specs, load
 * errors, retries. The documents are the inventory cache's to compare (its `specsChanged`), once per pass.
 */
function inputsFingerprint(validation: ValidationResult, retry: ReadonlySet<string>): string {
  return JSON.stringify([
    [...validation.blocked],
    validation.diagnostics.filter((d) => d.severity === "error").length,
    [...retry],
  ]);
}

function namesOf(validation: ValidationResult): string {
  return JSON.stringify([validation.specs.map((s) => s.name), [...validation.blocked.keys()]]);
}

/** A scope grown by the specs of the bake instances and failure records just observed (their lineage too). */
function widened(
  scope: PlanScope | undefined,
  validation: ValidationResult,
  inventory: Inventory,
): PlanScope | undefined {
  if (!scope) return undefined;
  const more = [
    ...inventory.instances.map((i) => i.tags[Tag.spec] ?? ""),
    ...inventory.failures.map((r) => r.spec),
  ].filter((spec) => !scope.specs.has(spec));
  if (more.length === 0) return scope;
  return { ...scope, specs: scopeOf(validation.specs, [...scope.specs, ...more]) };
}

function vendorFingerprint(inventory: Inventory): string {
  return JSON.stringify(
    [...inventory.vendorImages].map(([name, images]) => [name, images.map((i) => i.imageId)]),
  );
}

/** converged / stalled when the pass had nothing to do and nothing is in flight; undefined otherwise. */
export function settled(pass: PassResult): Outcome | undefined {
  if (pass.executed.length > 0 || pass.deferred.length > 0) return undefined;
  if (pass.statuses.some((s) => isProgressing(s.phase))) return undefined;
  // A leaked bake volume being detached, to be deleted next: in flight, though no spec is.
  if ((pass.plan.volumeCleanupRegions?.length ?? 0) > 0) return undefined;
  // A spec waiting on a parent that is still progressing is not stalled.
  const ready = pass.statuses.every((s) => s.phase === "Ready" || s.phase === "Suspended");
  return ready ? "converged" : "stalled";
}
