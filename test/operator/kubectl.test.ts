// The operator as a user meets it, through the genuine kubectl (test/support/kube-tools.ts): apply the CRD
// and the examples, wait for Ready, read the printer columns, patch a channel, describe.
import { execFile } from "node:child_process";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { kubeTools } from "../support/kube-tools.ts";
import { tempDir } from "../support/temp-dir.ts";
import { getSpec, type Harness, repo, startHarness, waitFor } from "./harness.ts";

const found = kubeTools();
const reason = "unavailable" in found ? found.unavailable : "";
if (reason) console.warn(`kubectl.test.ts: skipped: ${reason}`);
const run = promisify(execFile);

describe.skipIf(reason !== "")(
  `leaven operator with the real kubectl${reason ? ` (skipped: ${reason})` : ""}`,
  () => {
    let h: Harness;
    let kubeconfig: string;
    let cacheDir: string;
    beforeEach(async () => {
      h = await startHarness({ withoutCrd: true });
      const dir = tempDir("leaven-operator-kubectl-");
      kubeconfig = h.server.writeKubeconfig(join(dir, "kubeconfig"));
      cacheDir = join(dir, "cache");
    });
    afterEach(async () => {
      await h.close();
    });

    /** Runs kubectl asynchronously: the API server answers from this process's event loop. */
    async function kubectl(...args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
      if (!("tools" in found)) throw new Error(reason);
      try {
        const { stdout, stderr } = await run(
          found.tools.kubectl,
          ["--kubeconfig", kubeconfig, "--cache-dir", cacheDir, ...args],
          { cwd: repo, env: { PATH: process.env.PATH ?? "", HOME: cacheDir } },
        );
        return { code: 0, stdout, stderr };
      } catch (error) {
        const e = error as { code?: number; stdout?: string; stderr?: string };
        return {
          code: typeof e.code === "number" ? e.code : 1,
          stdout: e.stdout ?? "",
          stderr: e.stderr ?? "",
        };
      }
    }

    it("applies, waits for Ready, shows the builds in the printer columns, and follows a kubectl patch", async () => {
      expect((await kubectl("apply", "-f", join(repo, "crds/"))).code).toBe(0);
      await h.startOperator({ leaderElect: false });
      expect((await kubectl("apply", "-R", "-f", join(repo, "examples/"))).code).toBe(0);
      const waited = await kubectl("wait", "--for=condition=Ready", "imagespecs", "--all", "--timeout=60s");
      expect(waited.code, waited.stderr).toBe(0);
      const table = await kubectl("get", "imagespecs");
      const row = table.stdout.split("\n").find((l) => l.startsWith("ubuntu-base "))!;
      expect(row).toMatch(
        /^ubuntu-base\s+base\s+2\.3\.0\s+2\.3\.0\+[0-9a-f]{8}\s+2\.3\.0\+[0-9a-f]{8}\s+True\s+/,
      );

      const patched = await kubectl(
        "patch",
        "imagespec",
        "ubuntu-base",
        "--type",
        "merge",
        "-p",
        JSON.stringify({ spec: { version: "2.3.5" } }),
      );
      expect(patched.code, patched.stderr).toBe(0);
      await waitFor(
        "ubuntu-base's candidate on 2.3.5",
        async () => {
          const spec = await getSpec(h, "ubuntu-base");
          const channels = spec.status?.channels as Record<string, { build?: string }> | undefined;
          return spec.status?.observedGeneration === 2 && channels?.candidate?.build?.startsWith("2.3.5+");
        },
        60_000,
      );
      const again = await kubectl("wait", "--for=condition=Ready", "imagespec/ubuntu-base", "--timeout=60s");
      expect(again.code, again.stderr).toBe(0);
      for (const operator of h.operators) await operator.flushEvents();
      const described = await kubectl("describe", "imagespec", "ubuntu-base");
      expect(described.code, described.stderr).toBe(0);
      expect(described.stdout).toMatch(/Promoted/);
      expect(described.stdout).toMatch(/BakeStarted/);
    });
  },
);
