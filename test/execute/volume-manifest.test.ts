// The volume bake's manifest in the executor: the bake command gets SSM's output location in the manifests
// bucket (AWS's layout under bakeOutputPrefix), and store-manifest reads the manifest from the command's
// stdout object there — past GetCommandInvocation's 24,000 characters — and stores it as an instance bake's.
import { describe, expect, it } from "vitest";
import { formatBakeMarker } from "../../controller/api/bake-protocol.ts";
import {
  decodeManifest,
  formatManifestBody,
  manifestConsoleLines,
} from "../../controller/api/package-manifest.ts";
import { Tag } from "../../controller/api/tags.ts";
import type {
  ListedObject,
  ObjectStorePort,
  PutObjectInput,
} from "../../controller/cloud/object-store-port.ts";
import type { CloudPort } from "../../controller/cloud/port.ts";
import { withBakeOutput } from "../../controller/execute/executor.ts";
import { storeManifest } from "../../controller/execute/store-manifest.ts";
import type { SendBakeCommandAction, StoreManifestAction } from "../../controller/plan/actions.ts";

const BUILD = "2.4.0+9fe1e1fa";
const V = "vol-0123456789abcdef0";
const OUT = `leaven/_bake-output/ubuntu-base/${BUILD}/${V}`;
const stdoutKey = (command: string) =>
  `${OUT}/${command}/i-0host/awsrunShellScript/0.awsrunShellScript/stdout`;
const action: StoreManifestAction = {
  kind: "store-manifest",
  spec: "ubuntu-base",
  build: BUILD,
  region: "us-east-1",
  imageId: "ami-home",
  volumeId: V,
  parent: { spec: "ubuntu-jammy", build: "ubuntu/images/…-20261130" },
  reason: "test",
};

/** A manifest of `n` packages, as the chroot script prints it after its marker. */
function bakeStdout(n: number, noise = 0): string {
  const body = formatManifestBody({
    packageManager: "dpkg",
    kernel: "6.8.0-1015-aws",
    packages: Array.from({ length: n }, (_, i) => ({
      name: `pkg-${String(i).padStart(4, "0")}`,
      version: `1.${i % 13}.${i % 7}-${i % 5}ubuntu${i % 3}`,
      architecture: "amd64",
      source: `src-${Math.floor(i / 3)}`,
    })),
  });
  return [
    ...Array.from({ length: noise }, (_, i) => `Setting up pkg-${i} (1.0-1) ...`),
    formatBakeMarker({ build: BUILD, result: "success" }),
    ...manifestConsoleLines(BUILD, body),
    "",
  ].join("\n");
}

function fakes(outputs: Record<string, { text: string; at: number }>) {
  const objects = new Map<string, { body: Buffer; tags: Record<string, string> }>(
    Object.entries(outputs).map(([k, v]) => [k, { body: Buffer.from(v.text), tags: {} }]),
  );
  const listed: ListedObject[] = Object.entries(outputs).map(([key, v]) => ({
    key,
    size: v.text.length,
    lastModified: v.at,
  }));
  const imageTags: Record<string, string>[] = [];
  const prefixes: string[] = [];
  const store: ObjectStorePort = {
    async putObjectIfAbsent(input: PutObjectInput) {
      if (objects.has(input.key)) return "exists";
      objects.set(input.key, { body: Buffer.from(input.body), tags: input.tags });
      return "created";
    },
    getObject: async (_b, key) => objects.get(key)?.body,
    getObjectTags: async (_b, key) => objects.get(key)?.tags,
    listObjects: async (_b, prefix) => {
      prefixes.push(prefix);
      return listed.filter((o) => o.key.startsWith(prefix));
    },
    stats: () => ({}),
    close: () => {},
  };
  // The console is never read for a volume bake: a call would throw.
  const cloud = {
    createTags: async (_region: string, _ids: string[], tags: Record<string, string>) => {
      imageTags.push(tags);
    },
  } as unknown as CloudPort;
  return { store, cloud, objects, imageTags, prefixes };
}

const target = (store: ObjectStorePort) => ({ store, bucket: "b", prefix: "leaven" });
const key = `leaven/ubuntu-base/${BUILD}.json.gz`;

describe("the volume bake's manifest in the executor", () => {
  it("sends the bake command with its output to the manifests bucket only when asked and configured", () => {
    const send: SendBakeCommandAction = {
      kind: "send-bake-command",
      spec: "ubuntu-base",
      build: BUILD,
      region: "us-east-1",
      volumeId: V,
      instanceId: "i-0host",
      command: { instanceIds: ["i-0host"], commands: ["true"], comment: `leaven-bake ${BUILD} ${V}` },
      outputToManifests: true,
      reason: "test",
    };
    expect(withBakeOutput(send, target(fakes({}).store)).command.outputS3).toEqual({
      bucket: "b",
      keyPrefix: OUT,
    });
    expect(withBakeOutput(send, undefined)).toBe(send);
    const { outputToManifests: _asked, ...unasked } = send;
    expect(withBakeOutput(unasked, target(fakes({}).store))).toBe(unasked);
  });

  it("stores a 740-package manifest from the stdout object, past the 24,000 characters SSM's API keeps", async () => {
    const text = bakeStdout(740, 600);
    expect(text.length).toBeGreaterThan(24_000);
    const f = fakes({
      [stdoutKey("cmd-1")]: { text, at: 2 },
      [`${OUT}/cmd-1/i-0host/awsrunShellScript/0.awsrunShellScript/stderr`]: { text: "noise", at: 2 },
    });
    expect(await storeManifest(f.cloud, action, target(f.store), undefined)).toBe(`s3://b/${key}`);
    expect(f.prefixes).toEqual([`${OUT}/`]);
    const manifest = decodeManifest(f.objects.get(key)!.body);
    expect(manifest.packages).toHaveLength(740);
    expect(manifest.parent).toEqual(action.parent);
    expect(f.objects.get(key)!.tags).toEqual({
      [Tag.managedBy]: "leaven",
      [Tag.installation]: "default",
      [Tag.spec]: "ubuntu-base",
      [Tag.build]: BUILD,
    });
    expect(f.objects.has(key.replace(".json.gz", ".cdx.json"))).toBe(true);
    expect(f.imageTags).toEqual([{ [Tag.manifest]: "stored" }]);
    // A kill -9 before the image was tagged: the repeat leaves the objects and tags the image.
    const before = f.objects.get(key)!.body;
    await storeManifest(f.cloud, action, target(f.store), undefined);
    expect(f.objects.get(key)!.body).toBe(before);
    expect(f.imageTags).toEqual([{ [Tag.manifest]: "stored" }, { [Tag.manifest]: "stored" }]);
  });

  it("takes the complete manifest when the command ran twice and one output is cut short", async () => {
    const whole = bakeStdout(30);
    const cut = whole.split("\n").slice(0, -3).join("\n");
    const f = fakes({
      [stdoutKey("cmd-1")]: { text: whole, at: 1 },
      [stdoutKey("cmd-2")]: { text: cut, at: 2 },
    });
    await storeManifest(f.cloud, action, target(f.store), undefined);
    expect(decodeManifest(f.objects.get(key)!.body).packages).toHaveLength(30);
  });

  it.each([
    ["no output object (the host could not write it)", {}],
    [
      "an output without a manifest",
      { [stdoutKey("cmd-1")]: { text: "LEAVEN-BAKE-RESULT build=x\n", at: 1 } },
    ],
  ])("tags the image none with %s", async (_label, outputs) => {
    const f = fakes(outputs);
    expect(await storeManifest(f.cloud, action, target(f.store), undefined)).toBeUndefined();
    expect(f.objects.has(key)).toBe(false);
    expect(f.imageTags).toEqual([{ [Tag.manifest]: "none" }]);
  });
});
