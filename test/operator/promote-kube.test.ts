// `leaven promote --kube`: a merge patch of the channel field in the cluster, reconciled by the operator.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GROUP, PLURAL, VERSION } from "../../controller/operator/imagespec-informers.ts";
import { runCli } from "../support/cli-process.ts";
import { tempDir } from "../support/temp-dir.ts";
import {
  allReady,
  createExamples,
  getSpec,
  type Harness,
  mergePatch,
  startHarness,
  waitFor,
} from "./harness.ts";

let h: Harness;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await h.close();
});

type Channels = Record<string, { build?: string }>;
const releaseOf = async () =>
  ((await getSpec(h, "ubuntu-base")).status?.channels as Channels | undefined)?.release?.build;

describe("leaven promote --kube", () => {
  it("rolls a channel back and forward by patching the resource, which the operator reconciles", async () => {
    await createExamples(h);
    await h.startOperator({ leaderElect: false });
    await waitFor("every example Ready", () => allReady(h), 60_000);
    const first = (await releaseOf())!;
    await h.custom.patchNamespacedCustomObject(
      {
        group: GROUP,
        version: VERSION,
        namespace: "default",
        plural: PLURAL,
        name: "ubuntu-base",
        body: { spec: { version: "2.3.1" } },
      },
      mergePatch,
    );
    const second = await waitFor(
      "release on 2.3.1",
      async () => {
        const build = await releaseOf();
        return build?.startsWith("2.3.1+") ? build : undefined;
      },
      60_000,
    );

    const dir = tempDir("leaven-promote-kube-");
    const kubeconfig = h.server.writeKubeconfig(`${dir}/kubeconfig`);
    const cli = (...args: string[]) =>
      runCli(["promote", "ubuntu-base", "--kube", "--kubeconfig", kubeconfig, ...args], dir, {
        PATH: process.env.PATH ?? "",
        HOME: dir,
      });

    const dry = await cli("--channel", "release", "--to", first, "--dry-run");
    expect(dry.code, dry.stderr).toBe(0);
    expect(dry.stdout).toContain(`would patch: default/ubuntu-base release pins ${first}`);
    const back = await cli("--channel", "release", "--to", first);
    expect(back.code, back.stderr).toBe(0);
    await waitFor("release back on the first build", async () => (await releaseOf()) === first, 60_000);
    const spec = await getSpec(h, "ubuntu-base");
    expect((spec.spec as { channels: Record<string, unknown> }).channels.release).toEqual({
      build: first,
      parentIn: "release",
    });

    const same = await cli("--channel", "release", "--to", first);
    expect(same.stdout).toContain("already pins");
    const forward = await cli("--channel", "release", "--to", "candidate");
    expect(forward.code, forward.stderr).toBe(0);
    expect(forward.stdout).toContain(`pins ${second}, the build candidate is on`);
    await waitFor("release forward again", async () => (await releaseOf()) === second, 60_000);

    const unknown = await runCli(
      ["promote", "no-such", "--kube", "--kubeconfig", kubeconfig, "--channel", "release", "--to", "latest"],
      dir,
    );
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toContain("no ImageSpec no-such in namespace default");
    const notBuild = await cli("--channel", "release", "--to", "newest");
    expect(notBuild.code).toBe(1);
    expect(notBuild.stderr).toContain("--to newest is neither a build id");
  }, 120_000);
});
