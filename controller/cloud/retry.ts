// Our retry policy for EC2 calls. The SDK's own retries are off (maxAttempts 1) so that every attempt is
// ours to count and to pace on the injected clock: throttling, 5xx and network errors back off with full
// jitter; 4xx errors are the caller's to fix and surface at once as CloudError.
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

/** throttle: EC2 asked us to slow down; transient: the service or network failed; client: our request is wrong. */
export type ErrorKind = "throttle" | "transient" | "client";

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

/** What an error from the SDK (or the network under it) means for retrying. */
export function classifyError(error: unknown): ClassifiedError {
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
  clock: Clock;
  random: () => number;
  onRetry?: (event: RetryEvent) => void;
}

/** Runs `operation` until it succeeds, fails with a client error, or runs out of attempts. */
export async function withRetries<T>(
  operation: (attempt: number) => Promise<T>,
  options: RetryOptions,
): Promise<T> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await operation(attempt);
    } catch (error) {
      const classified = classifyError(error);
      if (classified.kind === "client" || attempt >= options.policy.maxAttempts) {
        if (classified.kind === "client") throw toCloudError(error);
        throw new CloudError(
          classified.code,
          `${classified.message} (gave up after ${attempt} attempts)`,
          classified.statusCode,
          true,
        );
      }
      const delayMs = retryDelay(attempt, options.random, options.policy);
      options.onRetry?.({ attempt, delayMs, error: classified });
      await options.clock.sleep(delayMs);
    }
  }
}
