// Package manifests end to end on the simulator: the examples applied with a manifests bucket in
// leaven.yaml, then a base and an app changed and applied again; `leaven diff` and `leaven contains` give
// the exact text; `leaven builds` counts packages; a run stopped between image and upload resumes; an
// object in the bucket that is not Leaven's is never overwritten.
import { copyFileSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, request as httpRequest } from "node:http";
import type { AddressInfo } from "node:net";
import { join } from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import { createS3ObjectStore } from "../../controller/cloud/s3-adapter.ts";
import { S3_PATH } from "../../controller/sim/s3.ts";
import { startSimulator } from "../../controller/sim/server.ts";
import type { SimS3Bucket } from "../../controller/sim/world.ts";
import { runCli, scratchEstate, startCli, waitFor } from "../support/cli-process.ts";
import { run } from "../support/in-process-cli.ts";

const BUCKET = "acme-image-manifests";
const sim = ["--sim-state", "sim.json", "--sim-speed", "600"];

function withManifests(dir: string): void {
  writeFileSync(
    join(dir, "specs/leaven.yaml"),
    `cloud: simulator\nmanifests: { bucket: ${BUCKET}, prefix: leaven }\n`,
  );
}

/**
 * The examples' volume-baked apps bake on instances here, so the counts below are of console manifests only;
 * volume bakes' manifests (from the command's S3 output) are test/reconcile/volume-bake-manifest.test.ts's.
 */
function instanceBakes(dir: string): void {
  for (const file of ["apps/api-server.yaml", "apps/web-and-worker.yaml"])
    edit(dir, file, /^ {2}bake: \{ method: volume \}.*\n/m, "");
}

function edit(dir: string, file: string, from: RegExp, to: string): void {
  const path = join(dir, "specs", file);
  const text = readFileSync(path, "utf8");
  if (!from.test(text)) throw new Error(`${file} does not match ${from}`);
  writeFileSync(path, text.replace(from, to));
}

interface SimState {
  s3Buckets?: SimS3Bucket[];
  regions: Record<string, { images: { imageId: string; tags: Record<string, string> }[] }>;
}
const state = (dir: string) => JSON.parse(readFileSync(join(dir, "sim.json"), "utf8")) as SimState;
const objects = (dir: string) => state(dir).s3Buckets?.find((b) => b.name === BUCKET)?.objects ?? {};
/** The builds of a spec with a stored manifest, from the simulator's bucket itself. */
const storedBuilds = (dir: string, spec: string) =>
  Object.keys(objects(dir))
    .filter((k) => k.startsWith(`leaven/${spec}/`) && k.endsWith(".json.gz"))
    .map((k) => k.slice(`leaven/${spec}/`.length, -".json.gz".length))
    .sort();

/** The build a channel of a spec is on in us-east-1, from the image tags. */
function inChannel(dir: string, spec: string, channel: string): string {
  const image = state(dir).regions["us-east-1"]!.images.find(
    (i) => i.tags[Tag.spec] === spec && i.tags[`leaven.dev/channel/${channel}`] === "true",
  );
  return image!.tags[Tag.build]!;
}
const manifestCount = (dir: string) => Object.keys(objects(dir)).filter((k) => k.endsWith(".json.gz")).length;

async function apply(dir: string, ...more: string[]) {
  const result = await run(["apply", "specs", ...sim, ...more], dir);
  if (result.code !== 0 && !more.includes("--once"))
    throw new Error(`apply failed:\n${result.stdout}\n${result.stderr}`);
  return result;
}

describe("package manifests on the simulator", () => {
  let dir: string;
  let apiOld: string;
  let apiNew: string;
  let baseOld: string;
  let baseNew: string;

  beforeAll(async () => {
    dir = scratchEstate();
    withManifests(dir);
    instanceBakes(dir);
    await apply(dir);
    [apiOld] = storedBuilds(dir, "api-server") as [string];
    [baseOld] = storedBuilds(dir, "ubuntu-base") as [string];
    // A new base (jq added, chrony pinned) and a new app on it.
    edit(dir, "bases/ubuntu-base.yaml", /^ {2}version: 2\.3\.0$/m, "  version: 2.4.0");
    edit(dir, "bases/ubuntu-base.yaml", /^ {6}- chrony$/m, "      - chrony=4.2-2ubuntu2\n      - jq");
    edit(dir, "apps/api-server.yaml", /^ {2}version: 1\.14\.2$/m, "  version: 1.14.3");
    edit(dir, "apps/api-server.yaml", /api-server=1\.14\.2/, "api-server=1.14.3");
    await apply(dir);
    apiNew = inChannel(dir, "api-server", "candidate");
    baseNew = inChannel(dir, "ubuntu-base", "candidate");
  }, 240_000);

  it("stores every baked build's manifest and SBOM, tagged, and tags the home images", () => {
    const stored = objects(dir);
    const key = `leaven/api-server/${apiNew}.json.gz`;
    expect(stored[key]?.tags).toEqual({
      [Tag.managedBy]: "leaven",
      [Tag.installation]: "default",
      [Tag.spec]: "api-server",
      [Tag.build]: apiNew,
    });
    expect(stored[key]?.contentEncoding).toBe("gzip");
    const sbom = JSON.parse(
      Buffer.from(stored[`leaven/api-server/${apiNew}.cdx.json`]!.body, "base64").toString("utf8"),
    ) as { bomFormat: string; components: { name: string; purl: string }[] };
    expect(sbom.bomFormat).toBe("CycloneDX");
    expect(sbom.components.find((c) => c.name === "api-server")?.purl).toBe(
      "pkg:deb/debian/api-server@1.14.3?arch=amd64",
    );
    const home = state(dir).regions["us-east-1"]!.images.find(
      (i) => i.tags[Tag.spec] === "api-server" && i.tags[Tag.build] === apiNew && !i.tags[Tag.homeImage],
    );
    expect(home?.tags[Tag.manifest]).toBe("stored");
  });

  it("leaven diff shows the app's own changes, and the base's apart", async () => {
    const result = await run(["diff", "api-server", apiOld, apiNew, "specs", ...sim], dir);
    expect(result.stderr).toBe("");
    expect(result.code).toBe(0);
    expect(result.stdout).toBe(
      [
        `api-server ${apiOld} → ${apiNew}`,
        "",
        "Packages of api-server (1 change):",
        "  ~ api-server 1.14.2 → 1.14.3 (amd64)",
        "",
        "Parent chain:",
        `  ubuntu-base ${baseOld} → ${baseNew} (2 changes):`,
        "    + jq 4.4.6-1 (amd64)",
        "    ~ chrony 1.4.3-1 → 4.2-2ubuntu2 (amd64)",
        "",
      ].join("\n"),
    );
    const json = JSON.parse(
      (await run(["diff", "api-server", apiOld, apiNew, "specs", ...sim, "-o", "json"], dir)).stdout,
    );
    expect(json.chain[0].diff.added.map((p: { name: string }) => p.name)).toEqual(["jq"]);
  });

  it("leaven diff of an unknown build lists the real ones, with did you mean", async () => {
    const typo = `${apiNew.slice(0, -1)}x`;
    const result = await run(["diff", "api-server", apiOld, typo, "specs", ...sim], dir);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(
      `leaven diff: api-server has no build "${typo}" with a manifest; did you mean "${apiNew}"?; its builds with manifests, newest first: `,
    );
    for (const build of storedBuilds(dir, "api-server")) expect(result.stderr).toContain(build);
  });

  it("leaven contains answers from the manifests: specs, builds, channels, regions", async () => {
    const result = await run(["contains", "jq", "specs", ...sim], dir);
    expect(result.code).toBe(0);
    const rows = result.stdout.split("\n");
    const read = manifestCount(dir);
    expect(rows[0]).toBe(`jq is in 4 builds of 4 specs (${read} manifests read):`);
    expect(rows.slice(2, 8).map((r) => r.replace(/ +/g, " "))).toEqual([
      "SPEC BUILD PACKAGE VERSION CHANNELS REGIONS",
      expect.stringMatching(/^-+ -+ -+ -+ -+ -+$/),
      `api-server ${apiNew} jq 4.4.6-1 candidate, release eu-west-1, us-east-1`,
      `order-worker ${inChannel(dir, "order-worker", "release")} jq 4.4.6-1 release us-east-1`,
      `ubuntu-base ${baseNew} jq 4.4.6-1 candidate, release eu-west-1, us-east-1`,
      `web-frontend ${inChannel(dir, "web-frontend", "release")} jq 4.4.6-1 candidate, release eu-west-1, us-east-1`,
    ]);
    const none = await run(["contains", "jq", ">=5", "specs", ...sim, "--channel", "release"], dir);
    expect(none.stdout).toBe(`No build contains jq >=5 in channel release (${read} manifests read).\n`);
  });

  it("leaven contains exits 1, saying so, when a region's images cannot be listed: the answer is partial", async () => {
    const simulator = await startSimulator({ statePath: join(dir, "sim.json") });
    // Between the CLI and the simulator: DescribeImages in eu-west-1 is refused, as without the permission.
    const proxy = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on("data", (chunk: Buffer) => chunks.push(chunk));
      request.on("end", () => {
        const body = Buffer.concat(chunks);
        const scope = String(request.headers.authorization ?? "");
        if (scope.includes("/eu-west-1/ec2/") && body.toString().includes("Action=DescribeImages")) {
          response.writeHead(403, { "content-type": "text/xml" });
          response.end(
            '<?xml version="1.0" encoding="UTF-8"?><Response><Errors><Error><Code>UnauthorizedOperation</Code><Message>You are not authorized to perform this operation.</Message></Error></Errors><RequestID>r</RequestID></Response>',
          );
          return;
        }
        const forward = httpRequest(
          `${simulator.endpoint}${request.url ?? "/"}`,
          { method: request.method, headers: request.headers },
          (answer) => {
            response.writeHead(answer.statusCode ?? 500, answer.headers);
            answer.pipe(response);
          },
        );
        forward.end(body);
      });
    });
    await new Promise<void>((listening) => proxy.listen(0, "127.0.0.1", listening));
    try {
      const port = (proxy.address() as AddressInfo).port;
      const result = await run(
        ["contains", "jq", "specs", "--sim-endpoint", `http://127.0.0.1:${port}`],
        dir,
      );
      expect(result.code).toBe(1);
      expect(result.stderr).toContain(
        "leaven contains: the images in eu-west-1 could not be listed (UnauthorizedOperation: You are not authorized to perform this operation.): the answer leaves out its images, their channels and any build whose home image is there; fix access to eu-west-1 and run it again.\n",
      );
      // What us-east-1 holds is still answered.
      expect(result.stdout).toMatch(
        new RegExp(
          `^api-server +${apiNew.replace("+", "\\+")} +jq +4\\.4\\.6-1 +candidate, release +us-east-1$`,
          "m",
        ),
      );
    } finally {
      await new Promise((closed) => proxy.close(closed));
      await simulator.close();
    }
  });

  it("leaven contains still finds the images of a region taken out of every spec", async () => {
    // A copy of the estate, where no spec names eu-west-1 any more (its images are there until retired).
    const copy = scratchEstate(join(dir, "specs"));
    copyFileSync(join(dir, "sim.json"), join(copy, "sim.json"));
    for (const file of readdirSync(join(copy, "specs"), { recursive: true, encoding: "utf8" })) {
      if (!file.endsWith(".yaml")) continue;
      const path = join(copy, "specs", file);
      const text = readFileSync(path, "utf8");
      writeFileSync(path, text.replace(/, eu-west-1\b/g, "").replace(/^ +eu-west-1: arn:.*\n/gm, ""));
    }
    expect(readFileSync(join(copy, "specs", "apps/api-server.yaml"), "utf8")).not.toContain("eu-west-1");
    const result = await run(["contains", "jq", "specs", ...sim], copy);
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).toMatch(
      new RegExp(
        `^api-server +${apiNew.replace("+", "\\+")} +jq +4\\.4\\.6-1 +candidate, release +eu-west-1, us-east-1$`,
        "m",
      ),
    );
  });

  it("leaven builds shows the package count and the changes from the previous build", async () => {
    const result = await run(["builds", "ubuntu-base", "specs", ...sim], dir);
    expect(result.code).toBe(0);
    const header = result.stdout.split("\n")[2]!;
    expect(header).toMatch(/^BUILD +CREATED \(UTC\) +REGIONS +CHANNELS +PACKAGES +CHANGES +PARENT$/);
    const row = (build: string) =>
      result.stdout
        .split("\n")
        .find((l) => l.startsWith(build))!
        .split(/ {2,}/);
    expect(row(baseNew).slice(4, 6)).toEqual(["26", "2"]);
    expect(row(baseOld).slice(4, 6)).toEqual(["25", "-"]);
  });
});

describe("diff and contains without a bucket, or with bad arguments", () => {
  it.each([
    [
      ["diff", "api-server", "a", "b"],
      "leaven diff: no manifests bucket to read the builds' package manifests from: add manifests: { bucket: NAME, prefix: leaven } to the leaven.yaml beside the specs, then apply (each new bake stores its manifest), and run leaven diff again.",
    ],
    [
      ["diff", "api-servr", "a", "b"],
      'leaven diff: no spec named "api-servr" in specs; did you mean "api-server"?',
    ],
    [
      ["contains", "openssl", "about"],
      'leaven contains: about is no path that exists, so it was read as VERSION_RANGE: "about" is not a version or a comparison; write e.g. 3.0.2-0ubuntu1.15 (exactly), "<3.0.13" or ">=3.0 <3.1".',
    ],
  ])("%j", async (args, message) => {
    const dir = scratchEstate();
    const result = await run([...args, "specs", ...sim], dir);
    expect(result.code).toBe(1);
    expect(result.stderr.trimEnd().split("\n").at(-1)).toBe(message);
  });
});

describe("manifests across a stop and beside foreign objects", () => {
  it("a run stopped between the image and the upload stores the manifest on the next run", async () => {
    const dir = scratchEstate();
    withManifests(dir);
    instanceBakes(dir);
    // Pass by pass until some home image exists without its manifest: the run stops there.
    let stopped = false;
    for (let pass = 0; pass < 400 && !stopped; pass++) {
      await apply(dir, "--once");
      stopped = Object.values(state(dir).regions).some((r) =>
        r.images.some((i) => i.tags[Tag.bakeInstance] && !i.tags[Tag.manifest]),
      );
    }
    expect(stopped).toBe(true);
    await apply(dir);
    for (const spec of ["ubuntu-base", "api-server", "al2023-base", "payments"])
      expect(storedBuilds(dir, spec)).toHaveLength(1);
  }, 240_000);

  it("kill -9 right after an image was created: the next run uploads its manifest, once", async () => {
    const dir = scratchEstate();
    withManifests(dir);
    instanceBakes(dir);
    const first = startCli(["apply", "specs", ...sim], dir);
    await waitFor(first.output, (out) => out.includes('"kind":"create-image"'), 60_000);
    first.child.kill("SIGKILL");
    expect((await first.done).signal).toBe("SIGKILL");
    const before = Object.keys(objects(dir)).length;
    const last = await runCli(["apply", "specs", ...sim], dir);
    expect(last.code, last.stdout.slice(-1500) + last.stderr).toBe(0);
    expect(Object.keys(objects(dir)).length).toBeGreaterThan(before);
    // Every baked build has its manifest and SBOM, and every home image says so.
    const homes = Object.values(state(dir).regions).flatMap((r) =>
      r.images.filter((i) => i.tags[Tag.managedBy] === "leaven" && !i.tags[Tag.homeImage]),
    );
    expect(homes.length).toBe(7);
    for (const image of homes) {
      expect(image.tags[Tag.manifest]).toBe("stored");
      const key = `leaven/${image.tags[Tag.spec]}/${image.tags[Tag.build]}`;
      expect(objects(dir)[`${key}.json.gz`]).toBeDefined();
      expect(objects(dir)[`${key}.cdx.json`]).toBeDefined();
    }
    expect(Object.keys(objects(dir))).toHaveLength(14);
  }, 240_000);

  it("an object at a build's key that is not Leaven's is never overwritten", async () => {
    const dir = scratchEstate();
    withManifests(dir);
    const plan = await run(["plan", "specs", ...sim, "-o", "json"], dir);
    const build = (
      JSON.parse(plan.stdout) as { actions: { kind: string; spec: string; build: string }[] }
    ).actions.find((a) => a.kind === "launch-bake" && a.spec === "ubuntu-base")!.build;
    // Someone else's object at the key Leaven would write.
    const simulator = await startSimulator({ statePath: join(dir, "sim.json") });
    const store = createS3ObjectStore({
      region: "us-east-1",
      endpoint: `${simulator.endpoint}${S3_PATH}`,
      credentials: { accessKeyId: "AKIDSIMULATOR", secretAccessKey: "simulator" },
    });
    await store.createBucketIfMissing(BUCKET);
    await store.putObjectIfAbsent({
      bucket: BUCKET,
      key: `leaven/ubuntu-base/${build}.json.gz`,
      body: Buffer.from("theirs"),
      contentType: "text/plain",
      tags: { owner: "security-team" },
    });
    store.close();
    await simulator.close();

    const result = await run(["apply", "specs", ...sim], dir);
    expect(result.code).toBe(1);
    expect(`${result.stdout}${result.stderr}`).toContain(
      `s3://${BUCKET}/leaven/ubuntu-base/${build}.json.gz exists and is not this installation's`,
    );
    const object = objects(dir)[`leaven/ubuntu-base/${build}.json.gz`]!;
    expect(Buffer.from(object.body, "base64").toString()).toBe("theirs");
    expect(object.tags).toEqual({ owner: "security-team" });
  }, 240_000);
});
