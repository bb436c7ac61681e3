// `leaven status [paths…]`: every spec's phase, channels and regions ready, one row each.
import { cloudHelp, cloudOptions } from "../cloud-target.ts";
import type { Command } from "../command.ts";

export const statusCommand: Command = {
  name: "status",
  summary: "Show every spec's phase, regions ready and channel builds: one row each, in 80 columns.",
  usage: "status [paths…] [--wide] [--output text|json] [cloud options]",
  help: `Observes the images (by their leaven.dev tags) like plan and prints one row per spec: its phase,
how many of its regions have an image for every channel, and the build each channel is on. A spec
that is not Ready gets its message under its row. Fits 80 columns; --wide prints every channel's
image per region and the messages in full. Changes nothing.

Exit status: 0 when every spec is Ready or Suspended, 1 otherwise, and 1 on any problem plan's
verdict names (a region that could not be observed, invalid input), said on the last line.

Options:
  --wide                 Every channel's build and image in every region, and full messages.
  -o, --output <format>  text (default), or json: the verdict and every spec's status.
${cloudHelp}
Examples:
  leaven status examples
  leaven status examples --wide
`,
  options: { ...cloudOptions, wide: { type: "boolean" }, output: { type: "string", short: "o" } },
  run: (args, io) => import("./status-run.ts").then((m) => m.runStatus(args, io)),
};
