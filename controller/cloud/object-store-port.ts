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
  /** Every object under the prefix, all pages. */
  listObjects(bucket: string, prefix: string): Promise<ListedObject[]>;
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
