// The S3 adapter (the real @aws-sdk/client-s3, path-style) against the simulator's S3 over HTTP: conditional
// writes that never replace an object, tags, reads, paginated listings, S3's errors, and persistence.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { createS3ObjectStore, type S3ObjectStore } from "../../controller/cloud/s3-adapter.ts";
import { S3_PATH, seedS3Objects } from "../../controller/sim/s3.ts";
import { type Simulator, startSimulator } from "../../controller/sim/server.ts";

const credentials = { accessKeyId: "AKIDSIMULATOR", secretAccessKey: "simulator" };
const open: { sim: Simulator; store: S3ObjectStore }[] = [];
const dirs: string[] = [];
afterEach(async () => {
  for (const { sim, store } of open.splice(0)) {
    store.close();
    await sim.close();
  }
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

async function start(statePath?: string, accessKeyId = credentials.accessKeyId) {
  const sim = await startSimulator({
    ...(statePath ? { statePath } : {}),
    awkward: { consumerAccount: true },
  });
  const store = createS3ObjectStore({
    region: "us-east-1",
    endpoint: `${sim.endpoint}${S3_PATH}`,
    credentials: { ...credentials, accessKeyId },
  });
  open.push({ sim, store });
  return { sim, store };
}

const put = (
  store: S3ObjectStore,
  key: string,
  body = "hello",
  tags = { "leaven.dev/managed-by": "leaven" },
) =>
  store.putObjectIfAbsent({
    bucket: "acme-manifests",
    key,
    body: Buffer.from(body),
    contentType: "application/json",
    contentEncoding: "gzip",
    tags,
  });

describe("the S3 adapter on the simulator's S3", () => {
  it("writes once, never replaces, and reads back the bytes and tags", async () => {
    const { store } = await start();
    await store.createBucketIfMissing("acme-manifests");
    await store.createBucketIfMissing("acme-manifests");
    expect(await put(store, "m/base/1.0.0+aaaaaaaa.json.gz", "first")).toBe("created");
    expect(await put(store, "m/base/1.0.0+aaaaaaaa.json.gz", "second")).toBe("exists");
    const body = await store.getObject("acme-manifests", "m/base/1.0.0+aaaaaaaa.json.gz");
    expect(Buffer.from(body ?? []).toString()).toBe("first");
    expect(await store.getObjectTags("acme-manifests", "m/base/1.0.0+aaaaaaaa.json.gz")).toEqual({
      "leaven.dev/managed-by": "leaven",
    });
    expect(await store.getObject("acme-manifests", "m/none")).toBeUndefined();
    expect(await store.getObjectTags("acme-manifests", "m/none")).toBeUndefined();
  });

  it("lists every page under a prefix", async () => {
    const { store, sim } = await start();
    await store.createBucketIfMissing("acme-manifests");
    const keys = Array.from({ length: 1203 }, (_, n) => `m/app/${String(n).padStart(5, "0")}.json.gz`);
    // Seeded beside the wire: 1,203 PutObjects would be slow; the listing is what is tested.
    const bucket = sim.world.s3Buckets.get("acme-manifests")!;
    for (const key of keys)
      bucket.objects[key] = {
        body: "",
        contentType: "x",
        tags: {},
        lastModified: 0,
        etag: "d41d8cd98f00b204e9800998ecf8427e",
      };
    await put(store, "other/x.json.gz");
    const listed = await store.listObjects("acme-manifests", "m/");
    expect(listed.map((o) => o.key)).toEqual(keys);
    expect(store.stats().ListObjectsV2).toBe(2);
  });

  it("reads listing pages with its own scanner as the SDK reads them, and stops a range at its end", async () => {
    const { store, sim } = await start();
    const sdk = createS3ObjectStore({
      region: "us-east-1",
      endpoint: `${sim.endpoint}${S3_PATH}`,
      credentials,
      fastListObjects: false,
    });
    try {
      await store.createBucketIfMissing("acme-manifests");
      for (const key of ["m/odd/a&b <c> \"q\" 'x'.json.gz", "m/odd/ünï+cödé.json.gz", "m/odd/&amp;.json.gz"])
        await put(store, key);
      seedS3Objects(
        sim.world.s3Buckets.get("acme-manifests")!,
        Object.fromEntries(
          Array.from({ length: 1500 }, (_, n) => [
            `m/app/${String(n).padStart(5, "0")}.json.gz`,
            {
              body: "aGVsbG8=",
              contentType: "x",
              tags: {},
              lastModified: 1_700_000_000_000 + n,
              etag: `e${n}`,
            },
          ]),
        ),
      );
      for (const [prefix, range] of [
        ["m/", undefined],
        ["m/odd/", undefined],
        ["none/", undefined],
        ["m/", { startAfter: "m/app/00499.json.gz", before: "m/app/01200.json.gz" }],
      ] as const) {
        const fast = await store.listObjects("acme-manifests", prefix, range);
        expect(fast).toEqual(await sdk.listObjects("acme-manifests", prefix, range));
      }
      // Put into the bucket beside S3 (as parts of the simulator do): the next listing has it.
      const bucket = sim.world.s3Buckets.get("acme-manifests")!;
      bucket.objects["m/odd/zz.json.gz"] = { ...bucket.objects["m/app/00000.json.gz"]! };
      expect((await store.listObjects("acme-manifests", "m/odd/")).map((o) => o.key)).toContain(
        "m/odd/zz.json.gz",
      );
      const before = store.stats().ListObjectsV2!;
      const part = await store.listObjects("acme-manifests", "m/", { before: "m/app/00900.json.gz" });
      expect({ keys: part.length, first: part[0], pages: store.stats().ListObjectsV2! - before }).toEqual({
        keys: 900,
        first: { key: "m/app/00000.json.gz", size: 5, lastModified: 1_700_000_000_000, etag: "e0" },
        pages: 1,
      });
    } finally {
      sdk.close();
    }
  });

  it("says what to do about a missing bucket, and another account's bucket is refused", async () => {
    const { store, sim } = await start();
    await expect(put(store, "k")).rejects.toThrow(/NoSuchBucket.*create the bucket, or name an existing one/);
    await store.createBucketIfMissing("acme-manifests");
    const consumer = createS3ObjectStore({
      region: "us-east-1",
      endpoint: `${sim.endpoint}${S3_PATH}`,
      credentials: { ...credentials, accessKeyId: "AKIDCONSUMER1" },
    });
    try {
      await expect(consumer.listObjects("acme-manifests", "")).rejects.toThrow(/AccessDenied/);
    } finally {
      consumer.close();
    }
  });

  it("keeps the objects across a restart of the simulator", async () => {
    const dir = mkdtempSync(path.join(tmpdir(), "leaven-s3-"));
    dirs.push(dir);
    const state = path.join(dir, "sim.json");
    const first = await start(state);
    await first.store.createBucketIfMissing("acme-manifests");
    await put(first.store, "m/a.json.gz", "kept");
    first.store.close();
    await first.sim.close();
    open.splice(0);
    const second = await start(state);
    expect(
      Buffer.from((await second.store.getObject("acme-manifests", "m/a.json.gz")) ?? []).toString(),
    ).toBe("kept");
  });
});
