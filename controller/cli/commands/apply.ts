import { cloudHelp, cloudOptions } from "../cloud-target.ts";
import type { Command } from "../command.ts";

export const applyCommand: Command = {
  name: "apply",
  summary: "Reconcile: bake, copy, promote and clean up until the images match the specs.",
  usage:
    "apply [paths…] [--once] [--retry SPEC] [--no-delete] [--wide] [--lock-timeout DURATION] [cloud options]",
  help: `Loops observe → plan → execute until every spec is converged or nothing more can happen without you
(a failed bake, a channel waiting for a build that does not exist). Re-reads the spec files every pass.
On a terminal a live view shows the specs in flight under a header and prints every action taken
above it; otherwise one JSON line per action, per change of a spec's phase and per pass that ran
something. Ends with a table of every spec's channels — the build each is on and in how many of the
spec's regions it has an image, e.g. 1.14.2+b2a7f678 ✓2/2 — and one line that says why it stopped.
Exit 0 when every spec is ready (or suspended) and nothing is left to do (with --once: or still in
progress); 1 when a region could not be observed, the input is invalid or has no ImageSpec, a spec is
failed, stalled or blocked, the run was stopped before it converged, or the installation's lock could
not be taken or was lost.

One apply of an installation acts at a time: it takes the installation's lock (a DynamoDB item, see
leaven.yaml's lock) before it changes anything, renews it while it runs and releases it at the end. A
second apply waits, naming the holder; a holder killed with kill -9 is taken over once its lease expires.

Options:
  --once                 Run a single pass and exit.
  --retry SPEC           Try a failed build of SPEC again (a failed build is otherwise not retried). Repeatable.
  --no-delete            Never deregister an image or delete a snapshot, whatever retention says
                         (deprecation and disabling still happen).
  --lock-timeout DURATION  Give up (exit 1) when the installation's lock is still held after this long, e.g. 0s
                         (do not wait), 30s, 10m. Default: wait until it is released or expires.
  --wide                 End with every channel's build and image in every region (as status --wide).
  --log-format text|json Log format. Default: text on a terminal, json otherwise.
  --log-level LEVEL      debug (also the passes that only looked), info, warn or error. Default: info
                         off a terminal, warn on one (the live view shows the rest).
${cloudHelp}`,
  options: {
    ...cloudOptions,
    once: { type: "boolean" },
    retry: { type: "string", multiple: true },
    "no-delete": { type: "boolean" },
    "lock-timeout": { type: "string" },
    "log-format": { type: "string" },
    "log-level": { type: "string" },
    wide: { type: "boolean" },
  },
  run: (args, io) => import("./apply-run.ts").then((m) => m.runApply(args, io)),
};
