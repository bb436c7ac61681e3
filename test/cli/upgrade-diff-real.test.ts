// `leaven diff` and `leaven contains` over the manifests of a real Debian root before and after a real
// upgrade. The root is the cached debootstrapped bookworm (release suite only), with the updates and
// security suites enabled as Debian's cloud images have them: build A is baked from the fixture's recipe
// without `upgrade`, build B from the recipe itself (`upgrade: true`), both by the rendered bake script in a
// chroot, each on its own copy of the root. Their console output goes through the executor's
// store-manifest step into the simulator's bucket, and the CLI's answers are checked against what dpkg
// itself says changed between the two roots.
import { spawnSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ImageSpec } from "../../controller/api/types.generated.ts";
import type { CloudPort } from "../../controller/cloud/port.ts";
import { createS3ObjectStore } from "../../controller/cloud/s3-adapter.ts";
import { storeManifest } from "../../controller/execute/store-manifest.ts";
import { renderUserData } from "../../controller/execute/user-data.ts";
import type { StoreManifestAction } from "../../controller/plan/actions.ts";
import { S3_PATH } from "../../controller/sim/s3.ts";
import { startSimulator } from "../../controller/sim/server.ts";
import { loadSpecs } from "../../controller/validation/load-specs.ts";
import { scratchEstate } from "../support/cli-process.ts";
import {
  DEBIAN_UPDATE_SOURCES,
  debianRoot,
  debootstrapUnavailable,
  directoryVolume,
  dpkgList,
  type Installed,
  runInChroot,
  updateSuitesUnreachable,
  type Volume,
} from "../support/debootstrap.ts";
import { run } from "../support/in-process-cli.ts";

const SPEC = "debian-base";
const BUCKET = "debian-image-manifests";
const [BEFORE, AFTER] = ["1.0.0+a1b2c3d4", "1.1.0+5ec0a5ed"];
/** Both builds are baked on the same parent image: the chain has nothing to say. */
const PARENT = { spec: "debian-12", build: "debian-12-amd64-20261110-2288" };
const FIXTURE = join(import.meta.dirname, "../fixtures/debian-upgrade");
const unavailable = debootstrapUnavailable() ?? (await updateSuitesUnreachable());
if (unavailable) console.warn(`skipping diff and contains over a real upgrade: ${unavailable}`);

/** dpkg --compare-versions, the host's own: the test's ordering of versions, apart from Leaven's. */
function dpkgLessThan(a: string, b: string): boolean {
  return spawnSync("dpkg", ["--compare-versions", a, "lt", b]).status === 0;
}

function bake(root: string, build: string, provision: ImageSpec["spec"]["provision"]): string {
  writeFileSync(join(root, "user-data.sh"), renderUserData({ buildId: build, spec: SPEC, provision }));
  const result = runInChroot(root, "/user-data.sh");
  if (result.status !== 0)
    throw new Error(
      `the bake of ${build} failed:\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-2000)}`,
    );
  return result.stdout;
}

/** The executor's store-manifest step, reading `console` as the bake instance's console output. */
async function store(endpoint: string, build: string, console: string): Promise<void> {
  const objects = createS3ObjectStore({
    region: "us-east-1",
    endpoint: `${endpoint}${S3_PATH}`,
    credentials: { accessKeyId: "AKIDSIMULATOR", secretAccessKey: "simulator" },
  });
  // Only the two calls the step makes: the console, and the home image's manifest tag.
  const cloud = {
    getConsoleOutput: async () => console,
    createTags: async () => {},
  } as unknown as CloudPort;
  const action: StoreManifestAction = {
    kind: "store-manifest",
    spec: SPEC,
    build,
    region: "us-east-1",
    imageId: `ami-${build.slice(-8)}`,
    instanceId: `i-${build.slice(-8)}`,
    parent: PARENT,
    reason: "the bake's image is created",
  };
  try {
    await objects.createBucketIfMissing(BUCKET);
    const where = await storeManifest(
      cloud,
      action,
      { store: objects, bucket: BUCKET, prefix: "leaven" },
      undefined,
    );
    expect(where).toBe(`s3://${BUCKET}/leaven/${SPEC}/${build}.json.gz`);
  } finally {
    objects.close();
  }
}

/** A copy of the parent root: the cached one with the suites enabled, nothing started or powered off. */
function parentRoot(): Volume & { dir: string } {
  const volume = directoryVolume(debianRoot("bookworm"));
  const r = volume.dir;
  writeFileSync(join(r, "etc/resolv.conf"), readFileSync("/etc/resolv.conf"));
  writeFileSync(join(r, "etc/apt/sources.list"), `${DEBIAN_UPDATE_SOURCES.join("\n")}\n`);
  for (const [file, body] of [
    ["usr/local/sbin/shutdown", ":"],
    ["usr/sbin/policy-rc.d", "exit 101"],
  ] as const) {
    writeFileSync(join(r, file), `#!/bin/sh\n${body}\n`);
    chmodSync(join(r, file), 0o755);
  }
  return volume;
}

describe.skipIf(unavailable !== undefined)("diff and contains over a real bookworm upgrade", () => {
  const volumes: Volume[] = [];
  let dir: string;
  let before: Installed[];
  let after: Installed[];
  const sim = ["--sim-state", "sim.json", "--sim-speed", "600"];
  const key = (p: Installed) => `${p.name}:${p.architecture}`;

  beforeAll(async () => {
    dir = scratchEstate(FIXTURE);
    const loaded = await loadSpecs(["specs"], { cwd: dir });
    const recipe = loaded.specs.find((s) => s.name === SPEC)?.document.spec.provision;
    if (!recipe?.upgrade)
      throw new Error(`the fixture's ${SPEC} no longer upgrades: ${JSON.stringify(recipe)}`);
    const { upgrade: _, ...withoutUpgrade } = recipe;

    const [a, b] = [parentRoot(), parentRoot()];
    volumes.push(a, b);
    const consoleBefore = bake(a.dir, BEFORE, withoutUpgrade);
    before = dpkgList(a.dir);
    const consoleAfter = bake(b.dir, AFTER, recipe);
    after = dpkgList(b.dir);

    const simulator = await startSimulator({ statePath: join(dir, "sim.json") });
    try {
      await store(simulator.endpoint, BEFORE, consoleBefore);
      await store(simulator.endpoint, AFTER, consoleAfter);
    } finally {
      await simulator.close();
    }
  }, 600_000);
  afterAll(() => {
    for (const volume of volumes) volume.dispose();
  });

  it("leaven diff lists exactly the packages dpkg shows changed by the upgrade, old → new", async () => {
    const was = new Map(before.map((p) => [key(p), p]));
    const is = new Map(after.map((p) => [key(p), p]));
    const added = after.filter((p) => !was.has(key(p)));
    const removed = before.filter((p) => !is.has(key(p)));
    const changed = after.filter((p) => was.has(key(p)) && was.get(key(p))?.version !== p.version);
    // The suites hold fixes newer than the point release debootstrap installed; none would prove nothing.
    expect(changed.length, "the upgrade changed no package: nothing to diff").toBeGreaterThan(0);
    const changes = added.length + removed.length + changed.length;

    const result = await run(["diff", SPEC, BEFORE, AFTER, "specs", ...sim], dir);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        `${SPEC} ${BEFORE} → ${AFTER}`,
        "",
        `Packages of ${SPEC} (${changes} change${changes === 1 ? "" : "s"}):`,
        ...added.map((p) => `  + ${p.name} ${p.version} (${p.architecture})`),
        ...removed.map((p) => `  - ${p.name} ${p.version} (${p.architecture})`),
        ...changed.map((p) => `  ~ ${p.name} ${was.get(key(p))?.version} → ${p.version} (${p.architecture})`),
        "",
        "Parent chain:",
        "  the same parent build: no changes",
        "",
      ].join("\n"),
    );
  });

  it("leaven contains PACKAGE <NEW_VERSION names the build before the upgrade only, for every upgraded package", async () => {
    const was = new Map(before.map((p) => [key(p), p]));
    const upgraded = after.filter((p) => was.has(key(p)) && was.get(key(p))?.version !== p.version);
    expect(upgraded.length, "the upgrade changed no package").toBeGreaterThan(0);
    for (const pkg of upgraded) {
      const range = `<${pkg.version}`;
      // What dpkg says matches: the package, or one built from a source of that name, below the new version.
      const matching = (build: string, packages: Installed[]) =>
        packages
          .filter(
            (p) => (p.name === pkg.name || p.source === pkg.name) && dpkgLessThan(p.version, pkg.version),
          )
          .map((p) => `${SPEC} ${build} ${p.name} ${p.version} - (no image)`);
      const expected = [...matching(BEFORE, before), ...matching(AFTER, after)];
      expect(expected.join("\n")).not.toContain(AFTER);

      const result = await run(["contains", pkg.name, range, "specs", "--all-builds", ...sim], dir);
      expect(result.code, result.stderr).toBe(0);
      const rows = result.stdout.trimEnd().split("\n");
      expect(rows[0]).toBe(`${pkg.name} ${range} is in 1 build of 1 spec (2 manifests read):`);
      expect(rows.slice(2).map((r) => r.replace(/ +/g, " "))).toEqual([
        "SPEC BUILD PACKAGE VERSION CHANNELS REGIONS",
        expect.stringMatching(/^-+ -+ -+ -+ -+ -+$/),
        ...expected,
      ]);
    }
    // The new version, exactly: the build after the upgrade only.
    const [first] = upgraded as [Installed];
    const exact = await run(["contains", first.name, first.version, "specs", "--all-builds", ...sim], dir);
    const rows = exact.stdout.trimEnd().split("\n");
    expect(rows[0]).toBe(`${first.name} ${first.version} is in 1 build of 1 spec (2 manifests read):`);
    expect(rows.slice(4).map((r) => r.split(/ +/).slice(0, 4))).toEqual(
      after
        .filter((p) => (p.name === first.name || p.source === first.name) && p.version === first.version)
        .map((p) => [SPEC, AFTER, p.name, p.version]),
    );
  });
});
