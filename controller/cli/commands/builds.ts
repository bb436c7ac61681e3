// `leaven builds SPEC [paths…]`: every build Leaven finds of one spec, newest first, with what it was baked on.
import { cloudHelp, cloudOptions } from "../cloud-target.ts";
import type { Command } from "../command.ts";

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
  run: (args, io) => import("./builds-run.ts").then((m) => m.runBuilds(args, io)),
};
