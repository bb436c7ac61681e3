import { cloudHelp, cloudOptions } from "../cloud-target.ts";
import type { Command } from "../command.ts";

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
  run: (args, io) => import("./plan-run.ts").then((m) => m.runPlan(args, io)),
};
