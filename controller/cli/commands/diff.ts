// `leaven diff SPEC BUILD_A BUILD_B [paths…]`: what changed in the packages between two builds of a spec.
import { cloudHelp, cloudOptions } from "../cloud-target.ts";
import type { Command } from "../command.ts";

export const diffCommand: Command = {
  name: "diff",
  summary: "Show the packages added, removed and changed between two builds of a spec, parents apart.",
  usage: "diff SPEC BUILD_A BUILD_B [paths…] [--output text|json] [cloud options]",
  help: `Reads the two builds' package manifests from the manifests bucket of leaven.yaml
(manifests: { bucket, prefix }) and prints the packages added (+), removed (-) and changed (~, old → new)
from BUILD_A to BUILD_B: first what changed in SPEC's own layer, then, separately, the changes of its
parent chain (the base it was baked on, and that base's parent, while their builds differ). Launches
nothing and changes nothing.

Options:
  -o, --output <format>  text (default), or json: { spec, from, to, own, chain }.
${cloudHelp}
Examples:
  leaven diff api-server 1.14.1+5f2c91ab 1.14.2+b2a7f678 examples
  leaven diff ubuntu-base 2.3.0+02f849ac 2.4.0+9d1e44c0 examples -o json
`,
  options: { ...cloudOptions, output: { type: "string", short: "o" } },
  run: (args, io) => import("./diff-run.ts").then((m) => m.runDiff(args, io)),
};
