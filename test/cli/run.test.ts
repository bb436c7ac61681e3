// `leaven run --specs DIR` end to end: a child process watching a scratch git checkout of examples/, against
// a standalone simulator in this process (its world is read directly). One process for the whole file:
// each step edits the checkout and waits for /status to show the result.
import { execFileSync } from "node:child_process";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import { type Simulator, startSimulator } from "../../controller/sim/server.ts";
import type { SimImage } from "../../controller/sim/world.ts";
import { parsePrometheusText } from "../serve/prometheus-text.ts";
import { scratchEstate } from "../support/cli-process.ts";
import { converged, type RunProcess, startRun } from "../support/run-process.ts";

let dir: string;
let specs: string;
let sim: Simulator;
let run: RunProcess;

function git(...args: string[]): string {
  return execFileSync("git", args, { cwd: specs, stdio: ["ignore", "pipe", "pipe"] })
    .toString()
    .trim();
}

function imagesOf(spec: string): SimImage[] {
  return [...sim.world.regions.values()].flatMap((region) =>
    [...region.images.values()].filter((image) => image.tags[Tag.spec] === spec),
  );
}

/** The load lines of the log: one per whole-tree read. */
function loads() {
  return run.logs().filter((line) => line.msg === "specs loaded");
}

const NEW_SPEC = `apiVersion: leaven.dev/v1alpha1
kind: ImageSpec
metadata:
  name: reports
spec:
  layer: app
  parent: { spec: al2023-base, channel: release }
  version: 1.0.0
  provision:
    packages: [reports-1.0.0]
  regions: [us-east-1, eu-west-1]
  channels:
    candidate: { latest: true }
  retention:
    onDelete: retire
    deprecateAfter: 30d
`;

beforeAll(async () => {
  dir = scratchEstate();
  specs = join(dir, "specs");
  git("init", "-q", "-b", "main");
  git("-c", "user.email=t@example.com", "-c", "user.name=t", "add", ".");
  git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "specs");
  sim = await startSimulator({ speed: 600, statePath: join(dir, "sim.json") });
  run = await startRun(dir, sim, ["--resync", "1h", "--debounce", "200"]);
}, 60_000);

afterAll(async () => {
  await run?.stop();
  await sim?.close();
});

describe("leaven run", () => {
  it("converges the checkout, records its commit, and is ready", async () => {
    const status = await run.waitStatus(converged, 55_000);
    expect(status.specs.map((s) => s.name).sort()).toEqual(
      [
        "al2023",
        "al2023-base",
        "api-server",
        "ledger",
        "order-worker",
        "payments",
        "ubuntu-base",
        "ubuntu-jammy",
        "web-frontend",
      ].sort(),
    );
    expect(status.commit).toBe(git("rev-parse", "--short=12", "HEAD"));
    const images = imagesOf("api-server");
    expect(images.length).toBeGreaterThan(0);
    for (const image of images) expect(image.tags[Tag.commit]).toBe(status.commit);
    expect((await fetch(`${run.url}/readyz`)).status).toBe(200);
    expect((await fetch(`${run.url}/healthz`)).status).toBe(200);
    expect(status.specs.find((s) => s.name === "api-server")?.source).toBe("specs/apps/api-server.yaml");
    const { samples } = parsePrometheusText(await (await fetch(`${run.url}/metrics`)).text());
    const names = new Set(samples.map((s) => s.name));
    for (const name of [
      "leaven_reconcile_duration_seconds_count",
      "leaven_actions_total",
      "leaven_bakes_in_flight",
      "leaven_aws_requests_total",
      "leaven_images",
    ])
      expect(names).toContain(name);
    const launches = samples.filter(
      (s) => s.name === "leaven_aws_requests_total" && s.labels.action === "RunInstances",
    );
    // Five bake instances and one bakery host: api-server and order-worker bake on volumes.
    expect(launches.reduce((sum, s) => sum + s.value, 0)).toBe(6);
    expect(
      samples.find(
        (s) => s.name === "leaven_images" && s.labels.spec === "api-server" && s.labels.channel === "release",
      )?.value,
    ).toBe(2);
  });

  it("an edited channel field converges", async () => {
    const file = join(specs, "apps/ledger.yaml");
    writeFileSync(
      file,
      readFileSync(file, "utf8").replace(
        "    candidate: { latest: true }\n",
        "    candidate: { latest: true }\n    beta: { latest: true }\n",
      ),
    );
    const status = await run.waitStatus(
      (s) =>
        converged(s) &&
        Object.keys(s.specs.find((x) => x.name === "ledger")?.channels.beta?.images ?? {}).length === 2,
    );
    const ledger = status.specs.find((s) => s.name === "ledger")!;
    expect(ledger.channels.beta!.build).toBe(ledger.channels.candidate!.build);
  });

  it("a new spec file is baked, with the checkout's new commit", async () => {
    writeFileSync(join(specs, "apps/reports.yaml"), NEW_SPEC);
    git("add", ".");
    git("-c", "user.email=t@example.com", "-c", "user.name=t", "commit", "-qm", "reports");
    const status = await run.waitStatus(
      (s) => converged(s) && s.specs.some((x) => x.name === "reports"),
      55_000,
    );
    const reports = status.specs.find((s) => s.name === "reports")!;
    expect(Object.keys(reports.channels.candidate!.images).sort()).toEqual(["eu-west-1", "us-east-1"]);
    expect(imagesOf("reports").map((i) => i.tags[Tag.commit])).toEqual(
      imagesOf("reports").map(() => git("rev-parse", "--short=12", "HEAD")),
    );
  });

  it("an atomic save and a renamed file retire nothing", async () => {
    const before = loads().length;
    const logged = run.logs().length;
    // An editor's save: write a temporary file beside it, then rename it over the original.
    const tmp = join(specs, "apps/.reports.yaml.swp~");
    writeFileSync(tmp, `# saved by an editor\n${NEW_SPEC}`);
    renameSync(tmp, join(specs, "apps/reports.yaml"));
    // And a rename of the file itself.
    renameSync(join(specs, "apps/reports.yaml"), join(specs, "apps/reports-service.yaml"));
    await run.waitStatus(
      (s) =>
        s.specs.find((x) => x.name === "reports")?.source === "specs/apps/reports-service.yaml" &&
        converged(s),
    );
    // The pass after the last load has run too.
    const after = loads().length;
    expect(after).toBeGreaterThan(before);
    for (const line of loads().slice(before)) expect(line.specs).toBe(10);
    for (const image of imagesOf("reports")) expect(image.tags[Tag.unusedSince]).toBeUndefined();
    const acted = run
      .logs()
      .slice(logged)
      .filter((l) =>
        /^(set-tags|remove-tags|deprecate-image|disable-image|deregister-image|terminate-instance) /.test(
          String(l.msg),
        ),
      );
    expect(acted).toEqual([]);
  });

  it("an invalid file keeps its specs' images and shows the error with file and line", async () => {
    const file = join(specs, "apps/reports-service.yaml");
    const good = readFileSync(file, "utf8");
    writeFileSync(file, "apiVersion: leaven.dev/v1alpha1\nkind: ImageSpec\nmetadata:\n  name: [reports\n");
    const status = await run.waitStatus(
      (s) => s.specs.find((x) => x.name === "reports")?.phase === "Blocked",
    );
    const reports = status.specs.find((s) => s.name === "reports")!;
    expect(reports.error).toMatchObject({
      file: "specs/apps/reports-service.yaml",
      line: expect.any(Number),
    });
    expect(reports.error!.message).toMatch(/invalid YAML/);
    expect(reports.message).toContain("specs/apps/reports-service.yaml:");
    // Its last good state: channels and images are still shown, and nothing of it is retired.
    expect(Object.keys(reports.channels.candidate?.images ?? {})).toHaveLength(2);
    expect(status.diagnostics.join("\n")).toContain("specs/apps/reports-service.yaml:");
    // A few passes later (resyncs are an hour of simulated time apart: 6 s), still nothing retired.
    const passes = status.passes;
    await run.waitStatus((s) => s.passes >= passes + 1, 20_000).catch(() => undefined);
    for (const image of imagesOf("reports")) expect(image.tags[Tag.unusedSince]).toBeUndefined();
    expect(imagesOf("reports")).toHaveLength(2);
    const logged = run.logs().find((l) => l.msg === "spec not reconciled: its last good state is kept");
    expect(logged).toMatchObject({ spec: "reports", file: "specs/apps/reports-service.yaml" });
    writeFileSync(file, good);
    await run.waitStatus(
      (s) => converged(s) && s.specs.find((x) => x.name === "reports")?.error === undefined,
    );
  });

  it("a whole-tree checkout is read once, consistently", async () => {
    const before = loads().length;
    // As git checkout does: every file unlinked and written anew, one after another. Half-way, ledger is
    // defined twice (or not at all): a half-read tree would show errors or a missing spec.
    const files = readdirSync(specs, { recursive: true, encoding: "utf8" })
      .filter((name) => name.endsWith(".yaml") && !name.startsWith(".git"))
      .sort();
    const ledger = readFileSync(join(specs, "apps/ledger.yaml"), "utf8");
    for (const name of files) {
      const path = join(specs, name);
      if (name === "apps/ledger.yaml") {
        unlinkSync(path);
        continue;
      }
      const text = readFileSync(path, "utf8");
      unlinkSync(path);
      await new Promise((resolve) => setTimeout(resolve, 10));
      writeFileSync(path, name === "apps/payments.yaml" ? `${text}---\n${ledger}` : `# checked out\n${text}`);
    }
    mkdirSync(join(specs, "apps/more"), { recursive: true });
    const status = await run.waitStatus(
      (s) =>
        loads().length > before &&
        converged(s) &&
        s.specs.find((x) => x.name === "ledger")?.source === "specs/apps/payments.yaml",
    );
    expect(status.specs).toHaveLength(10);
    const after = loads().slice(before);
    expect(after.filter((l) => l.why === "change")).toHaveLength(1);
    for (const line of after) expect(line).toMatchObject({ specs: 10, blocked: 0, errors: 0 });
  });

  it("a deleted spec file is handled by its retention: onDelete retire stages its images", async () => {
    rmSync(join(specs, "apps/reports-service.yaml"));
    await run.waitStatus((s) => !s.specs.some((x) => x.name === "reports"));
    const start = Date.now();
    while (
      imagesOf("reports").some((i) => i.tags[Tag.unusedSince] === undefined) &&
      Date.now() - start < 20_000
    )
      await new Promise((resolve) => setTimeout(resolve, 100));
    expect(imagesOf("reports").length).toBeGreaterThan(0);
    for (const image of imagesOf("reports")) expect(image.tags[Tag.unusedSince]).toBeDefined();
  });

  it("stops cleanly on SIGTERM, releasing the lock", async () => {
    const code = await run.stop();
    expect(code).toBe(0);
  });
});
