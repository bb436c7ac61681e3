// `leaven builds SPEC [paths…]`: every build Leaven finds of one spec, newest first, with what it was baked on.
import { createLogger } from "../../log/logger.ts";
import { Reconciler } from "../../reconcile/reconciler.ts";
import { buildHistory } from "../../status/build-history.ts";
import { vendorPatternsOf } from "../../status/fit-text.ts";
import { ManifestCatalog, withPackages } from "../../status/manifest-catalog.ts";
import { explainObservationError } from "../../status/observation-error.ts";
import { renderBuilds } from "../../status/render-builds.ts";
import { didYouMean } from "../../validation/suggest.ts";
import { openCloud, reconcilerTarget, writeBanner } from "../cloud-target.ts";
import type { CliIo } from "../command.ts";
import { type Command, UserError } from "../command.ts";
import { loadForReconcile, specsCommit } from "../spec-loading.ts";
import { manifestCacheDir } from "./manifest-target.ts";

/** Runs `leaven builds` (the descriptor, help and options are in builds.ts). */
export async function runBuilds(
  { values, positionals }: Parameters<Command["run"]>[0],
  io: CliIo,
): Promise<number> {
  const output = (values.output as string | undefined) ?? "text";
  if (output !== "text" && output !== "json")
    throw new UserError(`--output must be text or json, not "${output}".`);
  const [spec, ...paths] = positionals;
  if (spec === undefined)
    throw new UserError("name the spec whose builds to list: leaven builds SPEC [paths…].");
  const logger = createLogger(io.stderr, { level: "warn" });
  const validation = await loadForReconcile(paths, io, logger);
  const known = [...validation.specs.map((s) => s.name), ...validation.blocked.keys()];
  if (!known.includes(spec)) {
    const where = paths.length > 0 ? paths.join(", ") : io.cwd;
    throw new UserError(`no spec named "${spec}" in ${where}${didYouMean(spec, known) || "."}`);
  }
  const regions = validation.specs.find((s) => s.name === spec)?.document.spec.regions;
  const region = values.region as string | undefined;
  if (region !== undefined && regions !== undefined && !regions.includes(region))
    throw new UserError(
      `${spec} has no images in ${region}: its regions are ${regions.join(", ")}${didYouMean(region, regions)}`,
    );

  const target = await openCloud(values, paths, io.cwd, logger);
  try {
    if (output === "text") writeBanner(io.stderr, target.banner);
    const commit = specsCommit(paths, io.cwd);
    const reconciler = new Reconciler({
      ...reconcilerTarget(target),
      logger,
      ...(commit ? { commit } : {}),
    });
    const { plan, inventory } = await reconciler.plan(validation);
    for (const [where, error] of inventory.regionErrors)
      io.stderr.write(
        `leaven builds: cannot observe ${where}: ${explainObservationError(error)}; its images are not listed.\n`,
      );
    const observed = buildHistory({
      spec,
      inventory,
      statuses: plan.statuses,
      ...(regions ? { regions } : {}),
      ...(region ? { region } : {}),
      now: target.clock.now(),
      installation: target.installation,
    });
    const history = target.manifests
      ? await withPackages(
          observed,
          new ManifestCatalog(target.manifests, { cacheDir: manifestCacheDir(paths, io.cwd) }),
        )
      : observed;
    io.stdout.write(
      output === "json"
        ? `${JSON.stringify(history, null, 2)}\n`
        : renderBuilds(history, { vendorPatterns: vendorPatternsOf(validation.specs) }),
    );
    return inventory.regionErrors.size > 0 ? 1 : 0;
  } finally {
    await target.close();
  }
}
