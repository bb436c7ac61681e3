import { createLogger } from "../../log/logger.ts";
import { Reconciler } from "../../reconcile/reconciler.ts";
import { planToJson, renderPlan } from "../../status/render-plan.ts";
import { exitCodeOf, verdictOf } from "../../status/verdict.ts";
import { cloudHelp, cloudOptions, lastLineWithWhere, openCloud } from "../cloud-target.ts";
import { type Command, UserError } from "../command.ts";
import { checkRetryNames, checkRetryPhases } from "../retry-check.ts";
import { loadForReconcile, specsCommit } from "../spec-loading.ts";

export const planCommand: Command = {
  name: "plan",
  summary: "Show what apply would do: bakes, copies, channel moves, clean-ups, each with its reason.",
  usage: "plan [paths…] [--detailed-exitcode] [--output text|json] [--no-delete] [cloud options]",
  help: `Observes the images (by their leaven.dev tags) and prints the actions that would make them match the
specs, like terraform plan. Changes nothing.

Options:
  --detailed-exitcode    Exit 0 when every spec is ready and nothing is to be done, 2 when there are
                         changes or work in progress, 1 when a region could not be observed, the input
                         is invalid or has no ImageSpec, or a spec is failed, stalled or blocked.
                         Without it: 0 or 1.
  -o, --output <format>  text (default), or json: the plan and its verdict (exit code, headline, problems).
  --retry SPEC           Plan as if \`apply --retry SPEC\` (re-arm a failed build). Repeatable.
  --no-delete            Plan as if \`apply --no-delete\`: no deregistration or deletion.
${cloudHelp}`,
  options: {
    ...cloudOptions,
    "detailed-exitcode": { type: "boolean" },
    output: { type: "string", short: "o" },
    retry: { type: "string", multiple: true },
    "no-delete": { type: "boolean" },
  },
  async run({ values, positionals }, io) {
    const output = (values.output as string | undefined) ?? "text";
    if (output !== "text" && output !== "json")
      throw new UserError(`--output must be text or json, not "${output}".`);
    const logger = createLogger(io.stderr, { level: "warn" });
    const validation = await loadForReconcile(positionals, io, logger);
    const retry = (values.retry as string[] | undefined) ?? [];
    checkRetryNames(retry, validation);
    const target = await openCloud(values, positionals, io.cwd, logger);
    try {
      if (output === "text") io.stderr.write(`${target.banner}\n`);
      const commit = specsCommit(positionals, io.cwd);
      const reconciler = new Reconciler({
        cloud: target.cloud,
        clock: target.clock,
        installation: target.installation,
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
      io.stdout.write(
        output === "json"
          ? `${JSON.stringify(planToJson(plan, verdict, exitCode), null, 2)}\n`
          : lastLineWithWhere(renderPlan(plan, verdict, target.clock.now()), target.where),
      );
      return exitCode;
    } finally {
      await target.close();
    }
  },
};
