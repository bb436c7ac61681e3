// The HTTP side of `leaven operator`: the same /metrics, /healthz, /readyz, /status, /builds/SPEC and web
// view as `leaven run` (controller/serve/server.ts), fed from the operator's endpoints (controller/operator/).
import type { RequestStats } from "../cloud/request-stats.ts";
import type { Logger } from "../log/logger.ts";
import type { OperatorEndpoints, OperatorMetrics } from "../operator/operator-endpoints.ts";
import { type PassResult, settled } from "../reconcile/reconciler.ts";
import { type BuildHistory, buildHistory } from "../status/build-history.ts";
import { formatDiagnostic } from "../validation/result.ts";
import { LeavenMetrics } from "./metrics.ts";
import { type RunningServer, startServer } from "./server.ts";
import type { Check, ServeSource, SpecError, SpecView, StatusSnapshot } from "./source.ts";
import { outdatedBuilds, passWarnings, specViewOf } from "./spec-view.ts";

const NO_REQUESTS: RequestStats = { requests: 0, throttled: 0, retried: 0, mutating: 0, byRegion: {} };

/** The operator's measurements into the Prometheus registry `leaven run` uses. */
export class PrometheusOperatorMetrics implements OperatorMetrics {
  private readonly metrics: LeavenMetrics;
  constructor(metrics: LeavenMetrics) {
    this.metrics = metrics;
  }
  reconcileDuration(seconds: number, outcome: "ok" | "error"): void {
    this.metrics.observePass(seconds, outcome);
  }
  action(kind: string, result: "ok" | "failed"): void {
    this.metrics.countAction(kind, result === "ok" ? "ok" : "error");
  }
  bakesInFlight(count: number): void {
    this.metrics.setBakesInFlight(count);
  }
  images(spec: string, channel: string, count: number): void {
    this.metrics.setImages(spec, channel, count);
  }
  leader(leading: boolean): void {
    this.metrics.setLeader(leading);
  }
}

/** The operator as the HTTP server's source: its last pass as `leaven run` shows one, probes, changes. */
export class OperatorServeSource implements ServeSource {
  private readonly endpoints: OperatorEndpoints;
  private readonly installation: string;
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private last = "";
  /** The last pass's outdated builds, worked out once per pass rather than once per request. */
  private outdated?: { pass: PassResult; builds: Map<string, string[]> };

  constructor(endpoints: OperatorEndpoints, installation: string) {
    this.endpoints = endpoints;
    this.installation = installation;
  }

  status(): StatusSnapshot {
    const view = this.endpoints.lastPass();
    const lastError = this.endpoints.lastError();
    const leadership = this.endpoints.leadership();
    const standby =
      !leadership.leading && leadership.lease !== undefined
        ? { lease: leadership.lease, ...(leadership.holder ? { holder: leadership.holder } : {}) }
        : undefined;
    const standbyWarning = standby ? [standbyWarningOf(standby, view?.endedAt)] : [];
    if (!view)
      return {
        installation: this.installation,
        passes: 0,
        inFlight: false,
        ...(lastError ? { lastError } : {}),
        ...(standby ? { standby, warnings: standbyWarning } : {}),
        diagnostics: [],
        specs: [],
      };
    const { pass, validation } = view;
    const errors = validation.diagnostics.filter((d) => d.severity === "error");
    const specErrors = new Map<string, SpecError>();
    for (const d of errors)
      if (d.spec !== undefined && !specErrors.has(d.spec))
        specErrors.set(d.spec, { ...d.position, message: d.message });
    const outdated = this.outdatedOf(pass);
    const specs: SpecView[] = pass.statuses.map((status) =>
      specViewOf(status, {
        outdated: outdated.get(status.name),
        source: view.sources.get(status.name),
        error: specErrors.get(status.name),
      }),
    );
    const warnings = [
      ...standbyWarning,
      ...(view.empty ? [view.empty] : []),
      ...passWarnings(pass, validation),
    ];
    return {
      installation: this.installation,
      lastPassAt: new Date(view.endedAt).toISOString(),
      passes: view.passes,
      inFlight: settled(pass) === undefined,
      ...(lastError ? { lastError } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
      ...(standby ? { standby } : {}),
      diagnostics: errors.filter((d) => d.spec === undefined).map(formatDiagnostic),
      specs,
    };
  }

  history(spec: string): BuildHistory | undefined {
    const view = this.endpoints.lastPass();
    if (!view?.pass.statuses.some((s) => s.name === spec)) return undefined;
    return buildHistory({
      spec,
      inventory: view.pass.inventory,
      statuses: view.pass.statuses,
      now: view.cloudNow,
      installation: this.installation,
    });
  }

  private outdatedOf(pass: PassResult): Map<string, string[]> {
    if (this.outdated?.pass !== pass) this.outdated = { pass, builds: outdatedBuilds(pass) };
    return this.outdated.builds;
  }

  healthy(): Check {
    const ok = this.endpoints.healthy();
    return { ok, reason: ok ? "informers and loop running" : "informers failing or loop stuck" };
  }

  ready(): Check {
    const ok = this.endpoints.ready();
    return { ok, reason: ok ? "every informer has listed" : "informers have not listed yet" };
  }

  /** The operator has no change callback: its pass count, error and leadership are compared once a second. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    this.timer ??= setInterval(() => {
      const { leading, holder } = this.endpoints.leadership();
      const now = `${this.endpoints.lastPass()?.passes ?? 0} ${leading} ${holder ?? ""} ${this.endpoints.lastError() ?? ""}`;
      if (now === this.last) return;
      this.last = now;
      for (const l of this.listeners) l();
    }, 1000);
    this.timer.unref?.();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.timer) {
        clearInterval(this.timer);
        this.timer = undefined;
      }
    };
  }
}

/** What a standby's /status says first: whose view is current, and how old this one's is. */
export function standbyWarningOf(standby: { lease: string; holder?: string }, lastPassAt?: number): string {
  const leader = standby.holder ? `the leader, ${standby.holder},` : "the leader";
  const shown =
    lastPassAt === undefined
      ? "this replica has made no pass"
      : `shown is this replica's last pass as leader, at ${new Date(lastPassAt).toISOString()}`;
  return `this replica stands by (Lease ${standby.lease}): ${leader} reconciles and serves the current status; ${shown}`;
}

/** Serves the operator's endpoints on `listen`; the operator's metrics go to the served registry. */
export async function serveOperator(
  endpoints: OperatorEndpoints,
  listen: string,
  options: { installation: string; logger: Logger },
): Promise<RunningServer> {
  const metrics = new LeavenMetrics(() => endpoints.cloudRequests() ?? NO_REQUESTS);
  endpoints.setMetrics(new PrometheusOperatorMetrics(metrics));
  const source = new OperatorServeSource(endpoints, options.installation);
  return startServer({ source, metrics, listen, logger: options.logger });
}
