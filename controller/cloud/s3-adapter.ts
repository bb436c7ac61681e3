// The ObjectStorePort on @aws-sdk/client-s3: the manifests bucket on AWS, or the simulator's S3 (path-style
// under /s3 of its endpoint; forcePathStyle, since the simulator has no per-bucket host names).
import {
  CreateBucketCommand,
  GetObjectCommand,
  GetObjectTaggingCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  type S3ClientConfig,
  S3ServiceException,
} from "@aws-sdk/client-s3";
import { withFastListObjects } from "./fast-list-objects.ts";
import {
  type ListedObject,
  ObjectStoreError,
  type ObjectStorePort,
  type ObjectTags,
} from "./object-store-port.ts";

export interface S3StoreOptions {
  region: string;
  /** An S3 endpoint override: the simulator's `<endpoint>/s3`, a VPC endpoint. */
  endpoint?: string;
  profile?: string;
  credentials?: S3ClientConfig["credentials"];
  /** Default true: ListObjectsV2 pages read by Leaven's scanner (fast-list-objects.ts); false: by the SDK. */
  fastListObjects?: boolean;
}

export interface S3ObjectStore extends ObjectStorePort {
  /** Creates the bucket when it is missing: the simulator only; on AWS the platform team owns it. */
  createBucketIfMissing(bucket: string): Promise<void>;
}

const isMissing = (error: unknown) =>
  error instanceof S3ServiceException &&
  (error.name === "NoSuchKey" || error.name === "NotFound" || error.$metadata.httpStatusCode === 404) &&
  error.name !== "NoSuchBucket";

/** S3's error, with what the call was and what to do about the usual causes. */
function explain(error: unknown, what: string): Error {
  if (!(error instanceof S3ServiceException))
    return error instanceof Error ? error : new Error(String(error));
  const hint =
    error.name === "NoSuchBucket"
      ? "; create the bucket, or name an existing one in leaven.yaml's manifests.bucket"
      : error.name === "AccessDenied" || error.$metadata.httpStatusCode === 403
        ? "; grant the controller's role the S3 permissions in docs/package-manifests.md"
        : "";
  return new ObjectStoreError(error.name, `${what}: ${error.name}: ${error.message}${hint}`);
}

export function createS3ObjectStore(options: S3StoreOptions): S3ObjectStore {
  const config: S3ClientConfig = {
    region: options.region,
    forcePathStyle: options.endpoint !== undefined,
    // No flexible checksums unless S3 requires them: a plain body, which any S3-compatible endpoint takes.
    requestChecksumCalculation: "WHEN_REQUIRED",
    responseChecksumValidation: "WHEN_REQUIRED",
    ...(options.endpoint ? { endpoint: options.endpoint } : {}),
  };
  if (options.credentials) config.credentials = options.credentials;
  else if (options.profile) config.profile = options.profile;
  const client = new S3Client(config);
  if (options.fastListObjects !== false) withFastListObjects(client);
  const counts: Record<string, number> = {};
  const count = (operation: string) => {
    counts[operation] = (counts[operation] ?? 0) + 1;
  };
  return {
    async putObjectIfAbsent(input) {
      count("PutObject");
      try {
        await client.send(
          new PutObjectCommand({
            Bucket: input.bucket,
            Key: input.key,
            Body: input.body,
            ContentType: input.contentType,
            ...(input.contentEncoding ? { ContentEncoding: input.contentEncoding } : {}),
            Tagging: new URLSearchParams(input.tags).toString(),
            IfNoneMatch: "*",
          }),
        );
        return "created";
      } catch (error) {
        // 412: an object is there; 409: a concurrent conditional write of the same key is in progress.
        const status = error instanceof S3ServiceException ? error.$metadata.httpStatusCode : undefined;
        if (status === 412 || status === 409) return "exists";
        throw explain(error, `PutObject s3://${input.bucket}/${input.key}`);
      }
    },
    async getObject(bucket, key) {
      count("GetObject");
      try {
        const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
        return out.Body ? await out.Body.transformToByteArray() : new Uint8Array();
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw explain(error, `GetObject s3://${bucket}/${key}`);
      }
    },
    async getObjectTags(bucket, key) {
      count("GetObjectTagging");
      try {
        const out = await client.send(new GetObjectTaggingCommand({ Bucket: bucket, Key: key }));
        const tags: ObjectTags = {};
        for (const tag of out.TagSet ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? "";
        return tags;
      } catch (error) {
        if (isMissing(error)) return undefined;
        throw explain(error, `GetObjectTagging s3://${bucket}/${key}`);
      }
    },
    async listObjects(bucket, prefix, range) {
      const found: ListedObject[] = [];
      let token: string | undefined;
      let past = false;
      do {
        count("ListObjectsV2");
        try {
          const out = await client.send(
            new ListObjectsV2Command({
              Bucket: bucket,
              Prefix: prefix,
              ...(token ? { ContinuationToken: token } : {}),
              ...(!token && range?.startAfter ? { StartAfter: range.startAfter } : {}),
            }),
          );
          for (const object of out.Contents ?? []) {
            if (object.Key === undefined) continue;
            // Keys come in order: the first one at or past the range's end ends this part of the listing.
            if (range?.before !== undefined && object.Key >= range.before) {
              past = true;
              break;
            }
            found.push({
              key: object.Key,
              size: object.Size ?? 0,
              ...(object.LastModified ? { lastModified: object.LastModified.getTime() } : {}),
              ...(object.ETag ? { etag: object.ETag.replaceAll('"', "") } : {}),
            });
          }
          token = out.IsTruncated && !past ? out.NextContinuationToken : undefined;
        } catch (error) {
          throw explain(error, `ListObjectsV2 s3://${bucket}/${prefix}`);
        }
      } while (token);
      return found;
    },
    async createBucketIfMissing(bucket) {
      count("CreateBucket");
      try {
        await client.send(new CreateBucketCommand({ Bucket: bucket }));
      } catch (error) {
        if (error instanceof S3ServiceException && error.name === "BucketAlreadyOwnedByYou") return;
        throw explain(error, `CreateBucket ${bucket}`);
      }
    },
    stats: () => ({ ...counts }),
    close: () => client.destroy(),
  };
}
