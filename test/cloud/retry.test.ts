import { describe, expect, it } from "vitest";
import type { Clock } from "../../controller/cloud/clock.ts";
import { CloudError } from "../../controller/cloud/port.ts";
import {
  classifyError,
  DEFAULT_RETRY_POLICY,
  type ErrorKind,
  isRetryable,
  retryDelay,
  toCloudError,
  withRetries,
} from "../../controller/cloud/retry.ts";

/** The shape the SDK gives an EC2 error: name = the AWS code, $metadata.httpStatusCode. */
function sdkError(code: string, status: number, message = `${code} happened`): Error {
  return Object.assign(new Error(message), {
    name: code,
    $metadata: { httpStatusCode: status },
    $fault: "client",
  });
}

function networkError(code: string): Error {
  return Object.assign(new Error(`socket: ${code}`), { code });
}

describe("retryDelay (full jitter)", () => {
  const policy = { maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 20_000 };
  it.each([
    // attempt, random, expected ms
    [1, 0.5, 100],
    [1, 0.999, 199],
    [2, 0.5, 200],
    [3, 0.5, 400],
    [4, 1, 1600],
    [7, 0.5, 6400],
    [8, 1, 20_000], // 200 * 2^7 = 25600, capped
    [30, 1, 20_000],
    [3, 0, 0],
  ])("attempt %i with random %f waits %i ms", (attempt, random, expected) => {
    expect(retryDelay(attempt, () => random, policy)).toBe(expected);
  });

  it("clamps a random source outside [0, 1]", () => {
    expect(retryDelay(2, () => 7, policy)).toBe(400);
    expect(retryDelay(2, () => -1, policy)).toBe(0);
  });

  it("defaults to base 200 ms, cap 20 s, 8 attempts", () => {
    expect(DEFAULT_RETRY_POLICY).toEqual({ maxAttempts: 8, baseDelayMs: 200, maxDelayMs: 20_000 });
  });
});

describe("classifyError", () => {
  it.each<[string, unknown, ErrorKind, string, number]>([
    ["EC2 throttling (503)", sdkError("RequestLimitExceeded", 503), "throttle", "RequestLimitExceeded", 503],
    [
      "EC2 throttling even as 400",
      sdkError("RequestLimitExceeded", 400),
      "throttle",
      "RequestLimitExceeded",
      400,
    ],
    ["generic Throttling", sdkError("Throttling", 400), "throttle", "Throttling", 400],
    ["HTTP 429", sdkError("SomethingNew", 429), "throttle", "SomethingNew", 429],
    ["InternalError 500", sdkError("InternalError", 500), "transient", "InternalError", 500],
    ["Unavailable 503", sdkError("Unavailable", 503), "transient", "Unavailable", 503],
    ["any 5xx", sdkError("Whatever", 502), "transient", "Whatever", 502],
    ["connection reset", networkError("ECONNRESET"), "transient", "ECONNRESET", 0],
    ["connection refused", networkError("ECONNREFUSED"), "transient", "ECONNREFUSED", 0],
    [
      "a network error as cause",
      Object.assign(new Error("fetch failed"), { cause: networkError("ETIMEDOUT") }),
      "transient",
      "ETIMEDOUT",
      0,
    ],
    ["not found", sdkError("InvalidAMIID.NotFound", 400), "client", "InvalidAMIID.NotFound", 400],
    ["unauthorized", sdkError("UnauthorizedOperation", 403), "client", "UnauthorizedOperation", 403],
    ["bad parameter", sdkError("InvalidParameterValue", 400), "client", "InvalidParameterValue", 400],
    [
      "a non-retryable CloudError",
      new CloudError("MalformedResponse", "x", 0, false),
      "client",
      "MalformedResponse",
      0,
    ],
  ])("%s", (_name, error, kind, code, statusCode) => {
    const classified = classifyError(error);
    expect(classified).toMatchObject({ kind, code, statusCode });
    expect(isRetryable(error)).toBe(kind !== "client");
  });

  it("turns an SDK error into a CloudError with the AWS code and message", () => {
    const error = toCloudError(
      sdkError("InvalidAMIID.NotFound", 400, "The image id '[ami-1]' does not exist"),
    );
    expect(error).toBeInstanceOf(CloudError);
    expect(error.message).toBe("InvalidAMIID.NotFound: The image id '[ami-1]' does not exist");
    expect(error).toMatchObject({ code: "InvalidAMIID.NotFound", statusCode: 400, retryable: false });
  });
});

describe("withRetries", () => {
  const fakeClock = () => {
    const sleeps: number[] = [];
    let now = 0;
    const clock: Clock = {
      now: () => now,
      sleep: async (ms) => {
        sleeps.push(ms);
        now += ms;
      },
    };
    return { clock, sleeps };
  };

  it("sleeps the jittered delay between attempts on the injected clock and returns the success", async () => {
    const { clock, sleeps } = fakeClock();
    const failures = [sdkError("RequestLimitExceeded", 503), sdkError("InternalError", 500)];
    const seen: number[] = [];
    const result = await withRetries(
      async (attempt) => {
        seen.push(attempt);
        const failure = failures.shift();
        if (failure) throw failure;
        return "done";
      },
      { policy: DEFAULT_RETRY_POLICY, clock, random: () => 0.5 },
    );
    expect(result).toBe("done");
    expect(seen).toEqual([1, 2, 3]);
    expect(sleeps).toEqual([100, 200]);
  });

  it("does not retry a client error and throws it as a CloudError", async () => {
    const { clock, sleeps } = fakeClock();
    let calls = 0;
    const run = withRetries(
      async () => {
        calls++;
        throw sdkError("InvalidParameterValue", 400, "bad");
      },
      { policy: DEFAULT_RETRY_POLICY, clock, random: () => 0.5 },
    );
    await expect(run).rejects.toThrow(new CloudError("InvalidParameterValue", "bad", 400, false));
    expect(calls).toBe(1);
    expect(sleeps).toEqual([]);
  });

  it("gives up after maxAttempts with a retryable CloudError saying so", async () => {
    const { clock, sleeps } = fakeClock();
    const events: string[] = [];
    const run = withRetries(
      async () => {
        throw sdkError("RequestLimitExceeded", 503, "Request limit exceeded.");
      },
      {
        policy: { maxAttempts: 3, baseDelayMs: 200, maxDelayMs: 20_000 },
        clock,
        random: () => 1,
        onRetry: (e) => events.push(`${e.attempt}:${e.delayMs}:${e.error.kind}`),
      },
    );
    const error = await run.catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloudError);
    expect((error as CloudError).message).toBe(
      "RequestLimitExceeded: Request limit exceeded. (gave up after 3 attempts)",
    );
    expect((error as CloudError).retryable).toBe(true);
    expect(events).toEqual(["1:200:throttle", "2:400:throttle"]);
    expect(sleeps).toEqual([200, 400]);
  });
});
