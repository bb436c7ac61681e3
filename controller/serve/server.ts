// The HTTP side of a long-running controller: /metrics, /healthz, /readyz, /status, /builds/SPEC, /events
// (Server-Sent Events: one `status` event per change) and the web view at / (static files beside this
// module, no build step). node:http only: the endpoints are few and the operator reuses them as they are.
import { readFile } from "node:fs/promises";
import { createServer, type IncomingMessage, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { fileURLToPath } from "node:url";
import type { Logger } from "../log/logger.ts";
import type { LeavenMetrics } from "./metrics.ts";
import type { ServeSource } from "./source.ts";

export interface ServeOptions {
  source: ServeSource;
  metrics: LeavenMetrics;
  /** host:port; `:8080` listens on every interface, port 0 picks a free one. */
  listen: string;
  logger: Logger;
}

export interface RunningServer {
  /** http://host:port of the bound address. */
  url: string;
  close(): Promise<void>;
}

const WEB_DIR = fileURLToPath(new URL("./web/", import.meta.url));
const STATIC: Record<string, { file: string; type: string }> = {
  "/": { file: "index.html", type: "text/html; charset=utf-8" },
  "/index.html": { file: "index.html", type: "text/html; charset=utf-8" },
  "/app.js": { file: "app.js", type: "text/javascript; charset=utf-8" },
  "/style.css": { file: "style.css", type: "text/css; charset=utf-8" },
};

/** Splits --listen: `HOST:PORT`, `:PORT` (every interface), `[::1]:PORT`. */
export function parseListen(listen: string): { host?: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d{1,5})$/.exec(listen);
  const port = Number(match?.[3]);
  if (!match || !Number.isInteger(port) || port > 65_535)
    throw new Error(`--listen must be HOST:PORT or :PORT (e.g. 127.0.0.1:8080), not "${listen}"`);
  const host = match[1] ?? match[2];
  return host ? { host, port } : { port };
}

export async function startServer(options: ServeOptions): Promise<RunningServer> {
  const { source, metrics, logger } = options;
  const { host, port } = parseListen(options.listen);
  const streams = new Set<ServerResponse>();
  const json = (res: ServerResponse, code: number, body: unknown) => {
    res.writeHead(code, { "content-type": "application/json; charset=utf-8", "cache-control": "no-store" });
    res.end(`${JSON.stringify(body)}\n`);
  };
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? "/", "http://leaven");
    const path = url.pathname;
    if (req.method !== "GET" && req.method !== "HEAD") {
      res.writeHead(405, { allow: "GET, HEAD" }).end();
      return;
    }
    if (path === "/metrics") {
      const text = await metrics.text();
      res.writeHead(200, { "content-type": metrics.contentType }).end(text);
      return;
    }
    if (path === "/healthz" || path === "/readyz") {
      const check = path === "/healthz" ? source.healthy() : source.ready();
      res.writeHead(check.ok ? 200 : 503, { "content-type": "text/plain; charset=utf-8" });
      res.end(`${check.ok ? "ok" : "not ok"}: ${check.reason}\n`);
      return;
    }
    if (path === "/status") return json(res, 200, source.status());
    if (path.startsWith("/builds/")) {
      const history = source.history(decodeURIComponent(path.slice("/builds/".length)));
      if (!history) return json(res, 404, { error: "no such spec, or nothing observed yet" });
      return json(res, 200, history);
    }
    if (path === "/events") {
      res.writeHead(200, {
        "content-type": "text/event-stream",
        "cache-control": "no-store",
        connection: "keep-alive",
      });
      res.write(`event: status\ndata: ${JSON.stringify(source.status())}\n\n`);
      streams.add(res);
      req.on("close", () => streams.delete(res));
      return;
    }
    const asset = STATIC[path];
    if (asset) {
      const body = await readFile(`${WEB_DIR}${asset.file}`);
      res.writeHead(200, { "content-type": asset.type, "cache-control": "no-cache" }).end(body);
      return;
    }
    res.writeHead(404, { "content-type": "text/plain; charset=utf-8" }).end("not found\n");
  };
  const server: Server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      logger.error("http request failed", { path: req.url, error: String(error) });
      if (!res.headersSent) res.writeHead(500);
      res.end();
    });
  });
  // Many passes may finish in a burst (bakes in flight): one status event per tick is enough for a browser.
  let scheduled = false;
  const unsubscribe = source.subscribe(() => {
    if (scheduled || streams.size === 0) return;
    scheduled = true;
    setImmediate(() => {
      scheduled = false;
      const data = `event: status\ndata: ${JSON.stringify(source.status())}\n\n`;
      for (const stream of streams) stream.write(data);
    });
  });
  // A comment line now and then keeps proxies from closing an idle event stream.
  const keepAlive = setInterval(() => {
    for (const stream of streams) stream.write(": keep-alive\n\n");
  }, 15_000);
  keepAlive.unref();
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const shown = address.family === "IPv6" ? `[${address.address}]` : address.address;
  return {
    url: `http://${shown}:${address.port}`,
    close: async () => {
      unsubscribe();
      clearInterval(keepAlive);
      for (const stream of streams) stream.end();
      streams.clear();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
