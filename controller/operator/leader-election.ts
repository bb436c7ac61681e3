// Leader election through a coordination.k8s.io Lease, as client-go's leaderelection does it: every
// `retryPeriodMs` a candidate reads the Lease; the holder renews it (replace with the read resourceVersion:
// optimistic concurrency, a 409 means someone else wrote first), another candidate takes it over once
// renewTime + leaseDurationSeconds has passed. The leader counts itself leader only until `renewDeadlineMs`
// after its last successful renewal — before the Lease can expire for anyone else — so two leaders never
// act at once (the fenced cloud refuses mutating calls from then on). On shutdown the leader releases the
// Lease (holder cleared, duration 1 s) so a standby takes over at its next try instead of waiting out the
// lease.
import { type CoordinationV1Api, type V1Lease, V1MicroTime } from "@kubernetes/client-node";
import type { Clock } from "../cloud/clock.ts";
import type { Logger } from "../log/logger.ts";

export interface LeaderElectionOptions {
  api: CoordinationV1Api;
  namespace: string;
  name: string;
  /** This candidate: unique per process (pod name and a random suffix). */
  identity: string;
  clock: Clock;
  logger: Logger;
  /** How long a Lease holds without renewal (default 15 s). */
  leaseDurationMs?: number;
  /** The leader gives up this long after its last renewal (default 10 s; less than the lease duration). */
  renewDeadlineMs?: number;
  /** How often candidates try and the leader renews (default 2 s). */
  retryPeriodMs?: number;
  onStartedLeading?: () => void;
  onStoppedLeading?: (why: string) => void;
}

/** The HTTP status of a failed client-node call (ApiException carries `code`). */
export function statusCodeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === "number" ? code : undefined;
}

function timeOf(value: Date | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

export class LeaderElection {
  private leading = false;
  private lastRenew = Number.NEGATIVE_INFINITY;
  private stopped = false;
  private readonly abort = new AbortController();
  private loop?: Promise<void>;
  private readonly leaseDurationMs: number;
  private readonly renewDeadlineMs: number;
  private readonly retryPeriodMs: number;
  /** Who holds the Lease, as last read (for logs and the web view). */
  holder: string | undefined;

  private readonly options: LeaderElectionOptions;

  constructor(options: LeaderElectionOptions) {
    this.options = options;
    this.leaseDurationMs = options.leaseDurationMs ?? 15_000;
    this.renewDeadlineMs = options.renewDeadlineMs ?? Math.round((this.leaseDurationMs * 2) / 3);
    this.retryPeriodMs = options.retryPeriodMs ?? 2_000;
    if (this.renewDeadlineMs >= this.leaseDurationMs)
      throw new Error(
        `leader election: the renew deadline (${this.renewDeadlineMs} ms) must be shorter than the lease duration (${this.leaseDurationMs} ms), or two leaders could act at once`,
      );
  }

  /** The Lease, `namespace/name`. */
  get lease(): string {
    return `${this.options.namespace}/${this.options.name}`;
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Whether this candidate leads now: it renewed the Lease within the renew deadline. */
  isLeader(): boolean {
    if (!this.leading) return false;
    if (this.options.clock.now() - this.lastRenew > this.renewDeadlineMs) {
      this.lose(`the Lease was not renewed within ${this.renewDeadlineMs} ms`);
      return false;
    }
    return true;
  }

  /** Why this candidate may not change anything, or undefined while it leads (for fenceCloud). */
  problem(): string | undefined {
    return this.isLeader()
      ? undefined
      : `this operator does not hold the Lease ${this.options.namespace}/${this.options.name}${this.holder ? ` (held by ${this.holder})` : ""}`;
  }

  private lose(why: string): void {
    if (!this.leading) return;
    this.leading = false;
    this.options.logger.warn("stopped leading", { lease: this.options.name, why });
    this.options.onStoppedLeading?.(why);
  }

  private async run(): Promise<void> {
    while (!this.stopped) {
      try {
        await this.tryAcquireOrRenew();
      } catch (error) {
        this.options.logger.warn("leader election: the Lease could not be read or written; trying again", {
          lease: `${this.options.namespace}/${this.options.name}`,
          error: error instanceof Error ? error.message : String(error),
        });
      }
      this.isLeader();
      await this.options.clock.sleep(this.retryPeriodMs, this.abort.signal);
    }
  }

  private leaseBody(existing: V1Lease | undefined, now: number): V1Lease {
    const takingOver = existing?.spec?.holderIdentity !== this.options.identity;
    return {
      apiVersion: "coordination.k8s.io/v1",
      kind: "Lease",
      metadata: {
        name: this.options.name,
        namespace: this.options.namespace,
        ...(existing?.metadata?.resourceVersion
          ? { resourceVersion: existing.metadata.resourceVersion }
          : {}),
      },
      spec: {
        holderIdentity: this.options.identity,
        leaseDurationSeconds: Math.ceil(this.leaseDurationMs / 1000),
        acquireTime: new V1MicroTime(takingOver ? now : (timeOf(existing?.spec?.acquireTime) ?? now)),
        renewTime: new V1MicroTime(now),
        leaseTransitions: (existing?.spec?.leaseTransitions ?? 0) + (takingOver && existing ? 1 : 0),
      },
    };
  }

  private async tryAcquireOrRenew(): Promise<void> {
    const { api, namespace, name, identity, clock } = this.options;
    const now = clock.now();
    let existing: V1Lease | undefined;
    try {
      existing = await api.readNamespacedLease({ name, namespace });
    } catch (error) {
      if (statusCodeOf(error) !== 404) throw error;
    }
    if (existing === undefined) {
      try {
        await api.createNamespacedLease({ namespace, body: this.leaseBody(undefined, now) });
      } catch (error) {
        if (statusCodeOf(error) === 409) return; // another candidate created it first
        throw error;
      }
      return this.acquired(now);
    }
    const holder = existing.spec?.holderIdentity || undefined;
    this.holder = holder;
    if (holder !== identity) {
      const renewed = timeOf(existing.spec?.renewTime) ?? 0;
      const duration = (existing.spec?.leaseDurationSeconds ?? 0) * 1000;
      if (holder !== undefined && renewed + duration > now) {
        this.lose(`the Lease is held by ${holder}`);
        return;
      }
    }
    try {
      await api.replaceNamespacedLease({ name, namespace, body: this.leaseBody(existing, now) });
    } catch (error) {
      if (statusCodeOf(error) === 409) {
        this.lose("another candidate wrote the Lease first");
        return;
      }
      throw error;
    }
    this.acquired(now);
  }

  private acquired(now: number): void {
    this.lastRenew = now;
    this.holder = this.options.identity;
    if (this.leading) return;
    this.leading = true;
    this.options.logger.info("started leading", {
      lease: `${this.options.namespace}/${this.options.name}`,
      identity: this.options.identity,
    });
    this.options.onStartedLeading?.();
  }

  /**
   * Stops campaigning; a leader releases the Lease so a standby takes over at once (`release: false`
   * leaves it to expire, as a killed process does).
   */
  async stop(options: { release?: boolean } = {}): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    await this.loop;
    if (!this.leading) return;
    if (options.release === false) {
      this.leading = false;
      return;
    }
    this.leading = false;
    const { api, namespace, name } = this.options;
    try {
      const existing = await api.readNamespacedLease({ name, namespace });
      if (existing.spec?.holderIdentity !== this.options.identity) return;
      await api.replaceNamespacedLease({
        name,
        namespace,
        body: {
          ...existing,
          spec: {
            ...existing.spec,
            holderIdentity: "",
            leaseDurationSeconds: 1,
            renewTime: new V1MicroTime(this.options.clock.now()),
          },
        },
      });
      this.options.logger.info("released the Lease", { lease: `${namespace}/${name}` });
    } catch (error) {
      this.options.logger.warn("the Lease could not be released: a standby takes over once it expires", {
        lease: `${namespace}/${name}`,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
