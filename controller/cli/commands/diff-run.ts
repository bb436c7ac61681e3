// `leaven diff SPEC BUILD_A BUILD_B [paths…]` (the descriptor, help and options are in diff.ts).
import { createLogger } from "../../log/logger.ts";
import { diffBuilds, ManifestCatalog, renderBuildDiff } from "../../status/manifest-catalog.ts";
import { didYouMean } from "../../validation/suggest.ts";
import { openCloud } from "../cloud-target.ts";
import type { CliIo } from "../command.ts";
import { type Command, UserError } from "../command.ts";
import { loadForReconcile } from "../spec-loading.ts";
import { manifestCacheDir, manifestsOf } from "./manifest-target.ts";

/** Runs `leaven diff`. */
export async function runDiff(
  { values, positionals }: Parameters<Command["run"]>[0],
  io: CliIo,
): Promise<number> {
  const output = (values.output as string | undefined) ?? "text";
  if (output !== "text" && output !== "json")
    throw new UserError(`--output must be text or json, not "${output}".`);
  const [spec, from, to, ...paths] = positionals;
  if (spec === undefined || from === undefined || to === undefined)
    throw new UserError(
      "name the spec and two of its builds: leaven diff SPEC BUILD_A BUILD_B [paths…] (leaven builds SPEC lists them).",
    );
  const logger = createLogger(io.stderr, { level: "warn" });
  const validation = await loadForReconcile(paths, io, logger);
  const known = [...validation.specs.map((s) => s.name), ...validation.blocked.keys()];
  if (!known.includes(spec)) {
    const where = paths.length > 0 ? paths.join(", ") : io.cwd;
    throw new UserError(`no spec named "${spec}" in ${where}${didYouMean(spec, known) || "."}`);
  }
  const target = await openCloud(values, paths, io.cwd, logger);
  try {
    const manifests = manifestsOf(target, "diff");
    const catalog = new ManifestCatalog(manifests, { cacheDir: manifestCacheDir(paths, io.cwd) });
    const entries = await catalog.list(spec);
    // Newest first, as `leaven builds` lists them.
    const builds = entries.sort((a, b) => (b.lastModified ?? 0) - (a.lastModified ?? 0)).map((e) => e.build);
    for (const build of [from, to])
      if (!builds.includes(build))
        throw new UserError(
          builds.length === 0
            ? `${spec} has no package manifests in s3://${manifests.bucket}/${manifests.prefix ?? ""}: none of its builds was baked since leaven.yaml named the bucket.`
            : `${spec} has no build "${build}" with a manifest${didYouMean(build, builds) || ""}; its builds with manifests, newest first: ${builds.join(", ")}.`,
        );
    const [a, b] = await Promise.all([catalog.find(spec, from), catalog.find(spec, to)]);
    const diff = await diffBuilds(catalog, a!, b!);
    io.stdout.write(output === "json" ? `${JSON.stringify(diff, null, 2)}\n` : renderBuildDiff(diff));
    return 0;
  } finally {
    await target.close();
  }
}
