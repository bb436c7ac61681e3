import type { RequestStats } from "../cloud/request-stats.ts";
import type { PassResult } from "../reconcile/reconciler.ts";
import type { ValidationResult } from "../validation/result.ts";

// What the operator gives the HTTP server (built separately, in controller/serve/): liveness, readiness
// and a metrics recorder. The operator only records; the server decides how to expose (prom-client).

/** Liveness and readiness, as /healthz and /readyz answer them. */
export interface OperatorProbes {
  /** The process works: its informers are not failing for long and its loop is not stuck. */
  healthy(): boolean;
  /** It can serve: every informer has listed (a standby is ready too: it keeps its caches warm). */
  ready(): boolean;
}

/** What the operator measures; the HTTP server implements it (e.g. with prom-client). */
export interface OperatorMetrics {
  /** One reconcile pass, in seconds, and whether it ended with an error. */
  reconcileDuration(seconds: number, outcome: "ok" | "error"): void;
  /** One executed action, by kind (launch-bake, copy-image…) and result. */
  action(kind: string, result: "ok" | "failed"): void;
  /** Bakes in flight after a pass (specs in phase Baking). */
  bakesInFlight(count: number): void;
  /** Images (regions with an image) of one spec's channel after a pass. */
  images(spec: string, channel: string, count: number): void;
  /** Whether this instance leads (1) or stands by (0). */
  leader(leading: boolean): void;
}

export const noMetrics: OperatorMetrics = {
  reconcileDuration() {},
  action() {},
  bakesInFlight() {},
  images() {},
  leader() {},
};

/** Keeps the last values in memory: for tests, and for a server that renders them itself. */
export class MemoryMetrics implements OperatorMetrics {
  readonly durations: { seconds: number; outcome: string }[] = [];
  readonly actions = new Map<string, number>();
  inFlight = 0;
  readonly imageCounts = new Map<string, number>();
  leading = false;

  reconcileDuration(seconds: number, outcome: "ok" | "error"): void {
    this.durations.push({ seconds, outcome });
    if (this.durations.length > 1000) this.durations.shift();
  }
  action(kind: string, result: "ok" | "failed"): void {
    const key = `${kind} ${result}`;
    this.actions.set(key, (this.actions.get(key) ?? 0) + 1);
  }
  bakesInFlight(count: number): void {
    this.inFlight = count;
  }
  images(spec: string, channel: string, count: number): void {
    this.imageCounts.set(`${spec}/${channel}`, count);
  }
  leader(leading: boolean): void {
    this.leading = leading;
  }
}

/** The operator's last pass, with what it planned from: what /status and the web view show. */
export interface OperatorPassView {
  pass: PassResult;
  validation: ValidationResult;
  /** Where each spec is defined: its resource, `namespace/name`. */
  sources: ReadonlyMap<string, string>;
  /** Passes this operator has made, and when the last ended (its clock, ms since the epoch). */
  passes: number;
  endedAt: number;
  /** The cloud's clock when the pass ended: build ages and deprecations are in its time. */
  cloudNow: number;
  /** Why there is nothing to reconcile, when the watched namespaces hold no ImageSpec. */
  empty?: string;
}

/** Whether this replica leads, and who does when it stands by (from the Lease as last read). */
export interface Leadership {
  leading: boolean;
  /** The Lease, `namespace/name`; undefined when leader election is off (the replica always leads). */
  lease?: string;
  /** The Lease's holder as last read, when another replica holds it. */
  holder?: string;
}

/** Everything the HTTP server needs from a running operator. */
export interface OperatorEndpoints extends OperatorProbes {
  /** Set the recorder before the operator starts: every measurement goes to it. */
  setMetrics(metrics: OperatorMetrics): void;
  /** The last pass, for /status and the web view; undefined before the first (or while standing by). */
  lastPass(): OperatorPassView | undefined;
  /** Why the last pass failed, until one succeeds. */
  lastError(): string | undefined;
  /** Whether this replica leads: a standby's last pass is from when it last led, if it ever did. */
  leadership(): Leadership;
  /** EC2 and SSM requests and throttles by region and action, when the cloud adapter counts them. */
  cloudRequests(): RequestStats | undefined;
}

/** Another HTTP server for `leaven operator --listen` (tests); returns how to stop it. */
export type ServeHook = (endpoints: OperatorEndpoints, listen: string) => Promise<{ close(): Promise<void> }>;
