// Holding an installation's lock (lock-port.ts) for the length of a run: acquire it — waiting while another
// run holds it, with a message naming the holder, up to an optional timeout — then renew it by a heartbeat
// every third of its TTL, and release it at the end. A holder whose renewals do not get through stops
// acting before its lease can run out anywhere else: `held()` turns false a sixth of the TTL before the
// expiry it last wrote (room for the clocks of two hosts to disagree), whatever the heartbeat is doing, and
// the fenced cloud (fenced-cloud.ts) refuses every mutating call from then on. Every time comes from the
// injected clock.
import { randomUUID } from "node:crypto";
import type { Clock } from "../cloud/clock.ts";
import { DEFAULT_LEASE_TTL_MS } from "./defaults.ts";
import { describeHolder } from "./holder.ts";
import type { LockHolder, LockPort, LockRecord } from "./lock-port.ts";

export { DEFAULT_LEASE_TTL_MS };

export interface LeaseOptions {
  port: LockPort;
  installation: string;
  holder: LockHolder;
  clock: Clock;
  /** Time to live of each renewal (default DEFAULT_LEASE_TTL_MS). */
  ttlMs?: number;
  /** Waiting for a held lock gives up after this long; 0 = do not wait; undefined = wait as long as it takes. */
  timeoutMs?: number;
  /** Called when this run starts waiting, and again whenever the lock changes hands while it waits. */
  onWait?: (message: string) => void;
  /** Called once, when the lease is lost; `held()` is false from then on. */
  onLost?: (reason: string) => void;
  /** Called when a renewal fails but the lease is not lost yet (it is retried). */
  onRenewalError?: (error: string) => void;
  /** The acquisition's token (default: a random UUID). */
  token?: string;
}

/** Waiting for the lock gave up (`timeoutMs`): the message names the holder. */
export class LockTimeoutError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LockTimeoutError";
  }
}

function errorText(error: unknown): string {
  return error instanceof Error
    ? `${error.name === "Error" ? "" : `${error.name}: `}${error.message}`
    : String(error);
}

function seconds(ms: number): string {
  return ms % 1000 === 0 ? `${ms / 1000}s` : `${(ms / 1000).toFixed(1)}s`;
}

/**
 * Takes the installation's lock, waiting while someone else holds it; resolves once this run holds it,
 * with the heartbeat running. Throws LockTimeoutError when `timeoutMs` runs out first.
 */
export async function acquireLease(options: LeaseOptions): Promise<Lease> {
  const { port, installation, clock } = options;
  const ttl = options.ttlMs ?? DEFAULT_LEASE_TTL_MS;
  const token = options.token ?? randomUUID();
  const start = clock.now();
  const deadline = options.timeoutMs === undefined ? Number.POSITIVE_INFINITY : start + options.timeoutMs;
  // Polling while waiting: often enough that a released lock is noticed soon, rarely enough not to matter.
  const poll = Math.max(1, Math.round(ttl / 9));
  let lastSeen: string | undefined;
  for (;;) {
    const now = clock.now();
    const record: LockRecord = { installation, token, holder: options.holder, expiresAt: now + ttl };
    const outcome = await port.tryAcquire(record, now);
    if (outcome.acquired) return new Lease(options, token, record.expiresAt, ttl);
    const current = outcome.current;
    const held = current
      ? `held by ${describeHolder(current, clock.now())}`
      : `held by something that is not a Leaven lock (in ${port.description})`;
    // Said first (unless this run does not wait at all): whoever holds it is the news, timeout or not.
    const seen = current ? current.token : "foreign";
    if (seen !== lastSeen && options.timeoutMs !== 0) {
      lastSeen = seen;
      options.onWait?.(`waiting for the lock of installation ${installation} ${held}`);
    }
    if (clock.now() >= deadline)
      throw new LockTimeoutError(
        `gave up after ${seconds(options.timeoutMs ?? 0)} waiting for the lock of installation ${installation} ${held}. ` +
          "It is released when that run ends, or taken over once it expires; run again then, or wait longer with --lock-timeout.",
      );
    // Wake at the next poll, when the holder's lease runs out, or at the deadline, whichever comes first.
    const untilExpiry = current ? current.expiresAt + 1 - clock.now() : poll;
    await clock.sleep(Math.max(1, Math.min(poll, untilExpiry, deadline - clock.now())));
  }
}

export class Lease {
  readonly installation: string;
  readonly token: string;
  private readonly options: LeaseOptions;
  private readonly ttl: number;
  private readonly stop = new AbortController();
  private readonly heartbeat: Promise<void>;
  /** The expiry last written to the store. */
  private expiresAt: number;
  private lost: string | undefined;
  private lastError: string | undefined;

  constructor(options: LeaseOptions, token: string, expiresAt: number, ttl: number) {
    this.options = options;
    this.installation = options.installation;
    this.token = token;
    this.expiresAt = expiresAt;
    this.ttl = ttl;
    this.heartbeat = this.beat();
  }

  /** When this holder stops trusting its lease: a sixth of the TTL before the expiry it wrote. */
  private deadline(): number {
    return this.expiresAt - Math.round(this.ttl / 6);
  }

  /** Whether this run may still act. Checks the clock itself: a starved heartbeat cannot keep it true. */
  held(): boolean {
    return this.problem() === undefined;
  }

  /** Why this run may no longer act, or undefined while it holds the lease. */
  problem(): string | undefined {
    if (this.lost === undefined && !this.stop.signal.aborted && this.options.clock.now() >= this.deadline())
      this.lose(
        `the lock of installation ${this.installation} could not be renewed in time${this.lastError ? ` (last error: ${this.lastError})` : ""}`,
      );
    if (this.lost !== undefined) return this.lost;
    if (this.stop.signal.aborted) return `the lock of installation ${this.installation} was released`;
    return undefined;
  }

  private lose(reason: string): void {
    if (this.lost !== undefined) return;
    this.lost = reason;
    this.options.onLost?.(reason);
  }

  private async beat(): Promise<void> {
    const { clock, port } = this.options;
    const every = Math.max(1, Math.round(this.ttl / 3));
    const retry = Math.max(1, Math.round(this.ttl / 15));
    while (!this.stop.signal.aborted && this.lost === undefined) {
      const wait = this.lastError ? retry : every;
      await clock.sleep(Math.max(0, Math.min(wait, this.deadline() - clock.now())), this.stop.signal);
      if (this.stop.signal.aborted || this.problem() !== undefined) return;
      const sentAt = clock.now();
      const expiresAt = sentAt + this.ttl;
      // A renewal that hangs must not hold the heartbeat past the deadline: race it against the clock.
      const timeout = new AbortController();
      const renewal = port.renew(this.installation, this.token, expiresAt, sentAt).then(
        (renewed) => ({ renewed }),
        (error: unknown) => ({ error: errorText(error) }),
      );
      const answer = await Promise.race([
        renewal,
        clock
          .sleep(Math.max(0, this.deadline() - sentAt), AbortSignal.any([timeout.signal, this.stop.signal]))
          .then(() => ({ error: "the renewal did not answer in time" })),
      ]);
      timeout.abort();
      if (this.stop.signal.aborted) return;
      if ("renewed" in answer) {
        if (answer.renewed) {
          this.expiresAt = Math.max(this.expiresAt, expiresAt);
          this.lastError = undefined;
          continue;
        }
        const current = await port.read(this.installation).catch(() => undefined);
        this.lose(
          `the lock of installation ${this.installation} was taken over${current ? ` by ${describeHolder(current, clock.now())}` : ""}`,
        );
        return;
      }
      this.lastError = answer.error;
      this.options.onRenewalError?.(answer.error);
    }
  }

  /**
   * Stops the heartbeat and deletes the lock if it is still this run's (conditional on the token, so a lock
   * taken over meanwhile is left alone). Never throws: a lock that cannot be deleted expires on its own.
   */
  async release(): Promise<{ released: boolean; error?: string }> {
    this.stop.abort();
    await this.heartbeat;
    try {
      return { released: await this.options.port.release(this.installation, this.token) };
    } catch (error) {
      return { released: false, error: errorText(error) };
    }
  }
}
