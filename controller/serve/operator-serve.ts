// The HTTP side of `leaven operator`: the same /metrics, /healthz, /readyz, /status and web view as
// `leaven run` (controller/serve/server.ts), fed from the operator's endpoints (controller/operator/).
import type { RequestStats } from "../cloud/request-stats.ts";
import type { Logger } from "../log/logger.ts";
import type { OperatorEndpoints, OperatorMetrics } from "../operator/operator-endpoints.ts";
import type { BuildHistory } from "../status/build-history.ts";
import { LeavenMetrics } from "./metrics.ts";
import { type RunningServer, startServer } from "./server.ts";
import type { Check, ServeSource, SpecView, StatusSnapshot } from "./source.ts";

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

/** The operator as the HTTP server's source: statuses of the last pass, probes, change notifications. */
export class OperatorServeSource implements ServeSource {
  private readonly endpoints: OperatorEndpoints;
  private readonly installation: string;
  private readonly listeners = new Set<() => void>();
  private timer: ReturnType<typeof setInterval> | undefined;
  private last = "";
  private passes = 0;
  private lastPassAt: string | undefined;

  constructor(endpoints: OperatorEndpoints, installation: string) {
    this.endpoints = endpoints;
    this.installation = installation;
  }

  status(): StatusSnapshot {
    const statuses = this.endpoints.lastStatuses();
    const specs: SpecView[] = statuses.map((s) => ({
      name: s.name,
      layer: s.layer,
      phase: s.phase,
      message: s.message,
      channels: s.channels,
      builds: s.builds,
      ...(s.desiredBuild ? { desiredBuild: s.desiredBuild } : {}),
    }));
    return {
      installation: this.installation,
      ...(this.lastPassAt ? { lastPassAt: this.lastPassAt } : {}),
      passes: this.passes,
      inFlight: statuses.some(
        (s) => !["Ready", "Suspended", "Stalled", "Failed", "Blocked"].includes(s.phase),
      ),
      diagnostics: [],
      specs,
    };
  }

  history(_spec: string): BuildHistory | undefined {
    // The operator keeps no inventory for the server to read: `leaven builds` answers this for a cluster.
    return undefined;
  }

  healthy(): Check {
    const ok = this.endpoints.healthy();
    return { ok, reason: ok ? "informers and loop running" : "informers failing or loop stuck" };
  }

  ready(): Check {
    const ok = this.endpoints.ready();
    return { ok, reason: ok ? "every informer has listed" : "informers have not listed yet" };
  }

  /** The operator has no change callback: its statuses are compared once a second. */
  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    this.timer ??= setInterval(() => {
      const now = JSON.stringify(this.endpoints.lastStatuses());
      if (now === this.last) return;
      this.last = now;
      this.passes++;
      this.lastPassAt = new Date().toISOString();
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
