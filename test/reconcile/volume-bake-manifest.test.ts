// Package manifests of volume bakes on the simulator: the chroot bake's command writes its whole output to
// the manifests bucket (SSM's OutputS3BucketName, at AWS's key layout), the controller stores the manifest
// from it exactly as an instance bake's, and the build then shows in `leaven diff`, `leaven contains` and
// `leaven builds`; a controller killed right after RegisterImage stores it on the next pass, once; without a
// manifests bucket the command is sent as before.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { decodeManifest } from "../../controller/api/package-manifest.ts";
import { Tag } from "../../controller/api/tags.ts";
import type { ObjectStorePort } from "../../controller/cloud/object-store-port.ts";
import { CloudError, type CloudPort, type SendCommandInput } from "../../controller/cloud/port.ts";
import { createS3ObjectStore } from "../../controller/cloud/s3-adapter.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { type PassResult, Reconciler } from "../../controller/reconcile/reconciler.ts";
import { S3_PATH } from "../../controller/sim/s3.ts";
import type { SimS3Bucket } from "../../controller/sim/world.ts";
import { scratchEstate } from "../support/cli-process.ts";
import { run } from "../support/in-process-cli.ts";
import { type SimCloud, startSimCloud } from "../support/sim-cloud.ts";
import { baseSpec, ubuntuFoundation, validation } from "../support/sim-specs.ts";

const BUCKET = "acme-image-manifests";
const sim = ["--sim-state", "sim.json", "--sim-speed", "600"];
const STDOUT =
  /^leaven\/_bake-output\/api-server\/([^/]+)\/(vol-[0-9a-f]+)\/([^/]+)\/(i-[0-9a-f]+)\/awsrunShellScript\/0\.awsrunShellScript\/stdout$/;

function edit(dir: string, file: string, from: RegExp, to: string): void {
  const path = join(dir, "specs", file);
  const text = readFileSync(path, "utf8");
  if (!from.test(text)) throw new Error(`${file} does not match ${from}`);
  writeFileSync(path, text.replace(from, to));
}

interface SimState {
  s3Buckets?: SimS3Bucket[];
  regions: Record<string, { images: { imageId: string; tags: Record<string, string>; packages?: string }[] }>;
}
const state = (dir: string) => JSON.parse(readFileSync(join(dir, "sim.json"), "utf8")) as SimState;
const objects = (dir: string) => state(dir).s3Buckets?.find((b) => b.name === BUCKET)?.objects ?? {};
const homeImage = (dir: string, spec: string, build: string) =>
  state(dir).regions["us-east-1"]!.images.find(
    (i) => i.tags[Tag.spec] === spec && i.tags[Tag.build] === build && !i.tags[Tag.homeImage],
  );

async function apply(dir: string) {
  const result = await run(["apply", "specs", ...sim], dir);
  if (result.code !== 0) throw new Error(`apply failed:\n${result.stdout}\n${result.stderr}`);
}

describe("volume bakes store their package manifests", () => {
  let dir: string;
  let apiOld: string;
  let apiNew: string;
  let base: string;

  beforeAll(async () => {
    // The examples' volume-baked api-server on the instance-baked ubuntu-base, and nothing else.
    dir = scratchEstate();
    for (const file of [
      "apps/ledger.yaml",
      "apps/payments.yaml",
      "apps/web-and-worker.yaml",
      "bases/al2023-base.yaml",
    ])
      rmSync(join(dir, "specs", file));
    writeFileSync(
      join(dir, "specs/leaven.yaml"),
      `cloud: simulator\nmanifests: { bucket: ${BUCKET}, prefix: leaven }\n`,
    );
    await apply(dir);
    edit(dir, "apps/api-server.yaml", /^ {2}version: 1\.14\.2$/m, "  version: 1.14.3");
    edit(dir, "apps/api-server.yaml", /api-server=1\.14\.2/, "api-server=1.14.3, jq");
    await apply(dir);
    const stored = Object.keys(objects(dir));
    const builds = (spec: string) =>
      stored
        .filter((k) => k.startsWith(`leaven/${spec}/`) && k.endsWith(".json.gz"))
        .map((k) => k.slice(`leaven/${spec}/`.length, -".json.gz".length));
    [base] = builds("ubuntu-base") as [string];
    [apiOld, apiNew] = builds("api-server").sort((a, b) =>
      a.startsWith("1.14.2") ? -1 : b.startsWith("1.14.2") ? 1 : 0,
    ) as [string, string];
  }, 240_000);

  it("writes the command's whole output at AWS's layout, and the manifest and SBOM as an instance bake's", () => {
    const stored = objects(dir);
    const outputs = Object.keys(stored).filter((k) => STDOUT.test(k));
    expect(outputs.map((k) => STDOUT.exec(k)![1]).sort()).toEqual([apiOld, apiNew].sort());
    const stdout = Buffer.from(stored[outputs[0]!]!.body, "base64").toString("utf8");
    expect(stdout).toMatch(/LEAVEN-BAKE-RESULT build=\S+ result=success\nLEAVEN-MANIFEST-BEGIN /);
    const key = `leaven/api-server/${apiNew}.json.gz`;
    expect(stored[key]?.tags).toEqual({
      [Tag.managedBy]: "leaven",
      [Tag.installation]: "default",
      [Tag.spec]: "api-server",
      [Tag.build]: apiNew,
    });
    expect(stored[`leaven/api-server/${apiNew}.cdx.json`]).toBeDefined();
    const manifest = decodeManifest(Buffer.from(stored[key]!.body, "base64"));
    expect(manifest.parent).toEqual({ spec: "ubuntu-base", build: base });
    expect(manifest.packages.find((p) => p.name === "api-server")?.version).toBe("1.14.3");
    const image = homeImage(dir, "api-server", apiNew);
    expect(image?.tags[Tag.bakeMethod]).toBe("volume");
    expect(image?.tags[Tag.manifest]).toBe("stored");
    // The simulated image holds what the chroot bake installed: a child baked on it starts from there.
    expect(image?.packages).toContain("p\tapi-server\t1.14.3\t");
  });

  it("leaven diff, contains and builds show the volume-baked builds' packages", async () => {
    const diff = await run(["diff", "api-server", apiOld, apiNew, "specs", ...sim], dir);
    expect(diff.stderr).toBe("");
    expect(diff.stdout).toBe(
      [
        `api-server ${apiOld} → ${apiNew}`,
        "",
        "Packages of api-server (2 changes):",
        "  + jq 4.4.6-1 (amd64)",
        "  ~ api-server 1.14.2 → 1.14.3 (amd64)",
        "",
        "Parent chain:",
        "  the same parent build: no changes",
        "",
      ].join("\n"),
    );
    const contains = await run(["contains", "jq", "specs", ...sim], dir);
    expect(contains.code).toBe(0);
    expect(contains.stdout.split("\n").map((r) => r.replace(/ +/g, " "))).toEqual([
      "jq is in 1 build of 1 spec (3 manifests read):",
      "",
      "SPEC BUILD PACKAGE VERSION CHANNELS REGIONS",
      expect.stringMatching(/^-+ -+ -+ -+ -+ -+$/),
      `api-server ${apiNew} jq 4.4.6-1 candidate, release eu-west-1, us-east-1`,
      "",
    ]);
    const builds = await run(["builds", "api-server", "specs", ...sim], dir);
    expect(builds.code).toBe(0);
    const row = (build: string) =>
      builds.stdout
        .split("\n")
        .find((l) => l.startsWith(build))!
        .split(/ {2,}/);
    expect(builds.stdout.split("\n")[2]).toMatch(
      /^BUILD +CREATED \(UTC\) +REGIONS +CHANNELS +PACKAGES +CHANGES +PARENT$/,
    );
    expect(row(apiNew).slice(4, 6)).toEqual(["27", "2"]);
    expect(row(apiOld).slice(4, 6)).toEqual(["26", "-"]);
  });
});

const REGION = "us-east-1";
let t: SimCloud | undefined;
afterEach(async () => {
  await t?.close();
  t = undefined;
});

const estate = () =>
  validation(
    ubuntuFoundation([REGION]),
    baseSpec("base", { version: "1.0.0", regions: [REGION], bake: { method: "volume" } }),
  );

async function manifestStore(sim: SimCloud, wrap: (store: ObjectStorePort) => ObjectStorePort = (s) => s) {
  const store = createS3ObjectStore({
    region: REGION,
    endpoint: `${sim.sim.endpoint}${S3_PATH}`,
    credentials: { accessKeyId: "AKIDLEAVENSIM", secretAccessKey: "leaven-sim" },
  });
  await store.createBucketIfMissing(BUCKET);
  return { store, target: { store: wrap(store), bucket: BUCKET, prefix: "leaven" } };
}

/** Passes with a fresh controller each time (nothing remembered) until base is Ready and idle. */
async function converge(make: () => Reconciler): Promise<PassResult[]> {
  const passes: PassResult[] = [];
  for (let n = 0; n < 80; n++) {
    const pass = await make().pass(estate());
    passes.push(pass);
    const status = pass.statuses.find((s) => s.name === "base")!;
    if (status.phase === "Ready" && pass.executed.length === 0) return passes;
    t!.clock.advance(30_000);
  }
  throw new Error("did not converge");
}

describe("a volume bake's manifest across a kill -9, and without a bucket", () => {
  const kill = () => new CloudError("Killed", "kill -9", 400, false);

  it.each(["registerImage", "the manifest's PutObject"])(
    "a controller killed right after %s stores the manifest on a later pass, once",
    async (step) => {
      t = await startSimCloud();
      let killed = false;
      const sent: SendCommandInput[] = [];
      const cloud: CloudPort = {
        ...t.cloud,
        sendCommand: async (region, input) => {
          sent.push(input);
          return t!.cloud.sendCommand(region, input);
        },
        registerImage: async (region, input) => {
          const answer = await t!.cloud.registerImage(region, input);
          if (step === "registerImage" && !killed) {
            killed = true;
            throw kill();
          }
          return answer;
        },
      };
      const { store, target } = await manifestStore(t, (s) => ({
        ...s,
        putObjectIfAbsent: async (input) => {
          const answer = await s.putObjectIfAbsent(input);
          if (step !== "registerImage" && !killed && input.key.endsWith(".json.gz")) {
            killed = true;
            throw kill();
          }
          return answer;
        },
      }));
      const passes = await converge(
        () => new Reconciler({ cloud, clock: t!.clock, logger: silentLogger, manifests: target }),
      );
      expect(killed).toBe(true);
      const [image] = await t.adapter.describeImages(REGION, {
        owners: ["self"],
        filters: [{ name: `tag:${Tag.spec}`, values: ["base"] }],
      });
      const build = image!.tags[Tag.build]!;
      expect(image!.tags[Tag.manifest]).toBe("stored");
      expect(sent).toHaveLength(1);
      expect(sent[0]!.outputS3?.bucket).toBe(BUCKET);
      expect(sent[0]!.outputS3?.keyPrefix).toMatch(
        new RegExp(`^leaven/_bake-output/base/${build.replace("+", "\\+")}/vol-[0-9a-f]+$`),
      );
      expect((await store.listObjects(BUCKET, "leaven/base/")).map((o) => o.key)).toEqual([
        `leaven/base/${build}.cdx.json`,
        `leaven/base/${build}.json.gz`,
      ]);
      const manifest = decodeManifest((await store.getObject(BUCKET, `leaven/base/${build}.json.gz`))!);
      expect(manifest.packages.map((p) => p.name)).toContain("curl");
      const stores = passes.flatMap((p) => p.executed).filter((a) => a.kind === "store-manifest");
      expect(stores.length).toBeGreaterThanOrEqual(1);
      store.close();
    },
  );

  it("reads the verdict from the S3 output when a chatty provisioning pushed it past GetCommandInvocation's 24,000 characters", async () => {
    t = await startSimCloud({ faults: { scriptOutputBytes: 30_000 } });
    const { store, target } = await manifestStore(t);
    await converge(
      () => new Reconciler({ cloud: t!.cloud, clock: t!.clock, logger: silentLogger, manifests: target }),
    );
    const [image] = await t.adapter.describeImages(REGION, {
      owners: ["self"],
      filters: [{ name: `tag:${Tag.spec}`, values: ["base"] }],
    });
    expect(image!.tags[Tag.manifest]).toBe("stored");
    store.close();
  });

  it("without a bucket, a verdict cut off by GetCommandInvocation fails the bake, saying so", async () => {
    t = await startSimCloud({ faults: { scriptOutputBytes: 30_000 } });
    const controller = new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger });
    let status: PassResult["statuses"][number] | undefined;
    for (let n = 0; n < 40 && status?.phase !== "Failed"; n++) {
      status = (await controller.pass(estate())).statuses.find((s) => s.name === "base");
      t.clock.advance(30_000);
    }
    expect(status?.phase).toBe("Failed");
    expect(status?.message).toMatch(
      /^build \S+ failed: bake command \S+ ended Success without a result marker in its output \(GetCommandInvocation keeps only stdout's first 24,000 characters: with leaven.yaml's manifests: \{ bucket \} SSM writes all of it there if the bakery host's role may s3:PutObject; or print less\);/,
    );
  });

  it("sends the bake command without an output location when no manifests bucket is configured", async () => {
    t = await startSimCloud();
    const sent: SendCommandInput[] = [];
    const cloud: CloudPort = {
      ...t.cloud,
      sendCommand: async (region, input) => {
        sent.push(input);
        return t!.cloud.sendCommand(region, input);
      },
    };
    const passes = await converge(() => new Reconciler({ cloud, clock: t!.clock, logger: silentLogger }));
    expect(sent).toHaveLength(1);
    expect(sent[0]!.outputS3).toBeUndefined();
    expect(passes.flatMap((p) => p.executed).some((a) => a.kind === "store-manifest")).toBe(false);
  });
});
