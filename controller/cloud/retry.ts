// Our retry policy for EC2 calls. The SDK's own retries are off (maxAttempts 1) so that every attempt is
// ours to count and to pace on the injected clock: throttling, 5xx and network errors back off with full
// jitter; so do, on a smaller budget, the 4xx codes by which EC2's eventual consistency shows (a resource
// just made is not visible yet, one just changed is still busy), per call (`eventualCodesFor`). Other 4xx
// errors are the caller's to fix and surface at once as CloudError.
import type { Clock } from "./clock.ts";
import { CloudError } from "./port.ts";

export interface RetryPolicy {
  /** Attempts in total, the first included. */
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
}

export const DEFAULT_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 8,
  baseDelayMs: 200,
  maxDelayMs: 20_000,
};

/**
 * throttle: EC2 asked us to slow down; transient: the service or network failed; eventual: EC2 has not caught
 * up with an earlier change yet (or the resource is busy), so the same request may succeed later; client: our
 * request is wrong.
 */
export type ErrorKind = "throttle" | "transient" | "eventual" | "client";

/**
 * The budget for eventual-consistency errors: a few seconds in all, then the error surfaces as retryable and
 * the next pass observes again (which is where a resource that really is gone shows as gone).
 */
export const CONSISTENCY_RETRY_POLICY: Readonly<RetryPolicy> = {
  maxAttempts: 4,
  baseDelayMs: 1_000,
  maxDelayMs: 8_000,
};

/** "Not visible yet": an id EC2 gave out a moment ago that another endpoint does not know yet. */
const NOT_VISIBLE_YET_CODES = [
  "InvalidAMIID.NotFound",
  "InvalidInstanceID.NotFound",
  "InvalidSnapshot.NotFound",
  "InvalidLaunchTemplateId.NotFound",
  "InvalidVolume.NotFound",
] as const;

/** "Busy": the resource is mid-transition, still used, or a limit is reached for now. */
const BUSY_CODES = [
  "IncorrectState",
  "IncorrectInstanceState",
  "InvalidSnapshot.InUse",
  "ResourceLimitExceeded",
] as const;

/** EC2 calls that change something, and the attribute reads of one named resource. */
const SETTLING_ACTIONS = [
  "RunInstances",
  "StartInstances",
  "StopInstances",
  "TerminateInstances",
  "CreateImage",
  "CopyImage",
  "CreateTags",
  "DeleteTags",
  "DescribeImageAttribute",
  "ModifyImageAttribute",
  "DescribeSnapshotAttribute",
  "ModifySnapshotAttribute",
  "EnableImageDeprecation",
  "DisableImageDeprecation",
  "DisableImage",
  "EnableImage",
  "DeregisterImage",
  "DeleteSnapshot",
  "CreateLaunchTemplate",
  "DeleteLaunchTemplate",
  "CreateVolume",
  "AttachVolume",
  "DetachVolume",
  "DeleteVolume",
  "CreateSnapshot",
  "RegisterImage",
] as const;

/**
 * Where NotFound means "done" rather than "not visible yet": the call deletes the resource, which the
 * executor has just read back (so it was visible), and a lost response to an earlier attempt is the usual
 * cause. These surface at once and the executor counts them as success.
 */
export const NOT_FOUND_IS_DONE: Readonly<Record<string, string>> = {
  DeregisterImage: "InvalidAMIID.NotFound",
  DeleteSnapshot: "InvalidSnapshot.NotFound",
  DeleteLaunchTemplate: "InvalidLaunchTemplateId.NotFound",
  DeleteVolume: "InvalidVolume.NotFound",
};

const NO_CODES: ReadonlySet<string> = new Set();
const eventualByAction = new Map<string, ReadonlySet<string>>(
  SETTLING_ACTIONS.map((action) => [
    action,
    new Set<string>(
      [...NOT_VISIBLE_YET_CODES, ...BUSY_CODES].filter((code) => NOT_FOUND_IS_DONE[action] !== code),
    ),
  ]),
);

/**
 * The error codes retried on the consistency budget for one EC2 action (none for listings, which answer
 * with what they see rather than NotFound). The table is in docs/architecture.md, "Retries".
 */
export function eventualCodesFor(action: string): ReadonlySet<string> {
  return eventualByAction.get(action) ?? NO_CODES;
}

export interface ClassifiedError {
  code: string;
  message: string;
  /** The HTTP status, or 0 when no response arrived. */
  statusCode: number;
  kind: ErrorKind;
}

// The throttling codes the AWS SDKs recognise, EC2's RequestLimitExceeded first.
const THROTTLE_CODES = new Set([
  "RequestLimitExceeded",
  "Throttling",
  "ThrottlingException",
  "ThrottledException",
  "RequestThrottled",
  "RequestThrottledException",
  "TooManyRequestsException",
  "ProvisionedThroughputExceededException",
  "TransactionInProgressException",
  "BandwidthLimitExceeded",
  "LimitExceededException",
  "SlowDown",
  "PriorRequestNotComplete",
  "EC2ThrottledException",
  // SSM: concurrent updates of one parameter; wait and send again.
  "TooManyUpdates",
]);

const TRANSIENT_CODES = new Set([
  "InternalError",
  "InternalFailure",
  // SSM's name for a 500.
  "InternalServerError",
  "ServiceUnavailable",
  "Unavailable",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
]);

// Node socket errors: the request may never have reached EC2, and every call we retry is idempotent
// (describe calls, or mutations carrying a ClientToken or a deterministic name).
const NETWORK_CODES = new Set([
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
]);

interface ErrorLike {
  name?: unknown;
  code?: unknown;
  Code?: unknown;
  message?: unknown;
  $metadata?: { httpStatusCode?: unknown };
  $response?: { statusCode?: unknown };
  cause?: unknown;
}

function asErrorLike(error: unknown): ErrorLike {
  return typeof error === "object" && error !== null ? (error as ErrorLike) : {};
}

function statusOf(error: ErrorLike): number {
  const status = error.$metadata?.httpStatusCode ?? error.$response?.statusCode;
  return typeof status === "number" ? status : 0;
}

function networkCodeOf(error: ErrorLike, depth = 0): string | undefined {
  if (typeof error.code === "string" && NETWORK_CODES.has(error.code)) return error.code;
  if (depth < 3 && error.cause) return networkCodeOf(asErrorLike(error.cause), depth + 1);
  return undefined;
}

/**
 * What an error from the SDK (or the network under it) means for retrying. `eventual` are the codes that,
 * for the call that failed, mean "not yet" (see `eventualCodesFor`); without it no code is.
 */
export function classifyError(error: unknown, eventual: ReadonlySet<string> = NO_CODES): ClassifiedError {
  if (error instanceof CloudError) {
    // CloudError's message already starts with its code; keep the bare message so it is not doubled.
    const prefix = `${error.code}: `;
    return {
      code: error.code,
      message: error.message.startsWith(prefix) ? error.message.slice(prefix.length) : error.message,
      statusCode: error.statusCode,
      kind: error.retryable ? "transient" : "client",
    };
  }
  const e = asErrorLike(error);
  const statusCode = statusOf(e);
  const message = typeof e.message === "string" ? e.message : String(error);
  const network = networkCodeOf(e);
  if (network && statusCode === 0) return { code: network, message, statusCode, kind: "transient" };
  const code =
    typeof e.Code === "string"
      ? e.Code
      : typeof e.name === "string" && e.name !== "Error"
        ? e.name
        : "UnknownError";
  if (THROTTLE_CODES.has(code) || statusCode === 429) return { code, message, statusCode, kind: "throttle" };
  if (TRANSIENT_CODES.has(code) || statusCode >= 500) return { code, message, statusCode, kind: "transient" };
  if (eventual.has(code)) return { code, message, statusCode, kind: "eventual" };
  if (statusCode === 0 && code === "UnknownError") {
    // No response and no known code: something below HTTP failed; treat like a network error.
    return { code, message, statusCode, kind: "transient" };
  }
  return { code, message, statusCode, kind: "client" };
}

export function isRetryable(error: unknown): boolean {
  return classifyError(error).kind !== "client";
}

/**
 * Full-jitter exponential backoff: the wait after failed attempt `attempt` (1-based) is uniform in
 * [0, min(maxDelayMs, baseDelayMs * 2^(attempt-1))).
 */
export function retryDelay(
  attempt: number,
  random: () => number,
  policy: RetryPolicy = DEFAULT_RETRY_POLICY,
): number {
  const exponent = Math.max(0, attempt - 1);
  const ceiling = Math.min(policy.maxDelayMs, policy.baseDelayMs * 2 ** exponent);
  const r = Math.min(Math.max(random(), 0), 1);
  return Math.floor(r * ceiling);
}

/** The CloudError callers see: the AWS code and message, whether it was worth retrying. */
export function toCloudError(error: unknown): CloudError {
  if (error instanceof CloudError) return error;
  const c = classifyError(error);
  return new CloudError(c.code, c.message, c.statusCode, c.kind !== "client");
}

export interface RetryEvent {
  /** The attempt that failed (1-based). */
  attempt: number;
  delayMs: number;
  error: ClassifiedError;
}

export interface RetryOptions {
  policy: RetryPolicy;
  /** Codes that mean "not yet" for this call, and their (smaller) budget; none when absent. */
  eventual?: { codes: ReadonlySet<string>; policy: RetryPolicy };
  clock: Clock;
  random: () => number;
  onRetry?: (event: RetryEvent) => void;
}

/**
 * Runs `operation` until it succeeds, fails with a client error, or runs out of attempts: `policy` bounds
 * every attempt, `eventual.policy` also bounds those that failed with an eventual-consistency code.
 */
export async function withRetries<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  let eventualFailures = 0;
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const classified = classifyError(error, options.eventual?.codes);
      if (classified.kind === "client") throw toCloudError(error);
      const eventual = classified.kind === "eventual";
      if (eventual) eventualFailures++;
      const eventualPolicy = options.eventual?.policy ?? options.policy;
      if (
        eventual &&
        (eventualFailures >= eventualPolicy.maxAttempts || attempt >= options.policy.maxAttempts)
      )
        throw new CloudError(
          classified.code,
          `${classified.message} (still failing after ${attempt} attempts, which is how EC2 shows a change it has not caught up with yet; the next pass observes again)`,
          classified.statusCode,
          true,
        );
      if (attempt >= options.policy.maxAttempts) {
        throw new CloudError(
          classified.code,
          `${classified.message} (gave up after ${attempt} attempts)`,
          classified.statusCode,
          true,
        );
      }
      const delayMs = eventual
        ? retryDelay(eventualFailures, options.random, eventualPolicy)
        : retryDelay(attempt, options.random, options.policy);
      options.onRetry?.({ attempt, delayMs, error: classified });
      await options.clock.sleep(delayMs);
    }
  }
}
