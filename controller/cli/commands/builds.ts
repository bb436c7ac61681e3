// `leaven builds SPEC [paths…]`: every build Leaven finds of one spec, newest first, with what it was baked on.
import { createLogger } from "../../log/logger.ts";
import { Reconciler } from "../../reconcile/reconciler.ts";
import { buildHistory } from "../../status/build-history.ts";
import { vendorPatternsOf } from "../../status/fit-text.ts";
import { explainObservationError } from "../../status/observation-error.ts";
import { renderBuilds } from "../../status/render-builds.ts";
import { didYouMean } from "../../validation/suggest.ts";
import { cloudHelp, cloudOptions, openCloud } from "../cloud-target.ts";
import { type Command, UserError } from "../command.ts";
import { loadForReconcile, specsCommit } from "../spec-loading.ts";

export const buildsCommand: Command = {
  name: "builds",
  summary: "List a spec's builds, newest first: images per region, channels, lineage, outdated, failed.",
  usage: "builds SPEC [paths…] [--region REGION] [--output text|json] [cloud options]",
  help: `Observes the images (by their leaven.dev tags) like plan, and lists every build of SPEC that Leaven
finds, newest first: its creation, the state of its image in each region (available, pending,
deprecated, disabled, failed), the channels it is in, and the lineage it was baked on down to the
vendor image. A build is outdated when the parent channel it was baked from has moved to another
build since; failed bakes are listed with their reason while EC2 still shows their instance (about an
hour). Changes nothing.

Options:
  --region REGION        Show only this region's images (with --cloud aws also the default region, below).
  -o, --output <format>  text (default), or json: the builds with their images, channels and lineage.
${cloudHelp}
Examples:
  leaven builds api-server examples
  leaven builds ubuntu-base examples --region eu-west-1 --output json
`,
  options: { ...cloudOptions, output: { type: "string", short: "o" } },
  async run({ values, positionals }, io) {
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
      if (output === "text") io.stderr.write(`${target.banner}\n`);
      const commit = specsCommit(paths, io.cwd);
      const reconciler = new Reconciler({
        cloud: target.cloud,
        clock: target.clock,
        installation: target.installation,
        logger,
        ...(commit ? { commit } : {}),
      });
      const { plan, inventory } = await reconciler.plan(validation);
      for (const [where, error] of inventory.regionErrors)
        io.stderr.write(
          `leaven builds: cannot observe ${where}: ${explainObservationError(error)}; its images are not listed.\n`,
        );
      const history = buildHistory({
        spec,
        inventory,
        statuses: plan.statuses,
        ...(regions ? { regions } : {}),
        ...(region ? { region } : {}),
        now: target.clock.now(),
        installation: target.installation,
      });
      io.stdout.write(
        output === "json"
          ? `${JSON.stringify(history, null, 2)}\n`
          : renderBuilds(history, { vendorPatterns: vendorPatternsOf(validation.specs) }),
      );
      return inventory.regionErrors.size > 0 ? 1 : 0;
    } finally {
      await target.close();
    }
  },
};
