// The server's storage, like etcd behind the real one: one global resourceVersion counter that every write
// advances, objects per storage key, and a bounded history of change events that watches replay from.
// Events older than the retained history are gone (compacted), and asking for them is answered 410.
import { clone, type KubeObject } from "./types.ts";

export type EventType = "ADDED" | "MODIFIED" | "DELETED";

export interface StoredEvent {
  resourceVersion: number;
  type: EventType;
  storageKey: string;
  object: KubeObject;
  /** The object before a MODIFIED or DELETED write (for watches whose selectors it left). */
  previous?: KubeObject;
}

export interface StoreOptions {
  /** How many change events are kept for watches to replay (default 1000). */
  historyLimit?: number;
}

function key(namespace: string | undefined, name: string): string {
  return `${namespace ?? ""}/${name}`;
}

export class ObjectStore {
  #resourceVersion = 0;
  readonly #objects = new Map<string, Map<string, KubeObject>>();
  #history: StoredEvent[] = [];
  /** Every event with resourceVersion <= this one is forgotten. */
  #compactedVersion = 0;
  readonly #listeners = new Set<(event: StoredEvent) => void>();
  historyLimit: number;

  constructor(options: StoreOptions = {}) {
    this.historyLimit = options.historyLimit ?? 1000;
  }

  /** The latest resourceVersion handed out. */
  get resourceVersion(): number {
    return this.#resourceVersion;
  }

  /** Watches and exact lists may start from here or later; older is 410 Expired. */
  get compactedVersion(): number {
    return this.#compactedVersion;
  }

  get(storageKey: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const found = this.#objects.get(storageKey)?.get(key(namespace, name));
    return found ? clone(found) : undefined;
  }

  /** Objects of a storage key (in one namespace when given), ordered by namespace then name. */
  list(storageKey: string, namespace?: string): KubeObject[] {
    const all = [...(this.#objects.get(storageKey)?.values() ?? [])];
    return all
      .filter((o) => namespace === undefined || o.metadata.namespace === namespace)
      .map((o) => clone(o))
      .sort((a, b) =>
        key(a.metadata.namespace, a.metadata.name ?? "").localeCompare(
          key(b.metadata.namespace, b.metadata.name ?? ""),
        ),
      );
  }

  /** Stores `object` at the next resourceVersion and tells the watches; returns what was stored. */
  put(storageKey: string, object: KubeObject): KubeObject {
    const name = object.metadata.name ?? "";
    const bucket = this.#objects.get(storageKey) ?? new Map<string, KubeObject>();
    this.#objects.set(storageKey, bucket);
    const previous = bucket.get(key(object.metadata.namespace, name));
    const stored = clone(object);
    stored.metadata.resourceVersion = String(++this.#resourceVersion);
    bucket.set(key(object.metadata.namespace, name), stored);
    this.#record({
      resourceVersion: this.#resourceVersion,
      type: previous ? "MODIFIED" : "ADDED",
      storageKey,
      object: stored,
      ...(previous ? { previous } : {}),
    });
    return clone(stored);
  }

  /** Removes an object at the next resourceVersion (the DELETED event carries it at that version). */
  remove(storageKey: string, namespace: string | undefined, name: string): KubeObject | undefined {
    const bucket = this.#objects.get(storageKey);
    const previous = bucket?.get(key(namespace, name));
    if (!bucket || !previous) return undefined;
    bucket.delete(key(namespace, name));
    const gone = clone(previous);
    gone.metadata.resourceVersion = String(++this.#resourceVersion);
    this.#record({
      resourceVersion: this.#resourceVersion,
      type: "DELETED",
      storageKey,
      object: gone,
      previous,
    });
    return clone(gone);
  }

  /** Events of a storage key after `resourceVersion`, or "expired" when some of them are forgotten. */
  eventsSince(storageKey: string, resourceVersion: number): StoredEvent[] | "expired" {
    if (resourceVersion < this.#compactedVersion) return "expired";
    return this.#history.filter((e) => e.storageKey === storageKey && e.resourceVersion > resourceVersion);
  }

  /** Forgets the whole history, as an etcd compaction at the current revision does. */
  compact(): void {
    this.#history = [];
    this.#compactedVersion = this.#resourceVersion;
  }

  subscribe(listener: (event: StoredEvent) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  #record(event: StoredEvent): void {
    this.#history.push(event);
    while (this.#history.length > this.historyLimit) {
      const dropped = this.#history.shift()!;
      this.#compactedVersion = dropped.resourceVersion;
    }
    for (const listener of [...this.#listeners]) listener(event);
  }
}
