// The operator: ImageSpec informers feed a keyed work queue; the leader turns each batch of keys into one
// whole pass (the planner plans the lineage at once: a child depends on its parent's channels) over every
// ImageSpec in the caches, then writes each changed status through the status subresource, records Events,
// keeps the finalizer on every resource and applies the deletion policy of those being deleted. While
// anything is in flight it passes again after the poll interval; every `resyncMs` every key is requeued.

import { randomBytes } from "node:crypto";
import { hostname } from "node:os";
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  PatchStrategy,
  setHeaderOptions,
} from "@kubernetes/client-node";
import type { ImageSpecStatus } from "../api/types.generated.ts";
import { type Clock, systemClock } from "../cloud/clock.ts";
import type { CloudPort } from "../cloud/port.ts";
import type { RequestStats } from "../cloud/request-stats.ts";
import type { ActionResult } from "../execute/executor.ts";
import { fenceCloud } from "../lease/fenced-cloud.ts";
import type { Logger } from "../log/logger.ts";
import { isProgressing, type SpecStatus } from "../plan/status.ts";
import { type PassResult, Reconciler, type ReconcilerOptions } from "../reconcile/reconciler.ts";
import type { ValidationResult } from "../validation/result.ts";
import {
  diagnosticsOf,
  type ImageSpecObject,
  isDeleting,
  keyOf,
  validateResources,
} from "./cluster-specs.ts";
import { EventRecorder, type EventTarget, eventFor } from "./event-recorder.ts";
import { GROUP, ImageSpecInformers, PLURAL, VERSION } from "./imagespec-informers.ts";
import { LeaderElection, statusCodeOf } from "./leader-election.ts";
import {
  type Leadership,
  noMetrics,
  type OperatorEndpoints,
  type OperatorMetrics,
  type OperatorPassView,
} from "./operator-endpoints.ts";
import { sameStatus, statusDocument } from "./status-document.ts";
import { WorkQueue } from "./work-queue.ts";

export const FINALIZER = "leaven.dev/finalizer";
/** The queue key of a pass no single resource asked for (poll, resync with no resources, leadership). */
export const PASS_KEY = "*";

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);
const jsonPatch = setHeaderOptions("Content-Type", PatchStrategy.JsonPatch);

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** Namespaces to watch; empty = all. */
  namespaces?: readonly string[];
  installation: string;
  cloud: CloudPort;
  /** The cloud's clock (the simulator's accelerated one, or the system's): the reconciler's and the poll's. */
  cloudClock: Clock;
  /** Wall time for the queue, the debounce, the resync and leader election (default the system clock). */
  clock?: Clock;
  logger: Logger;
  /** Leader election through a Lease (default true); without it this instance always acts. */
  leaderElect?: boolean;
  leaseNamespace?: string;
  leaseName?: string;
  /** This candidate's identity (default hostname and a random suffix). */
  identity?: string;
  leaseDurationMs?: number;
  renewDeadlineMs?: number;
  retryPeriodMs?: number;
  /** Every key is requeued this often (wall time; default 10 minutes). */
  resyncMs?: number;
  /** A pass waits this long after the first key for more keys to batch (wall time; default 100 ms). */
  debounceMs?: number;
  /** Passes while something is in flight, this far apart (cloud clock; default 15 s). */
  pollIntervalMs?: number;
  metrics?: OperatorMetrics;
  /** The cloud adapter's request counts (AwsCloud.stats), for /metrics. */
  requestStats?: () => RequestStats;
  /** Extra reconciler options (tests: sweep and walk intervals). */
  reconciler?: Partial<
    Omit<ReconcilerOptions, "cloud" | "clock" | "logger" | "installation" | "onActionResult">
  >;
  /** Called after every pass (tests, the web view). */
  onPass?: (pass: PassResult, validation: ValidationResult) => void;
}

export class Operator implements OperatorEndpoints {
  private readonly clock: Clock;
  private readonly queue: WorkQueue;
  private readonly informers: ImageSpecInformers;
  private readonly custom: CustomObjectsApi;
  private readonly election?: LeaderElection;
  private readonly events: EventRecorder;
  private readonly reconciler: Reconciler;
  private metrics: OperatorMetrics;
  private readonly abort = new AbortController();
  private worker?: Promise<void>;
  private stopped = false;
  private last?: OperatorPassView;
  private failure?: string;
  private pollPending = false;
  private passing = false;
  private lastLoopAt: number;
  /** Live resources by spec name, for the pass's action results (Events go on the owner). */
  private owners = new Map<string, EventTarget[]>();
  /** What each resource looked like to the pass (generation, metadata), to tell status-only updates apart. */
  private readonly seen = new Map<string, string>();
  private lastValidation?: { inputs: string; result: ValidationResult };
  /** Whether "no ImageSpec" was logged since the caches last held one: said once, not once a pass. */
  private warnedEmpty = false;
  readonly identity: string;
  passes = 0;

  private readonly options: OperatorOptions;

  constructor(options: OperatorOptions) {
    this.options = options;
    this.clock = options.clock ?? systemClock;
    this.lastLoopAt = this.clock.now();
    this.metrics = options.metrics ?? noMetrics;
    this.identity = options.identity ?? `${hostname()}-${randomBytes(4).toString("hex")}`;
    const kc = options.kubeConfig;
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.queue = new WorkQueue({ clock: this.clock, baseDelayMs: 1_000, maxDelayMs: 5 * 60_000 });
    this.informers = new ImageSpecInformers({
      kubeConfig: kc,
      api: this.custom,
      namespaces: options.namespaces ?? [],
      clock: this.clock,
      logger: options.logger,
      onChange: (object, verb) => this.onChange(object, verb),
    });
    this.events = new EventRecorder({
      api: kc.makeApiClient(CoreV1Api),
      clock: this.clock,
      logger: options.logger,
      instance: this.identity,
    });
    if (options.leaderElect !== false) {
      this.election = new LeaderElection({
        api: kc.makeApiClient(CoordinationV1Api),
        namespace: options.leaseNamespace ?? "default",
        name: options.leaseName ?? `leaven-operator-${options.installation}`,
        identity: this.identity,
        clock: this.clock,
        logger: options.logger,
        ...(options.leaseDurationMs !== undefined ? { leaseDurationMs: options.leaseDurationMs } : {}),
        ...(options.renewDeadlineMs !== undefined ? { renewDeadlineMs: options.renewDeadlineMs } : {}),
        ...(options.retryPeriodMs !== undefined ? { retryPeriodMs: options.retryPeriodMs } : {}),
        onStartedLeading: () => {
          this.metrics.leader(true);
          // Another leader may have changed tags and images since this one last looked: its kept
          // inventory is walked in full before it plans again.
          this.reconciler.requestFullWalk("this operator took the lead");
          this.requeueAll();
        },
        onStoppedLeading: () => this.metrics.leader(false),
      });
    }
    const election = this.election;
    this.reconciler = new Reconciler({
      ...options.reconciler,
      // A leader that lost the Lease changes nothing more: every mutating call is refused.
      cloud: election ? fenceCloud(options.cloud, () => election.problem()) : options.cloud,
      clock: options.cloudClock,
      logger: options.logger,
      installation: options.installation,
      pollIntervalMs: options.pollIntervalMs ?? 15_000,
      onActionResult: (result) => this.onActionResult(result),
    });
  }

  async start(): Promise<void> {
    await this.informers.start();
    if (this.election) this.election.start();
    else this.metrics.leader(true);
    this.queue.add(PASS_KEY);
    this.worker = this.work();
    void this.resync();
  }

  /** Stops; `release: false` leaves the Lease to expire (what a killed leader does, for tests). */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.abort.abort();
    this.queue.shutdown();
    await this.worker;
    await this.election?.stop(options);
    await this.informers.stop();
    await this.events.flush();
  }

  isLeader(): boolean {
    return this.election ? this.election.isLeader() : !this.stopped;
  }

  // OperatorEndpoints
  healthy(): boolean {
    if (this.stopped) return false;
    // A pass can take long (bakes are not awaited, but observation of many regions is); only a loop that
    // has not come round for 10 minutes while idle is stuck.
    const stuck = !this.passing && this.clock.now() - this.lastLoopAt > 10 * 60_000 && this.queue.length > 0;
    return !stuck && this.informers.failing().every((f) => f.failures < 10);
  }
  ready(): boolean {
    return !this.stopped && this.informers.synced();
  }
  setMetrics(metrics: OperatorMetrics): void {
    this.metrics = metrics;
  }
  lastPass(): OperatorPassView | undefined {
    return this.last;
  }
  lastError(): string | undefined {
    return this.failure;
  }
  leadership(): Leadership {
    if (!this.election) return { leading: !this.stopped };
    const lease = this.election.lease;
    if (this.election.isLeader()) return { leading: true, lease };
    const holder = this.election.holder;
    return { leading: false, lease, ...(holder && holder !== this.identity ? { holder } : {}) };
  }
  cloudRequests(): RequestStats | undefined {
    return this.options.requestStats?.();
  }

  /** Flushes the Events recorded so far (tests). */
  flushEvents(): Promise<void> {
    return this.events.flush();
  }

  /**
   * Queues the resource's key, unless the change is one the operator made itself: a status write (the
   * status subresource changes neither generation nor metadata the pass reads) would otherwise cost a
   * second pass for every pass that wrote a status.
   */
  private onChange(object: ImageSpecObject, verb: "add" | "update" | "delete"): void {
    const key = keyOf(object);
    if (verb === "delete") {
      this.seen.delete(key);
      this.queue.add(key);
      return;
    }
    const metadata = object.metadata;
    const fingerprint = JSON.stringify([
      metadata?.uid,
      metadata?.generation,
      metadata?.deletionTimestamp ?? null,
      metadata?.finalizers ?? [],
      metadata?.labels ?? {},
      metadata?.annotations ?? {},
    ]);
    if (verb === "update" && this.seen.get(key) === fingerprint) return;
    this.seen.set(key, fingerprint);
    this.queue.add(key);
  }

  private requeueAll(): void {
    this.queue.add(PASS_KEY);
    for (const object of this.informers.list()) this.queue.add(keyOf(object));
  }

  private async resync(): Promise<void> {
    const every = this.options.resyncMs ?? 10 * 60_000;
    while (!this.stopped) {
      await this.clock.sleep(every, this.abort.signal);
      if (this.stopped) return;
      this.requeueAll();
    }
  }

  private async work(): Promise<void> {
    for (;;) {
      const first = await this.queue.get();
      if (first === undefined) return;
      await this.clock.sleep(this.options.debounceMs ?? 100, this.abort.signal);
      const keys = [first, ...this.queue.drain()];
      this.lastLoopAt = this.clock.now();
      try {
        // A standby keeps its caches warm and acts on nothing; taking the lead requeues every key.
        if (this.stopped || !this.isLeader()) continue;
        // Never plan from a cache that has not listed: every spec would look deleted (its bake instances
        // terminated, a retire-on-delete spec's images retired). The list's own events requeue.
        if (!this.informers.synced()) {
          this.queue.addAfter(PASS_KEY, 1_000);
          continue;
        }
        this.passing = true;
        const started = this.clock.now();
        try {
          await this.reconcileAll();
          this.failure = undefined;
          for (const key of keys) this.queue.forget(key);
          this.metrics.reconcileDuration((this.clock.now() - started) / 1000, "ok");
        } catch (error) {
          this.metrics.reconcileDuration((this.clock.now() - started) / 1000, "error");
          const delay = this.queue.addRateLimited(PASS_KEY);
          const message = error instanceof Error ? error.message : String(error);
          this.failure = `pass failed: ${message}`;
          this.options.logger.error("reconcile pass failed: trying again after a backoff", {
            error: message,
            retryInMs: delay,
          });
        } finally {
          this.passing = false;
        }
      } finally {
        for (const key of keys) this.queue.done(key);
      }
    }
  }

  private onActionResult(result: ActionResult): void {
    for (const action of result.actions) {
      this.metrics.action(action.kind, result.ok ? "ok" : "failed");
      const event = eventFor(action, result);
      if (!event) continue;
      for (const owner of this.owners.get(action.spec) ?? []) this.events.record(owner, event);
    }
  }

  /** One whole pass over every ImageSpec in the caches, then status, finalizers and deletions. */
  private async reconcileAll(): Promise<void> {
    const objects = this.informers.list();
    if (objects.length === 0 && !this.warnedEmpty) {
      this.warnedEmpty = true;
      this.options.logger.warn(emptyMessage(this.options.namespaces ?? []), {
        namespaces: this.options.namespaces?.length ? this.options.namespaces : "all",
      });
    } else if (objects.length > 0) this.warnedEmpty = false;
    const live = objects.filter((o) => !isDeleting(o));
    await eachLimited(
      live.filter((o) => !hasFinalizer(o)),
      (o) => this.addFinalizer(o),
    );
    const validation = this.validate(objects);
    this.owners = new Map();
    for (const object of live) {
      const name = object.metadata?.name ?? "";
      const list = this.owners.get(name) ?? [];
      list.push(targetOf(object));
      this.owners.set(name, list);
    }
    const pass = await this.reconciler.pass(validation);
    this.passes += 1;
    this.last = {
      pass,
      validation,
      // A name in two watched namespaces (blocked as ambiguous) names both.
      sources: new Map(
        [...this.owners].map(([name, targets]) => [
          name,
          targets.map((t) => `${t.namespace}/${t.name}`).join(", "),
        ]),
      ),
      passes: this.passes,
      endedAt: this.clock.now(),
      cloudNow: this.options.cloudClock.now(),
      ...(objects.length === 0 ? { empty: emptyMessage(this.options.namespaces ?? []) } : {}),
    };
    this.recordMetrics(pass.statuses);
    const byName = new Map(pass.statuses.map((s) => [s.name, s]));
    await eachLimited(live, (object) =>
      this.writeStatus(object, byName.get(object.metadata?.name ?? ""), validation),
    );
    // The deleted specs were left out of this pass: the planner treats their images by the policy recorded
    // on them (leaven.dev/on-delete: retain keeps them, retire retires them on the retention schedule).
    await eachLimited(
      objects.filter((o) => isDeleting(o) && hasFinalizer(o)),
      (o) => this.finalize(o),
    );
    this.options.onPass?.(pass, validation);
    const inFlight =
      pass.statuses.some((s) => isProgressing(s.phase)) ||
      pass.executed.length > 0 ||
      pass.deferred.length > 0;
    if (inFlight) this.pollLater(pass.nextLook?.ms);
  }

  /**
   * Validation of every resource, reused while no resource's generation or metadata changed (a status
   * write changes neither): with thousands of specs, schema and lineage checks are most of a quiet pass.
   */
  private validate(objects: readonly ImageSpecObject[]): ValidationResult {
    const inputs = JSON.stringify(
      objects
        .map((o) => [keyOf(o), this.seen.get(keyOf(o)) ?? o.metadata?.resourceVersion, isDeleting(o)])
        .sort(),
    );
    if (this.lastValidation?.inputs === inputs) return this.lastValidation.result;
    const result = validateResources(objects);
    this.lastValidation = { inputs, result };
    return result;
  }

  /** A pass a poll interval from now, or sooner when the pass saw a transition of seconds end by then. */
  private pollLater(soonerMs?: number): void {
    if (this.pollPending) return;
    this.pollPending = true;
    const poll = this.options.pollIntervalMs ?? 15_000;
    void this.options.cloudClock.sleep(Math.min(poll, soonerMs ?? poll), this.abort.signal).then(() => {
      this.pollPending = false;
      if (!this.stopped) this.queue.add(PASS_KEY);
    });
  }

  private recordMetrics(statuses: readonly SpecStatus[]): void {
    this.metrics.bakesInFlight(statuses.filter((s) => s.phase === "Baking").length);
    for (const status of statuses)
      for (const [channel, value] of Object.entries(status.channels))
        this.metrics.images(status.name, channel, Object.keys(value.images).length);
  }

  private ref(object: ImageSpecObject): {
    group: string;
    version: string;
    plural: string;
    namespace: string;
    name: string;
  } {
    return {
      group: GROUP,
      version: VERSION,
      plural: PLURAL,
      namespace: object.metadata?.namespace ?? "default",
      name: object.metadata?.name ?? "",
    };
  }

  private async addFinalizer(object: ImageSpecObject): Promise<void> {
    try {
      await this.custom.patchNamespacedCustomObject(
        {
          ...this.ref(object),
          body: {
            metadata: {
              resourceVersion: object.metadata?.resourceVersion,
              finalizers: [...(object.metadata?.finalizers ?? []), FINALIZER],
            },
          },
        },
        mergePatch,
      );
    } catch (error) {
      this.writeFailed("the finalizer could not be added", object, error);
    }
  }

  private async finalize(object: ImageSpecObject): Promise<void> {
    const policy =
      (object.spec as { retention?: { onDelete?: string } } | undefined)?.retention?.onDelete ?? "retain";
    try {
      await this.custom.patchNamespacedCustomObject(
        {
          ...this.ref(object),
          body: {
            metadata: {
              resourceVersion: object.metadata?.resourceVersion,
              finalizers: (object.metadata?.finalizers ?? []).filter((f) => f !== FINALIZER),
            },
          },
        },
        mergePatch,
      );
      this.options.logger.info("ImageSpec deleted: deletion policy applied, finalizer removed", {
        imagespec: keyOf(object),
        onDelete: policy,
      });
      this.events.record(targetOf(object), {
        type: "Normal",
        reason: "DeletionPolicyApplied",
        note:
          policy === "retire"
            ? "spec deleted: its images are retired on its retention schedule"
            : "spec deleted: its images are retained (retention.onDelete: retain)",
      });
    } catch (error) {
      this.writeFailed("the finalizer could not be removed", object, error);
    }
  }

  private async writeStatus(
    object: ImageSpecObject,
    status: SpecStatus | undefined,
    validation: ValidationResult,
  ): Promise<void> {
    const name = object.metadata?.name ?? "";
    const errors = diagnosticsOf(validation, object).map((d) => `${d.path ? `${d.path}: ` : ""}${d.message}`);
    const planned: SpecStatus = status ?? {
      name,
      layer: "unknown",
      phase: "Blocked",
      message: validation.blocked.get(name) ?? "not reconciled",
      channels: {},
      builds: [],
    };
    const previous = object.status as ImageSpecStatus | undefined;
    const generation = object.metadata?.generation;
    const next = statusDocument(planned, previous, generation, new Date(this.clock.now()), errors);
    if (sameStatus(previous, next)) return;
    try {
      await this.custom.patchNamespacedCustomObjectStatus(
        { ...this.ref(object), body: [{ op: "add", path: "/status", value: next }] },
        jsonPatch,
      );
    } catch (error) {
      this.writeFailed("the status could not be written", object, error);
      this.queue.addRateLimited(keyOf(object));
    }
  }

  private writeFailed(what: string, object: ImageSpecObject, error: unknown): void {
    const code = statusCodeOf(error);
    // 409: the resource changed since the cache saw it, 404: it is gone; the watch brings the news and requeues.
    const level = code === 409 || code === 404 ? "debug" : "warn";
    this.options.logger[level](what, {
      imagespec: keyOf(object),
      code,
      error: error instanceof Error ? error.message : String(error),
    });
  }
}

/** API writes in flight at once: thousands of status writes after a big pass go through a bounded pool. */
const WRITE_CONCURRENCY = 16;

async function eachLimited<T>(items: readonly T[], work: (item: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++] as T;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(WRITE_CONCURRENCY, items.length) }, worker));
}

function hasFinalizer(object: ImageSpecObject): boolean {
  return object.metadata?.finalizers?.includes(FINALIZER) === true;
}

function targetOf(object: ImageSpecObject): EventTarget {
  return {
    namespace: object.metadata?.namespace ?? "default",
    name: object.metadata?.name ?? "",
    ...(object.metadata?.uid ? { uid: object.metadata.uid } : {}),
  };
}

/** validate's "no ImageSpec in PATH: what was searched", for the namespaces an operator watches. */
export function emptyMessage(namespaces: readonly string[]): string {
  if (namespaces.length === 0)
    return "no ImageSpec in any namespace: the cluster has no ImageSpec resources (leaven.dev/v1alpha1); nothing to reconcile until one is created";
  const where = `${namespaces.length === 1 ? "namespace" : "namespaces"} ${namespaces.join(", ")}`;
  return `no ImageSpec in ${where}: ${namespaces.length === 1 ? "it has" : "they have"} no ImageSpec resources (leaven.dev/v1alpha1); nothing to reconcile until one is created (\`kubectl get imagespecs -A\` lists every namespace's)`;
}
