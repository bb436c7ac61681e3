// `leaven status [paths…]`: every spec's phase, channels and regions ready, one row each.
import { createLogger } from "../../log/logger.ts";
import { Reconciler } from "../../reconcile/reconciler.ts";
import { vendorPatternsOf } from "../../status/fit-text.ts";
import {
  renderStatus,
  renderStatusWide,
  type StatusViewInput,
  statusToJson,
} from "../../status/render-status.ts";
import { cloudHelp, cloudOptions, openCloud } from "../cloud-target.ts";
import { type Command, UserError } from "../command.ts";
import { loadForReconcile, specsCommit } from "../spec-loading.ts";

export const statusCommand: Command = {
  name: "status",
  summary: "Show every spec's phase, channel builds and regions ready; exit 1 unless all are Ready.",
  usage: "status [paths…] [--wide] [--output text|json] [cloud options]",
  help: `Observes the images (by their leaven.dev tags) like plan and prints one row per spec: its phase,
how many of its regions have an image for every channel, and the build each channel is on. A spec
that is not Ready gets its message under its row. Fits 80 columns; --wide prints every channel's
image per region and the messages in full. Changes nothing.

Exit status: 0 when every spec is Ready or Suspended, 1 otherwise (or when a region could not be
observed, or a spec is invalid).

Options:
  --wide                 Every channel's build and image in every region, and full messages.
  --output text|json     Output format. Default: text.
${cloudHelp}
Examples:
  leaven status examples
  leaven status examples --wide
`,
  options: { ...cloudOptions, wide: { type: "boolean" }, output: { type: "string" } },
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
      });
      const { plan, inventory } = await reconciler.plan(validation);
      const view: StatusViewInput = {
        statuses: plan.statuses,
        regions: new Map(validation.specs.map((s) => [s.name, s.document.spec.regions])),
        vendorPatterns: vendorPatternsOf(validation.specs),
      };
      io.stdout.write(
        output === "json"
          ? `${JSON.stringify(statusToJson(view), null, 2)}\n`
          : values.wide
            ? renderStatusWide(view)
            : renderStatus(view),
      );
      const settled = plan.statuses.every((s) => s.phase === "Ready" || s.phase === "Suspended");
      const invalid = validation.diagnostics.some((d) => d.severity === "error");
      return settled && !invalid && inventory.regionErrors.size === 0 ? 0 : 1;
    } finally {
      await target.close();
    }
  },
};
