// The local package index `leaven contains` answers from: which manifests hold a package, without reading
// 40,000 manifests. One file beside the manifest cache (.leaven/manifests/BUCKET/index/packages.idx):
//
//   magic "LVNPIDX1" (8 bytes) · header length (u32 LE) · header CRC-32 (u32 LE) · header JSON · sections
//
// The header gives the file's length and each section's offset, length and CRC-32: one section of
// documents (the manifests indexed: key, ETag, spec, build, in document-id order) and SHARDS sections of
// postings, a package landing in the shard of its name's hash and in its source package's. A posting is
// one distinct (name, version, architecture, source) with the documents holding it as runs of ids
// ([first, count, …], the first delta-coded): builds of a spec are neighbours and share most versions,
// so 28 million (manifest, package) pairs take a few MB. A query reads the header, the documents and one
// shard, and checks each one's CRC: anything that does not check is a torn or foreign file, rebuilt from
// the manifests rather than trusted. Updates write the whole file aside and rename it over (last rename
// wins; either writer's file is complete).
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readSync,
  renameSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { crc32 } from "node:zlib";
import type { InstalledPackage, PackageManifest } from "../api/package-manifest.ts";

export const SHARDS = 256;
const MAGIC = "LVNPIDX1";
const FORMAT = 1;
/** What lookup and load say when there is no index file yet (nothing torn: it is simply built). */
export const NO_INDEX = "there is none yet";

/** A manifest in the index: the object it was read from (key and ETag); the listing says whose it is. */
export interface IndexedDoc {
  key: string;
  etag: string;
}

/**
 * The document list as stored: keys and ETags by id, and the ids in key order, so that a listing (which
 * comes in key order) is matched against it in one merge, without a table of 40,000 keys.
 */
export interface DocTable {
  keys: string[];
  etags: string[];
  order: number[];
}

const byKey = (keys: readonly string[]) => (a: number, b: number) =>
  keys[a]! < keys[b]! ? -1 : keys[a]! > keys[b]! ? 1 : a - b;

/** One distinct package and the documents (ids into the index's documents) that hold it. */
export interface Posting {
  package: InstalledPackage;
  docs: number[];
}

interface Section {
  offset: number;
  length: number;
  crc: number;
}

interface Header {
  format: number;
  fileLength: number;
  docs: Section;
  shards: Section[];
}

/** FNV-1a of the name: which shard a package (or source package) name's postings are in. */
export function shardOf(name: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < name.length; i++) hash = Math.imul(hash ^ name.charCodeAt(i), 0x01000193);
  return (hash >>> 0) % SHARDS;
}

const tupleKey = (p: InstalledPackage) => `${p.name}\t${p.version}\t${p.architecture}\t${p.source}`;

/** The index in memory, as an update builds it: documents in id order, and each package's runs of ids. */
export class PackageIndexModel {
  readonly docs: IndexedDoc[] = [];
  /** tuple key → flat runs [first, count, first, count…], ascending. */
  private readonly runs = new Map<string, { package: InstalledPackage; runs: number[] }>();

  /** Adds a manifest as the next document; returns its id. */
  add(doc: IndexedDoc, manifest: Pick<PackageManifest, "packages">): number {
    const id = this.docs.length;
    this.docs.push(doc);
    for (const p of manifest.packages) this.addPosting(p, id);
    return id;
  }

  private addPosting(p: InstalledPackage, id: number): void {
    const key = tupleKey(p);
    let entry = this.runs.get(key);
    if (!entry) {
      entry = {
        package: { name: p.name, version: p.version, architecture: p.architecture, source: p.source },
        runs: [],
      };
      this.runs.set(key, entry);
    }
    const r = entry.runs;
    const n = r.length;
    if (n > 0 && r[n - 2]! + r[n - 1]! === id) r[n - 1]! += 1;
    else if (n === 0 || r[n - 2]! + r[n - 1]! < id) r.push(id, 1);
    // The same package twice in one manifest (it cannot be, but a hand-made one might): counted once.
  }

  /**
   * A model of only the documents `keep` says to keep, ids renumbered in the same order (itself when it keeps
   * all). The kept documents of a run get consecutive new ids, so each run maps to one run, or none.
   */
  retain(keep: (doc: IndexedDoc) => boolean): PackageIndexModel {
    // before[id]: how many documents before id are kept; the new id of a kept document.
    const before = new Int32Array(this.docs.length + 1);
    const next = new PackageIndexModel();
    for (const [id, doc] of this.docs.entries()) {
      before[id + 1] = before[id]! + (keep(doc) ? 1 : 0);
      if (before[id + 1] !== before[id]) next.docs.push(doc);
    }
    if (next.docs.length === this.docs.length) return this;
    for (const [key, entry] of this.runs) {
      const runs: number[] = [];
      for (let i = 0; i < entry.runs.length; i += 2) {
        const first = before[entry.runs[i]!]!;
        const count = before[entry.runs[i]! + entry.runs[i + 1]!]! - first;
        if (count === 0) continue;
        const n = runs.length;
        if (n > 0 && runs[n - 2]! + runs[n - 1]! === first) runs[n - 1]! += count;
        else runs.push(first, count);
      }
      if (runs.length > 0) next.runs.set(key, { package: entry.package, runs });
    }
    return next;
  }

  /** The postings of packages named `name` or built from the source package `name`. */
  lookup(name: string): Posting[] {
    const found: Posting[] = [];
    for (const entry of this.runs.values())
      if (entry.package.name === name || entry.package.source === name)
        found.push({ package: entry.package, docs: expand(entry.runs) });
    return found;
  }

  docTable(): DocTable {
    const keys = this.docs.map((d) => d.key);
    return {
      keys,
      etags: this.docs.map((d) => d.etag),
      order: Array.from(keys, (_, id) => id).sort(byKey(keys)),
    };
  }

  /** The file's bytes. */
  encode(): Buffer {
    const shards: string[][] = Array.from({ length: SHARDS }, () => []);
    for (const entry of this.runs.values()) {
      const p = entry.package;
      const line = JSON.stringify([p.name, p.version, p.architecture, p.source, deltaRuns(entry.runs)]);
      const a = shardOf(p.name);
      shards[a]!.push(line);
      if (p.source !== p.name) {
        const b = shardOf(p.source);
        if (b !== a) shards[b]!.push(line);
      }
    }
    const bodies = [
      Buffer.from(JSON.stringify(this.docTable()), "utf8"),
      ...shards.map((lines) => Buffer.from(`[${lines.join(",")}]`, "utf8")),
    ];
    const sections: Section[] = [];
    // The header's length depends on the offsets it holds: lay out again until its length settles.
    let headerBytes = Buffer.alloc(0);
    for (;;) {
      let offset = 16 + headerBytes.length;
      sections.length = 0;
      for (const body of bodies) {
        sections.push({ offset, length: body.length, crc: crc32(body) });
        offset += body.length;
      }
      const header: Header = {
        format: FORMAT,
        fileLength: offset,
        docs: sections[0]!,
        shards: sections.slice(1),
      };
      const next = Buffer.from(JSON.stringify(header), "utf8");
      const settled = next.length === headerBytes.length;
      headerBytes = next;
      if (settled) break;
    }
    const prefix = Buffer.alloc(16);
    prefix.write(MAGIC, 0, "latin1");
    prefix.writeUInt32LE(headerBytes.length, 8);
    prefix.writeUInt32LE(crc32(headerBytes), 12);
    return Buffer.concat([prefix, headerBytes, ...bodies]);
  }

  /** A model from the file's bytes (every section checked), or why it cannot be trusted. */
  static decode(file: Buffer): PackageIndexModel | string {
    const reader = new IndexReader({ bytes: file });
    const header = reader.header();
    if (typeof header === "string") return header;
    const docs = reader.docs(header);
    if (typeof docs === "string") return docs;
    const model = new PackageIndexModel();
    for (const [id, key] of docs.keys.entries()) model.docs.push({ key, etag: docs.etags[id]! });
    for (let s = 0; s < SHARDS; s++) {
      const postings = reader.shard(header, s);
      if (typeof postings === "string") return postings;
      for (const [name, version, architecture, source, runs] of postings) {
        const p = { name, version, architecture, source };
        const key = tupleKey(p);
        if (!model.runs.has(key)) model.runs.set(key, { package: p, runs: undeltaRuns(runs) });
      }
    }
    return model;
  }
}

type RawPosting = [string, string, string, string, number[]];

function deltaRuns(runs: readonly number[]): number[] {
  const out: number[] = [];
  let end = 0;
  for (let i = 0; i < runs.length; i += 2) {
    out.push(runs[i]! - end, runs[i + 1]!);
    end = runs[i]! + runs[i + 1]!;
  }
  return out;
}

function undeltaRuns(delta: readonly number[]): number[] {
  const out: number[] = [];
  let end = 0;
  for (let i = 0; i < delta.length; i += 2) {
    const first = end + delta[i]!;
    out.push(first, delta[i + 1]!);
    end = first + delta[i + 1]!;
  }
  return out;
}

function expand(runs: readonly number[]): number[] {
  const ids: number[] = [];
  for (let i = 0; i < runs.length; i += 2) for (let n = 0; n < runs[i + 1]!; n++) ids.push(runs[i]! + n);
  return ids;
}

/** Reads sections of an index file (from an open file descriptor, or bytes in memory), each checked. */
class IndexReader {
  private readonly source: { fd: number; size: number } | { bytes: Buffer };
  constructor(source: { fd: number; size: number } | { bytes: Buffer }) {
    this.source = source;
  }

  private size(): number {
    return "bytes" in this.source ? this.source.bytes.length : this.source.size;
  }

  private read(offset: number, length: number): Buffer | undefined {
    if (offset < 0 || length < 0 || offset + length > this.size()) return undefined;
    if ("bytes" in this.source) return this.source.bytes.subarray(offset, offset + length);
    const buffer = Buffer.allocUnsafe(length);
    let done = 0;
    while (done < length) {
      const n = readSync(this.source.fd, buffer, done, length - done, offset + done);
      if (n === 0) return undefined;
      done += n;
    }
    return buffer;
  }

  private section(section: Section, what: string): Buffer | string {
    const bytes = this.read(section.offset, section.length);
    if (!bytes) return `its ${what} ends past the end of the file`;
    if (crc32(bytes) !== section.crc) return `its ${what} does not match its checksum`;
    return bytes;
  }

  header(): Header | string {
    const prefix = this.read(0, 16);
    if (!prefix || prefix.toString("latin1", 0, 8) !== MAGIC) return "it is not a Leaven package index";
    const bytes = this.read(16, prefix.readUInt32LE(8));
    if (!bytes || crc32(bytes) !== prefix.readUInt32LE(12)) return "its header is cut off or changed";
    const header = JSON.parse(bytes.toString("utf8")) as Header;
    if (header.format !== FORMAT) return `it is format ${header.format}, not ${FORMAT}`;
    if (header.fileLength !== this.size() || header.shards?.length !== SHARDS)
      return `it is ${this.size()} bytes long, not the ${header.fileLength} its header says`;
    return header;
  }

  docs(header: Header): DocTable | string {
    const bytes = this.section(header.docs, "document list");
    if (typeof bytes === "string") return bytes;
    const table = JSON.parse(bytes.toString("utf8")) as DocTable;
    const n = Array.isArray(table.keys) ? table.keys.length : -1;
    if (n < 0 || table.etags?.length !== n || table.order?.length !== n)
      return "its document list is not one Leaven writes";
    return table;
  }

  shard(header: Header, shard: number): RawPosting[] | string {
    const bytes = this.section(header.shards[shard]!, `shard ${shard}`);
    if (typeof bytes === "string") return bytes;
    return JSON.parse(bytes.toString("utf8")) as RawPosting[];
  }
}

/** What one package lookup read from the file: the documents indexed and the postings of the name. */
export interface IndexLookup {
  docs: DocTable;
  postings: Posting[];
}

/**
 * The package index file at `file`: reads the documents and the one shard a name needs, and writes a model
 * whole (aside, then renamed over).
 */
export class PackageIndexFile {
  readonly file: string;
  constructor(file: string) {
    this.file = file;
  }

  /** The documents and the postings of `name`, or why the file cannot be trusted (or there is none). */
  lookup(name: string): IndexLookup | string {
    if (!existsSync(this.file)) return NO_INDEX;
    const fd = openSync(this.file, "r");
    try {
      const size = fsSize(fd);
      const reader = new IndexReader({ fd, size });
      const header = reader.header();
      if (typeof header === "string") return header;
      const docs = reader.docs(header);
      if (typeof docs === "string") return docs;
      const raw = reader.shard(header, shardOf(name));
      if (typeof raw === "string") return raw;
      const postings = raw
        .filter(([n, , , source]) => n === name || source === name)
        .map(([n, version, architecture, source, runs]) => ({
          package: { name: n, version, architecture, source },
          docs: expand(undeltaRuns(runs)),
        }));
      return { docs, postings };
    } catch (error) {
      return `it does not read: ${error instanceof Error ? error.message : String(error)}`;
    } finally {
      closeSync(fd);
    }
  }

  /** The keys of the manifests indexed, or undefined when the file is missing or does not check. */
  keys(): string[] | undefined {
    if (!existsSync(this.file)) return undefined;
    try {
      const fd = openSync(this.file, "r");
      try {
        const reader = new IndexReader({ fd, size: fsSize(fd) });
        const header = reader.header();
        const docs = typeof header === "string" ? header : reader.docs(header);
        return typeof docs === "string" ? undefined : docs.keys;
      } finally {
        closeSync(fd);
      }
    } catch {
      return undefined;
    }
  }

  /** The whole model, or why the file cannot be trusted. */
  load(): PackageIndexModel | string {
    if (!existsSync(this.file)) return NO_INDEX;
    try {
      const fd = openSync(this.file, "r");
      try {
        const size = fsSize(fd);
        const bytes = Buffer.allocUnsafe(size);
        let done = 0;
        while (done < size) {
          const n = readSync(fd, bytes, done, size - done, done);
          if (n === 0) break;
          done += n;
        }
        return PackageIndexModel.decode(bytes.subarray(0, done));
      } finally {
        closeSync(fd);
      }
    } catch (error) {
      return `it does not read: ${error instanceof Error ? error.message : String(error)}`;
    }
  }

  /** Writes the model aside and renames it over the file: a reader sees the old file or the new, whole. */
  save(model: PackageIndexModel): void {
    mkdirSync(path.dirname(this.file), { recursive: true });
    const aside = `${this.file}.${process.pid}.tmp`;
    writeFileSync(aside, model.encode());
    renameSync(aside, this.file);
  }
}

/** The size of the file opened, even if another writer has renamed a new one over the path since. */
function fsSize(fd: number): number {
  return fstatSync(fd).size;
}
