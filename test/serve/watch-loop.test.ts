// The watch loop in-process with a stand-in reconciler: what each pass is planned from when files break,
// and what /status shows meanwhile. The real reconciler is exercised end to end in test/cli/run.test.ts.
import { copyFileSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { systemClock } from "../../controller/cloud/clock.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import type { SpecStatus } from "../../controller/plan/status.ts";
import type { PassResult, Reconciler } from "../../controller/reconcile/reconciler.ts";
import type { ValidationResult } from "../../controller/validation/result.ts";
import { type SpecWatcher, watchSpecs } from "../../controller/watch/spec-watcher.ts";
import { WatchLoop } from "../../controller/watch/watch-loop.ts";
import { repoRoot } from "../support/cli-process.ts";
import { tempDir } from "../support/temp-dir.ts";

/** Records what each pass was planned from; every valid spec is Ready with one image per channel. */
function standIn() {
  const planned: ValidationResult[] = [];
  const commits: Array<string | undefined> = [];
  /** Regions the next passes could not observe (tests set them). */
  const regionErrors = new Map<string, string>();
  /** Regions the passes observe beyond the specs' (stray ones; tests add them). */
  const strayRegions: string[] = [];
  let number = 0;
  const reconciler = {
    setCommit: (commit: string | undefined) => commits.push(commit),
    async pass(validation: ValidationResult): Promise<PassResult> {
      planned.push(validation);
      const statuses: SpecStatus[] = [
        ...validation.specs.map((spec) => ({
          name: spec.name,
          layer: spec.document.spec.layer,
          phase: "Ready" as const,
          message: "ready",
          channels: Object.fromEntries(
            Object.keys(spec.document.spec.channels ?? {}).map((c) => [
              c,
              { build: `${c}-1`, images: { "us-east-1": "ami-1" } },
            ]),
          ),
          builds: ["b-1"],
        })),
        ...[...validation.blocked].map(([name, why]) => ({
          name,
          layer: "unknown" as const,
          phase: "Blocked" as const,
          message: why,
          channels: {},
          builds: [],
        })),
      ];
      return {
        number: ++number,
        statuses,
        plan: { actions: [], statuses, bakeRegions: [] },
        executed: [],
        deferred: [],
        results: [],
        inventory: {
          images: [],
          instances: [],
          regions: [
            ...new Set([...validation.specs.flatMap((s) => s.document.spec.regions), ...strayRegions]),
          ].sort(),
          regionErrors: new Map(regionErrors),
        },
      } as unknown as PassResult; // only what WatchLoop reads
    },
  };
  // A stand-in for the two methods the loop calls.
  return { reconciler: reconciler as unknown as Reconciler, planned, commits, regionErrors, strayRegions };
}

let loop: WatchLoop | undefined;
let watcher: SpecWatcher | undefined;
let running: Promise<void> | undefined;
afterEach(async () => {
  loop?.stop();
  await running;
  await watcher?.close();
  loop = undefined;
});

async function until(predicate: () => boolean, timeoutMs = 10_000): Promise<void> {
  const start = Date.now();
  while (!predicate()) {
    if (Date.now() - start > timeoutMs) throw new Error("timed out");
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

function start(dir: string, onEmpty?: (message: string) => void) {
  const stand = standIn();
  watcher = watchSpecs(dir, { debounceMs: 50 });
  loop = new WatchLoop({
    dir,
    cwd: dir,
    reconciler: stand.reconciler,
    clock: systemClock,
    wallNow: Date.now,
    logger: silentLogger,
    watcher,
    installation: "default",
    resyncMs: 60_000,
    pollIntervalMs: 1_000,
    lockHeld: () => true,
    commitOf: () => "abc123",
    ...(onEmpty ? { onEmpty } : {}),
  });
  running = loop.run();
  return stand;
}

function estate(): string {
  const dir = tempDir("leaven-watch-");
  mkdirSync(join(dir, "apps"));
  copyFileSync(join(repoRoot, "examples/foundations.yaml"), join(dir, "foundations.yaml"));
  copyFileSync(join(repoRoot, "examples/bases/ubuntu-base.yaml"), join(dir, "ubuntu-base.yaml"));
  copyFileSync(join(repoRoot, "examples/apps/web-and-worker.yaml"), join(dir, "apps/web-and-worker.yaml"));
  return dir;
}

describe("watch loop", () => {
  it("blocks what an unparseable file last defined, keeping its last good state in /status", async () => {
    const dir = estate();
    const { planned, commits } = start(dir);
    await until(() => planned.length > 0 && loop!.ready().ok);
    expect(planned[0]!.specs.map((s) => s.name).sort()).toEqual(
      ["al2023", "order-worker", "ubuntu-base", "ubuntu-jammy", "web-frontend"].sort(),
    );
    expect(commits.at(-1)).toBe("abc123");

    writeFileSync(join(dir, "apps/web-and-worker.yaml"), "apiVersion: [\n");
    await until(() => loop!.current().blocked.size === 2);
    const blocked = loop!.current().blocked;
    expect([...blocked.keys()].sort()).toEqual(["order-worker", "web-frontend"]);
    expect(blocked.get("web-frontend")).toMatch(/^apps\/web-and-worker\.yaml:\d+:\d+: invalid YAML/);
    await until(() => planned.at(-1)!.blocked.size === 2);
    await until(() => loop!.status().specs.some((s) => s.phase === "Blocked"));
    const web = loop!.status().specs.find((s) => s.name === "web-frontend")!;
    expect(web).toMatchObject({ phase: "Blocked", source: "apps/web-and-worker.yaml" });
    expect(web.error).toMatchObject({ file: "apps/web-and-worker.yaml", line: expect.any(Number) });
    // Its last good channels are still shown.
    expect(web.channels.release).toEqual({ build: "release-1", images: { "us-east-1": "ami-1" } });
    expect(loop!.status().diagnostics[0]).toMatch(/^apps\/web-and-worker\.yaml:/);

    // Fixed: planned again from the file, nothing blocked.
    copyFileSync(join(repoRoot, "examples/apps/web-and-worker.yaml"), join(dir, "apps/web-and-worker.yaml"));
    await until(() => loop!.current().blocked.size === 0 && planned.at(-1)!.specs.length === 5);
    await until(() => loop!.status().specs.every((s) => s.phase === "Ready" && s.error === undefined));
    expect(loop!.status().diagnostics).toEqual([]);
  });

  it("one broken document of a file blocks only what it defined", async () => {
    const dir = estate();
    const { planned } = start(dir);
    await until(() => planned.length > 0);
    const file = join(dir, "apps/web-and-worker.yaml");
    const [first, second] = readFileSync(file, "utf8").split("\n---\n");
    writeFileSync(
      file,
      `${first}\n---\n${second!.replace("metadata:\n  name: order-worker", "metadata:\n  name: [order-worker")}`,
    );
    await until(() => loop!.current().blocked.size > 0);
    expect([...loop!.current().blocked.keys()]).toEqual(["order-worker"]);
    expect(loop!.current().specs.map((s) => s.name)).toContain("web-frontend");
  });

  it("a spec file deleted is gone from the plan (not blocked): its retention decides", async () => {
    const dir = estate();
    const { planned } = start(dir);
    await until(() => planned.length > 0);
    writeFileSync(join(dir, "apps/web-and-worker.yaml"), "");
    await until(() => planned.at(-1)!.specs.length === 3);
    expect(planned.at(-1)!.blocked.size).toBe(0);
  });

  it("with no ImageSpec: warns, plans nothing, is not ready and says so; a spec added is planned", async () => {
    const dir = tempDir("leaven-watch-empty-");
    const warned: string[] = [];
    const { planned } = start(dir, (message) => warned.push(message));
    const searched = `no ImageSpec in ${dir}: it has no *.yaml or *.yml files (hidden directories and node_modules are skipped)`;
    await until(() => warned.length > 0);
    expect(warned).toEqual([searched]);
    expect(loop!.ready()).toEqual({
      ok: false,
      reason: `${searched}; nothing to reconcile until one is added`,
    });
    expect(loop!.status()).toMatchObject({
      passes: 0,
      inFlight: false,
      specs: [],
      warnings: [`${searched}; nothing to reconcile until one is added`],
    });
    expect(planned).toEqual([]);

    copyFileSync(join(repoRoot, "examples/foundations.yaml"), join(dir, "foundations.yaml"));
    await until(() => planned.length > 0 && loop!.ready().ok);
    expect(loop!.status().warnings).toBeUndefined();
    expect(
      loop!
        .status()
        .specs.map((s) => s.name)
        .sort(),
    ).toEqual(["al2023", "ubuntu-jammy"]);
  });

  it("a checkout that becomes empty warns again and stops planning, with the documents it read", async () => {
    const dir = estate();
    const warned: string[] = [];
    const { planned } = start(dir, (message) => warned.push(message));
    await until(() => planned.length > 0 && loop!.ready().ok);
    expect(warned).toEqual([]);
    for (const file of ["foundations.yaml", "ubuntu-base.yaml", "apps/web-and-worker.yaml"])
      writeFileSync(join(dir, file), "");
    await until(() => warned.length > 0);
    expect(warned).toEqual([`no ImageSpec in ${dir}: its 3 YAML files hold no documents`]);
    const passes = planned.length;
    expect(loop!.ready().ok).toBe(false);
    expect(loop!.status().specs).toEqual([]);
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(planned.length).toBe(passes);
  });

  it("is not ready while a region could not be observed, and says which", async () => {
    const dir = estate();
    const { planned, regionErrors } = start(dir);
    await until(() => planned.length > 0 && loop!.ready().ok);
    regionErrors.set("eu-west-1", "UnauthorizedOperation: You are not authorized to perform this operation.");
    writeFileSync(join(dir, "notes.yaml"), "# a change, so that a pass runs\n");
    await until(() => !loop!.ready().ok);
    expect(loop!.ready()).toEqual({
      ok: false,
      reason:
        "eu-west-1 could not be observed: UnauthorizedOperation: You are not authorized to perform this operation.",
    });
    regionErrors.clear();
    writeFileSync(join(dir, "notes.yaml"), "# another change\n");
    await until(() => loop!.ready().ok);
  });

  it("says on /status which regions no spec names it still observes, until they are empty", async () => {
    const dir = estate();
    const { planned, strayRegions } = start(dir);
    await until(() => planned.length > 0);
    expect(loop!.status().warnings).toBeUndefined();
    strayRegions.push("sa-east-1");
    writeFileSync(join(dir, "notes.yaml"), "# a change, so that a pass runs\n");
    await until(() => loop!.status().warnings !== undefined);
    expect(loop!.status().warnings).toEqual([
      "Also observed, though no spec names it (Leaven's resources are left there): sa-east-1",
    ]);
    strayRegions.length = 0;
    writeFileSync(join(dir, "notes.yaml"), "# another change\n");
    await until(() => loop!.status().warnings === undefined);
  });
});
