import { cloudHelp, cloudOptions } from "../cloud-target.ts";
import type { Command } from "../command.ts";

export const promoteCommand: Command = {
  name: "promote",
  summary: "Point a channel at a build by editing the spec's YAML (one-line diff), and show what follows.",
  usage:
    "promote SPEC --channel CHANNEL --to BUILD|latest|CHANNEL [paths…] [--dry-run] [cloud options]\n  promote SPEC --channel CHANNEL --to BUILD|latest|CHANNEL --kube [--namespace NS] [--kubeconfig PATH] [--dry-run]",
  help: `Edits spec.channels.CHANNEL of SPEC in its YAML file, in place: comments, key order, quoting and
flow or block style are kept, so the promotion is a one-line git diff to review and commit. Only the
selector's choice changes (build, latest, version, follow); other keys such as parentIn stay. A channel the
spec does not have yet is added. Observes the images first, like plan, and refuses (exit 1, nothing
written) a build that does not exist or is not available in every region of the spec, listing the real
builds. Prints the diff, then the plan apply will carry out with the edited spec (e.g. the children that
rebake on a promoted base). Exit 0 when the file was written, or the channel already selects that.

Options:
  -c, --channel NAME     The channel to move, e.g. release.
  --to BUILD             Pin this build id, e.g. 2.4.0+0a1b2c3d (a rollback is --to the previous build).
  --to latest            Select the newest ready build: { latest: true }.
  --to CHANNEL           Pin the build another channel of the same spec is on now, e.g. --to candidate.
  --dry-run              Print the diff and the plan; write nothing.
  --kube                 Promote the ImageSpec in the Kubernetes cluster instead: a merge patch of its channel
                         field (refused if the resource changed meanwhile); \`leaven operator\` moves the channel.
                         --to CHANNEL reads the build from the resource's status. No files, no cloud.
  --namespace NS         With --kube: the resource's namespace. Default: the kubeconfig context's, else default.
  --kubeconfig PATH      With --kube: the kubeconfig. Default: in-cluster, else $KUBECONFIG or ~/.kube/config.
${cloudHelp}
Examples:
  leaven promote ubuntu-base --channel release --to candidate examples
  leaven promote ubuntu-base --channel release --to 2.3.0+5f2c91ab examples   # roll back
`,
  options: {
    ...cloudOptions,
    channel: { type: "string", short: "c" },
    to: { type: "string" },
    "dry-run": { type: "boolean" },
    kube: { type: "boolean" },
    namespace: { type: "string" },
    kubeconfig: { type: "string" },
  },
  run: (args, io) => import("./promote-run.ts").then((m) => m.runPromote(args, io)),
};
