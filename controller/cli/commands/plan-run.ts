import { createLogger } from "../../log/logger.ts";
import { strayRegionsOf } from "../../observe/stray-regions.ts";
import { Reconciler } from "../../reconcile/reconciler.ts";
import { fitToWidth } from "../../status/fit-text.ts";
import { planToJson, renderPlan } from "../../status/render-plan.ts";
import { exitCodeOf, verdictOf } from "../../status/verdict.ts";
import { lastLineWithWhere, openCloud, reconcilerTarget, writeBanner } from "../cloud-target.ts";
import type { CliIo } from "../command.ts";
import { type Command, UserError } from "../command.ts";
import { checkRetryNames, checkRetryPhases } from "../retry-check.ts";
import { loadForReconcile, specsCommit } from "../spec-loading.ts";

/** Runs `leaven plan` (the descriptor, help and options are in plan.ts). */
export async function runPlan(
  { values, positionals }: Parameters<Command["run"]>[0],
  io: CliIo,
): Promise<number> {
  const output = (values.output as string | undefined) ?? "text";
  if (output !== "text" && output !== "json")
    throw new UserError(`--output must be text or json, not "${output}".`);
  const logger = createLogger(io.stderr, { level: "warn" });
  const validation = await loadForReconcile(positionals, io, logger);
  const retry = (values.retry as string[] | undefined) ?? [];
  checkRetryNames(retry, validation);
  const target = await openCloud(values, positionals, io.cwd, logger);
  try {
    if (output === "text") writeBanner(io.stderr, target.banner);
    const commit = specsCommit(positionals, io.cwd);
    const reconciler = new Reconciler({
      ...reconcilerTarget(target),
      logger,
      ...(commit ? { commit } : {}),
      retry,
      noDelete: values["no-delete"] === true,
    });
    const { plan, inventory, withoutRetry } = await reconciler.plan(validation);
    checkRetryPhases(retry, withoutRetry.statuses);
    const verdict = verdictOf({
      command: "plan",
      diagnostics: validation.diagnostics,
      statuses: plan.statuses,
      actions: plan.actions,
      regionErrors: inventory.regionErrors,
    });
    const exitCode = exitCodeOf(verdict, values["detailed-exitcode"] === true);
    const strays = strayRegionsOf(inventory.regions, validation.specs);
    const text = lastLineWithWhere(renderPlan(plan, verdict, target.clock.now(), strays), target.where);
    // On a terminal, long reasons wrap at words under their column, not wherever the terminal cuts them.
    const shown = io.stdout.isTTY ? fitToWidth(text, Math.max(40, (io.stdout.columns ?? 80) - 1)) : text;
    io.stdout.write(
      output === "json" ? `${JSON.stringify(planToJson(plan, verdict, exitCode, strays), null, 2)}\n` : shown,
    );
    return exitCode;
  } finally {
    await target.close();
  }
}
