// Watch streams: newline-delimited JSON watch events over a chunked 200 response, as the real server
// sends them. A watch starts from a resourceVersion (replaying the retained history after it, or an
// ERROR event with a 410 Expired Status when that history is compacted), or from "now" with synthetic
// ADDED events for what exists; it sends BOOKMARKs when asked to, ends after timeoutSeconds, and tests can
// drop every open watch at once.
import type { ServerResponse } from "node:http";
import { type FieldSelector, fieldsMatch, type LabelSelector, labelsMatch } from "./selectors.ts";
import type { ObjectStore, StoredEvent } from "./store.ts";
import { apiVersionOf, type KubeObject, type ResourceType } from "./types.ts";

export interface WatchRequest {
  type: ResourceType;
  namespace?: string;
  /** Parsed already: undefined for "" (most recent), 0 for "0" (any), else the number. */
  resourceVersion?: number;
  labelSelector: LabelSelector;
  fieldSelector: FieldSelector;
  allowWatchBookmarks: boolean;
  timeoutSeconds?: number;
  sendInitialEvents?: boolean;
  /** The stored object as this request's version shows it. */
  present: (stored: KubeObject) => KubeObject;
  /** What an ADDED/MODIFIED/DELETED event carries instead of the object (a Table row, for kubectl get -w). */
  encode?: (object: KubeObject, first: boolean) => unknown;
}

interface ActiveWatch {
  request: WatchRequest;
  response: ServerResponse;
  close: (abrupt: boolean) => void;
  bookmark: () => void;
}

export interface WatchHubOptions {
  /** Interval of bookmarks on watches that allow them; 0 sends them only on sendBookmarks() (default 0). */
  bookmarkIntervalMs?: number;
}

export class WatchHub {
  readonly #store: ObjectStore;
  readonly #watches = new Set<ActiveWatch>();
  bookmarkIntervalMs: number;

  constructor(store: ObjectStore, options: WatchHubOptions = {}) {
    this.#store = store;
    this.bookmarkIntervalMs = options.bookmarkIntervalMs ?? 0;
  }

  /** How many watch connections are open. */
  get openCount(): number {
    return this.#watches.size;
  }

  open(request: WatchRequest, response: ServerResponse): void {
    const store = this.#store;
    const { type } = request;
    response.writeHead(200, {
      "Content-Type": "application/json",
      "Cache-Control": "no-cache, private",
      "Transfer-Encoding": "chunked",
    });
    response.flushHeaders();
    let first = true;
    const send = (eventType: string, object: unknown): void => {
      if (response.writableEnded) return;
      let carried = object;
      if (request.encode && eventType !== "ERROR" && eventType !== "BOOKMARK") {
        carried = request.encode(object as KubeObject, first);
        first = false;
      }
      response.write(`${JSON.stringify({ type: eventType, object: carried })}\n`);
    };
    const matches = (stored: KubeObject): KubeObject | undefined => {
      if (request.namespace !== undefined && stored.metadata.namespace !== request.namespace)
        return undefined;
      const shown = request.present(stored);
      if (!labelsMatch(request.labelSelector, shown.metadata.labels)) return undefined;
      return fieldsMatch(request.fieldSelector, shown) ? shown : undefined;
    };
    const bookmark = (initialEventsEnd = false): void => {
      const metadata: Record<string, unknown> = { resourceVersion: String(store.resourceVersion) };
      if (initialEventsEnd) metadata.annotations = { "k8s.io/initial-events-end": "true" };
      send("BOOKMARK", { kind: type.kind, apiVersion: apiVersionOf(type), metadata });
    };
    const deliver = (event: StoredEvent): void => {
      if (event.storageKey !== type.storageKey) return;
      const now = matches(event.object);
      const before = event.previous ? matches(event.previous) : undefined;
      if (event.type === "ADDED") {
        if (now) send("ADDED", now);
      } else if (event.type === "DELETED") {
        if (before) send("DELETED", request.present(event.object));
      } else if (now && before) send("MODIFIED", now);
      else if (now) send("ADDED", now);
      else if (before) send("DELETED", request.present(event.object));
    };

    let unsubscribe = (): void => {};
    const timers: NodeJS.Timeout[] = [];
    const watch: ActiveWatch = {
      request,
      response,
      bookmark: () => {
        if (request.allowWatchBookmarks) bookmark();
      },
      close: (abrupt) => {
        unsubscribe();
        for (const timer of timers) clearTimeout(timer);
        this.#watches.delete(watch);
        if (abrupt) response.socket?.destroy();
        else if (!response.writableEnded) response.end();
      },
    };
    this.#watches.add(watch);
    response.on("close", () => watch.close(false));

    const rv = request.resourceVersion;
    const initial =
      rv === undefined || rv === 0 ? request.sendInitialEvents !== false : request.sendInitialEvents === true;
    if (rv !== undefined && rv !== 0 && !initial) {
      const replay = store.eventsSince(type.storageKey, rv);
      if (replay === "expired") {
        send("ERROR", {
          kind: "Status",
          apiVersion: "v1",
          metadata: {},
          status: "Failure",
          message: `too old resource version: ${rv} (${store.compactedVersion + 1})`,
          reason: "Expired",
          code: 410,
        });
        watch.close(false);
        return;
      }
      for (const event of replay) deliver(event);
    } else if (initial) {
      for (const stored of store.list(type.storageKey, request.namespace)) {
        const shown = matches(stored);
        if (shown) send("ADDED", shown);
      }
      if (request.sendInitialEvents === true && request.allowWatchBookmarks) bookmark(true);
    }
    unsubscribe = store.subscribe(deliver);
    if (request.allowWatchBookmarks && this.bookmarkIntervalMs > 0) {
      const interval = setInterval(() => bookmark(), this.bookmarkIntervalMs);
      interval.unref();
      timers.push(interval);
    }
    if (request.timeoutSeconds !== undefined && request.timeoutSeconds > 0) {
      const timeout = setTimeout(() => watch.close(false), request.timeoutSeconds * 1000);
      timeout.unref();
      timers.push(timeout);
    }
  }

  /** Sends a BOOKMARK at the current resourceVersion on every watch that allows bookmarks. */
  sendBookmarks(): void {
    for (const watch of this.#watches) watch.bookmark();
  }

  /** Ends every open watch: cleanly (the response ends, clients re-watch) or abruptly (the socket is cut). */
  dropAll(options: { abrupt?: boolean } = {}): number {
    const all = [...this.#watches];
    for (const watch of all) watch.close(options.abrupt ?? false);
    return all.length;
  }

  /** Ends the watches of one storage (its CRD was deleted). */
  closeStorage(storageKey: string): void {
    for (const watch of [...this.#watches])
      if (watch.request.type.storageKey === storageKey) watch.close(false);
  }
}
