// The manifests in the bucket, as `leaven diff`, `leaven contains` and `leaven builds` read them: one
// paginated listing for the keys, then each manifest once. Objects are never rewritten, so a local copy
// keyed by the object's ETag stays right; with a cache folder the second run reads no object at all.
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import {
  changeCount,
  decodeManifest,
  diffManifests,
  type ManifestDiff,
  type PackageManifest,
  parseManifestKey,
} from "../api/package-manifest.ts";
import type { ListedObject } from "../cloud/object-store-port.ts";
import type { ManifestTarget } from "../execute/store-manifest.ts";
import type { BuildHistory } from "./build-history.ts";

/** Parts of the whole listing read side by side (S3 takes thousands of listings a second per prefix). */
const LIST_PARTS = 16;

export interface CatalogEntry {
  spec: string;
  build: string;
  key: string;
  etag?: string;
  lastModified?: number;
}

export class ManifestCatalog {
  private readonly target: ManifestTarget;
  private readonly cacheDir: string | undefined;
  private readonly read = new Map<string, Promise<PackageManifest>>();
  private entries?: CatalogEntry[];

  private readonly splitAt: string[];

  /**
   * `splitAt`: spec names to split the whole listing at, so that its parts are read side by side (the
   * listing of 40,000 manifests and their SBOMs is 80 pages, which one after another take seconds).
   */
  constructor(target: ManifestTarget, options: { cacheDir?: string; splitAt?: readonly string[] } = {}) {
    this.target = target;
    this.cacheDir = options.cacheDir;
    this.splitAt = [...new Set(options.splitAt ?? [])].sort();
  }

  /** The folder this bucket's manifests are kept in locally, when there is one. */
  get localDir(): string | undefined {
    return this.cacheDir ? path.join(this.cacheDir, this.target.bucket) : undefined;
  }

  /** The bucket's objects under `prefix`: in up to LIST_PARTS ranges side by side when split points are known. */
  private async listed(prefix: string, split: boolean): Promise<ListedObject[]> {
    const { store, bucket } = this.target;
    if (!split || this.splitAt.length < 2) return store.listObjects(bucket, prefix);
    const step = this.splitAt.length / Math.min(LIST_PARTS, this.splitAt.length);
    const bounds = [
      ...new Set(
        Array.from(
          { length: Math.min(LIST_PARTS, this.splitAt.length) - 1 },
          (_, n) => `${prefix}${this.splitAt[Math.round((n + 1) * step)]}/`,
        ),
      ),
    ].sort();
    const parts = await Promise.all(
      [undefined, ...bounds].map((from, n) => {
        const before = bounds[n];
        return store
          .listObjects(bucket, prefix, {
            ...(from !== undefined ? { startAfter: from } : {}),
            ...(before !== undefined ? { before } : {}),
          })
          .then((objects) =>
            objects.filter(
              (o) => (from === undefined || o.key > from) && (before === undefined || o.key < before),
            ),
          );
      }),
    );
    return parts.flat();
  }

  /** Every manifest in the bucket (of one spec when given): one listing, all pages. */
  async list(spec?: string): Promise<CatalogEntry[]> {
    if (!this.entries || spec !== undefined) {
      const base = this.target.prefix ? `${this.target.prefix.replace(/\/+$/, "")}/` : "";
      const listed = await this.listed(spec !== undefined ? `${base}${spec}/` : base, spec === undefined);
      const entries: CatalogEntry[] = [];
      for (const object of listed) {
        const named = parseManifestKey(this.target.prefix, object.key);
        if (!named) continue;
        entries.push({
          ...named,
          key: object.key,
          ...(object.etag ? { etag: object.etag } : {}),
          ...(object.lastModified !== undefined ? { lastModified: object.lastModified } : {}),
        });
      }
      if (spec !== undefined) return entries;
      this.entries = entries;
    }
    return this.entries;
  }

  /** One manifest, from the local copy when there is one. */
  manifest(entry: CatalogEntry): Promise<PackageManifest> {
    let found = this.read.get(entry.key);
    if (!found) {
      found = this.fetch(entry);
      this.read.set(entry.key, found);
    }
    return found;
  }

  /** The manifest of spec/build, or undefined when the bucket holds none. */
  async find(spec: string, build: string): Promise<PackageManifest | undefined> {
    const entry = (await this.list(spec)).find((e) => e.build === build);
    return entry ? this.manifest(entry) : undefined;
  }

  /** One manifest, read (locally or from the bucket) without keeping it: for a pass over many. */
  load(entry: CatalogEntry): Promise<PackageManifest> {
    return this.read.get(entry.key) ?? this.fetch(entry);
  }

  /** A manifest known by its key only (no listing): read from the bucket, or undefined when it has none. */
  async loadIfStored(entry: CatalogEntry): Promise<{ manifest: PackageManifest; etag?: string } | undefined> {
    const body = await this.target.store.getObject(this.target.bucket, entry.key);
    return body ? { manifest: decodeManifest(body) } : undefined;
  }

  private async fetch(entry: CatalogEntry): Promise<PackageManifest> {
    const local =
      this.cacheDir && entry.etag
        ? path.join(this.cacheDir, this.target.bucket, `${entry.key}@${entry.etag}`)
        : undefined;
    if (local && existsSync(local)) return decodeManifest(readFileSync(local));
    const body = await this.target.store.getObject(this.target.bucket, entry.key);
    if (!body)
      throw new Error(
        `s3://${this.target.bucket}/${entry.key} was listed but is gone; run the command again`,
      );
    const manifest = decodeManifest(body);
    if (local) {
      mkdirSync(path.dirname(local), { recursive: true });
      writeFileSync(`${local}.${process.pid}.tmp`, body);
      renameSync(`${local}.${process.pid}.tmp`, local);
    }
    return manifest;
  }
}

export interface ChainStep {
  spec: string;
  from: string;
  to: string;
  /** The diff, or why there is none (a vendor image, a manifest not stored). */
  diff?: ManifestDiff;
  missing?: string;
}

export interface BuildDiff {
  spec: string;
  from: string;
  to: string;
  /** What changed in this layer: the changes its parent chain does not account for. */
  own: ManifestDiff;
  /** The parents' changes, nearest first, while their builds differ. */
  chain: ChainStep[];
}

const changeId = (c: { name: string; architecture: string }) => `${c.name}:${c.architecture}`;

/** `diff` less the changes `inherited` already made (the same package added, removed or moved alike). */
function without(diff: ManifestDiff, inherited: readonly ManifestDiff[]): ManifestDiff {
  const added = new Set(inherited.flatMap((d) => d.added.map((p) => `${changeId(p)}=${p.version}`)));
  const removed = new Set(inherited.flatMap((d) => d.removed.map((p) => `${changeId(p)}=${p.version}`)));
  const changed = new Set(inherited.flatMap((d) => d.changed.map((c) => `${changeId(c)}=${c.from}>${c.to}`)));
  return {
    added: diff.added.filter((p) => !added.has(`${changeId(p)}=${p.version}`)),
    removed: diff.removed.filter((p) => !removed.has(`${changeId(p)}=${p.version}`)),
    changed: diff.changed.filter((c) => !changed.has(`${changeId(c)}=${c.from}>${c.to}`)),
    ...(diff.kernel && !inherited.some((d) => d.kernel) ? { kernel: diff.kernel } : {}),
  };
}

/** The diff of two builds of a spec, with the parent chain's changes apart. */
export async function diffBuilds(
  catalog: ManifestCatalog,
  a: PackageManifest,
  b: PackageManifest,
): Promise<BuildDiff> {
  const chain: ChainStep[] = [];
  let pa = a.parent;
  let pb = b.parent;
  for (let depth = 0; pa && pb && pa.build !== pb.build && depth < 16; depth++) {
    const [ma, mb] = await Promise.all([catalog.find(pa.spec, pa.build), catalog.find(pb.spec, pb.build)]);
    if (!ma || !mb) {
      chain.push({
        spec: pb.spec,
        from: pa.build,
        to: pb.build,
        missing: `${!ma ? pa.build : pb.build} has no manifest (a vendor image, or baked before manifests were stored)`,
      });
      break;
    }
    chain.push({ spec: pb.spec, from: pa.build, to: pb.build, diff: diffManifests(ma, mb) });
    pa = ma.parent;
    pb = mb.parent;
  }
  const inherited = chain.flatMap((step) => (step.diff ? [step.diff] : []));
  return { spec: b.spec, from: a.build, to: b.build, own: without(diffManifests(a, b), inherited), chain };
}

function diffLines(diff: ManifestDiff, indent: string): string[] {
  const lines = [
    ...diff.added.map((p) => `${indent}+ ${p.name} ${p.version} (${p.architecture})`),
    ...diff.removed.map((p) => `${indent}- ${p.name} ${p.version} (${p.architecture})`),
    ...diff.changed.map((c) => `${indent}~ ${c.name} ${c.from} → ${c.to} (${c.architecture})`),
    ...(diff.kernel ? [`${indent}~ kernel ${diff.kernel.from ?? "none"} → ${diff.kernel.to ?? "none"}`] : []),
  ];
  return lines.length > 0 ? lines : [`${indent}no changes`];
}

const count = (n: number) => `${n} change${n === 1 ? "" : "s"}`;

export function renderBuildDiff(diff: BuildDiff): string {
  const ownCount = changeCount(diff.own) + (diff.own.kernel ? 1 : 0);
  const lines = [
    `${diff.spec} ${diff.from} → ${diff.to}`,
    "",
    `Packages of ${diff.spec} (${count(ownCount)}):`,
    ...diffLines(diff.own, "  "),
    "",
    "Parent chain:",
  ];
  if (diff.chain.length === 0) lines.push("  the same parent build: no changes");
  for (const step of diff.chain) {
    if (step.diff) {
      const n = changeCount(step.diff) + (step.diff.kernel ? 1 : 0);
      lines.push(`  ${step.spec} ${step.from} → ${step.to} (${count(n)}):`, ...diffLines(step.diff, "    "));
    } else lines.push(`  ${step.spec} ${step.from} → ${step.to}: ${step.missing}`);
  }
  return `${lines.join("\n")}\n`;
}

/**
 * The history with each build's package count and its changes since the next older build with a manifest
 * (builds are newest first). Builds without a manifest are left as they are.
 */
export async function withPackages(history: BuildHistory, catalog: ManifestCatalog): Promise<BuildHistory> {
  const entries = new Map((await catalog.list(history.spec)).map((e) => [e.build, e]));
  const manifests = await Promise.all(
    history.builds.map((b) => {
      const entry = entries.get(b.build);
      return entry ? catalog.manifest(entry) : undefined;
    }),
  );
  return {
    ...history,
    builds: history.builds.map((build, i) => {
      const manifest = manifests[i];
      if (!manifest) return build;
      const older = manifests.slice(i + 1).find((m) => m !== undefined);
      const diff = older ? diffManifests(older, manifest) : undefined;
      return {
        ...build,
        packages: {
          count: manifest.packages.length,
          ...(diff ? { changes: changeCount(diff) + (diff.kernel ? 1 : 0) } : {}),
        },
      };
    }),
  };
}
