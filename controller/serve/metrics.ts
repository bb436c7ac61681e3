// Prometheus metrics for a long-running controller (`leaven run`, `leaven operator`), through prom-client.
// One registry per controller (not prom-client's global one) so tests and two controllers in one process
// never share counters.
import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { RequestStats } from "../cloud/request-stats.ts";
import type { PassResult } from "../reconcile/reconciler.ts";

export class LeavenMetrics {
  readonly registry = new Registry();
  private readonly passDuration: Histogram<string>;
  private readonly actions: Counter<"kind" | "result">;
  private readonly bakesInFlight: Gauge<string>;
  private readonly images: Gauge<"spec" | "channel">;
  private readonly specs: Gauge<"phase">;
  private readonly requests: Counter<"region" | "action">;
  private readonly throttles: Counter<"region" | "action">;
  private readonly loadErrors: Counter<string>;
  private readonly leading: Gauge<string>;
  /** The request counts last copied into the counters: the adapter's stats only grow, so deltas are added. */
  private seen: RequestStats | undefined;

  constructor(requestStats?: () => RequestStats) {
    const registers = [this.registry];
    this.passDuration = new Histogram({
      name: "leaven_reconcile_duration_seconds",
      help: "Duration of one reconcile pass (observe, plan, execute), wall time.",
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120],
      registers,
    });
    this.actions = new Counter({
      name: "leaven_actions_total",
      help: "Actions executed, by kind and result (ok or error).",
      labelNames: ["kind", "result"],
      registers,
    });
    this.bakesInFlight = new Gauge({
      name: "leaven_bakes_in_flight",
      help: "Bake and check instances of this installation not yet terminated, as last observed.",
      registers,
    });
    this.images = new Gauge({
      name: "leaven_images",
      help: "Regions with an available image of the build a spec's channel resolves to.",
      labelNames: ["spec", "channel"],
      registers,
    });
    this.specs = new Gauge({
      name: "leaven_specs",
      help: "Specs by phase, as of the last pass.",
      labelNames: ["phase"],
      registers,
    });
    this.loadErrors = new Counter({
      name: "leaven_spec_load_errors_total",
      help: "Spec reloads that found input errors.",
      registers,
    });
    this.leading = new Gauge({
      name: "leaven_leader",
      help: "1 while this operator instance holds the installation's Lease and acts, 0 while it stands by.",
      registers,
    });
    const self = this;
    this.requests = new Counter({
      name: "leaven_aws_requests_total",
      help: "AWS (EC2, SSM) HTTP requests sent, retries included, by region and action.",
      labelNames: ["region", "action"],
      registers,
      collect() {
        if (requestStats) self.copyRequestStats(requestStats());
      },
    });
    this.throttles = new Counter({
      name: "leaven_aws_throttles_total",
      help: "AWS requests answered with a throttling error, by region and action.",
      labelNames: ["region", "action"],
      registers,
    });
  }

  /** Records one finished pass: its duration, its actions' results, bakes in flight, images per channel. */
  recordPass(pass: PassResult, seconds: number): void {
    this.passDuration.observe(seconds);
    for (const result of pass.results)
      for (const action of result.actions)
        this.actions.inc({ kind: action.kind, result: result.ok ? "ok" : "error" });
    this.bakesInFlight.set(
      pass.inventory.instances.filter((i) => i.state !== "terminated" && i.state !== "shutting-down").length,
    );
    this.images.reset();
    this.specs.reset();
    const phases = new Map<string, number>();
    for (const status of pass.statuses) {
      phases.set(status.phase, (phases.get(status.phase) ?? 0) + 1);
      for (const [channel, value] of Object.entries(status.channels))
        this.images.set({ spec: status.name, channel }, Object.keys(value.images).length);
    }
    for (const [phase, count] of phases) this.specs.set({ phase }, count);
  }

  // One measurement at a time, for a controller that reports as it goes (the operator).
  observePass(seconds: number, _outcome: "ok" | "error"): void {
    this.passDuration.observe(seconds);
  }

  countAction(kind: string, result: "ok" | "error"): void {
    this.actions.inc({ kind, result });
  }

  setBakesInFlight(count: number): void {
    this.bakesInFlight.set(count);
  }

  setImages(spec: string, channel: string, count: number): void {
    this.images.set({ spec, channel }, count);
  }

  setLeader(leading: boolean): void {
    this.leading.set(leading ? 1 : 0);
  }

  recordLoadError(): void {
    this.loadErrors.inc();
  }

  private copyRequestStats(stats: RequestStats): void {
    for (const [region, regionStats] of Object.entries(stats.byRegion))
      for (const [action, counts] of Object.entries(regionStats.byAction)) {
        const before = this.seen?.byRegion[region]?.byAction[action];
        const requests = counts.requests - (before?.requests ?? 0);
        const throttled = counts.throttled - (before?.throttled ?? 0);
        // A reset of the adapter's stats (tests) would make a delta negative: counters never go down.
        if (requests > 0) this.requests.inc({ region, action }, requests);
        else this.requests.inc({ region, action }, 0);
        if (throttled > 0) this.throttles.inc({ region, action }, throttled);
        else this.throttles.inc({ region, action }, 0);
      }
    this.seen = stats;
  }

  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }
}
