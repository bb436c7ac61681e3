import type { BakeOutcome } from "../api/bake-protocol.ts";
import { Tag } from "../api/tags.ts";
import type { Clock } from "../cloud/clock.ts";
import type { CloudImage, CloudPort } from "../cloud/port.ts";
import { channelMoves } from "../execute/channel-order.ts";
import { type ActionResult, execute } from "../execute/executor.ts";
import type { Logger } from "../log/logger.ts";
import type { Inventory } from "../observe/inventory.ts";
import { errorMessage, homeRegionsOf, observeBakes, observeImages, VendorCache } from "../observe/observe.ts";
import { observeParameters } from "../observe/parameters.ts";
import { observePermissions, permissionChecks } from "../observe/permissions.ts";
import { observeSnapshots } from "../observe/snapshots.ts";
import { observeUsage } from "../observe/usage.ts";
import { type Action, actionKey } from "../plan/actions.ts";
import { shareHash } from "../plan/distribute.ts";
import { type Plan, plan } from "../plan/plan.ts";
import { isProgressing, type SpecStatus } from "../plan/status.ts";
import type { ValidationResult } from "../validation/result.ts";
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
  onPass?: (pass: PassResult) => void;
  onActionResult?: (result: ActionResult) => void;
  /**
   * This controller's installation (default "default"): only its resources are observed as its own, planned
   * for and changed; every other installation's are foreign.
   */
  installation?: string;
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
}

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
  private readonly options: ReconcilerOptions;
  private readonly vendorCache: VendorCache;
  private readonly failures = new Map<string, Failure>();
  private readonly consoles = new Map<string, BakeOutcome>();
  private readonly progress = new ProgressTracker();
  /** Copies Leaven made, by `spec/build/region`: found by id when the walk does not find them tagged. */
  private readonly copies = new Map<string, { region: string; imageId: string }>();
  private readonly retry: Set<string>;
  private lastSweep = Number.NEGATIVE_INFINITY;
  private passes = 0;

  constructor(options: ReconcilerOptions) {
    this.options = options;
    this.vendorCache = new VendorCache(options.vendorTtlMs ?? 10 * 60_000);
    this.retry = new Set(options.retry ?? []);
  }

  /**
   * Observes and plans without changing anything (for `leaven plan`). `withoutRetry` is the same plan
   * with no spec re-armed: what `--retry` is judged on (only a Failed spec has a build to retry).
   */
  async plan(
    validation: ValidationResult,
  ): Promise<{ plan: Plan; inventory: Inventory; withoutRetry: Plan }> {
    const now = this.options.clock.now();
    const inventory = await this.observe(validation, now, true);
    const planned = await this.planWithUsage(validation, inventory, now);
    const withoutRetry = this.retry.size > 0 ? this.makePlan(validation, inventory, now, new Set()) : planned;
    return { plan: planned, inventory, withoutRetry };
  }

  private makePlan(
    validation: ValidationResult,
    inventory: Inventory,
    now: number,
    retry: ReadonlySet<string> = this.retry,
  ): Plan {
    return plan({
      specs: validation.specs,
      blocked: validation.blocked,
      inventory,
      now,
      retry,
      unattributedErrors: validation.diagnostics.some((d) => d.severity === "error" && d.spec === undefined),
      noDelete: this.options.noDelete === true,
      ...(this.options.installation ? { installation: this.options.installation } : {}),
      ...(this.options.commit ? { commit: this.options.commit } : {}),
      ...(this.options.maxConcurrentCopies ? { maxConcurrentCopies: this.options.maxConcurrentCopies } : {}),
    });
  }

  /**
   * Plans; when retirement wants to stage images whose use is not known, observes their use (instances,
   * launch templates) and plans again: the check runs in the same pass as the retirement, right before it.
   */
  private async planWithUsage(
    validation: ValidationResult,
    inventory: Inventory,
    now: number,
  ): Promise<Plan> {
    const first = this.makePlan(validation, inventory, now);
    const needed = first.retention?.usageNeeded;
    if (!needed || needed.size === 0) return first;
    const failed = await observeUsage(this.options.cloud, inventory, needed);
    for (const [region, error] of failed)
      this.options.logger.warn("image use not observed: nothing is retired there this pass", {
        region,
        error,
      });
    return this.makePlan(validation, inventory, now);
  }

  private async observe(validation: ValidationResult, now: number, sweep: boolean): Promise<Inventory> {
    const { cloud, installation } = this.options;
    const [inventory, parameters] = await Promise.all([
      observeImages(cloud, validation.specs, { now, vendorCache: this.vendorCache, installation }),
      observeParameters(cloud, validation.specs, installation),
    ]);
    Object.assign(inventory, parameters);
    // Bake instances are only looked at where a bake can be in flight, plus a periodic sweep for leaks:
    // a steady-state pass costs one image walk per region and nothing else.
    let regions: string[];
    if (sweep) {
      regions = homeRegionsOf(validation.specs);
    } else {
      regions = this.makePlan(validation, inventory, now).bakeRegions;
    }
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
    return observeBakes(cloud, inventory, regions, this.consoles, installation);
  }

  /** Copies whose id Leaven was given but the owner-tag walk did not find: read them by id. */
  private async observeUntaggedCopies(inventory: Inventory): Promise<void> {
    const found = new Set(
      inventory.images.map((i) => `${i.tags[Tag.spec]}/${i.tags[Tag.build]}/${i.region}`),
    );
    for (const key of found) this.copies.delete(key);
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
    const inventory = await this.observe(validation, startedAt, sweepDue);
    if (sweepDue) this.lastSweep = startedAt;
    const planned = await this.planWithUsage(validation, inventory, startedAt);
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
    const results = await execute(this.options.cloud, executed, {
      now: () => clock.now(),
      ...(this.options.installation ? { installation: this.options.installation } : {}),
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
            logger.info(`${action.kind} ${action.spec}`, {
              region: action.region,
              ...("build" in action && action.build ? { build: action.build } : {}),
              ...(result.created ? { created: result.created } : {}),
            });
          } else {
            const previous = this.failures.get(key);
            const fingerprint = fingerprintOf(action);
            this.failures.set(key, {
              error: result.error ?? "unknown error",
              retryable: result.retryable !== false,
              count: (previous?.fingerprint === fingerprint ? previous.count : 0) + 1,
              fingerprint,
            });
            logger.error(`${action.kind} ${action.spec} failed`, {
              region: action.region,
              error: result.error,
            });
          }
        }
        this.options.onActionResult?.(result);
      },
    });

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
    };
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
    const poll = this.options.pollIntervalMs ?? 15_000;
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
        await clock.sleep(Math.max(0, Math.min(poll, until - clock.now())));
      }
    }
  }
}

/** converged / stalled when the pass had nothing to do and nothing is in flight; undefined otherwise. */
export function settled(pass: PassResult): Outcome | undefined {
  if (pass.executed.length > 0 || pass.deferred.length > 0) return undefined;
  if (pass.statuses.some((s) => isProgressing(s.phase))) return undefined;
  // A spec waiting on a parent that is still progressing is not stalled.
  const ready = pass.statuses.every((s) => s.phase === "Ready" || s.phase === "Suspended");
  return ready ? "converged" : "stalled";
}
