// The CLI's side of the installation lock: the DynamoDB table of the target (AWS, or the simulator, which
// serves DynamoDB on its endpoint), a lease on the target's clock, and the messages a waiting run prints.
// Loaded only by the commands that act (apply), so plan, status and validate never pay for the DynamoDB SDK.
import { hostname } from "node:os";
import { createLockClient, DynamoDbLock } from "../lease/aws-lock.ts";
import { acquireLease, type Lease, LockTimeoutError } from "../lease/lease.ts";
import { LockStoreError } from "../lease/lock-port.ts";
import type { Logger } from "../log/logger.ts";
import type { CloudTarget } from "./cloud-target.ts";
import { UserError } from "./command.ts";

/**
 * On the simulator a lease lasts at least this long in wall time, whatever the clock speed: at 600x a
 * 90 s lease would be 150 ms, shorter than a busy event loop's pauses.
 */
export const MIN_WALL_LEASE_MS = 3_000;

export interface HeldLock {
  lease: Lease;
  /** Stops the heartbeat, deletes the lock if still held, closes the client; never throws. */
  release(): Promise<void>;
}

export async function holdLock(
  target: CloudTarget,
  options: {
    command: string;
    timeoutMs?: number;
    logger: Logger;
    onWait: (message: string) => void;
    onLost: (reason: string) => void;
  },
): Promise<HeldLock> {
  const settings = target.lock;
  const client = createLockClient({
    region: settings.region,
    ...(settings.endpoint ? { endpoint: settings.endpoint } : {}),
    ...(settings.credentials ? { credentials: settings.credentials } : {}),
    ...(settings.profile && !settings.credentials ? { profile: settings.profile } : {}),
  });
  const port = new DynamoDbLock({ client, table: settings.table, region: settings.region });
  const where = `the lock of installation ${target.installation} (${port.description})`;
  const ttlMs = Math.max(settings.ttlMs, Math.round(settings.speed * MIN_WALL_LEASE_MS));
  let lease: Lease;
  try {
    if (settings.createTable) await port.ensureTable();
    lease = await acquireLease({
      port,
      installation: target.installation,
      holder: { host: hostname(), pid: process.pid, command: options.command, startedAt: target.clock.now() },
      clock: target.clock,
      ttlMs,
      ...(options.timeoutMs !== undefined ? { timeoutMs: options.timeoutMs } : {}),
      onWait: options.onWait,
      onLost: options.onLost,
      onRenewalError: (error) => options.logger.warn("lock renewal failed; retrying", { error }),
    });
  } catch (error) {
    port.close();
    if (error instanceof LockTimeoutError) throw new UserError(error.message);
    if (error instanceof LockStoreError) throw new UserError(`cannot take ${where}: ${error.message}.`);
    throw new UserError(`cannot take ${where}: ${explainLockError(error)}; nothing was changed.`);
  }
  return {
    lease,
    release: async () => {
      const lostBefore = lease.problem() !== undefined;
      const { released, error } = await lease.release();
      if (error)
        options.logger.warn("the lock could not be released; it expires on its own", {
          installation: target.installation,
          error,
        });
      else if (!released && !lostBefore)
        options.logger.warn("the lock was no longer this run's when it ended", {
          installation: target.installation,
        });
      port.close();
    },
  };
}

/** A lock store's error in the words an operator acts on. */
export function explainLockError(error: unknown): string {
  const code = error instanceof Error ? ((error as { code?: string }).code ?? error.name) : "";
  const text = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
  if (/^CredentialsProviderError$/.test(code))
    return `no AWS credentials (${text}) — configure the AWS SDK's default chain (environment, profile, SSO, instance role) or pass --profile`;
  if (/^(AccessDenied|AccessDeniedException|UnauthorizedOperation)$/.test(code))
    return `not permitted (${text}) — grant dynamodb:GetItem, PutItem, UpdateItem, DeleteItem and DescribeTable on the table to the identity Leaven runs as`;
  if (
    /^(UnrecognizedClientException|InvalidSignatureException|ExpiredTokenException|ExpiredToken)$/.test(code)
  )
    return `AWS rejected the credentials (${text}) — refresh them or pick another --profile`;
  if (
    /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EHOSTUNREACH|ENETUNREACH|ETIMEDOUT|EAI_AGAIN|TimeoutError)$/.test(
      code,
    )
  )
    return `cannot reach DynamoDB (${text}) — check lock.endpoint (or --endpoint) in leaven.yaml and the network`;
  return text;
}
