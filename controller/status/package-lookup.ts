// Which listed manifests hold a package, from the local package index (package-index.ts) brought up to
// date with the listing: manifests listed but not indexed are read (from the local copy, else GetObject)
// and added, each once (by key and ETag); manifests indexed but no longer listed are not reported, and are
// dropped the next time the index is written. A cached run with nothing new reads one shard of the index.
import path from "node:path";
import { type InstalledPackage, type PackageManifest, parseManifestKey } from "../api/package-manifest.ts";
import type { CatalogEntry, ManifestCatalog } from "./manifest-catalog.ts";
import {
  type DocTable,
  NO_INDEX,
  PackageIndexFile,
  PackageIndexModel,
  type Posting,
} from "./package-index.ts";

/** Manifests read at once while the index is brought up to date (bounded: 40,000 at once would not fit). */
const READ_BATCH = 500;

export interface PackageHit {
  entry: CatalogEntry;
  package: InstalledPackage;
}

export interface PackageLookup {
  /** The manifests listed in the bucket now. */
  entries: CatalogEntry[];
  hits: PackageHit[];
  /** Manifests read to bring the index up to date (0 on a cached run with nothing new). */
  added: number;
  /** Why the index on disk was not used, when it was there and rebuilt (torn, foreign, an older format). */
  rebuilt?: string;
}

const docId = (key: string, etag: string | undefined) => `${key}\n${etag ?? ""}`;

/** Where the catalog's package index lives: beside its local copies of the manifests. */
export function packageIndexFile(catalog: ManifestCatalog): PackageIndexFile | undefined {
  const dir = catalog.localDir;
  return dir ? new PackageIndexFile(path.join(dir, "index", "packages.idx")) : undefined;
}

/**
 * The specs the local index holds manifests of (none without an index): where to split the listing so that
 * its parts are read side by side, before the specs themselves are read.
 */
export function indexedSpecs(catalog: ManifestCatalog, prefix: string | undefined): string[] {
  const keys = packageIndexFile(catalog)?.keys() ?? [];
  const specs = [...new Set(keys.flatMap((key) => parseManifestKey(prefix, key)?.spec ?? []))].sort();
  // As many parts as the listing has pages (a manifest and its SBOM each, 1,000 keys a page): a bucket of
  // one page is listed in one request, not 16.
  const pages = Math.ceil((2 * keys.length) / 1000);
  if (pages < 2) return [];
  const every = Math.ceil(specs.length / pages);
  return specs.filter((_, n) => n % every === 0);
}

/** The listing in key order (as S3 lists; parts read side by side come in order too). */
function inKeyOrder(entries: CatalogEntry[]): CatalogEntry[] {
  for (let i = 1; i < entries.length; i++)
    if (entries[i - 1]!.key > entries[i]!.key) return [...entries].sort((a, b) => (a.key < b.key ? -1 : 1));
  return entries;
}

/**
 * The listed entry of each document id of `docs` (undefined: not listed now, or under another ETag), and
 * whether every listed entry has a document: one merge of two key-ordered lists.
 */
function matchListing(
  entries: readonly CatalogEntry[],
  docs: DocTable,
): { live: (CatalogEntry | undefined)[]; complete: boolean } {
  const live: (CatalogEntry | undefined)[] = new Array(docs.keys.length);
  let complete = true;
  let j = 0;
  for (const entry of entries) {
    while (j < docs.order.length && docs.keys[docs.order[j]!]! < entry.key) j++;
    let found = false;
    for (let k = j; k < docs.order.length && docs.keys[docs.order[k]!] === entry.key; k++) {
      const id = docs.order[k]!;
      // A document indexed by key alone (lookupPackageOf: no listing told its ETag) is the object listed.
      if (docs.etags[id] === (entry.etag ?? "") || docs.etags[id] === "") {
        live[id] = entry;
        found = true;
      }
    }
    if (!found) complete = false;
  }
  return { live, complete };
}

/** The hits of `postings` among the documents `live` gives an entry for (by document id). */
function hitsOf(live: readonly (CatalogEntry | undefined)[], postings: readonly Posting[]): PackageHit[] {
  return postings.flatMap((posting) =>
    posting.docs.flatMap((id) => {
      const entry = live[id];
      return entry ? [{ entry, package: posting.package }] : [];
    }),
  );
}

/** The listed manifests holding a package named `name` or built from the source package `name`. */
export async function lookupPackage(catalog: ManifestCatalog, name: string): Promise<PackageLookup> {
  const file = packageIndexFile(catalog);
  const entries = inKeyOrder(await catalog.list());
  const fast = file?.lookup(name);
  if (fast !== undefined && typeof fast !== "string") {
    const { live, complete } = matchListing(entries, fast.docs);
    if (complete) return { entries, hits: hitsOf(live, fast.postings), added: 0 };
  }

  // Something is listed that the index lacks, or there is no index to trust: bring it up to date.
  const listed = new Set(entries.map((e) => docId(e.key, e.etag)));
  const listedKeys = new Set(entries.map((e) => e.key));
  const isListed = (d: { key: string; etag: string }) =>
    listed.has(docId(d.key, d.etag)) || (d.etag === "" && listedKeys.has(d.key));
  const loaded = file?.load() ?? NO_INDEX;
  const rebuilt = typeof loaded === "string" && loaded !== NO_INDEX ? loaded : undefined;
  const model = (typeof loaded === "string" ? new PackageIndexModel() : loaded).retain(isListed);
  const have = new Set(model.docs.map((d) => docId(d.key, d.etag)));
  const haveByKey = new Set(model.docs.filter((d) => d.etag === "").map((d) => d.key));
  // In key order, so that a spec's builds are neighbours and share runs of ids.
  const missing = entries.filter((e) => !have.has(docId(e.key, e.etag)) && !haveByKey.has(e.key));
  for (let i = 0; i < missing.length; i += READ_BATCH) {
    const batch = missing.slice(i, i + READ_BATCH);
    const manifests = await Promise.all(batch.map((e) => catalog.load(e)));
    for (const [n, e] of batch.entries()) model.add({ key: e.key, etag: e.etag ?? "" }, manifests[n]!);
  }
  const changed =
    missing.length > 0 || typeof loaded === "string" || model.docs.length !== loaded.docs.length;
  if (file && changed) file.save(model);
  return {
    entries,
    hits: hitsOf(matchListing(entries, model.docTable()).live, model.lookup(name)),
    added: missing.length,
    ...(rebuilt ? { rebuilt } : {}),
  };
}

/**
 * Which of `wanted` (the builds that have images, by manifest key) hold a package named `name` or built from
 * the source package `name`, without listing the bucket: a manifest is written once under its key and never
 * replaced (store-manifest's conditional write), so the one the index holds under a key is the bucket's. A
 * build the index lacks is read (GetObject) and added; one the bucket has no manifest of is left out.
 */
export async function lookupPackageOf(
  catalog: ManifestCatalog,
  name: string,
  wanted: readonly CatalogEntry[],
): Promise<PackageLookup> {
  const file = packageIndexFile(catalog);
  const byKey = new Map(wanted.map((e) => [e.key, e]));
  // The first document of each wanted key (a key indexed twice, under two ETags, answers once).
  const liveOf = (keys: readonly string[]) => {
    const seen = new Set<string>();
    return keys.map((key) => {
      const entry = byKey.get(key);
      if (!entry || seen.has(key)) return undefined;
      seen.add(key);
      return entry;
    });
  };
  /** The manifests of `missing` the bucket has (GetObject each, in bounded batches). */
  const readAll = async (missing: readonly CatalogEntry[]) => {
    const read: { entry: CatalogEntry; manifest: PackageManifest; etag?: string }[] = [];
    const sorted = [...missing].sort((a, b) => (a.key < b.key ? -1 : 1));
    for (let i = 0; i < sorted.length; i += READ_BATCH) {
      const batch = sorted.slice(i, i + READ_BATCH);
      const got = await Promise.all(batch.map((e) => catalog.loadIfStored(e)));
      for (const [n, e] of batch.entries()) {
        const one = got[n];
        if (one) read.push({ entry: e, ...one });
      }
    }
    return read;
  };
  const fast = file?.lookup(name);
  let read: Awaited<ReturnType<typeof readAll>> | undefined;
  if (fast !== undefined && typeof fast !== "string") {
    const indexed = new Set(fast.docs.keys);
    const missing = wanted.filter((e) => !indexed.has(e.key));
    // An image may say its manifest was stored when the bucket has none (removed since): asked for, and
    // answered from the index as it is when nothing new turns up.
    read = missing.length > 0 ? await readAll(missing) : [];
    if (read.length === 0)
      return {
        entries: wanted.filter((e) => indexed.has(e.key)),
        hits: hitsOf(liveOf(fast.docs.keys), fast.postings),
        added: 0,
      };
  }
  const loaded = file?.load() ?? NO_INDEX;
  const rebuilt = typeof loaded === "string" && loaded !== NO_INDEX ? loaded : undefined;
  const model = typeof loaded === "string" ? new PackageIndexModel() : loaded;
  const have = new Set(model.docs.map((d) => d.key));
  const found: CatalogEntry[] = wanted.filter((e) => have.has(e.key));
  if (!read || typeof loaded === "string") read = await readAll(wanted.filter((e) => !have.has(e.key)));
  let added = 0;
  for (const { entry, manifest, etag } of read) {
    if (have.has(entry.key)) continue;
    model.add({ key: entry.key, etag: etag ?? "" }, manifest);
    have.add(entry.key);
    found.push(entry);
    added++;
  }
  if (file && (added > 0 || typeof loaded === "string")) file.save(model);
  return {
    entries: found,
    hits: hitsOf(liveOf(model.docs.map((d) => d.key)), model.lookup(name)),
    added,
    ...(rebuilt ? { rebuilt } : {}),
  };
}
