import { cloudHelp, cloudOptions } from "../cloud-target.ts";
import type { Command } from "../command.ts";

export const runCommand: Command = {
  name: "run",
  summary: "Watch mode: reconcile a specs checkout continuously, serving /metrics, /status and a web view.",
  usage:
    "run --specs DIR [--listen ADDR] [--resync DURATION] [--debounce MS] [--no-delete] [--lock-timeout DURATION] [cloud options]",
  help: `Runs until stopped (SIGINT, SIGTERM). Holds the installation's lock the whole time (renewed; exits 1
if it is lost). Watches DIR: after a change has settled (--debounce) the whole tree is read again, and
again if a file changed while it was read, so an editor's atomic save or a git checkout of many files is
never planned half-read. Reconciles on every change, every --resync, and pass after pass while bakes and
copies are in flight. Images record DIR's git HEAD commit (none outside a git checkout).

A spec file that becomes invalid keeps its specs' last good state: they are blocked (nothing of theirs
is retired, terminated or retagged) and the error is logged and shown in /status until it is fixed.

A DIR with no ImageSpec is a warning that says what was searched, at start and whenever it becomes
empty: nothing is planned (nothing retired) until a spec is added, and /readyz answers 503 meanwhile.

HTTP (--listen): / the lineage web view, /status (JSON), /builds/SPEC (JSON), /events (Server-Sent
Events), /metrics (Prometheus), /healthz, /readyz (200 once the lock is held and the last pass
observed every region; 503 with the reason otherwise).

Options:
  --specs DIR            The specs directory (a git checkout, usually). Required.
  --listen ADDR          HOST:PORT to serve on; :PORT listens on every interface. Default: 127.0.0.1:8080.
  --resync DURATION      Reload and reconcile at least this often, e.g. 30s, 10m. Default: 10m (on the
                         simulator, in its clock's time).
  --debounce MS          Quiet time after a file change before the tree is read. Default: 200.
  --retry SPEC           Try a failed build of SPEC again, once. Repeatable.
  --no-delete            Never deregister an image or delete a snapshot, whatever retention says.
  --lock-timeout DURATION  Give up (exit 1) when the installation's lock is still held after this long.
  --log-format text|json Log format. Default: text on a terminal, json otherwise.
${cloudHelp}`,
  options: {
    ...cloudOptions,
    specs: { type: "string" },
    listen: { type: "string" },
    resync: { type: "string" },
    debounce: { type: "string" },
    retry: { type: "string", multiple: true },
    "no-delete": { type: "boolean" },
    "lock-timeout": { type: "string" },
    "log-format": { type: "string" },
  },
  run: (args, io) => import("./run-run.ts").then((m) => m.runRun(args, io)),
};
