// Which listed manifests hold a package, from the local package index (package-index.ts) brought up to
// date with the listing: manifests listed but not indexed are read (from the local copy, else GetObject)
// and added, each once (by key and ETag); manifests indexed but no longer listed are not reported, and are
// dropped the next time the index is written. A cached run with nothing new reads one shard of the index.
import path from "node:path";
import type { InstalledPackage } from "../api/package-manifest.ts";
import type { CatalogEntry, ManifestCatalog } from "./manifest-catalog.ts";
import {
  type IndexedDoc,
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

/** The listed manifests holding a package named `name` or built from the source package `name`. */
export async function lookupPackage(catalog: ManifestCatalog, name: string): Promise<PackageLookup> {
  const file = packageIndexFile(catalog);
  const entries = await catalog.list();
  const listed = new Map(entries.map((e) => [docId(e.key, e.etag), e]));
  const answer = (docs: readonly IndexedDoc[], postings: readonly Posting[]): PackageHit[] => {
    const live = docs.map((d) => listed.get(docId(d.key, d.etag)));
    return postings.flatMap((posting) =>
      posting.docs.flatMap((id) => {
        const entry = live[id];
        return entry ? [{ entry, package: posting.package }] : [];
      }),
    );
  };

  const fast = file?.lookup(name);
  if (fast !== undefined && typeof fast !== "string") {
    const indexed = new Set(fast.docs.map((d) => docId(d.key, d.etag)));
    if (entries.every((e) => indexed.has(docId(e.key, e.etag))))
      return { entries, hits: answer(fast.docs, fast.postings), added: 0 };
  }

  // Something is listed that the index lacks, or there is no index to trust: bring it up to date.
  const loaded = file?.load() ?? NO_INDEX;
  const rebuilt = typeof loaded === "string" && loaded !== NO_INDEX ? loaded : undefined;
  const model = (typeof loaded === "string" ? new PackageIndexModel() : loaded).retain((d) =>
    listed.has(docId(d.key, d.etag)),
  );
  const have = new Set(model.docs.map((d) => docId(d.key, d.etag)));
  // In key order, so that a spec's builds are neighbours and share runs of ids.
  const missing = entries
    .filter((e) => !have.has(docId(e.key, e.etag)))
    .sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  for (let i = 0; i < missing.length; i += READ_BATCH) {
    const batch = missing.slice(i, i + READ_BATCH);
    const manifests = await Promise.all(batch.map((e) => catalog.load(e)));
    for (const [n, e] of batch.entries())
      model.add({ key: e.key, etag: e.etag ?? "", spec: e.spec, build: e.build }, manifests[n]!);
  }
  const changed =
    missing.length > 0 || typeof loaded === "string" || model.docs.length !== loaded.docs.length;
  if (file && changed) file.save(model);
  return {
    entries,
    hits: answer(model.docs, model.lookup(name)),
    added: missing.length,
    ...(rebuilt ? { rebuilt } : {}),
  };
}
