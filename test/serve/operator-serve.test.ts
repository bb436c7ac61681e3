// `leaven operator --listen`: /status, /builds/SPEC and the events stream say what `leaven run`'s do, from
// the operator's last pass: lineage (parents), where each spec is defined, input errors, build history and
// regions no spec names any more.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { silentLogger } from "../../controller/log/logger.ts";
import { GROUP, PLURAL, VERSION } from "../../controller/operator/imagespec-informers.ts";
import { serveOperator, standbyWarningOf } from "../../controller/serve/operator-serve.ts";
import type { RunningServer } from "../../controller/serve/server.ts";
import type { StatusSnapshot } from "../../controller/serve/source.ts";
import type { BuildHistory } from "../../controller/status/build-history.ts";
import {
  createExamples,
  createSpec,
  getSpec,
  type Harness,
  listSpecs,
  mergePatch,
  orphanApp,
  startHarness,
  waitFor,
} from "../operator/harness.ts";

let h: Harness;
let server: RunningServer | undefined;
beforeEach(async () => {
  h = await startHarness();
});
afterEach(async () => {
  await server?.close();
  server = undefined;
  await h.close();
});

async function status(): Promise<StatusSnapshot> {
  return (await (await fetch(`${server!.url}/status`)).json()) as StatusSnapshot;
}

/** Every spec but the orphan Ready, and the operator settled on it. */
async function settledStatus(): Promise<StatusSnapshot | undefined> {
  const now = await status();
  const others = now.specs.filter((s) => s.name !== "orphan-app");
  return others.length === 9 && others.every((s) => s.phase === "Ready") && !now.inFlight ? now : undefined;
}

describe("leaven operator --listen: /status and /builds", () => {
  it("shows lineage, sources, input errors and build history, and regions no spec names any more", async () => {
    await createExamples(h);
    await createSpec(h, orphanApp);
    const operator = await h.startOperator({ leaderElect: false });
    server = await serveOperator(operator, "127.0.0.1:0", { installation: "default", logger: silentLogger });

    const settled = await waitFor("the examples Ready", settledStatus, 60_000);
    expect(settled.installation).toBe("default");
    expect(settled.passes).toBeGreaterThan(0);
    expect(Date.parse(settled.lastPassAt ?? "")).not.toBeNaN();
    expect(settled.lastError).toBeUndefined();
    expect(settled.warnings).toBeUndefined();
    const api = settled.specs.find((s) => s.name === "api-server");
    const base = settled.specs.find((s) => s.name === "ubuntu-base");
    // The lineage the web view draws its edges from, and the resource each spec comes from.
    expect(api?.parent).toEqual({
      spec: "ubuntu-base",
      channel: "candidate",
      build: base?.channels.candidate?.build,
    });
    expect(api?.source).toBe("default/api-server");
    const blocked = settled.specs.find((s) => s.name === "orphan-app");
    expect(blocked?.phase).toBe("Blocked");
    expect(blocked?.source).toBe("default/orphan-app");
    expect(blocked?.error).toEqual({
      file: "imagespec default/orphan-app",
      line: 1,
      column: 1,
      message: expect.stringContaining('"no-such-base"'),
    });

    const builds = await fetch(`${server.url}/builds/api-server`);
    expect(builds.status).toBe(200);
    const history = (await builds.json()) as BuildHistory;
    expect(history.spec).toBe("api-server");
    expect(history.builds.map((b) => b.build)).toContain(api?.desiredBuild);
    expect((await fetch(`${server.url}/builds/no-such-spec`)).status).toBe(404);

    // ap-southeast-2 taken out of every spec that names it: its copies retire on their schedule (weeks), and
    // until then /status says the operator still looks there.
    const drop = (regions: string[]) => regions.filter((r) => r !== "ap-southeast-2");
    for (const name of ["al2023", "al2023-base", "payments"]) {
      const spec = (await getSpec(h, name)).spec as { regions: string[] };
      await h.custom.patchNamespacedCustomObject(
        {
          group: GROUP,
          version: VERSION,
          namespace: "default",
          plural: PLURAL,
          name,
          body: {
            spec: {
              regions: drop(spec.regions),
              ...(name === "payments" ? { share: { kmsKeys: { "ap-southeast-2": null } } } : {}),
            },
          },
        },
        mergePatch,
      );
    }
    const stray = await waitFor(
      "the stray region on /status",
      async () => ((await status()).warnings ? status() : undefined),
      60_000,
    );
    expect(stray.warnings).toEqual([
      "Also observed, though no spec names it (Leaven's resources are left there): ap-southeast-2",
    ]);
    expect((await listSpecs(h)).find((s) => s.metadata?.name === "payments")?.spec).toMatchObject({
      regions: ["us-east-1", "eu-west-1"],
    });
  }, 120_000);

  it("says nothing was observed before the first pass", async () => {
    const operator = await h.startOperator({ leaderElect: false });
    server = await serveOperator(operator, "127.0.0.1:0", { installation: "default", logger: silentLogger });
    const empty = await waitFor("a pass with no ImageSpec", async () => {
      const now = await status();
      return now.passes > 0 ? now : undefined;
    });
    expect(empty.specs).toEqual([]);
    expect(empty.warnings).toEqual([
      "no ImageSpec in any namespace: the cluster has no ImageSpec resources (leaven.dev/v1alpha1); nothing to reconcile until one is created",
    ]);
  });
});

describe("leaven operator --listen on a standby", () => {
  it("says the replica stands by and who leads, until it takes the lead", async () => {
    await createExamples(h);
    const a = await h.startOperator({ identity: "operator-a" });
    await waitFor("a leads", () => a.isLeader());
    const b = await h.startOperator({ identity: "operator-b" });
    server = await serveOperator(b, "127.0.0.1:0", { installation: "default", logger: silentLogger });
    const leaderServer = await serveOperator(a, "127.0.0.1:0", {
      installation: "default",
      logger: silentLogger,
    });
    try {
      const standby = await waitFor("b has read the Lease", async () => {
        const now = await status();
        return now.standby?.holder ? now : undefined;
      });
      expect(standby.standby).toEqual({ lease: "default/leaven-operator-default", holder: "operator-a" });
      expect(standby.passes).toBe(0);
      expect(standby.specs).toEqual([]);
      expect(standby.warnings).toEqual([
        "this replica stands by (Lease default/leaven-operator-default): the leader, operator-a, reconciles and serves the current status; this replica has made no pass",
      ]);
      const leading = (await (await fetch(`${leaderServer.url}/status`)).json()) as StatusSnapshot;
      expect(leading.standby).toBeUndefined();
    } finally {
      await leaderServer.close();
    }

    await a.stop();
    const led = await waitFor(
      "b's own pass on /status",
      async () => {
        const now = await status();
        return now.passes > 0 && now.specs.length > 0 ? now : undefined;
      },
      30_000,
    );
    expect(led.standby).toBeUndefined();
    expect(led.warnings ?? []).not.toContainEqual(expect.stringContaining("stands by"));
  }, 60_000);
});

describe("standbyWarningOf", () => {
  it.each([
    [
      { lease: "leaven/leaven-operator-prod", holder: "leaven-7f9c-x2" },
      Date.UTC(2026, 11, 4, 9, 30),
      "this replica stands by (Lease leaven/leaven-operator-prod): the leader, leaven-7f9c-x2, reconciles and serves the current status; shown is this replica's last pass as leader, at 2026-12-04T09:30:00.000Z",
    ],
    [
      { lease: "leaven/leaven-operator-prod" },
      undefined,
      "this replica stands by (Lease leaven/leaven-operator-prod): the leader reconciles and serves the current status; this replica has made no pass",
    ],
  ])("%o at %s", (standby, at, expected) => {
    expect(standbyWarningOf(standby, at)).toBe(expected);
  });
});
