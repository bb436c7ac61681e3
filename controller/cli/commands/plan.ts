import { createLogger } from "../../log/logger.ts";
import { Reconciler } from "../../reconcile/reconciler.ts";
import { planToJson, renderPlan } from "../../status/render-plan.ts";
import { cloudHelp, cloudOptions, openCloud } from "../cloud-target.ts";
import { type Command, UserError } from "../command.ts";
import { loadForReconcile, specsCommit } from "../spec-loading.ts";

export const planCommand: Command = {
  name: "plan",
  summary: "Show what apply would do: bakes, copies, channel moves, clean-ups, each with its reason.",
  usage: "plan [paths…] [--detailed-exitcode] [--output text|json] [cloud options]",
  help: `Observes the images (by their leaven.dev tags) and prints the actions that would make them match the
specs, like terraform plan. Changes nothing.

Options:
  --detailed-exitcode    Exit 0 when there are no changes, 2 when there are, 1 on error.
  --output text|json     Output format. Default: text.
  --retry SPEC           Plan as if \`apply --retry SPEC\` (re-arm a failed build). Repeatable.
${cloudHelp}`,
  options: {
    ...cloudOptions,
    "detailed-exitcode": { type: "boolean" },
    output: { type: "string" },
    retry: { type: "string", multiple: true },
  },
  async run({ values, positionals }, io) {
    const output = (values.output as string | undefined) ?? "text";
    if (output !== "text" && output !== "json")
      throw new UserError(`--output must be text or json, not "${output}".`);
    const logger = createLogger(io.stderr, { level: "warn" });
    const validation = await loadForReconcile(positionals, io, logger);
    const target = await openCloud(values, positionals, io.cwd, logger);
    try {
      if (output === "text") io.stderr.write(`${target.banner}\n`);
      const commit = specsCommit(positionals, io.cwd);
      const reconciler = new Reconciler({
        cloud: target.cloud,
        clock: target.clock,
        logger,
        ...(commit ? { commit } : {}),
        retry: (values.retry as string[] | undefined) ?? [],
      });
      const { plan } = await reconciler.plan(validation);
      io.stdout.write(
        output === "json" ? `${JSON.stringify(planToJson(plan), null, 2)}\n` : renderPlan(plan),
      );
      const invalid = validation.diagnostics.some((d) => d.severity === "error");
      if (values["detailed-exitcode"]) return invalid ? 1 : plan.actions.length > 0 ? 2 : 0;
      return invalid ? 1 : 0;
    } finally {
      await target.close();
    }
  },
};
