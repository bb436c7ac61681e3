// `leaven operator` as a process: its own embedded simulator, a kubeconfig file, SIGTERM to stop (the
// Lease is released on the way out).
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { runCli, startCli } from "../support/cli-process.ts";
import { tempDir } from "../support/temp-dir.ts";
import { allReady, createExamples, type Harness, startHarness, waitFor } from "./harness.ts";

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

describe("leaven operator (the command)", () => {
  it("reconciles the cluster's ImageSpecs, holds the Lease, and releases it on SIGTERM", async () => {
    const dir = tempDir("leaven-operator-cli-");
    const kubeconfig = h.server.writeKubeconfig(`${dir}/kubeconfig`);
    await createExamples(h);
    const cli = startCli(
      [
        "operator",
        "--kubeconfig",
        kubeconfig,
        "--installation",
        "default",
        "--cloud",
        "sim",
        "--sim-speed",
        "600",
        "--no-sim-awkward",
        "--sim-state",
        `${dir}/sim-state.json`,
        "--listen",
        ":0",
        // As the Helm chart passes it.
        "--leader-elect=true",
        "--lease-namespace",
        "default",
      ],
      dir,
      { PATH: process.env.PATH ?? "", HOME: dir, POD_NAME: "leaven-0" },
    );
    await waitFor("every example Ready", () => allReady(h), 90_000);
    const lease = await h.leases.readNamespacedLease({
      name: "leaven-operator-default",
      namespace: "default",
    });
    expect(lease.spec?.holderIdentity).toMatch(/^leaven-0-\d+$/);
    // --listen serves the same endpoints as `leaven run`, fed by the operator.
    const url = /"url":"(http:\/\/[^"]+)"/.exec(cli.errors())?.[1];
    expect(url, cli.errors()).toBeDefined();
    expect((await fetch(`${url}/healthz`)).status).toBe(200);
    expect((await fetch(`${url}/readyz`)).status).toBe(200);
    const metrics = await (await fetch(`${url}/metrics`)).text();
    expect(metrics).toContain("leaven_reconcile_duration_seconds_count");
    expect(metrics).toMatch(/leaven_leader 1/);
    expect(metrics).toMatch(/leaven_actions_total\{kind="launch-bake",result="ok"\} \d+/);
    const status = (await (await fetch(`${url}/status`)).json()) as {
      specs: { name: string; phase: string }[];
    };
    expect(status.specs.length).toBeGreaterThanOrEqual(9);
    expect(status.specs.every((s) => s.phase === "Ready")).toBe(true);
    expect((await fetch(`${url}/`)).headers.get("content-type")).toContain("text/html");
    cli.child.kill("SIGTERM");
    const done = await cli.done;
    expect(done.code, done.stderr).toBe(0);
    expect(done.stderr).toContain('"msg":"released the Lease"');
    const after = await h.leases.readNamespacedLease({
      name: "leaven-operator-default",
      namespace: "default",
    });
    expect(after.spec?.holderIdentity).toBe("");
  }, 120_000);

  it("refuses bad flags with what to do", async () => {
    const dir = tempDir("leaven-operator-flags-");
    const kubeconfig = h.server.writeKubeconfig(`${dir}/kubeconfig`);
    const resync = await runCli(["operator", "--kubeconfig", kubeconfig, "--resync", "soon"], dir);
    expect(resync.code).toBe(1);
    expect(resync.stderr).toContain('--resync: "soon" is not a duration');
    const elect = await runCli(["operator", "--kubeconfig", kubeconfig, "--leader-elect=maybe"], dir);
    expect(elect.code).toBe(1);
    expect(elect.stderr).toContain(
      '--leader-elect: expected true or false (e.g. --leader-elect=false), not "maybe"',
    );
    const paths = await runCli(["operator", "--kubeconfig", kubeconfig, "examples"], dir);
    expect(paths.code).toBe(1);
    expect(paths.stderr).toContain("takes no paths");
    const missing = await runCli(["operator", "--kubeconfig", `${dir}/nope`], dir);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("cannot read the kubeconfig");
  });
});
