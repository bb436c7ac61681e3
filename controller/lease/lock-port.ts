// The installation lock as a port: one lock per installation, held by one controller at a time, with an
// expiry so that a holder that dies (kill -9, a lost machine) is taken over once its lease runs out. The
// DynamoDB table (aws-lock.ts) implements it outside Kubernetes; a coordination.k8s.io Lease can implement
// the same interface in the operator. What to do with it — wait, renew, give up — is lease.ts's.

/** Who holds a lock: enough for a person to find the run (and, if need be, the machine) that holds it. */
export interface LockHolder {
  host: string;
  pid: number;
  /** The command that took it, e.g. "apply". */
  command: string;
  /** When the holder took the lock (the lease clock's time, ms since the epoch). */
  startedAt: number;
}

export interface LockRecord {
  installation: string;
  /** Random, per acquisition: only the holder knows it, and every renewal and release is conditional on it. */
  token: string;
  holder: LockHolder;
  /** The lease clock's time (ms) from which anyone may take the lock over. */
  expiresAt: number;
}

export type AcquireOutcome = { acquired: true } | { acquired: false; current?: LockRecord };

export interface LockPort {
  /** Where the lock lives, for messages, e.g. "DynamoDB table leaven-locks in us-east-1". */
  readonly description: string;
  /**
   * Writes `record` if its installation's lock is free: absent, or expired before `now`. When it is held,
   * says by whom. An earlier attempt of the same record whose answer was lost counts as acquired.
   */
  tryAcquire(record: LockRecord, now: number): Promise<AcquireOutcome>;
  /** Moves the caller's own lock's expiry; false when the lock is no longer `token`'s (taken over). */
  renew(installation: string, token: string, expiresAt: number, now: number): Promise<boolean>;
  /** Removes the caller's own lock; false when it was no longer `token`'s (then it is left alone). */
  release(installation: string, token: string): Promise<boolean>;
  /** The installation's lock as it is now, expired or not; undefined when there is none. */
  read(installation: string): Promise<LockRecord | undefined>;
}

/** A problem with the lock's store that retrying will not fix (no table, no permission): the user must act. */
export class LockStoreError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "LockStoreError";
  }
}
