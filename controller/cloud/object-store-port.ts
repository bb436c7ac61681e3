// The narrow port to an object store (S3) that holds the builds' package manifests. Only the calls
// Leaven makes: a write that never replaces an object, reads, tags and a paginated listing.
export type ObjectTags = Record<string, string>;

export interface PutObjectInput {
  bucket: string;
  key: string;
  body: Uint8Array;
  contentType: string;
  contentEncoding?: string;
  tags: ObjectTags;
}

export interface ListedObject {
  key: string;
  size: number;
  lastModified?: number;
  /** The content's hash as S3 gives it: an object never rewritten keeps it, so a local copy keyed by it holds. */
  etag?: string;
}

/** Keys strictly after `startAfter` and strictly before `before` (either end open when absent). */
export interface KeyRange {
  startAfter?: string;
  before?: string;
}

export interface ObjectStorePort {
  /**
   * Writes the object unless one exists at the key (S3's conditional write, If-None-Match: *): "exists"
   * when there was one, which is left as it is, whoever wrote it.
   */
  putObjectIfAbsent(input: PutObjectInput): Promise<"created" | "exists">;
  /** The object's bytes, or undefined when there is none. */
  getObject(bucket: string, key: string): Promise<Uint8Array | undefined>;
  /** The object's tags, or undefined when there is none. */
  getObjectTags(bucket: string, key: string): Promise<ObjectTags | undefined>;
  /**
   * Every object under the prefix, all pages; with a range, those after `startAfter` (S3's StartAfter) and
   * before `before`, so that parts of one listing can be read side by side. A store may return more than
   * the range (the caller keeps what is in it), never less.
   */
  listObjects(bucket: string, prefix: string, range?: KeyRange): Promise<ListedObject[]>;
  /** Requests made, by S3 operation (for the benchmark's request count). */
  stats(): Record<string, number>;
  close(): void;
}

/** An error an object store call ended with, with S3's code (NoSuchBucket, AccessDenied…). */
export class ObjectStoreError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = "ObjectStoreError";
    this.code = code;
  }
}
