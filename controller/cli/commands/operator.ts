// `leaven operator`: the Kubernetes operator (controller/operator/) with the CLI's cloud target. The
// Kubernetes client and the operator are loaded only when the command runs (dynamic imports): every other
// command starts without them.
import { createLogger } from "../../log/logger.ts";
import type { ServeHook } from "../../operator/operator-endpoints.ts";
import { DURATION_EXPECTED, isDuration, parseDuration } from "../../validation/durations.ts";
import { cloudHelp, cloudOptions, openCloud, writeBanner } from "../cloud-target.ts";
import { type Command, UserError } from "../command.ts";

/**
 * Another HTTP server for `--listen` (tests); by default controller/serve/operator-serve.ts serves the same
 * /metrics, /healthz, /readyz, /status and web view as `leaven run`.
 */
export let onServe: ServeHook | undefined;

/** Replaces the default server for `--listen`. */
export function setOperatorServeHook(hook: ServeHook | undefined): void {
  onServe = hook;
}

function durationOf(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (!isDuration(value))
    throw new UserError(`--${flag}: "${value}" is not a duration (expected ${DURATION_EXPECTED}).`);
  const ms = parseDuration(value);
  if (ms <= 0) throw new UserError(`--${flag}: must be longer than 0s.`);
  return ms;
}

export const operatorCommand: Command = {
  name: "operator",
  summary: "Run as a Kubernetes operator: reconcile ImageSpec resources and write their status.",
  usage:
    "operator [--namespace NS]… [--kubeconfig PATH] [--leader-elect=true|false] [--lease-namespace NS] [--resync DURATION] [--listen ADDR] [cloud options]",
  help: `Watches ImageSpec custom resources (all namespaces, or each --namespace) and reconciles them as apply
does, continuously: every change triggers a pass over the whole lineage; while bakes and copies are in
flight it passes again every poll interval, and every --resync regardless. Writes each resource's status
(phase, per channel the build and its images, outdated builds, the last error, the Ready, Reconciling and
Stalled conditions) through the status subresource, records Events (bakes, promotions, copies,
retirements, failures) and keeps the finalizer leaven.dev/finalizer: a deleted ImageSpec's images are
kept (retention.onDelete: retain, the default) or retired on its schedule (retire), then the finalizer
is removed. Only the holder of the Lease leaven-operator-INSTALLATION acts; other replicas stand by with
warm caches and take over within the lease duration (15s) when it dies, at once when it shuts down.
Stops on SIGINT or SIGTERM, releasing the Lease.

Options:
  --namespace NS         Watch this namespace (repeatable). Default: all namespaces. The operator plans the
                         specs it sees as the whole installation: images of specs it does not see are those
                         of deleted specs. Operators restricted to different namespaces need their own
                         --installation.
  --kubeconfig PATH      Kubeconfig file. Default: in-cluster service account, else $KUBECONFIG or ~/.kube/config.
  --leader-elect=BOOL    Elect a leader through a Lease: true (default), or false for exactly one replica.
  --no-leader-elect      The same as --leader-elect=false.
  --lease-namespace NS   Namespace of the Lease. Default: $POD_NAMESPACE, else the kubeconfig's, else default.
  --resync DURATION      Requeue every ImageSpec this often, e.g. 10m (default).
  --listen ADDR          Serve /healthz, /readyz and /metrics on ADDR, e.g. :8080.
  --log-format text|json Log format. Default: json.
${cloudHelp}`,
  options: {
    ...cloudOptions,
    namespace: { type: "string", multiple: true },
    kubeconfig: { type: "string" },
    // A value (`--leader-elect=false`), as the Helm chart passes it; `--no-leader-elect` is the same as false.
    "leader-elect": { type: "string" },
    "no-leader-elect": { type: "boolean" },
    "lease-namespace": { type: "string" },
    resync: { type: "string" },
    listen: { type: "string" },
    "log-format": { type: "string" },
  },
  async run({ values, positionals }, io) {
    if (positionals.length > 0)
      throw new UserError(
        `leaven operator takes no paths (it reads ImageSpecs from the cluster), got: ${positionals.join(" ")}.`,
      );
    const logger = createLogger(io.stderr, { json: (values["log-format"] as string | undefined) !== "text" });
    const resyncMs = durationOf("resync", values.resync as string | undefined, 10 * 60_000);
    const leaderElectFlag = values["leader-elect"] as string | undefined;
    if (leaderElectFlag !== undefined && leaderElectFlag !== "true" && leaderElectFlag !== "false")
      throw new UserError(
        `--leader-elect: expected true or false (e.g. --leader-elect=false), not "${leaderElectFlag}".`,
      );
    if (leaderElectFlag === "true" && values["no-leader-elect"] === true)
      throw new UserError("--leader-elect=true and --no-leader-elect contradict each other; pass one.");
    const leaderElect = leaderElectFlag !== "false" && values["no-leader-elect"] !== true;
    const [{ contextNamespace, loadKubeConfig }, { Operator }] = await Promise.all([
      import("../kube-config.ts"),
      import("../../operator/operator.ts"),
    ]);
    const kubeConfig = loadKubeConfig(values.kubeconfig as string | undefined);
    const leaseNamespace =
      (values["lease-namespace"] as string | undefined) ??
      io.env.POD_NAMESPACE ??
      contextNamespace(kubeConfig) ??
      "default";
    const target = await openCloud(values, [], io.cwd, logger);
    writeBanner(io.stderr, target.banner);
    const operator = new Operator({
      kubeConfig,
      namespaces: (values.namespace as string[] | undefined) ?? [],
      installation: target.installation,
      cloud: target.cloud,
      cloudClock: target.clock,
      requestStats: () => target.adapter.stats(),
      logger,
      leaderElect,
      leaseNamespace,
      resyncMs,
      pollIntervalMs: target.kind === "sim" ? 10_000 : 15_000,
      ...(io.env.POD_NAME ? { identity: `${io.env.POD_NAME}-${process.pid}` } : {}),
    });
    const listen = values.listen as string | undefined;
    let server: { close(): Promise<void> } | undefined;
    const stopped = new Promise<void>((resolve) => {
      process.once("SIGINT", resolve);
      process.once("SIGTERM", resolve);
    });
    try {
      // Served before the operator starts, so its metrics recorder is in place for the first pass.
      if (listen !== undefined) {
        if (onServe) server = await onServe(operator, listen);
        else {
          const { serveOperator } = await import("../../serve/operator-serve.ts");
          const running = await serveOperator(operator, listen, {
            installation: target.installation,
            logger,
          });
          logger.info("serving /metrics, /healthz, /readyz, /status and the web view", { url: running.url });
          server = running;
        }
      }
      await operator.start();
      logger.info("operator running", {
        installation: target.installation,
        namespaces: (values.namespace as string[] | undefined) ?? "all",
        leaderElect,
        leaseNamespace,
        identity: operator.identity,
      });
      await stopped;
      logger.info("stopping: releasing the Lease");
    } finally {
      await server?.close();
      await operator.stop();
      await target.close();
    }
    return 0;
  },
};
