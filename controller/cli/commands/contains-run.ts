// `leaven contains PACKAGE [VERSION_RANGE] [paths…]` (the descriptor, help and options are in contains.ts).
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { manifestKey } from "../../api/package-manifest.ts";
import { inRange, parseVersionRange, type VersionRange } from "../../api/package-version.ts";
import { CHANNEL_TAG_PREFIX, Tag } from "../../api/tags.ts";
import type { CloudImage } from "../../cloud/port.ts";
import type { ManifestTarget } from "../../execute/store-manifest.ts";
import { createLogger } from "../../log/logger.ts";
import { errorMessage, regionsOf, walkOwnedImages } from "../../observe/observe.ts";
import { findStrayRegions } from "../../observe/stray-regions.ts";
import type { CatalogEntry } from "../../status/manifest-catalog.ts";
import { ManifestCatalog } from "../../status/manifest-catalog.ts";
import { indexedSpecs, lookupPackage, lookupPackageOf } from "../../status/package-lookup.ts";
import { textTable } from "../../status/text-table.ts";
import { openCloud } from "../cloud-target.ts";
import type { CliIo } from "../command.ts";
import { type Command, UserError } from "../command.ts";
import { loadForReconcile } from "../spec-loading.ts";
import { manifestCacheDir, manifestsOf } from "./manifest-target.ts";

export interface ContainsHit {
  spec: string;
  build: string;
  package: string;
  version: string;
  architecture: string;
  source: string;
  /** Channel → regions whose image of the build carries it now. */
  channels: Record<string, string[]>;
  /** Regions with an image of the build. */
  regions: string[];
}

/** Where a build's images are: the regions with one, and each channel's regions. */
interface ImagesOfBuild {
  regions: Set<string>;
  channels: Map<string, Set<string>>;
}

/** The builds whose home image says its manifest was stored (leaven.dev/manifest), by manifest key. */
function storedOf(images: readonly CloudImage[], manifests: ManifestTarget): CatalogEntry[] {
  const builds = new Map<string, CatalogEntry>();
  for (const image of images) {
    const spec = image.tags[Tag.spec];
    const build = image.tags[Tag.build];
    if (image.tags[Tag.manifest] !== "stored" || !spec || !build) continue;
    const key = manifestKey(manifests.prefix, spec, build);
    builds.set(key, { spec, build, key });
  }
  return [...builds.values()];
}

/** Runs `leaven contains`. */
export async function runContains(
  { values, positionals }: Parameters<Command["run"]>[0],
  io: CliIo,
): Promise<number> {
  const output = (values.output as string | undefined) ?? "text";
  if (output !== "text" && output !== "json")
    throw new UserError(`--output must be text or json, not "${output}".`);
  const [name, ...rest] = positionals;
  if (name === undefined)
    throw new UserError(
      'name the package: leaven contains PACKAGE [VERSION_RANGE] [paths…], e.g. leaven contains openssl "<3.0.13".',
    );
  // The second word is a range unless it is a path that exists.
  let range: VersionRange | undefined;
  let paths = rest;
  if (rest[0] !== undefined && !existsSync(resolve(io.cwd, rest[0]))) {
    const parsed = parseVersionRange(rest[0]);
    if (typeof parsed === "string")
      throw new UserError(`${rest[0]} is no path that exists, so it was read as VERSION_RANGE: ${parsed}.`);
    range = parsed;
    paths = rest.slice(1);
  }
  const channel = values.channel as string | undefined;
  const logger = createLogger(io.stderr, { level: "warn" });
  const cacheDir = manifestCacheDir(paths, io.cwd);
  // The bucket is listed while the specs are read: the listing needs only leaven.yaml's bucket (split at
  // the specs the local index knows). A problem with the specs still comes first, as before.
  const opening = openCloud(values, paths, io.cwd, logger);
  const catalogOf = (manifests: ManifestTarget) => new ManifestCatalog(manifests, { cacheDir });
  const lookupIn = (manifests: ManifestTarget) => {
    const unsplit = catalogOf(manifests);
    const splitAt = indexedSpecs(unsplit, manifests.prefix);
    return lookupPackage(new ManifestCatalog(manifests, { cacheDir, splitAt }), name);
  };
  // --all-builds: every manifest in the bucket, builds no image is left of too (the bucket is listed).
  // Otherwise only the builds with images, whose manifests are found by key: no listing.
  const allBuilds = values["all-builds"] === true;
  const looking = allBuilds
    ? opening.then((target) => (target.manifests ? lookupIn(target.manifests) : undefined))
    : Promise.resolve(undefined);
  // Its failure is reported below, once the specs are known to be fine.
  looking.catch(() => undefined);
  const [validated, opened] = await Promise.allSettled([loadForReconcile(paths, io, logger), opening]);
  if (validated.status === "rejected") {
    if (opened.status === "fulfilled") await opened.value.close();
    throw validated.reason;
  }
  if (opened.status === "rejected") throw opened.reason;
  const validation = validated.value;
  const target = opened.value;
  try {
    if (output === "text") io.stderr.write(`${target.banner}\n`);
    const manifests = manifestsOf(target, "contains");
    // Only the images' tags are needed (spec, build, channels, regions): the owner-tag walk of each region,
    // as a plan's observation starts, without the rest of a plan.
    const regions = regionsOf(validation.specs);
    // A region not walked leaves its builds out (or without their channels): the answer is incomplete.
    const blind = new Map<string, string>();
    const [found, walked, strays] = await Promise.all([
      looking,
      Promise.all(
        regions.map((region) =>
          walkOwnedImages(target.cloud, region, target.installation).catch((error: unknown) => {
            blind.set(region, errorMessage(error));
            return [];
          }),
        ),
      ),
      // Images left where no spec is any more (a region taken out of the specs) still run somewhere.
      findStrayRegions(target.cloud, regions[0] ?? "us-east-1", new Set(regions), target.installation),
    ]);
    const images = [...walked.flat(), ...strays.images];
    const lookup = found ?? (await lookupPackageOf(catalogOf(manifests), name, storedOf(images, manifests)));
    if (lookup.rebuilt)
      logger.warn("the local package index was rebuilt from the manifests", { why: lookup.rebuilt });
    const where = new Map<string, ImagesOfBuild>();
    for (const image of images) {
      const key = `${image.tags[Tag.spec]}/${image.tags[Tag.build]}`;
      const entry = where.get(key) ?? { regions: new Set(), channels: new Map() };
      entry.regions.add(image.region);
      for (const tag of Object.keys(image.tags))
        if (tag.startsWith(CHANNEL_TAG_PREFIX)) {
          const ch = tag.slice(CHANNEL_TAG_PREFIX.length);
          entry.channels.set(ch, (entry.channels.get(ch) ?? new Set()).add(image.region));
        }
      where.set(key, entry);
    }
    const hits: ContainsHit[] = [];
    // A build's channels and regions, sorted once for all its packages (40,000 builds hold openssl).
    const placement = new Map<string, Pick<ContainsHit, "channels" | "regions">>();
    const placed = (
      build: string,
      seen: typeof where extends Map<string, infer V> ? V | undefined : never,
    ) => {
      let found = placement.get(build);
      if (!found) {
        found = {
          channels: Object.fromEntries(
            [...(seen?.channels ?? new Map<string, Set<string>>())]
              .sort(([a], [b]) => (a < b ? -1 : 1))
              .map(([ch, regions]) => [ch, [...regions].sort()]),
          ),
          regions: [...(seen?.regions ?? [])].sort(),
        };
        placement.set(build, found);
      }
      return found;
    };
    for (const { entry, package: p } of lookup.hits) {
      const seen = where.get(`${entry.spec}/${entry.build}`);
      if (channel !== undefined && !seen?.channels.has(channel)) continue;
      if (range && !inRange(p.version, range)) continue;
      hits.push({
        spec: entry.spec,
        build: entry.build,
        package: p.name,
        version: p.version,
        architecture: p.architecture,
        source: p.source,
        ...placed(`${entry.spec}/${entry.build}`, seen),
      });
    }
    hits.sort((a, b) =>
      a.spec !== b.spec
        ? a.spec < b.spec
          ? -1
          : 1
        : a.build !== b.build
          ? a.build < b.build
            ? -1
            : 1
          : a.package !== b.package
            ? a.package < b.package
              ? -1
              : 1
            : a.architecture < b.architecture
              ? -1
              : 1,
    );
    if (output === "json") io.stdout.write(`${JSON.stringify(hits, null, 2)}\n`);
    else io.stdout.write(renderContains(name, range, channel, hits, lookup.entries.length));
    // Not a blind answer: an account may deny the regions it does not use; said, the answer stands.
    if (strays.errors.size > 0)
      io.stderr.write(
        `leaven contains: ${[...strays.errors.keys()].sort().join(", ")} could not be asked for images left where no spec is (${[...strays.errors.values()][0]}).\n`,
      );
    if (blind.size === 0) return 0;
    for (const [region, error] of [...blind].sort())
      io.stderr.write(
        `leaven contains: the images in ${region} could not be listed (${error}): the answer leaves out its images, their channels and any build whose home image is there; fix access to ${region} and run it again.\n`,
      );
    return 1;
  } finally {
    await target.close();
  }
}

export function renderContains(
  name: string,
  range: VersionRange | undefined,
  channel: string | undefined,
  hits: readonly ContainsHit[],
  manifests: number,
): string {
  const what = `${name}${range ? ` ${range.text}` : ""}${channel ? ` in channel ${channel}` : ""}`;
  if (hits.length === 0) return `No build contains ${what} (${manifests} manifests read).\n`;
  const builds = new Set(hits.map((h) => `${h.spec}/${h.build}`)).size;
  const specs = new Set(hits.map((h) => h.spec)).size;
  const rows = hits.map((h) => [
    h.spec,
    h.build,
    h.package,
    h.version,
    Object.keys(h.channels).join(", ") || "-",
    h.regions.join(", ") || "(no image)",
  ]);
  return `${what} is in ${builds} build${builds === 1 ? "" : "s"} of ${specs} spec${specs === 1 ? "" : "s"} (${manifests} manifests read):\n\n${textTable(["SPEC", "BUILD", "PACKAGE", "VERSION", "CHANNELS", "REGIONS"], rows)}`;
}
