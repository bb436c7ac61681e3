// plan and apply when Leaven cannot look: `--cloud aws` with no credentials, or pointed at a closed
// loopback port. No AWS service is ever contacted: the environment has no AWS credentials or config but
// what a test sets (offlineAwsEnv), instance metadata is off, and every request goes to 127.0.0.1:1.
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, scratchEstate } from "../support/cli-process.ts";
import { offlineAwsEnv } from "../support/offline-aws-env.ts";
import { tempDir } from "../support/temp-dir.ts";

const CLOSED = ["--cloud", "aws", "--endpoint", "http://127.0.0.1:1"];

const NO_CREDENTIALS =
  "Cannot observe ap-southeast-2, eu-west-1, us-east-1: no AWS credentials (CredentialsProviderError: Could not load credentials from any providers) — configure the AWS SDK's default chain (environment, profile, SSO, instance role) or pass --profile.";

function lastLine(text: string): string | undefined {
  return text.trimEnd().split("\n").at(-1);
}

describe("plan and apply that cannot observe a region", () => {
  it("plan exits 1 with no AWS credentials and says so once, for every region", async () => {
    const dir = scratchEstate();
    const run = await runCli(["plan", "specs", "--detailed-exitcode", ...CLOSED], dir, offlineAwsEnv(dir));
    expect(run.code).toBe(1);
    expect(run.stdout).not.toContain("No changes");
    expect(lastLine(run.stdout)).toBe(NO_CREDENTIALS);
    expect(run.stdout.split("CredentialsProviderError")).toHaveLength(2);
    expect(run.stdout).toContain(
      "  payments             Waiting   cannot observe us-east-1, eu-west-1, ap-southeast-2; nothing is changed for this spec until it can\n",
    );

    const plain = await runCli(["plan", "specs", ...CLOSED], dir, offlineAwsEnv(dir));
    expect(plain.code).toBe(1);
    expect(lastLine(plain.stdout)).toBe(NO_CREDENTIALS);
  });

  it("plan --output json carries the same verdict", async () => {
    const dir = scratchEstate();
    const run = await runCli(["plan", "specs", "--output", "json", ...CLOSED], dir, offlineAwsEnv(dir));
    expect(run.code).toBe(1);
    const plan = JSON.parse(run.stdout) as { verdict: unknown; actions: unknown[] };
    expect(plan.actions).toEqual([]);
    expect(plan.verdict).toEqual({
      state: "problems",
      exitCode: 1,
      headline: NO_CREDENTIALS,
      problems: [
        {
          kind: "unobservable",
          message: expect.stringMatching(
            /^cannot observe ap-southeast-2, eu-west-1, us-east-1: no AWS credentials/,
          ),
          specs: [],
          regions: ["ap-southeast-2", "eu-west-1", "us-east-1"],
          files: [],
          error: "CredentialsProviderError: Could not load credentials from any providers",
        },
      ],
    });
  });

  it("apply exits 1 with no AWS credentials, at the installation's lock, saying why and changing nothing", async () => {
    const dir = scratchEstate();
    const run = await runCli(["apply", "specs", ...CLOSED], dir, offlineAwsEnv(dir));
    expect(run.code).toBe(1);
    // Nothing is observed before the lock is held, and the lock needs credentials too.
    expect(run.stdout).toBe("");
    expect(lastLine(run.stderr)).toBe(
      "leaven apply: cannot take the lock of installation default (DynamoDB table leaven-locks in us-east-1): no AWS credentials (CredentialsProviderError: Could not load credentials from any providers) — configure the AWS SDK's default chain (environment, profile, SSO, instance role) or pass --profile; nothing was changed.",
    );
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
        "Cannot observe eu-west-1, us-east-1: cannot reach the EC2 endpoint (ECONNREFUSED: connect ECONNREFUSED 127.0.0.1:1 (gave up after 8 attempts)) — check --endpoint and the network.",
        "",
      ].join("\n"),
    );
  });
});
