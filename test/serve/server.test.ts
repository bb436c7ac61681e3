// The HTTP endpoints with a stand-in ServeSource: what the operator plugs in is the same interface.
import { afterEach, describe, expect, it } from "vitest";
import { createRequestRecorder } from "../../controller/cloud/request-stats.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import type { PassResult } from "../../controller/reconcile/reconciler.ts";
import { LeavenMetrics } from "../../controller/serve/metrics.ts";
import { parseListen, type RunningServer, startServer } from "../../controller/serve/server.ts";
import type { Check, ServeSource, StatusSnapshot } from "../../controller/serve/source.ts";
import { parsePrometheusText } from "./prometheus-text.ts";

class FakeSource implements ServeSource {
  health: Check = { ok: true, reason: "waiting" };
  readiness: Check = { ok: false, reason: "first pass not done yet" };
  snapshot: StatusSnapshot = {
    installation: "default",
    passes: 0,
    inFlight: false,
    diagnostics: [],
    specs: [],
  };
  private readonly listeners = new Set<() => void>();
  status = () => this.snapshot;
  history = (spec: string) =>
    spec === "app" ? { spec: "app", layer: "app" as const, regions: ["us-east-1"], builds: [] } : undefined;
  healthy = () => this.health;
  ready = () => this.readiness;
  subscribe(listener: () => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit() {
    for (const listener of this.listeners) listener();
  }
}

let server: RunningServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

/** A pass as the metrics read it: results, instances and statuses (the rest is not looked at). */
function pass(): PassResult {
  return {
    results: [
      { ok: true, actions: [{ kind: "launch-bake" }] },
      { ok: false, error: "InvalidParameter", actions: [{ kind: "share-image" }, { kind: "share-image" }] },
    ],
    inventory: { instances: [{ state: "running" }, { state: "terminated" }] },
    statuses: [
      {
        name: "app",
        phase: "Baking",
        channels: {
          release: { build: "1.0.0+abcd1234", images: { "us-east-1": "ami-1", "eu-west-1": "ami-2" } },
        },
      },
    ],
  } as unknown as PassResult; // a partial pass: only the fields LeavenMetrics.recordPass reads
}

describe("serve", () => {
  it("parses --listen", () => {
    expect(parseListen("127.0.0.1:8080")).toEqual({ host: "127.0.0.1", port: 8080 });
    expect(parseListen(":8080")).toEqual({ port: 8080 });
    expect(parseListen("[::1]:9")).toEqual({ host: "::1", port: 9 });
    expect(() => parseListen("8080")).toThrow(/HOST:PORT/);
  });

  it("/healthz and /readyz answer 200 or 503 with the reason", async () => {
    const source = new FakeSource();
    server = await startServer({
      source,
      metrics: new LeavenMetrics(),
      listen: "127.0.0.1:0",
      logger: silentLogger,
    });
    let response = await fetch(`${server.url}/readyz`);
    expect(response.status).toBe(503);
    expect(await response.text()).toBe("not ok: first pass not done yet\n");
    expect((await fetch(`${server.url}/healthz`)).status).toBe(200);
    source.readiness = { ok: true, reason: "pass 1 done" };
    source.health = { ok: false, reason: "a pass has been running for more than 900 s" };
    expect((await fetch(`${server.url}/readyz`)).status).toBe(200);
    response = await fetch(`${server.url}/healthz`);
    expect(response.status).toBe(503);
    expect(await response.text()).toContain("more than 900 s");
    expect((await fetch(`${server.url}/nope`)).status).toBe(404);
    expect((await fetch(`${server.url}/status`, { method: "POST" })).status).toBe(405);
  });

  it("/status, /builds/SPEC, the web view's files and /events", async () => {
    const source = new FakeSource();
    server = await startServer({
      source,
      metrics: new LeavenMetrics(),
      listen: "127.0.0.1:0",
      logger: silentLogger,
    });
    expect(await (await fetch(`${server.url}/status`)).json()).toEqual(source.snapshot);
    expect((await fetch(`${server.url}/builds/app`)).status).toBe(200);
    expect((await fetch(`${server.url}/builds/other`)).status).toBe(404);
    const page = await fetch(`${server.url}/`);
    expect(page.headers.get("content-type")).toMatch(/text\/html/);
    expect(await page.text()).toContain('<script type="module" src="/app.js">');
    expect((await fetch(`${server.url}/app.js`)).headers.get("content-type")).toMatch(/javascript/);
    expect((await fetch(`${server.url}/style.css`)).status).toBe(200);

    const events = await fetch(`${server.url}/events`);
    const reader = events.body!.getReader();
    const read = async () => new TextDecoder().decode((await reader.read()).value);
    expect(await read()).toMatch(/^event: status\ndata: \{"installation":"default","passes":0/);
    source.snapshot = { ...source.snapshot, passes: 7 };
    source.emit();
    expect(await read()).toMatch(/^event: status\ndata: \{.*"passes":7/);
    await reader.cancel();
  });

  it("/metrics is Prometheus text with every metric named in the issue", async () => {
    const recorder = createRequestRecorder();
    recorder.request("us-east-1", "RunInstances");
    recorder.request("us-east-1", "RunInstances");
    recorder.throttled("us-east-1", "RunInstances");
    recorder.request("eu-west-1", "DescribeImages");
    const metrics = new LeavenMetrics(() => recorder.snapshot());
    metrics.recordPass(pass(), 0.3);
    server = await startServer({
      source: new FakeSource(),
      metrics,
      listen: "127.0.0.1:0",
      logger: silentLogger,
    });
    const response = await fetch(`${server.url}/metrics`);
    expect(response.headers.get("content-type")).toMatch(/^text\/plain; version=0\.0\.4/);
    const { types, samples } = parsePrometheusText(await response.text());
    expect(Object.fromEntries(types)).toMatchObject({
      leaven_reconcile_duration_seconds: "histogram",
      leaven_actions_total: "counter",
      leaven_bakes_in_flight: "gauge",
      leaven_aws_requests_total: "counter",
      leaven_aws_throttles_total: "counter",
      leaven_images: "gauge",
      leaven_specs: "gauge",
    });
    const value = (name: string, labels: Record<string, string> = {}) =>
      samples.find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
        ?.value;
    expect(value("leaven_reconcile_duration_seconds_count")).toBe(1);
    expect(value("leaven_reconcile_duration_seconds_bucket", { le: "0.5" })).toBe(1);
    expect(value("leaven_actions_total", { kind: "launch-bake", result: "ok" })).toBe(1);
    expect(value("leaven_actions_total", { kind: "share-image", result: "error" })).toBe(2);
    expect(value("leaven_bakes_in_flight")).toBe(1);
    expect(value("leaven_images", { spec: "app", channel: "release" })).toBe(2);
    expect(value("leaven_specs", { phase: "Baking" })).toBe(1);
    expect(value("leaven_aws_requests_total", { region: "us-east-1", action: "RunInstances" })).toBe(2);
    expect(value("leaven_aws_throttles_total", { region: "us-east-1", action: "RunInstances" })).toBe(1);
    // Counters follow the adapter's growing stats without counting twice.
    recorder.request("us-east-1", "RunInstances");
    const again = parsePrometheusText(await (await fetch(`${server.url}/metrics`)).text());
    expect(
      again.samples.find(
        (s) =>
          s.name === "leaven_aws_requests_total" &&
          s.labels.region === "us-east-1" &&
          s.labels.action === "RunInstances",
      )?.value,
    ).toBe(3);
  });
});
