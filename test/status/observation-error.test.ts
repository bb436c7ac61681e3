import { describe, expect, it } from "vitest";
import { explainObservationError } from "../../controller/status/observation-error.ts";

describe("explainObservationError", () => {
  it.each([
    [
      "CredentialsProviderError: Could not load credentials from any providers",
      "no AWS credentials (CredentialsProviderError: Could not load credentials from any providers) — configure the AWS SDK's default chain (environment, profile, SSO, instance role) or pass --profile",
    ],
    [
      "ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1 (gave up after 8 attempts)",
      "cannot reach the EC2 endpoint (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1 (gave up after 8 attempts)) — check --endpoint and the network",
    ],
    [
      "ENOTFOUND: getaddrinfo ENOTFOUND ec2.nowhere.example",
      "cannot reach the EC2 endpoint (ENOTFOUND: getaddrinfo ENOTFOUND ec2.nowhere.example) — check --endpoint and the network",
    ],
    [
      "AuthFailure: AWS was not able to validate the provided access credentials",
      "AWS rejected the credentials (AuthFailure: AWS was not able to validate the provided access credentials) — refresh them or pick another --profile",
    ],
    [
      "ExpiredToken: The security token included in the request is expired",
      "AWS rejected the credentials (ExpiredToken: The security token included in the request is expired) — refresh them or pick another --profile",
    ],
    [
      "UnauthorizedOperation: You are not authorized to perform this operation.",
      "not permitted (UnauthorizedOperation: You are not authorized to perform this operation.) — grant the EC2 permissions the README lists to the identity Leaven runs as",
    ],
    // Unknown causes, and known words that are not the leading code, are quoted unchanged.
    [
      "InternalError: try later (gave up after 8 attempts)",
      "InternalError: try later (gave up after 8 attempts)",
    ],
    ["PaginationLoop: saw ECONNREFUSED twice", "PaginationLoop: saw ECONNREFUSED twice"],
  ])("%s", (error, expected) => {
    expect(explainObservationError(error)).toBe(expected);
  });
});
