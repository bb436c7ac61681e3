// `leaven status [paths…]`: every spec's phase, channels and regions ready, one row each.
import { createLogger } from "../../log/logger.ts";
import { Reconciler } from "../../reconcile/reconciler.ts";
import { vendorPatternsOf } from "../../status/fit-text.ts";
import { renderRetention, withoutRegionErrors } from "../../status/render-plan.ts";
import {
  renderStatus,
  renderStatusWide,
  type StatusViewInput,
  statusToJson,
} from "../../status/render-status.ts";
import { verdictOf } from "../../status/verdict.ts";
import { openCloud, reconcilerTarget, writeBanner } from "../cloud-target.ts";
import type { CliIo } from "../command.ts";
import { type Command, UserError } from "../command.ts";
import { loadForReconcile, specsCommit } from "../spec-loading.ts";

/** Runs `leaven status` (the descriptor, help and options are in status.ts). */
export async function runStatus(
  { values, positionals }: Parameters<Command["run"]>[0],
  io: CliIo,
): Promise<number> {
  const output = (values.output as string | undefined) ?? "text";
  if (output !== "text" && output !== "json")
    throw new UserError(`--output must be text or json, not "${output}".`);
  const logger = createLogger(io.stderr, { level: "warn" });
  const validation = await loadForReconcile(positionals, io, logger);
  const target = await openCloud(values, positionals, io.cwd, logger);
  try {
    if (output === "text") writeBanner(io.stderr, target.banner);
    const commit = specsCommit(positionals, io.cwd);
    const reconciler = new Reconciler({
      ...reconcilerTarget(target),
      logger,
      ...(commit ? { commit } : {}),
    });
    const { plan, inventory } = await reconciler.plan(validation);
    // plan's and apply's verdict names what is wrong (a region Leaven could not look at, invalid input, a
    // failed bake) and what to do; status says it under the overview and fails on it like they do.
    const verdict = verdictOf({
      command: "plan",
      diagnostics: validation.diagnostics,
      statuses: plan.statuses,
      actions: plan.actions,
      regionErrors: inventory.regionErrors,
    });
    const view: StatusViewInput = {
      // The text says a region's error once, last: not again in every message it blinds.
      statuses:
        output === "json"
          ? plan.statuses
          : plan.statuses.map((s) => ({ ...s, message: withoutRegionErrors(s.message, verdict) })),
      regions: new Map(validation.specs.map((s) => [s.name, s.document.spec.regions])),
      vendorPatterns: vendorPatternsOf(validation.specs),
      ...(verdict.state === "problems" ? { problems: verdict.headline } : {}),
      where: target.where,
    };
    // Besides the verdict's problems, work still in flight is not "everything is fine" for a status check.
    const settled = plan.statuses.every((s) => s.phase === "Ready" || s.phase === "Suspended");
    const exitCode = verdict.exitCode.plain === 1 || !settled ? 1 : 0;
    if (output === "json") {
      // The verdict in the shape `plan --output json` gives it, then the statuses.
      const { state, headline, problems } = verdict;
      const json = {
        verdict: { state, exitCode, headline, problems },
        ...(statusToJson(view) as object),
        orphans: plan.retention?.orphans ?? [],
      };
      io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);
    } else {
      io.stdout.write(values.wide ? renderStatusWide(view) : renderStatus(view));
      // Images of deleted specs: nobody's status row shows them, so they are listed after the table.
      const orphans = renderRetention(
        {
          ...plan,
          ...(plan.retention
            ? { retention: { orphans: plan.retention.orphans, kept: [], usageNeeded: new Map() } }
            : {}),
        },
        target.clock.now(),
      );
      if (orphans.length > 0) io.stdout.write(`\n${orphans.join("\n")}`);
    }
    return exitCode;
  } finally {
    await target.close();
  }
}
