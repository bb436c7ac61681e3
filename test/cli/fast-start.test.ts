// Fast start: each command loads only what it uses. validate and graph never touch a cloud, so neither the
// AWS SDK, the simulator nor the reconcile core is loaded for them, nor what only `run` needs (metrics, the
// file watcher); plan loads the SDK, the simulator and the reconcile core.
import { spawnSync } from "node:child_process";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { cliPath, repoRoot } from "../support/cli-process.ts";
import { tempDir } from "../support/temp-dir.ts";

const hook = join(repoRoot, "test/fixtures/hooks/report-sdk.mjs");

function loaded(args: string[]): string[] {
  const run = spawnSync(process.execPath, ["--import", hook, cliPath, ...args], {
    cwd: repoRoot,
    encoding: "utf8",
    env: { ...process.env, AWS_ACCESS_KEY_ID: "", AWS_PROFILE: "" },
  });
  return run.stderr
    .split("\n")
    .filter((line) => line.startsWith("loaded "))
    .map((line) => line.slice("loaded ".length))
    .sort();
}

describe("fast start", () => {
  it.each([["validate", "examples"], ["graph", "examples"], ["--help"]])(
    "leaven %s loads neither the AWS SDK, the simulator, the reconcile core, prom-client nor chokidar",
    (...args) => {
      expect(loaded(args)).toEqual([]);
    },
  );

  it("leaven plan loads the SDK's EC2 and SSM clients, the simulator and the reconcile core, not run's", () => {
    const modules = loaded([
      "plan",
      "examples",
      "--sim-state",
      join(tempDir("leaven-fast-start-"), "sim.json"),
    ]);
    expect(modules).toEqual(
      expect.arrayContaining([
        "@aws-sdk/client-ec2",
        "@aws-sdk/client-ssm",
        "controller/reconcile/reconciler.ts",
        "controller/sim/server.ts",
      ]),
    );
    expect(modules).not.toContain("prom-client");
    expect(modules).not.toContain("chokidar");
  });
});
