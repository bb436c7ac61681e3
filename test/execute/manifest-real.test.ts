// The package manifest step of the bake, run for real: the instance bake's user data in a chroot of a
// debootstrapped Debian root (the cached root of chroot-script-real.test.ts) prints the manifest between its
// marker lines before the success marker, and what it prints parses into dpkg's own view of the root.
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { chmodSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { formatBakeMarker } from "../../controller/api/bake-protocol.ts";
import {
  encodeManifest,
  manifestKey,
  type PackageManifest,
  parseConsoleManifest,
} from "../../controller/api/package-manifest.ts";
import type { ObjectStorePort } from "../../controller/cloud/object-store-port.ts";
import { renderUserData } from "../../controller/execute/user-data.ts";
import { diffBuilds, ManifestCatalog, renderBuildDiff } from "../../controller/status/manifest-catalog.ts";
import {
  debianRoot,
  debootstrapUnavailable,
  directoryVolume,
  dpkgList as installedByDpkg,
  runInChroot,
  type Volume,
} from "../support/debootstrap.ts";

const BUILD = "1.4.0+c0ffee42";
const unavailable = debootstrapUnavailable();
if (unavailable) console.warn(`skipping the real manifest run: ${unavailable}`);

const volumes: Volume[] = [];
afterEach(() => {
  for (const volume of volumes.splice(0)) volume.dispose();
});

/** dpkg's own list of installed packages in the root: name, version, architecture. */
const dpkgList = (root: string): string[] =>
  installedByDpkg(root)
    .map((p) => `${p.name} ${p.version} ${p.architecture}`)
    .sort();

/** Runs the instance bake's user data for `packages` in a chroot of `r`; its stdout. */
function bakeIn(r: string, build: string, packages: string[]): SpawnSyncReturns<string> {
  writeFileSync(path.join(r, "etc/resolv.conf"), readFileSync("/etc/resolv.conf"));
  writeFileSync(path.join(r, "usr/local/sbin/shutdown"), "#!/bin/sh\n:\n");
  chmodSync(path.join(r, "usr/local/sbin/shutdown"), 0o755);
  writeFileSync(path.join(r, "usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n");
  chmodSync(path.join(r, "usr/sbin/policy-rc.d"), 0o755);
  writeFileSync(
    path.join(r, "user-data.sh"),
    renderUserData({ buildId: build, spec: "api-server", provision: { packages } }),
  );
  const binds = ["proc", "dev"];
  for (const fs of binds) spawnSync("mount", ["--bind", `/${fs}`, path.join(r, fs)]);
  try {
    return spawnSync("chroot", [r, "/bin/bash", "/user-data.sh"], {
      encoding: "utf8",
      env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root" },
    });
  } finally {
    for (const fs of binds.reverse()) spawnSync("umount", [path.join(r, fs)]);
  }
}

/** An object store in memory, holding the given manifests at their keys. */
function storeOf(manifests: PackageManifest[]): ObjectStorePort {
  const objects = new Map(manifests.map((m) => [manifestKey(undefined, m.spec, m.build), encodeManifest(m)]));
  return {
    putObjectIfAbsent: async () => "exists",
    getObject: async (_bucket, key) => objects.get(key),
    getObjectTags: async () => ({}),
    listObjects: async (_bucket, prefix) =>
      [...objects.keys()].filter((k) => k.startsWith(prefix)).map((key) => ({ key, size: 0 })),
    stats: () => ({}),
    close: () => {},
  };
}

describe.skipIf(unavailable !== undefined)("the manifest of a real Debian bookworm bake", () => {
  let root = "";
  beforeAll(() => {
    root = debianRoot("bookworm");
  }, 300_000);

  it("the user data prints a manifest that parses to the packages dpkg lists, before the marker", () => {
    const volume = directoryVolume(root);
    volumes.push(volume);
    const r = volume.dir;
    writeFileSync(path.join(r, "etc/resolv.conf"), readFileSync("/etc/resolv.conf"));
    writeFileSync(path.join(r, "usr/local/sbin/shutdown"), "#!/bin/sh\n:\n");
    chmodSync(path.join(r, "usr/local/sbin/shutdown"), 0o755);
    writeFileSync(path.join(r, "usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n");
    chmodSync(path.join(r, "usr/sbin/policy-rc.d"), 0o755);
    writeFileSync(
      path.join(r, "user-data.sh"),
      renderUserData({ buildId: BUILD, spec: "api-server", provision: { packages: ["jq"] } }),
    );
    const result = runInChroot(r, "/user-data.sh");
    expect(result.stderr).not.toContain("no package manifest");
    expect(result.status).toBe(0);
    const lines = result.stdout.trimEnd().split("\n");
    expect(lines.at(-1)).toBe(formatBakeMarker({ build: BUILD, result: "success" }));
    const end = lines.findIndex((line) => line.startsWith("LEAVEN-MANIFEST-END "));
    expect(end).toBe(lines.length - 2);
    // Within the console's budget: 64 KB is all EC2 keeps.
    const manifestBytes = lines
      .filter((line) => line.startsWith("LEAVEN-MANIFEST-"))
      .reduce((sum, line) => sum + line.length + 1, 0);
    expect(manifestBytes).toBeLessThan(16 * 1024);

    const read = parseConsoleManifest(result.stdout, "api-server", BUILD);
    if (!read.found) throw new Error(read.reason);
    const { manifest } = read;
    expect(manifest.packageManager).toBe("dpkg");
    expect(manifest.kernel).toMatch(/\S/);
    expect(manifest.packages.map((p) => `${p.name} ${p.version} ${p.architecture}`).sort()).toEqual(
      dpkgList(r),
    );
    const jq = manifest.packages.find((p) => p.name === "jq");
    expect(jq?.version).toMatch(/^1\.6/);
    // Binary packages built from another source name it: libjq1 comes from jq.
    expect(manifest.packages.find((p) => p.name === "libjq1")?.source).toBe("jq");
    expect(manifest.packages.find((p) => p.name === "base-files")?.source).toBe("base-files");
  }, 300_000);

  it("leaven diff over the manifests of a real root before and after a bake that installs jq", async () => {
    const volume = directoryVolume(root);
    volumes.push(volume);
    const first = bakeIn(volume.dir, "1.0.0+aaaaaaaa", []);
    expect(first.status).toBe(0);
    const second = bakeIn(volume.dir, "1.0.1+bbbbbbbb", ["jq"]);
    expect(second.status).toBe(0);
    const [a, b] = [
      parseConsoleManifest(first.stdout, "api-server", "1.0.0+aaaaaaaa"),
      parseConsoleManifest(second.stdout, "api-server", "1.0.1+bbbbbbbb"),
    ];
    if (!a.found || !b.found) throw new Error("no manifest on the console");
    const catalog = new ManifestCatalog({ store: storeOf([a.manifest, b.manifest]), bucket: "m" });
    const diff = await diffBuilds(catalog, a.manifest, b.manifest);
    const jq = b.manifest.packages.filter((p) => ["jq", "libjq1", "libonig5"].includes(p.name));
    expect(renderBuildDiff(diff)).toBe(
      [
        "api-server 1.0.0+aaaaaaaa → 1.0.1+bbbbbbbb",
        "",
        "Packages of api-server (3 changes):",
        ...jq.map((p) => `  + ${p.name} ${p.version} (${p.architecture})`),
        "",
        "Parent chain:",
        "  the same parent build: no changes",
        "",
      ].join("\n"),
    );
  }, 300_000);
});
