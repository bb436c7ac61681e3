// The store-manifest step on its own: an object from an interrupted attempt (written, image not yet tagged)
// is taken as it is, not rewritten; a console without a manifest tags the image `none`; a foreign object
// fails the step and stays; without a bucket the step refuses.
import { describe, expect, it } from "vitest";
import { formatBakeMarker } from "../../controller/api/bake-protocol.ts";
import {
  decodeManifest,
  formatManifestBody,
  manifestConsoleLines,
} from "../../controller/api/package-manifest.ts";
import { Tag } from "../../controller/api/tags.ts";
import type { ObjectStorePort, PutObjectInput } from "../../controller/cloud/object-store-port.ts";
import type { CloudPort } from "../../controller/cloud/port.ts";
import { storeManifest } from "../../controller/execute/store-manifest.ts";
import type { StoreManifestAction } from "../../controller/plan/actions.ts";

const BUILD = "2.4.0+9fe1e1fa";
const action: StoreManifestAction = {
  kind: "store-manifest",
  spec: "ubuntu-base",
  build: BUILD,
  region: "us-east-1",
  imageId: "ami-home",
  instanceId: "i-bake",
  parent: { spec: "ubuntu-jammy", build: "ubuntu/images/…-20261130" },
  reason: "test",
};
const body = formatManifestBody({
  packageManager: "dpkg",
  kernel: "6.8.0-1015-aws",
  packages: [{ name: "jq", version: "1.6-2.1", architecture: "amd64", source: "jq" }],
});

function fakes(
  console: string,
  existing: Record<string, { body: string; tags: Record<string, string> }> = {},
) {
  const objects = new Map(
    Object.entries(existing).map(([k, v]) => [k, { body: Buffer.from(v.body), tags: v.tags }]),
  );
  const puts: string[] = [];
  const imageTags: Record<string, string>[] = [];
  const store: ObjectStorePort = {
    async putObjectIfAbsent(input: PutObjectInput) {
      puts.push(input.key);
      if (objects.has(input.key)) return "exists";
      objects.set(input.key, { body: Buffer.from(input.body), tags: input.tags });
      return "created";
    },
    getObject: async (_b, key) => objects.get(key)?.body,
    getObjectTags: async (_b, key) => objects.get(key)?.tags,
    listObjects: async () => [],
    stats: () => ({}),
    close: () => {},
  };
  // Only the two calls the step makes.
  const cloud = {
    getConsoleOutput: async () => console,
    createTags: async (_region: string, _ids: string[], tags: Record<string, string>) => {
      imageTags.push(tags);
    },
  } as unknown as CloudPort;
  return { store, cloud, objects, puts, imageTags };
}

const withManifest = [
  ...manifestConsoleLines(BUILD, body),
  formatBakeMarker({ build: BUILD, result: "success" }),
].join("\r\n");
const ours = { [Tag.managedBy]: "leaven", [Tag.installation]: "default" };
const key = `leaven/ubuntu-base/${BUILD}.json.gz`;

describe("storeManifest", () => {
  it("writes the manifest with its parent and the SBOM, then tags the image", async () => {
    const f = fakes(withManifest);
    const stored = await storeManifest(
      f.cloud,
      action,
      { store: f.store, bucket: "b", prefix: "leaven" },
      undefined,
    );
    expect(stored).toBe(`s3://b/${key}`);
    const manifest = decodeManifest(f.objects.get(key)!.body);
    expect(manifest.parent).toEqual(action.parent);
    expect(manifest.packages.map((p) => p.name)).toEqual(["jq"]);
    expect([...f.objects.keys()]).toEqual([key, key.replace(".json.gz", ".cdx.json")]);
    expect(f.imageTags).toEqual([{ [Tag.manifest]: "stored" }]);
  });

  it("takes an interrupted attempt's object as it is", async () => {
    const f = fakes(withManifest, { [key]: { body: "earlier", tags: ours } });
    await storeManifest(f.cloud, action, { store: f.store, bucket: "b", prefix: "leaven" }, undefined);
    expect(f.objects.get(key)!.body.toString()).toBe("earlier");
    expect(f.imageTags).toEqual([{ [Tag.manifest]: "stored" }]);
  });

  it.each([
    ["no tags", {}],
    ["another installation's", { ...ours, [Tag.installation]: "payments" }],
  ])("refuses a foreign object (%s) and leaves it", async (_label, tags) => {
    const f = fakes(withManifest, { [key]: { body: "theirs", tags } });
    await expect(
      storeManifest(f.cloud, action, { store: f.store, bucket: "b", prefix: "leaven" }, undefined),
    ).rejects.toThrow(`s3://b/${key} exists and is not this installation's`);
    expect(f.objects.get(key)!.body.toString()).toBe("theirs");
    expect(f.imageTags).toEqual([]);
  });

  it("tags the image none when the console holds no manifest", async () => {
    const f = fakes(formatBakeMarker({ build: BUILD, result: "success" }));
    await storeManifest(f.cloud, action, { store: f.store, bucket: "b" }, undefined);
    expect(f.puts).toEqual([]);
    expect(f.imageTags).toEqual([{ [Tag.manifest]: "none" }]);
  });

  it("refuses without a bucket, saying what to add", async () => {
    const f = fakes(withManifest);
    await expect(storeManifest(f.cloud, action, undefined, undefined)).rejects.toThrow(
      "needs leaven.yaml's manifests: { bucket }",
    );
  });
});
