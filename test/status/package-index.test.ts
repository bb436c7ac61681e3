// The package index `leaven contains` answers from: the indexed answer equals a scan of every listed
// manifest, through manifests added, removed and replaced, and after the index file was torn or changed;
// and each manifest is read from the bucket once.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import {
  encodeManifest,
  type InstalledPackage,
  manifestKey,
  type PackageManifest,
  sbomKey,
  sortPackages,
} from "../../controller/api/package-manifest.ts";
import type { KeyRange, ListedObject, ObjectStorePort } from "../../controller/cloud/object-store-port.ts";
import { ManifestCatalog } from "../../controller/status/manifest-catalog.ts";
import { SHARDS, shardOf } from "../../controller/status/package-index.ts";
import { lookupPackage, lookupPackageOf, packageIndexFile } from "../../controller/status/package-lookup.ts";

/** An in-memory bucket: ranges honoured, or ignored (a store may return more than the range). */
function fakeStore(honourRanges = true) {
  const objects = new Map<string, { body: Uint8Array; etag: string }>();
  const counts: Record<string, number> = {};
  let etags = 0;
  const store: ObjectStorePort = {
    async putObjectIfAbsent() {
      throw new Error("not used");
    },
    async getObject(_bucket, key) {
      counts.GetObject = (counts.GetObject ?? 0) + 1;
      return objects.get(key)?.body;
    },
    async getObjectTags() {
      return undefined;
    },
    async listObjects(_bucket: string, prefix: string, range?: KeyRange): Promise<ListedObject[]> {
      counts.ListObjectsV2 = (counts.ListObjectsV2 ?? 0) + 1;
      return [...objects]
        .filter(([k]) => k.startsWith(prefix))
        .filter(
          ([k]) =>
            !honourRanges ||
            ((range?.startAfter === undefined || k > range.startAfter) &&
              (range?.before === undefined || k < range.before)),
        )
        .sort(([a], [b]) => (a < b ? -1 : 1))
        .map(([key, o]) => ({ key, size: o.body.length, etag: o.etag }));
    },
    stats: () => counts,
    close() {},
  };
  return {
    store,
    counts,
    put(manifest: PackageManifest) {
      objects.set(manifestKey("m", manifest.spec, manifest.build), {
        body: encodeManifest(manifest),
        etag: `e${++etags}`,
      });
      objects.set(sbomKey("m", manifest.spec, manifest.build), {
        body: new Uint8Array(1),
        etag: `e${++etags}`,
      });
    },
    remove(spec: string, build: string) {
      objects.delete(manifestKey("m", spec, build));
      objects.delete(sbomKey("m", spec, build));
    },
  };
}

/** A deterministic generator (mulberry32). */
function random(seed: number) {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** Package names with their source packages: binaries of one source, a name that is also a source. */
const POOL: [string, string][] = [
  ["openssl", "openssl"],
  ["libssl3", "openssl"],
  ["libssl-dev", "openssl"],
  ["curl", "curl"],
  ["libcurl4", "curl"],
  ["bash", "bash"],
  ["libc6", "glibc"],
  ["glibc-tools", "glibc"],
  ["zlib1g", "zlib"],
  ["jq", "jq"],
  ["libjq1", "jq"],
  ...Array.from({ length: 40 }, (_, n): [string, string] => [`pkg-${n}`, `src-${n % 7}`]),
];
const NAMES = ["openssl", "libssl3", "curl", "glibc", "jq", "bash", "pkg-3", "src-2", "absent"];

function manifestOf(next: () => number, spec: string, build: string): PackageManifest {
  const packages: InstalledPackage[] = [];
  for (const [name, source] of POOL) {
    if (next() < 0.2) continue;
    packages.push({
      name,
      version: `1.${Math.floor(next() * 3)}-${Math.floor(next() * 2)}`,
      architecture: "amd64",
      source,
    });
    if (next() < 0.1) packages.push({ name, version: "1.0-0", architecture: "i386", source });
  }
  return {
    format: "leaven-manifest/v1",
    spec,
    build,
    packageManager: "dpkg",
    packages: sortPackages(packages),
  };
}

/** The answer of a scan over every listed manifest, as sorted rows. */
async function scan(catalog: ManifestCatalog, name: string): Promise<string[]> {
  const rows: string[] = [];
  for (const entry of await catalog.list()) {
    const manifest = await catalog.load(entry);
    for (const p of manifest.packages)
      if (p.name === name || p.source === name)
        rows.push(`${entry.spec} ${entry.build} ${p.name} ${p.version} ${p.architecture} ${p.source}`);
  }
  return rows.sort();
}

async function indexed(catalog: ManifestCatalog, name: string) {
  const lookup = await lookupPackage(catalog, name);
  return {
    ...lookup,
    rows: lookup.hits
      .map(
        (h) =>
          `${h.entry.spec} ${h.entry.build} ${h.package.name} ${h.package.version} ${h.package.architecture} ${h.package.source}`,
      )
      .sort(),
  };
}

describe("the package index", () => {
  let cache: string;
  beforeEach(() => {
    cache = mkdtempSync(join(tmpdir(), "leaven-index-"));
  });
  afterEach(() => rmSync(cache, { recursive: true, force: true }));

  it("answers as a scan of every listed manifest would, through additions, removals and a torn file", async () => {
    const next = random(14);
    const bucket = fakeStore();
    const specs = ["api", "base", "web", "worker"];
    let builds = 0;
    const add = (n: number) => {
      for (let i = 0; i < n; i++) {
        const spec = specs[Math.floor(next() * specs.length)]!;
        bucket.put(manifestOf(next, spec, `1.${builds++}.0+${(builds * 2654435761).toString(16).slice(-8)}`));
      }
    };
    const open = () =>
      new ManifestCatalog(
        { store: bucket.store, bucket: "b", prefix: "m" },
        { cacheDir: cache, splitAt: specs },
      );
    const file = packageIndexFile(open())!;
    const agree = async (expected: { added: number; gets: number; rebuilt?: RegExp }) => {
      for (const [n, name] of NAMES.entries()) {
        bucket.counts.GetObject = 0;
        const got = await indexed(open(), name);
        // The first name brings the index up to date; the others find nothing to add.
        expect({ added: got.added, gets: bucket.counts.GetObject }).toEqual(
          n === 0 ? { added: expected.added, gets: expected.gets } : { added: 0, gets: 0 },
        );
        if (n === 0 && expected.rebuilt) expect(got.rebuilt).toMatch(expected.rebuilt);
        else expect(got.rebuilt).toBeUndefined();
        expect(got.rows).toEqual(await scan(open(), name));
      }
    };

    add(30);
    await agree({ added: 30, gets: 30 });
    add(7);
    await agree({ added: 7, gets: 7 });
    // Gone from the bucket: not reported, though the index still holds them until it is next written.
    const listed = await open().list();
    for (const e of listed.slice(3, 8)) bucket.remove(e.spec, e.build);
    await agree({ added: 0, gets: 0 });
    add(1);
    await agree({ added: 1, gets: 1 });
    const model = file.load();
    if (typeof model === "string") throw new Error(model);
    expect(model.docs.length).toBe((await open().list()).length);

    // Torn (a writer stopped halfway) and changed (a byte of a shard flipped): rebuilt from the local copies.
    const whole = readFileSync(file.file);
    writeFileSync(file.file, whole.subarray(0, whole.length >> 1));
    await agree({ added: 33, gets: 0, rebuilt: /^it is \d+ bytes long, not the \d+ its header says$/ });
    // A byte of the shard the first name is in, the one its lookup reads.
    const bytes = readFileSync(file.file);
    const header = JSON.parse(bytes.toString("utf8", 16, 16 + bytes.readUInt32LE(8))) as {
      shards: { offset: number; length: number }[];
    };
    const shard = shardOf(NAMES[0]!);
    const at = header.shards[shard]!.offset + 1;
    bytes.writeUInt8(bytes.readUInt8(at) ^ 0x20, at);
    writeFileSync(file.file, bytes);
    await agree({
      added: 33,
      gets: 0,
      rebuilt: new RegExp(`^its shard ${shard} does not match its checksum$`),
    });
    writeFileSync(file.file, "not an index");
    await agree({ added: 33, gets: 0, rebuilt: /^it is not a Leaven package index$/ });
  });

  it("a manifest written again under its key (a new ETag) is read again and counted once", async () => {
    const bucket = fakeStore();
    const manifest = manifestOf(random(3), "api", "1.0.0+00000001");
    bucket.put(manifest);
    const catalog = () =>
      new ManifestCatalog({ store: bucket.store, bucket: "b", prefix: "m" }, { cacheDir: cache });
    expect((await indexed(catalog(), "openssl")).rows).toEqual(await scan(catalog(), "openssl"));
    bucket.put({
      ...manifest,
      packages: [{ name: "openssl", version: "9.9-9", architecture: "amd64", source: "openssl" }],
    });
    const after = await indexed(catalog(), "openssl");
    expect({ added: after.added, rows: after.rows }).toEqual({
      added: 1,
      rows: ["api 1.0.0+00000001 openssl 9.9-9 amd64 openssl"],
    });
  });

  it("a listing split by spec lists every object once, whether or not the store keeps to the ranges", async () => {
    for (const honour of [true, false]) {
      const bucket = fakeStore(honour);
      const next = random(5);
      const specs = Array.from({ length: 40 }, (_, n) => `spec-${n}`);
      for (const [n, spec] of [...specs, "spec-1-x", "zzz-not-in-specs"].entries())
        bucket.put(manifestOf(next, spec, `1.${n}.0+0000000${n % 10}`));
      const split = await new ManifestCatalog(
        { store: bucket.store, bucket: "b", prefix: "m" },
        { splitAt: specs },
      ).list();
      const whole = await new ManifestCatalog({ store: bucket.store, bucket: "b", prefix: "m" }).list();
      expect(split.map((e) => e.key).sort()).toEqual(whole.map((e) => e.key));
      expect(whole).toHaveLength(42);
    }
  });

  it("by key (builds with images): no listing, each manifest read once, the same answer as a scan of those", async () => {
    const next = random(21);
    const bucket = fakeStore();
    const all: PackageManifest[] = [];
    for (let n = 0; n < 24; n++) {
      const manifest = manifestOf(
        next,
        ["api", "base", "web"][n % 3]!,
        `1.${n}.0+0000${String(n).padStart(4, "0")}`,
      );
      bucket.put(manifest);
      all.push(manifest);
    }
    const catalog = () =>
      new ManifestCatalog({ store: bucket.store, bucket: "b", prefix: "m" }, { cacheDir: cache });
    const entry = (m: { spec: string; build: string }) => ({
      spec: m.spec,
      build: m.build,
      key: manifestKey("m", m.spec, m.build),
    });
    // Twelve builds have images, and one more whose manifest was never stored.
    const wanted = [
      ...all.filter((_, n) => n % 2 === 0).map(entry),
      entry({ spec: "api", build: "9.9.9+deadbeef" }),
    ];
    const rowsOf = (hits: Awaited<ReturnType<typeof lookupPackageOf>>["hits"]) =>
      hits
        .map(
          (h) =>
            `${h.entry.spec} ${h.entry.build} ${h.package.name} ${h.package.version} ${h.package.architecture} ${h.package.source}`,
        )
        .sort();
    const scanned = async (name: string) =>
      (await scan(catalog(), name)).filter((row) =>
        wanted.some((w) => row.startsWith(`${w.spec} ${w.build} `)),
      );
    for (const [n, name] of NAMES.entries()) {
      bucket.counts.GetObject = 0;
      bucket.counts.ListObjectsV2 = 0;
      const got = await lookupPackageOf(catalog(), name, wanted);
      // The first lookup reads the 12 manifests and asks for the missing one; then nothing is read.
      expect({ gets: bucket.counts.GetObject, lists: bucket.counts.ListObjectsV2, added: got.added }).toEqual(
        // (The one with no manifest is asked for again each time: the image said it was stored.)
        n === 0 ? { gets: 13, lists: 0, added: 12 } : { gets: 1, lists: 0, added: 0 },
      );
      expect(got.entries).toHaveLength(12);
      expect(rowsOf(got.hits)).toEqual(await scanned(name));
    }
    // A build gets an image: its manifest alone is read.
    wanted.push(entry(all[1]!));
    bucket.counts.GetObject = 0;
    const more = await lookupPackageOf(catalog(), "openssl", wanted);
    expect({ gets: bucket.counts.GetObject, added: more.added }).toEqual({ gets: 2, added: 1 });
    expect(rowsOf(more.hits)).toEqual(await scanned("openssl"));
    // The listing's lookup takes the documents indexed by key as the objects listed: only the rest is read.
    // (The scans above left local copies of every manifest: those 11 are read from them, not the bucket.)
    const listed = await indexed(catalog(), "openssl");
    expect(listed.added).toBe(11);
    expect(listed.rows).toEqual(await scan(catalog(), "openssl"));
  });

  it("spreads names over the shards", () => {
    const used = new Set(Array.from({ length: 2000 }, (_, n) => shardOf(`lib${n}`)));
    expect(used.size).toBeGreaterThan(SHARDS * 0.9);
  });
});
