// `leaven contains openssl` as a whole command (its own process, specs read from YAML, the simulator over
// HTTP) over a manifests bucket of 2,000 specs × 20 builds (bench/manifest-estate.ts): the first run, with
// nothing kept locally, reads every manifest and builds the package index; the next runs list the bucket,
// walk the images and read one shard of the index. Then 20 new builds appear and are read alone.

import { statSync } from "node:fs";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { manifestKey, sbomKey } from "../../controller/api/package-manifest.ts";
import { Tag } from "../../controller/api/tags.ts";
import { SIM_ACCOUNT_ID } from "../../controller/sim/regions.ts";
import { seedS3Objects } from "../../controller/sim/s3.ts";
import type { Simulator } from "../../controller/sim/server.ts";
import { PackageIndexFile } from "../../controller/status/package-index.ts";
import type { BenchCase } from "../case.ts";
import { estateSpecs } from "../estate.ts";
import { buildId, manifestEstate } from "../manifest-estate.ts";
import { measure } from "../measure.ts";
import { simTarget } from "../sim-estate.ts";
import { runCommand } from "../whole-command.ts";

/** LEAVEN_BENCH_CONTAINS_SPECS: fewer specs, to try the case out quickly. */
const SPECS = Number(process.env.LEAVEN_BENCH_CONTAINS_SPECS ?? 2000);
const BUILDS = 20;
const REGIONS = ["us-east-1", "eu-west-1"];
const BUCKET = "acme-image-manifests";
const PREFIX = "leaven";

/** The S3 and EC2 requests the simulator served during `run`, by operation. */
async function counted<T>(sim: Simulator, run: () => Promise<T>): Promise<[T, Record<string, number>]> {
  sim.resetStats();
  const value = await run();
  return [value, { ...sim.stats().byAction }];
}

const s3Of = (requests: Record<string, number>) =>
  ["ListObjectsV2", "GetObject"].map((op) => `${op} ${requests[op] ?? 0}`).join(", ");

const RUNS = 3;

/** `RUNS` runs of a command, and the one of median wall time. */
async function repeat<T extends { wallMs: number }>(run: () => Promise<T>) {
  const runs: T[] = [];
  for (let n = 0; n < RUNS; n++) runs.push(await run());
  return { runs, median: [...runs].sort((a, b) => a.wallMs - b.wallMs)[RUNS >> 1]! };
}

const spread = (runs: readonly { wallMs: number }[]) => runs.map((r) => r.wallMs.toFixed(0)).join(", ");
const perRun = (requests: Record<string, number>) =>
  Object.fromEntries(Object.entries(requests).map(([op, n]) => [op, n / RUNS]));

export const leavenContainsCase: BenchCase = {
  name: "leaven contains (2,000 specs × 20 builds)",
  size: `${SPECS.toLocaleString("en")} specs × ${BUILDS} builds = ${(SPECS * BUILDS).toLocaleString("en")} manifests of ~700 packages`,
  optIn: true,
  async run() {
    const target = await simTarget({ speed: 1 });
    const dir = await mkdtemp(join(tmpdir(), "leaven-bench-contains-"));
    try {
      // 2,000 specs that bake (20 bases and their apps) on the foundation, in two regions.
      const specs = estateSpecs(SPECS + 1, REGIONS);
      const baked = specs.filter((s) => s.document.spec.layer !== "foundation").map((s) => s.name);
      const now = target.sim.clock.now();
      const estate = manifestEstate(baked, BUILDS, REGIONS, PREFIX, now);
      const bucket = {
        name: BUCKET,
        account: SIM_ACCOUNT_ID,
        region: "us-east-1",
        createdAt: now,
        objects: {},
      };
      target.sim.world.s3Buckets.set(BUCKET, bucket);
      seedS3Objects(bucket, estate.objects);
      for (let i = 0; i < estate.images.length; i += 20_000)
        target.sim.seedImages(estate.images.slice(i, i + 20_000));
      const files = new Map<string, string[]>();
      specs.forEach((spec, i) => {
        const file = `specs-${String(i % 20).padStart(2, "0")}.yaml`;
        files.set(file, [...(files.get(file) ?? []), stringify(spec.document)]);
      });
      for (const [file, docs] of files) await writeFile(join(dir, file), docs.join("---\n"));
      await writeFile(
        join(dir, "leaven.yaml"),
        `cloud: simulator\nmanifests: { bucket: ${BUCKET}, prefix: ${PREFIX} }\n`,
      );

      const contains = (...more: string[]) =>
        runCommand(["contains", "openssl", dir, ...more, "--sim-endpoint", target.sim.endpoint]);
      const check = (run: Awaited<ReturnType<typeof contains>>, first: string, rows: number) => {
        const lines = run.stdout.split("\n");
        if (run.code !== 0 || lines[0] !== first || lines.length - 5 !== rows)
          throw new Error(
            `leaven contains: expected "${first}" and ${rows} rows, got exit ${run.code}, ${lines.length - 5} rows:\n${run.stdout.slice(0, 1000)}\n${run.stderr.slice(-2000)}`,
          );
      };
      const all = SPECS * BUILDS;
      // The newest three builds of each spec have images (candidate, release, one kept): contains answers for
      // those by default, their manifests found by key; --all-builds lists the bucket for all 20.
      const live = SPECS * 3;
      const withImages = `openssl is in ${live} builds of ${SPECS} specs (${live} manifests read):`;
      const everywhere = `openssl is in ${all} builds of ${SPECS} specs (${all} manifests read):`;
      const [uncached, uncachedRequests] = await counted(target.sim, () => contains());
      check(uncached, withImages, 2 * live);
      // Cached runs are a second or two on a shared machine: three of each, the median reported.
      const [cachedRuns, cachedRequests] = await counted(target.sim, () => repeat(() => contains()));
      const cached = cachedRuns.median;
      for (const run of cachedRuns.runs) check(run, withImages, 2 * live);
      if (cached.stdout !== uncached.stdout) throw new Error("leaven contains: the cached answer differs");
      const [releaseRuns] = await counted(target.sim, () => repeat(() => contains("--channel", "release")));
      const release = releaseRuns.median;
      check(
        release,
        `openssl in channel release is in ${SPECS} builds of ${SPECS} specs (${live} manifests read):`,
        2 * SPECS,
      );
      for (const row of release.stdout.split("\n").slice(4, -1)) {
        const [spec, build, , version] = row.split(/ +/);
        if (!estate.release.has(`${spec}/${build}`) || estate.openssl.get(`${spec}/${build}`) !== version)
          throw new Error(`leaven contains --channel release: wrong row ${row}`);
      }
      // Every build's manifest: the bucket listed, the 34,000 not indexed yet read once.
      const [allFirst, allFirstRequests] = await counted(target.sim, () => contains("--all-builds"));
      check(allFirst, everywhere, 2 * all);
      const [allRuns, allRequests] = await counted(target.sim, () => repeat(() => contains("--all-builds")));
      for (const run of allRuns.runs) check(run, everywhere, 2 * all);

      // A rebake window later: 20 specs have one new build each (manifest, SBOM and image), read alone.
      const later = manifestEstate(baked.slice(0, 20), BUILDS + 1, REGIONS, PREFIX, now);
      const fresh: typeof estate.objects = {};
      for (const spec of baked.slice(0, 20)) {
        const build = buildId(spec, BUILDS);
        for (const key of [manifestKey(PREFIX, spec, build), sbomKey(PREFIX, spec, build)])
          fresh[key] = later.objects[key]!;
      }
      seedS3Objects(bucket, fresh);
      target.sim.seedImages(
        later.images.filter(
          (image) => image.tags?.[Tag.build] === buildId(image.tags?.[Tag.spec] ?? "", BUILDS),
        ),
      );
      const [added, addedRequests] = await counted(target.sim, () => contains());
      check(
        added,
        `openssl is in ${live + 20} builds of ${SPECS} specs (${live + 20} manifests read):`,
        2 * (live + 20),
      );

      const indexPath = join(dir, ".leaven", "manifests", BUCKET, "index", "packages.idx");
      const index = statSync(indexPath).size;
      // The index's part of a cached run alone: header, document list and one shard, read and checked.
      const read = await measure(() => new PackageIndexFile(indexPath).lookup("openssl"));
      if (typeof read.value === "string") throw new Error(`the package index does not read: ${read.value}`);
      const listPages = Math.ceil((2 * all) / 1000);
      return {
        wallMs: cached.wallMs,
        maxRssBytes: cached.maxRssBytes,
        extra: {
          measured: "whole command: process start to exit, specs from YAML, S3 and EC2 over HTTP",
          uncached: `${(uncached.wallMs / 1000).toFixed(1)} s (${s3Of(uncachedRequests)}; minimum: GetObject ${live.toLocaleString("en")}, each manifest of a build with images once, found by key)`,
          "uncached RSS": `${(uncached.maxRssBytes / 1048576).toFixed(0)} MB`,
          cached: `${cached.wallMs.toFixed(0)} ms median of ${spread(cachedRuns.runs)} (each run: ${s3Of(perRun(cachedRequests))}, DescribeImages ${perRun(cachedRequests).DescribeImages ?? 0})`,
          "cached --channel release": `${release.wallMs.toFixed(0)} ms median of ${spread(releaseRuns.runs)}`,
          "--all-builds first": `${(allFirst.wallMs / 1000).toFixed(1)} s (${s3Of(allFirstRequests)}; minimum: ListObjectsV2 ${listPages} for ${(2 * all).toLocaleString("en")} objects, manifests and SBOMs, 1,000 a page, and GetObject ${(all - live).toLocaleString("en")}, the manifests not read yet)`,
          "--all-builds cached": `${allRuns.median.wallMs.toFixed(0)} ms median of ${spread(allRuns.runs)} (each run: ${s3Of(perRun(allRequests))})`,
          "20 new builds": `${added.wallMs.toFixed(0)} ms (${s3Of(addedRequests)})`,
          index: `${(index / 1048576).toFixed(1)} MB, openssl read from it in ${read.wallMs.toFixed(0)} ms (in-process)`,
          images: estate.images.length.toLocaleString("en"),
          target: "< 1 s cached",
        },
      };
    } finally {
      await rm(dir, { recursive: true, force: true });
      await target.close();
    }
  },
};
