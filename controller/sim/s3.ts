// S3, path-style, under /s3 of the simulator's endpoint (`<endpoint>/s3/<bucket>/<key>`): the calls the
// package manifests use — CreateBucket, PutObject (with If-None-Match: * and x-amz-tagging), GetObject,
// GetObjectTagging and ListObjectsV2 — answered as S3 answers them (XML bodies, S3's error documents
// and status codes), so the unchanged @aws-sdk/client-s3 (forcePathStyle) talks to it. Buckets are one
// account's (accounts.ts), in one global namespace, and are saved with the world.
import { createHash } from "node:crypto";
import type { IncomingMessage, ServerResponse } from "node:http";
import { accountOfAccessKey } from "./accounts.ts";
import { accessKeyFromAuthorization, regionFromAuthorization } from "./query-protocol.ts";
import { deliverCommandOutputs } from "./run-command.ts";
import type { SimS3Bucket, World } from "./world.ts";
import { escapeXml } from "./xml.ts";

export const S3_PATH = "/s3";
const LIST_PAGE = 1000;

type SimObjects = SimS3Bucket["objects"];
type SimObject = SimObjects[string];

/**
 * Each bucket's keys in order, kept between listings (a listing of 80,000 keys would otherwise sort them
 * for every page of 1,000): dropped on every write through S3, and checked against the number of objects
 * when a listing starts, since parts of the simulator put objects in a bucket directly.
 */
const sortedKeys = new WeakMap<SimObjects, string[]>();

function keysInOrder(objects: SimObjects, starting: boolean): string[] {
  let keys = sortedKeys.get(objects);
  if (!keys || (starting && Object.keys(objects).length !== keys.length)) {
    keys = Object.keys(objects).sort();
    sortedKeys.set(objects, keys);
  }
  return keys;
}

/** The first index in the sorted `keys` whose key is past `bound` (or at it, with `inclusive`). */
function firstFrom(keys: readonly string[], bound: string, inclusive: boolean): number {
  let lo = 0;
  let hi = keys.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (keys[mid]! < bound || (!inclusive && keys[mid] === bound)) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The length of the bytes a base64 string holds, without decoding them. */
function base64Length(text: string): number {
  return (text.length * 3) / 4 - (text.endsWith("==") ? 2 : text.endsWith("=") ? 1 : 0);
}

/** Each object's <Contents> entry, kept while the object is (a write puts a new record at its key). */
const contentsOf = new WeakMap<SimObject, { key: string; xml: string }>();

function contentsXml(key: string, object: SimObject): string {
  const kept = contentsOf.get(object);
  // One record may sit at two keys (a seeded estate shares them): the entry is the key's.
  if (kept?.key === key) return kept.xml;
  const xml = `<Contents><Key>${escapeXml(key)}</Key><LastModified>${new Date(object.lastModified).toISOString()}</LastModified><ETag>&quot;${object.etag}&quot;</ETag><Size>${base64Length(object.body)}</Size><StorageClass>STANDARD</StorageClass></Contents>`;
  contentsOf.set(object, { key, xml });
  return xml;
}

/** Puts objects straight into a bucket (no HTTP), as many PutObjects would: for benchmarks' estates. */
export function seedS3Objects(bucket: SimS3Bucket, objects: Record<string, SimObject>): void {
  Object.assign(bucket.objects, objects);
  sortedKeys.delete(bucket.objects);
}

/** An object's ETag as S3 gives a single-part upload: the MD5 of its bytes. */
export function etagOf(body: Uint8Array): string {
  return createHash("md5").update(body).digest("hex");
}

export function isS3Request(req: IncomingMessage): boolean {
  const url = req.url ?? "";
  return url === S3_PATH || url.startsWith(`${S3_PATH}/`) || url.startsWith(`${S3_PATH}?`);
}

export interface S3ServiceOptions {
  world: World;
  consumerAccounts: boolean;
  now: () => number;
  count: (operation: string, mutating: boolean) => void;
  countError: (code: string) => void;
  save: () => void;
}

class S3Error extends Error {
  readonly status: number;
  readonly code: string;
  readonly resource: string | undefined;
  constructor(status: number, code: string, message: string, resource?: string) {
    super(message);
    this.status = status;
    this.code = code;
    this.resource = resource;
  }
}

function readRaw(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => resolve(Buffer.concat(chunks)));
    req.on("error", reject);
  });
}

const xml = (body: string) => `<?xml version="1.0" encoding="UTF-8"?>\n${body}`;
const NS = 'xmlns="http://s3.amazonaws.com/doc/2006-03-01/"';

export function createS3Service(options: S3ServiceOptions) {
  const { world } = options;
  const requestIdOf = (n: number) =>
    createHash("sha256").update(`s3:${n}`).digest("hex").slice(0, 16).toUpperCase();
  let served = 0;

  const bucketOf = (name: string, account: string): SimS3Bucket => {
    const bucket = world.s3Buckets.get(name);
    if (!bucket) throw new S3Error(404, "NoSuchBucket", "The specified bucket does not exist", name);
    if (bucket.account !== account) throw new S3Error(403, "AccessDenied", "Access Denied", name);
    return bucket;
  };

  const route = async (
    req: IncomingMessage,
  ): Promise<{ status: number; headers: Record<string, string>; body: Buffer | string }> => {
    // What the SSM agents have uploaded since (run-command.ts): commands' output ends up here lazily.
    if (deliverCommandOutputs(world, options.now())) options.save();
    const url = new URL(req.url ?? "/", "http://127.0.0.1");
    const [bucketName = "", ...keyParts] = url.pathname.slice(S3_PATH.length + 1).split("/");
    const bucket = decodeURIComponent(bucketName);
    const key = keyParts.map(decodeURIComponent).join("/");
    const account = accountOfAccessKey(
      accessKeyFromAuthorization(req.headers.authorization),
      options.consumerAccounts,
    );
    const method = req.method ?? "GET";
    const q = url.searchParams;
    if (bucket === "") throw new S3Error(400, "InvalidRequest", "name a bucket: /s3/BUCKET/KEY");
    if (method === "PUT" && key === "") {
      options.count("CreateBucket", true);
      const existing = world.s3Buckets.get(bucket);
      if (existing)
        throw existing.account === account
          ? new S3Error(
              409,
              "BucketAlreadyOwnedByYou",
              "Your previous request to create the named bucket succeeded and you already own it.",
              bucket,
            )
          : new S3Error(409, "BucketAlreadyExists", "The requested bucket name is not available.", bucket);
      if (!/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(bucket))
        throw new S3Error(400, "InvalidBucketName", "The specified bucket is not valid.", bucket);
      world.s3Buckets.set(bucket, {
        name: bucket,
        account,
        region: regionFromAuthorization(req.headers.authorization),
        createdAt: options.now(),
        objects: {},
      });
      options.save();
      return { status: 200, headers: { location: `/${bucket}` }, body: "" };
    }
    if (method === "GET" && key === "" && q.get("list-type") === "2") {
      options.count("ListObjectsV2", false);
      const found = bucketOf(bucket, account);
      const prefix = q.get("prefix") ?? "";
      const after = q.get("continuation-token")
        ? Buffer.from(q.get("continuation-token") ?? "", "base64url").toString("utf8")
        : (q.get("start-after") ?? "");
      const max = Math.min(Number(q.get("max-keys") ?? LIST_PAGE) || LIST_PAGE, LIST_PAGE);
      const keys = keysInOrder(found.objects, !q.get("continuation-token"));
      const page: string[] = [];
      // Keys under the prefix are contiguous in order: start at the first after both, stop past the last.
      let at = Math.max(firstFrom(keys, prefix, true), firstFrom(keys, after, false));
      while (at < keys.length && page.length <= max && keys[at]!.startsWith(prefix)) page.push(keys[at++]!);
      const truncated = page.length > max;
      if (truncated) page.length = max;
      const contents = page.map((k) => contentsXml(k, found.objects[k]!)).join("");
      const next = truncated ? Buffer.from(page.at(-1) ?? "", "utf8").toString("base64url") : undefined;
      return {
        status: 200,
        headers: { "content-type": "application/xml" },
        body: xml(
          `<ListBucketResult ${NS}><Name>${escapeXml(bucket)}</Name><Prefix>${escapeXml(prefix)}</Prefix><KeyCount>${page.length}</KeyCount><MaxKeys>${max}</MaxKeys><IsTruncated>${truncated}</IsTruncated>${contents}${q.get("continuation-token") ? `<ContinuationToken>${escapeXml(q.get("continuation-token") ?? "")}</ContinuationToken>` : ""}${next ? `<NextContinuationToken>${next}</NextContinuationToken>` : ""}</ListBucketResult>`,
        ),
      };
    }
    if (key === "")
      throw new S3Error(
        400,
        "NotImplemented",
        `the simulator does not serve ${method} on a bucket with ${url.search || "no query"}`,
      );
    if (method === "PUT" && !q.has("tagging")) {
      options.count("PutObject", true);
      const found = bucketOf(bucket, account);
      const body = await readRaw(req);
      if (req.headers["if-none-match"] === "*" && found.objects[key])
        throw new S3Error(
          412,
          "PreconditionFailed",
          "At least one of the pre-conditions you specified did not hold",
          key,
        );
      const tags = Object.fromEntries(new URLSearchParams(String(req.headers["x-amz-tagging"] ?? "")));
      const etag = etagOf(body);
      sortedKeys.delete(found.objects);
      found.objects[key] = {
        body: body.toString("base64"),
        contentType: String(req.headers["content-type"] ?? "binary/octet-stream"),
        ...(req.headers["content-encoding"]
          ? { contentEncoding: String(req.headers["content-encoding"]) }
          : {}),
        tags,
        lastModified: options.now(),
        etag,
      };
      options.save();
      return { status: 200, headers: { etag: `"${etag}"` }, body: "" };
    }
    if (method === "GET" && q.has("tagging")) {
      options.count("GetObjectTagging", false);
      const object = bucketOf(bucket, account).objects[key];
      if (!object) throw new S3Error(404, "NoSuchKey", "The specified key does not exist.", key);
      const set = Object.entries(object.tags)
        .map(([k, v]) => `<Tag><Key>${escapeXml(k)}</Key><Value>${escapeXml(v)}</Value></Tag>`)
        .join("");
      return {
        status: 200,
        headers: { "content-type": "application/xml" },
        body: xml(`<Tagging ${NS}><TagSet>${set}</TagSet></Tagging>`),
      };
    }
    if (method === "GET" || method === "HEAD") {
      options.count(method === "GET" ? "GetObject" : "HeadObject", false);
      const object = bucketOf(bucket, account).objects[key];
      if (!object) throw new S3Error(404, "NoSuchKey", "The specified key does not exist.", key);
      const body = Buffer.from(object.body, "base64");
      return {
        status: 200,
        headers: {
          "content-type": object.contentType,
          ...(object.contentEncoding ? { "content-encoding": object.contentEncoding } : {}),
          etag: `"${object.etag}"`,
          "last-modified": new Date(object.lastModified).toUTCString(),
          "x-amz-tagging-count": String(Object.keys(object.tags).length),
        },
        body: method === "HEAD" ? "" : body,
      };
    }
    throw new S3Error(
      400,
      "NotImplemented",
      `the simulator does not serve ${method} ${url.pathname}${url.search}`,
    );
  };

  return (req: IncomingMessage, res: ServerResponse): void => {
    served += 1;
    const requestId = requestIdOf(served);
    route(req)
      .catch((error: unknown) => {
        const e =
          error instanceof S3Error
            ? error
            : new S3Error(500, "InternalError", `We encountered an internal error: ${String(error)}`);
        options.countError(e.code);
        return {
          status: e.status,
          headers: { "content-type": "application/xml" },
          body:
            req.method === "HEAD"
              ? ""
              : xml(
                  `<Error><Code>${e.code}</Code><Message>${escapeXml(e.message)}</Message>${e.resource ? `<Resource>${escapeXml(e.resource)}</Resource>` : ""}<RequestId>${requestId}</RequestId></Error>`,
                ),
        };
      })
      .then(({ status, headers, body }) => {
        const bytes = typeof body === "string" ? Buffer.from(body, "utf8") : body;
        res.writeHead(status, {
          ...headers,
          "content-length": String(bytes.length),
          "x-amz-request-id": requestId,
        });
        res.end(req.method === "HEAD" ? undefined : bytes);
      });
  };
}
