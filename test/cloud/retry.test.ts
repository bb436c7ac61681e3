import { describe, expect, it } from "vitest";
import type { Clock } from "../../controller/cloud/clock.ts";
import { CloudError } from "../../controller/cloud/port.ts";
import {
  CONSISTENCY_RETRY_POLICY,
  classifyError,
  DEFAULT_RETRY_POLICY,
  type ErrorKind,
  eventualCodesFor,
  isRetryable,
  NOT_FOUND_IS_DONE,
  retryDelay,
  toCloudError,
  withRetries,
} from "../../controller/cloud/retry.ts";
import { ManualClock } from "../../controller/sim/manual-clock.ts";

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

// Every error shape the SDK and Node hand us, and what it must mean. Each row: description, the thrown
// value, kind, code, HTTP status (0 = no response).
type Row = [string, unknown, ErrorKind, string, number];

/** An SDK service error without $metadata (as when the response could not be parsed). */
function namedError(name: string, message = `${name} happened`): Error {
  return Object.assign(new Error(message), { name });
}

/** Nests `inner` as the cause `depth` times below a generic "fetch failed". */
function nested(inner: unknown, depth: number): unknown {
  let error = inner;
  for (let i = 0; i < depth; i++) error = Object.assign(new Error(`level ${depth - i}`), { cause: error });
  return error;
}

const THROTTLE_CODES = [
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
];
const TRANSIENT_CODES = [
  "InternalError",
  "InternalFailure",
  "ServiceUnavailable",
  "Unavailable",
  "RequestTimeout",
  "RequestTimeoutException",
  "TimeoutError",
];
const NETWORK_CODES = [
  "ECONNRESET",
  "ECONNREFUSED",
  "ECONNABORTED",
  "EPIPE",
  "ETIMEDOUT",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "EAI_AGAIN",
  "UND_ERR_SOCKET",
];

describe("classifyError: every error shape", () => {
  it.each<Row>([
    // An SDK service error with an unknown code: the HTTP status decides.
    ["unknown code, 400", sdkError("SomethingNew", 400), "client", "SomethingNew", 400],
    ["unknown code, 403", sdkError("SomethingNew", 403), "client", "SomethingNew", 403],
    ["unknown code, 404", sdkError("SomethingNew", 404), "client", "SomethingNew", 404],
    ["unknown code, 428", sdkError("SomethingNew", 428), "client", "SomethingNew", 428],
    ["unknown code, 429", sdkError("SomethingNew", 429), "throttle", "SomethingNew", 429],
    ["unknown code, 430", sdkError("SomethingNew", 430), "client", "SomethingNew", 430],
    ["unknown code, 499", sdkError("SomethingNew", 499), "client", "SomethingNew", 499],
    ["unknown code, 500", sdkError("SomethingNew", 500), "transient", "SomethingNew", 500],
    ["unknown code, 503", sdkError("SomethingNew", 503), "transient", "SomethingNew", 503],
    ["unknown code, 599", sdkError("SomethingNew", 599), "transient", "SomethingNew", 599],
    // Without $metadata: a named error whose name is no known code is the caller's.
    ["unknown code, no status", namedError("SomethingNew"), "client", "SomethingNew", 0],
    ["AuthFailure, no status", namedError("AuthFailure"), "client", "AuthFailure", 0],
    ["a TypeError from our own code", new TypeError("x is not a function"), "client", "TypeError", 0],
    // The status from $response when $metadata has none.
    [
      "status from $response",
      Object.assign(new Error("m"), { name: "SomethingNew", $response: { statusCode: 502 } }),
      "transient",
      "SomethingNew",
      502,
    ],
    [
      "$metadata wins over $response",
      Object.assign(new Error("m"), {
        name: "SomethingNew",
        $metadata: { httpStatusCode: 400 },
        $response: { statusCode: 503 },
      }),
      "client",
      "SomethingNew",
      400,
    ],
    [
      "a status that is not a number counts as none",
      Object.assign(new Error("m"), { name: "SomethingNew", $metadata: { httpStatusCode: "503" } }),
      "client",
      "SomethingNew",
      0,
    ],
    // A known code beats the status: throttle first, then transient.
    ["InternalError as 400", sdkError("InternalError", 400), "transient", "InternalError", 400],
    ["InternalError as 429", sdkError("InternalError", 429), "throttle", "InternalError", 429],
    ["Throttling as 500", sdkError("Throttling", 500), "throttle", "Throttling", 500],
    // Code (the EC2 XML's <Code>) wins over name; name "Error" says nothing.
    [
      "Code wins over name",
      Object.assign(new Error("m"), { name: "InvalidAMIID.NotFound", Code: "RequestLimitExceeded" }),
      "throttle",
      "RequestLimitExceeded",
      0,
    ],
    [
      "Code names a client error though name looks like a throttle",
      Object.assign(new Error("m"), {
        name: "RequestLimitExceeded",
        Code: "InvalidParameterValue",
        $metadata: { httpStatusCode: 400 },
      }),
      "client",
      "InvalidParameterValue",
      400,
    ],
    [
      "Code alone on a plain Error",
      Object.assign(new Error("m"), { Code: "InternalError" }),
      "transient",
      "InternalError",
      0,
    ],
    [
      "a Code that is not a string is ignored",
      Object.assign(new Error("m"), { name: "Throttling", Code: 42 }),
      "throttle",
      "Throttling",
      0,
    ],
    [
      "name Error with a 400 is an unknown client error",
      Object.assign(new Error("m"), { $metadata: { httpStatusCode: 400 } }),
      "client",
      "UnknownError",
      400,
    ],
    [
      "name Error with a 503 is transient",
      Object.assign(new Error("m"), { $metadata: { httpStatusCode: 503 } }),
      "transient",
      "UnknownError",
      503,
    ],
    // No response and nothing known: something below HTTP failed, retry it.
    ["a plain Error, no status, no code", new Error("socket hang up"), "transient", "UnknownError", 0],
    [
      "a plain Error with a code that is no network code",
      Object.assign(new Error("m"), { code: "ERR_SOMETHING" }),
      "transient",
      "UnknownError",
      0,
    ],
    ["a string", "boom", "transient", "UnknownError", 0],
    ["undefined", undefined, "transient", "UnknownError", 0],
    ["null", null, "transient", "UnknownError", 0],
    ["a number", 42, "transient", "UnknownError", 0],
    ["an empty object", {}, "transient", "UnknownError", 0],
    // Network codes count only when no response arrived.
    [
      "a network code with an HTTP status is judged by the status",
      Object.assign(new Error("m"), { code: "ECONNRESET", $metadata: { httpStatusCode: 400 } }),
      "client",
      "UnknownError",
      400,
    ],
    [
      "a network code beats a throttle-looking name",
      Object.assign(new Error("m"), { name: "ThrottlingException", code: "EPIPE" }),
      "transient",
      "EPIPE",
      0,
    ],
    [
      "a network code in a cause rescues a named error",
      Object.assign(new TypeError("fetch failed"), { cause: networkError("ECONNRESET") }),
      "transient",
      "ECONNRESET",
      0,
    ],
    // The cause chain is followed three levels deep, no further.
    ["network code 1 level down", nested(networkError("EAI_AGAIN"), 1), "transient", "EAI_AGAIN", 0],
    ["network code 2 levels down", nested(networkError("EAI_AGAIN"), 2), "transient", "EAI_AGAIN", 0],
    ["network code 3 levels down", nested(networkError("EAI_AGAIN"), 3), "transient", "EAI_AGAIN", 0],
    ["network code 4 levels down", nested(networkError("EAI_AGAIN"), 4), "transient", "UnknownError", 0],
    [
      "network code 4 levels down under a named error",
      Object.assign(new TypeError("fetch failed"), { cause: nested(networkError("EAI_AGAIN"), 3) }),
      "client",
      "TypeError",
      0,
    ],
    [
      "a non-object cause",
      Object.assign(new Error("m"), { cause: "ECONNRESET" }),
      "transient",
      "UnknownError",
      0,
    ],
    // CloudError passes through as it is.
    [
      "a retryable CloudError",
      new CloudError("InternalError", "x", 503, true),
      "transient",
      "InternalError",
      503,
    ],
    ["a retryable CloudError, no status", new CloudError("Flaky", "x", 0, true), "transient", "Flaky", 0],
    [
      "a non-retryable CloudError even with a 503",
      new CloudError("RequestLimitExceeded", "x", 503, false),
      "client",
      "RequestLimitExceeded",
      503,
    ],
  ])("%s", (_name, error, kind, code, statusCode) => {
    expect(classifyError(error)).toMatchObject({ kind, code, statusCode });
    expect(isRetryable(error)).toBe(kind !== "client");
  });

  it.each(THROTTLE_CODES)("throttle code %s is throttling with a 400, a 503 and no status", (code) => {
    expect(classifyError(sdkError(code, 400))).toMatchObject({ kind: "throttle", code, statusCode: 400 });
    expect(classifyError(sdkError(code, 503))).toMatchObject({ kind: "throttle", code, statusCode: 503 });
    expect(classifyError(namedError(code))).toMatchObject({ kind: "throttle", code, statusCode: 0 });
    expect(classifyError(Object.assign(new Error("m"), { Code: code }))).toMatchObject({
      kind: "throttle",
      code,
    });
  });

  it.each(TRANSIENT_CODES)("transient code %s is transient with a 400 and no status", (code) => {
    expect(classifyError(sdkError(code, 400))).toMatchObject({ kind: "transient", code, statusCode: 400 });
    expect(classifyError(namedError(code))).toMatchObject({ kind: "transient", code, statusCode: 0 });
  });

  it.each(NETWORK_CODES)("network code %s is transient as code, as cause and three causes down", (code) => {
    const expected = { kind: "transient", code, statusCode: 0 };
    expect(classifyError(networkError(code))).toMatchObject(expected);
    expect(
      classifyError(Object.assign(new TypeError("fetch failed"), { cause: networkError(code) })),
    ).toMatchObject(expected);
    expect(classifyError(nested(networkError(code), 3))).toMatchObject(expected);
  });

  it("a cause chain that loops ends at the depth limit", () => {
    const loop: Error & { cause?: unknown } = new TypeError("loop");
    loop.cause = loop;
    expect(classifyError(loop)).toEqual({
      code: "TypeError",
      message: "loop",
      statusCode: 0,
      kind: "client",
    });
  });

  it.each<[string, unknown, string]>([
    ["an Error's message", new Error("socket hang up"), "socket hang up"],
    [
      "an SDK error's message",
      sdkError("InternalError", 500, "We encountered an internal error."),
      "We encountered an internal error.",
    ],
    ["a string itself", "boom", "boom"],
    ["undefined as text", undefined, "undefined"],
    ["null as text", null, "null"],
    ["an object with a non-string message", { message: 7 }, "[object Object]"],
    ["a CloudError's message without its code", new CloudError("Flaky", "x", 0, true), "x"],
  ])("keeps %s as the message", (_name, error, message) => {
    expect(classifyError(error).message).toBe(message);
  });

  it("returns the full classification, nothing more", () => {
    expect(classifyError(sdkError("RequestLimitExceeded", 503, "Request limit exceeded."))).toEqual({
      code: "RequestLimitExceeded",
      message: "Request limit exceeded.",
      statusCode: 503,
      kind: "throttle",
    });
  });
});

describe("toCloudError", () => {
  it("returns a CloudError unchanged", () => {
    const original = new CloudError("Flaky", "x", 0, true);
    expect(toCloudError(original)).toBe(original);
  });

  it.each<[string, unknown, string, number, boolean, string]>([
    [
      "throttling",
      sdkError("RequestLimitExceeded", 503, "slow down"),
      "RequestLimitExceeded",
      503,
      true,
      "RequestLimitExceeded: slow down",
    ],
    ["a 5xx", sdkError("InternalError", 500, "oops"), "InternalError", 500, true, "InternalError: oops"],
    ["a network error", networkError("ECONNRESET"), "ECONNRESET", 0, true, "ECONNRESET: socket: ECONNRESET"],
    [
      "a 403",
      sdkError("UnauthorizedOperation", 403, "no"),
      "UnauthorizedOperation",
      403,
      false,
      "UnauthorizedOperation: no",
    ],
    ["a string", "boom", "UnknownError", 0, true, "UnknownError: boom"],
  ])("turns %s into a CloudError", (_name, error, code, statusCode, retryable, message) => {
    const cloud = toCloudError(error);
    expect(cloud).toBeInstanceOf(CloudError);
    expect(cloud).toMatchObject({ code, statusCode, retryable, message, name: "CloudError" });
  });
});

describe("retryDelay: exact values", () => {
  it.each([
    // attempt, random, expected ms, with the default policy (base 200, cap 20 s)
    [1, 0, 0],
    [1, 0.25, 50],
    [1, 0.9999, 199],
    [2, 0.9999, 399],
    [3, 0.25, 200],
    [5, 0.5, 1600],
    [6, 0.5, 3200],
    [7, 0.999, 12_787],
    [7, 1, 12_800],
    [8, 0.5, 10_000], // 25.6 s capped to 20 s
    [8, 0.9999, 19_998],
    [9, 0.999, 19_980],
    [100, 0.5, 10_000],
    [0, 0.5, 100], // attempts below 1 wait like the first
    [-3, 1, 200],
  ])("attempt %i with random %f waits %i ms", (attempt, random, expected) => {
    expect(retryDelay(attempt, () => random)).toBe(expected);
  });

  it.each([
    // attempt, ceiling (ms) for base 100, cap 1000
    [1, 100],
    [2, 200],
    [3, 400],
    [4, 800],
    [5, 1000],
    [6, 1000],
  ])("full jitter: attempt %i waits in [0, %i] under a custom policy", (attempt, ceiling) => {
    const policy = { maxAttempts: 3, baseDelayMs: 100, maxDelayMs: 1000 };
    expect(retryDelay(attempt, () => 0, policy)).toBe(0);
    expect(retryDelay(attempt, () => 0.5, policy)).toBe(ceiling / 2);
    expect(retryDelay(attempt, () => 0.999_999, policy)).toBe(ceiling - 1);
    expect(retryDelay(attempt, () => 1, policy)).toBe(ceiling);
  });

  it("draws one random number per delay", () => {
    let calls = 0;
    retryDelay(4, () => {
      calls++;
      return 0.5;
    });
    expect(calls).toBe(1);
  });
});

describe("withRetries: attempts, give-up and events", () => {
  const recordingClock = () => {
    const log: string[] = [];
    let now = 0;
    const clock: Clock = {
      now: () => now,
      sleep: async (ms) => {
        log.push(`sleep ${ms}`);
        now += ms;
      },
    };
    return { clock, log };
  };

  it("gives up on a retryable CloudError with its code once, not twice", async () => {
    const { clock } = recordingClock();
    const error = await withRetries(
      async () => {
        throw new CloudError("Flaky", "x", 0, true);
      },
      { policy: { maxAttempts: 2, baseDelayMs: 1, maxDelayMs: 1 }, clock, random: () => 0 },
    ).catch((e: unknown) => e);
    expect((error as Error).message).toBe("Flaky: x (gave up after 2 attempts)");
  });

  it.each([1, 2, 3, 8])("a transient error is tried exactly maxAttempts = %i times", async (maxAttempts) => {
    const { clock, log } = recordingClock();
    const attempts: number[] = [];
    const error = await withRetries(
      async (attempt) => {
        attempts.push(attempt);
        throw sdkError("InternalError", 500, "oops");
      },
      { policy: { maxAttempts, baseDelayMs: 200, maxDelayMs: 20_000 }, clock, random: () => 0.5 },
    ).catch((e: unknown) => e);
    expect(attempts).toEqual(Array.from({ length: maxAttempts }, (_, i) => i + 1));
    expect(log).toHaveLength(maxAttempts - 1);
    expect(error).toBeInstanceOf(CloudError);
    expect(error).toMatchObject({
      code: "InternalError",
      statusCode: 500,
      retryable: true,
      message: `InternalError: oops (gave up after ${maxAttempts} attempts)`,
    });
  });

  it("uses the default policy's 8 attempts and its delays", async () => {
    const { clock, log } = recordingClock();
    let calls = 0;
    const error = await withRetries(
      async () => {
        calls++;
        throw networkError("ECONNRESET");
      },
      { policy: DEFAULT_RETRY_POLICY, clock, random: () => 1 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(8);
    expect(log).toEqual([
      "sleep 200",
      "sleep 400",
      "sleep 800",
      "sleep 1600",
      "sleep 3200",
      "sleep 6400",
      "sleep 12800",
    ]);
    expect((error as CloudError).message).toBe("ECONNRESET: socket: ECONNRESET (gave up after 8 attempts)");
  });

  it("reports each retry before sleeping, with the failed attempt, the delay and the classification", async () => {
    const { clock, log } = recordingClock();
    const failures: unknown[] = [
      sdkError("RequestLimitExceeded", 503, "slow down"),
      networkError("ETIMEDOUT"),
      new Error("socket hang up"),
    ];
    const result = await withRetries(
      async (attempt) => {
        log.push(`attempt ${attempt}`);
        const failure = failures.shift();
        if (failure !== undefined) throw failure;
        return 42;
      },
      {
        policy: DEFAULT_RETRY_POLICY,
        clock,
        random: () => 0.5,
        onRetry: (event) => log.push(JSON.stringify(event)),
      },
    );
    expect(result).toBe(42);
    expect(log).toEqual([
      "attempt 1",
      JSON.stringify({
        attempt: 1,
        delayMs: 100,
        error: { code: "RequestLimitExceeded", message: "slow down", statusCode: 503, kind: "throttle" },
      }),
      "sleep 100",
      "attempt 2",
      JSON.stringify({
        attempt: 2,
        delayMs: 200,
        error: { code: "ETIMEDOUT", message: "socket: ETIMEDOUT", statusCode: 0, kind: "transient" },
      }),
      "sleep 200",
      "attempt 3",
      JSON.stringify({
        attempt: 3,
        delayMs: 400,
        error: { code: "UnknownError", message: "socket hang up", statusCode: 0, kind: "transient" },
      }),
      "sleep 400",
      "attempt 4",
    ]);
  });

  it("returns the first success without sleeping or reporting", async () => {
    const { clock, log } = recordingClock();
    let events = 0;
    const result = await withRetries(async () => "ok", {
      policy: DEFAULT_RETRY_POLICY,
      clock,
      random: () => 0.5,
      onRetry: () => events++,
    });
    expect(result).toBe("ok");
    expect(log).toEqual([]);
    expect(events).toBe(0);
  });

  it.each<[string, unknown, string, number]>([
    ["a 400", sdkError("InvalidParameterValue", 400, "bad"), "InvalidParameterValue: bad", 400],
    ["a 403", sdkError("UnauthorizedOperation", 403, "denied"), "UnauthorizedOperation: denied", 403],
    ["a named error without status", namedError("AuthFailure", "who?"), "AuthFailure: who?", 0],
    [
      "a non-retryable CloudError",
      new CloudError("MalformedResponse", "x", 0, false),
      "MalformedResponse: x",
      0,
    ],
  ])(
    "throws %s at once: one attempt, no sleep, no event, not retryable",
    async (_name, thrown, message, status) => {
      const { clock, log } = recordingClock();
      let calls = 0;
      let events = 0;
      const error = await withRetries(
        async () => {
          calls++;
          throw thrown;
        },
        { policy: DEFAULT_RETRY_POLICY, clock, random: () => 0.5, onRetry: () => events++ },
      ).catch((e: unknown) => e);
      expect(calls).toBe(1);
      expect(log).toEqual([]);
      expect(events).toBe(0);
      expect(error).toBeInstanceOf(CloudError);
      expect(error).toMatchObject({ message, statusCode: status, retryable: false });
      expect((error as CloudError).message).not.toContain("gave up");
    },
  );

  it("stops at a client error after transient ones, keeping the client error", async () => {
    const { clock, log } = recordingClock();
    const failures = [sdkError("InternalError", 500), sdkError("InvalidAMIID.NotFound", 400, "gone")];
    let calls = 0;
    const error = await withRetries(
      async () => {
        calls++;
        throw failures.shift();
      },
      { policy: DEFAULT_RETRY_POLICY, clock, random: () => 0.5 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(2);
    expect(log).toEqual(["sleep 100"]);
    expect(error).toMatchObject({
      code: "InvalidAMIID.NotFound",
      message: "InvalidAMIID.NotFound: gone",
      statusCode: 400,
      retryable: false,
    });
  });

  it("does not start the next attempt before the clock has slept the delay", async () => {
    const clock = new ManualClock(0);
    let calls = 0;
    const run = withRetries(
      async () => {
        calls++;
        if (calls === 1) throw sdkError("RequestLimitExceeded", 503);
        return "ok";
      },
      { policy: DEFAULT_RETRY_POLICY, clock, random: () => 0.5 },
    );
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(calls).toBe(1);
    clock.advance(99);
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(calls).toBe(1);
    clock.advance(1);
    await expect(run).resolves.toBe("ok");
    expect(calls).toBe(2);
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

// EC2's eventual consistency: which codes mean "not yet" for which call, and the budget they get.
describe("eventual consistency: the per-call table", () => {
  const SETTLING = [
    "InvalidAMIID.NotFound",
    "InvalidInstanceID.NotFound",
    "InvalidSnapshot.NotFound",
    "InvalidLaunchTemplateId.NotFound",
    "InvalidVolume.NotFound",
    "IncorrectState",
    "IncorrectInstanceState",
    "InvalidSnapshot.InUse",
    "ResourceLimitExceeded",
  ];
  const without = (code: string) => SETTLING.filter((c) => c !== code);

  it.each<[string, string[]]>([
    ["RunInstances", SETTLING],
    ["StopInstances", SETTLING],
    ["TerminateInstances", SETTLING],
    ["CreateImage", SETTLING],
    ["CopyImage", SETTLING],
    ["CreateTags", SETTLING],
    ["DeleteTags", SETTLING],
    ["DescribeImageAttribute", SETTLING],
    ["ModifyImageAttribute", SETTLING],
    ["DescribeSnapshotAttribute", SETTLING],
    ["ModifySnapshotAttribute", SETTLING],
    ["EnableImageDeprecation", SETTLING],
    ["DisableImageDeprecation", SETTLING],
    ["DisableImage", SETTLING],
    ["EnableImage", SETTLING],
    ["CreateLaunchTemplate", SETTLING],
    ["CreateVolume", SETTLING],
    ["AttachVolume", SETTLING],
    ["DetachVolume", SETTLING],
    ["CreateSnapshot", SETTLING],
    ["RegisterImage", SETTLING],
    // Deleting what the executor has just read back: NotFound means it is gone, which is what was wanted.
    ["DeregisterImage", without("InvalidAMIID.NotFound")],
    ["DeleteSnapshot", without("InvalidSnapshot.NotFound")],
    ["DeleteLaunchTemplate", without("InvalidLaunchTemplateId.NotFound")],
    ["DeleteVolume", without("InvalidVolume.NotFound")],
    // Listings answer with what they see; the port's reads by id handle a missing id themselves.
    ["DescribeImages", []],
    ["DescribeInstances", []],
    ["DescribeSnapshots", []],
    ["DescribeLaunchTemplates", []],
    ["GetConsoleOutput", []],
    ["DescribeVolumes", []],
    // SSM's calls have codes of their own.
    ["PutParameter", []],
    ["DeleteParameter", []],
    ["SendCommand", []],
    ["GetCommandInvocation", []],
    ["ListCommands", []],
  ])("%s retries %j", (action, codes) => {
    expect([...eventualCodesFor(action)].sort()).toEqual([...codes].sort());
  });

  it("names the deletions whose NotFound means done", () => {
    expect(NOT_FOUND_IS_DONE).toEqual({
      DeregisterImage: "InvalidAMIID.NotFound",
      DeleteSnapshot: "InvalidSnapshot.NotFound",
      DeleteLaunchTemplate: "InvalidLaunchTemplateId.NotFound",
      DeleteVolume: "InvalidVolume.NotFound",
    });
  });

  it.each(SETTLING)("%s is eventual for a call that lists it, a client error otherwise", (code) => {
    const error = sdkError(code, 400);
    expect(classifyError(error, eventualCodesFor("CreateTags"))).toMatchObject({ kind: "eventual", code });
    expect(classifyError(error)).toMatchObject({ kind: "client", code });
    expect(classifyError(error, eventualCodesFor("DescribeImages"))).toMatchObject({ kind: "client" });
  });

  it("keeps throttling and 5xx ahead of the table", () => {
    const codes = new Set(["RequestLimitExceeded", "InternalError"]);
    expect(classifyError(sdkError("RequestLimitExceeded", 503), codes).kind).toBe("throttle");
    expect(classifyError(sdkError("InternalError", 500), codes).kind).toBe("transient");
  });

  it("budgets 4 attempts, 1 s base, 8 s cap", () => {
    expect(CONSISTENCY_RETRY_POLICY).toEqual({ maxAttempts: 4, baseDelayMs: 1_000, maxDelayMs: 8_000 });
  });
});

describe("withRetries: eventual-consistency errors", () => {
  const recordingClock = () => {
    const log: number[] = [];
    let now = 0;
    const clock: Clock = {
      now: () => now,
      sleep: async (ms) => {
        log.push(ms);
        now += ms;
      },
    };
    return { clock, log };
  };
  const eventual = { codes: eventualCodesFor("CreateTags"), policy: CONSISTENCY_RETRY_POLICY };

  it("retries a NotFound on its own budget, then surfaces it as retryable with what it means", async () => {
    const { clock, log } = recordingClock();
    let calls = 0;
    const error = await withRetries(
      async () => {
        calls++;
        throw sdkError("InvalidAMIID.NotFound", 400, "The image id '[ami-1]' does not exist");
      },
      { policy: DEFAULT_RETRY_POLICY, eventual, clock, random: () => 1 },
    ).catch((e: unknown) => e);
    expect(calls).toBe(4);
    expect(log).toEqual([1_000, 2_000, 4_000]);
    expect(error).toBeInstanceOf(CloudError);
    expect(error).toMatchObject({
      code: "InvalidAMIID.NotFound",
      statusCode: 400,
      retryable: true,
      message:
        "InvalidAMIID.NotFound: The image id '[ami-1]' does not exist (still failing after 4 attempts, which is how EC2 shows a change it has not caught up with yet; the next pass observes again)",
    });
  });

  it("returns the success once EC2 has caught up", async () => {
    const { clock, log } = recordingClock();
    const failures = [sdkError("IncorrectInstanceState", 400), sdkError("InvalidInstanceID.NotFound", 400)];
    const result = await withRetries(
      async () => {
        const failure = failures.shift();
        if (failure) throw failure;
        return "tagged";
      },
      { policy: DEFAULT_RETRY_POLICY, eventual, clock, random: () => 0.5 },
    );
    expect(result).toBe("tagged");
    expect(log).toEqual([500, 1_000]);
  });

  it("counts throttles against the overall budget, not the consistency one", async () => {
    const { clock, log } = recordingClock();
    const failures = [
      sdkError("InvalidAMIID.NotFound", 400),
      sdkError("RequestLimitExceeded", 503),
      sdkError("InvalidAMIID.NotFound", 400),
      sdkError("InvalidAMIID.NotFound", 400),
    ];
    const result = await withRetries(
      async () => {
        const failure = failures.shift();
        if (failure) throw failure;
        return "ok";
      },
      { policy: DEFAULT_RETRY_POLICY, eventual, clock, random: () => 1 },
    );
    expect(result).toBe("ok");
    // Consistency delays 1 s, 2 s, 4 s for its 1st to 3rd failure; the throttle waits as the 2nd attempt.
    expect(log).toEqual([1_000, 400, 2_000, 4_000]);
  });

  it("surfaces a done-means-NotFound code at once, as the executor counts it as done", async () => {
    const { clock, log } = recordingClock();
    const error = await withRetries(
      async () => {
        throw sdkError("InvalidAMIID.NotFound", 400, "gone");
      },
      {
        policy: DEFAULT_RETRY_POLICY,
        eventual: { codes: eventualCodesFor("DeregisterImage"), policy: CONSISTENCY_RETRY_POLICY },
        clock,
        random: () => 1,
      },
    ).catch((e: unknown) => e);
    expect(log).toEqual([]);
    expect(error).toMatchObject({ code: "InvalidAMIID.NotFound", retryable: false });
  });
});
