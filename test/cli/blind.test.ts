// plan and apply when Leaven cannot look: `--cloud aws` with no credentials, or pointed at a closed
// loopback port. No AWS service is ever contacted: the environment has no AWS credentials or config but
// what a test sets (offlineAwsEnv), instance metadata is off, and every request goes to 127.0.0.1:1.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, scratchEstate } from "../support/cli-process.ts";
import { NO_CREDENTIALS, offlineAwsEnv } from "../support/offline-aws-env.ts";
import { tempDir } from "../support/temp-dir.ts";

const CLOSED = ["--cloud", "aws", "--endpoint", "http://127.0.0.1:1"];

describe("plan and apply that cannot observe a region", () => {
  it("plan exits 1 with no AWS credentials and says so once, with the fixes, before observing anything", async () => {
    const dir = scratchEstate();
    const run = await runCli(["plan", "specs", "--detailed-exitcode", ...CLOSED], dir, offlineAwsEnv(dir));
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    // Once, not once per spec and region: the credentials are resolved before the first request.
    expect(run.stderr).toBe(`leaven plan: ${NO_CREDENTIALS}\n`);

    const json = await runCli(["plan", "specs", "--output", "json", ...CLOSED], dir, offlineAwsEnv(dir));
    expect(json.code).toBe(1);
    expect(json.stdout).toBe("");
    expect(json.stderr).toBe(`leaven plan: ${NO_CREDENTIALS}\n`);
  });

  it("names the profile it tried, from --profile or AWS_PROFILE", async () => {
    const dir = scratchEstate();
    const flag = await runCli(
      ["plan", "specs", ...CLOSED, "--profile", "images-admin"],
      dir,
      offlineAwsEnv(dir),
    );
    expect(flag.code).toBe(1);
    expect(flag.stderr.split("\n").slice(0, 1)).toEqual([
      'leaven plan: cannot load AWS credentials for profile "images-admin": CredentialsProviderError: Could not load credentials from any providers',
    ]);
    expect(flag.stderr).toContain(
      "  aws configure list --profile images-admin  # what the AWS CLI finds for the profile\n" +
        "  aws sso login --profile images-admin       # when the profile signs in with SSO and its session expired\n",
    );
    const env = { ...offlineAwsEnv(dir), AWS_PROFILE: "ci" };
    const fromEnv = await runCli(["plan", "specs", ...CLOSED], dir, env);
    expect(fromEnv.stderr.split("\n")[0]).toMatch(
      /^leaven plan: cannot load AWS credentials for profile "ci" \(from AWS_PROFILE\): CredentialsProviderError: /,
    );
  });

  it("apply exits 1 with no AWS credentials before it takes the lock, saying why and changing nothing", async () => {
    const dir = scratchEstate();
    const run = await runCli(["apply", "specs", ...CLOSED], dir, offlineAwsEnv(dir));
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toBe(`leaven apply: ${NO_CREDENTIALS}\n`);
  });

  it("plan exits 1 when the endpoint is a closed port, after its retries give up", async () => {
    // One foundation in two regions: four lookups, each retried 8 times with backoff before giving up.
    const dir = tempDir("leaven-test-");
    writeFileSync(
      join(dir, "foundation.yaml"),
      [
        "apiVersion: leaven.dev/v1alpha1",
        "kind: ImageSpec",
        "metadata: { name: ubuntu-jammy }",
        "spec:",
        "  layer: foundation",
        '  source: { owners: ["099720109477"], name: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*" }',
        "  regions: [us-east-1, eu-west-1]",
        "  channels: { release: { latest: true } }",
        "",
      ].join("\n"),
    );
    const env = offlineAwsEnv(dir, { accessKeyId: "AKIDLEAVENTEST", secretAccessKey: "not-a-secret" });
    const run = await runCli(["plan", "foundation.yaml", "--detailed-exitcode", ...CLOSED], dir, env);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe(
      [
        "Specs not ready:",
        "  ubuntu-jammy         Waiting   cannot observe us-east-1, eu-west-1; nothing is changed for this spec until it can",
        "",
        "Cannot observe eu-west-1, us-east-1: cannot reach the EC2 endpoint (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1 (gave up after 8 attempts)) — check --endpoint and the network; on AWS (the default credential chain) via http://127.0.0.1:1.",
        "",
      ].join("\n"),
    );
  });
});
