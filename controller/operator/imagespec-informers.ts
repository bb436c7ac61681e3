// Informers for ImageSpecs (@kubernetes/client-node's makeInformer: list, then watch from the list's
// resourceVersion; it relists by itself after 410 Gone). One informer for all namespaces, or one per chosen
// namespace. client-node's ListWatch stops for good on any other error (a refused list, a dropped
// connection it cannot resume): it is restarted here with exponential backoff, and counts as synced again
// once its list has come back.
import {
  type CustomObjectsApi,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  makeInformer,
  type ObjectCache,
} from "@kubernetes/client-node";
import type { Clock } from "../cloud/clock.ts";
import type { Logger } from "../log/logger.ts";
import type { ImageSpecObject } from "./cluster-specs.ts";

export const GROUP = "leaven.dev";
export const VERSION = "v1alpha1";
export const PLURAL = "imagespecs";

export interface ImageSpecInformersOptions {
  kubeConfig: KubeConfig;
  api: CustomObjectsApi;
  /** Namespaces to watch; empty = all namespaces. */
  namespaces: readonly string[];
  clock: Clock;
  logger: Logger;
  /** Called for every added, updated or deleted ImageSpec (and every object of a relist). */
  onChange: (object: ImageSpecObject, verb: "add" | "update" | "delete") => void;
  /** First restart delay after an error (default 1 s), doubled per consecutive error… */
  baseBackoffMs?: number;
  /** …up to this (default 60 s). */
  maxBackoffMs?: number;
}

type CachingInformer = Informer<ImageSpecObject> & ObjectCache<ImageSpecObject>;

interface Watched {
  namespace: string | undefined;
  informer: CachingInformer;
  synced: boolean;
  failures: number;
  lastError?: string;
  restart?: AbortController;
}

export class ImageSpecInformers {
  private readonly watched: Watched[] = [];
  private stopped = false;

  private readonly options: ImageSpecInformersOptions;

  constructor(options: ImageSpecInformersOptions) {
    this.options = options;
    const namespaces = options.namespaces.length > 0 ? [...new Set(options.namespaces)] : [undefined];
    for (const namespace of namespaces) this.watched.push(this.makeWatched(namespace));
  }

  private makeWatched(namespace: string | undefined): Watched {
    const { api, kubeConfig } = this.options;
    const path =
      namespace === undefined
        ? `/apis/${GROUP}/${VERSION}/${PLURAL}`
        : `/apis/${GROUP}/${VERSION}/namespaces/${namespace}/${PLURAL}`;
    const list = async (): Promise<KubernetesListObject<ImageSpecObject>> => {
      const answer =
        namespace === undefined
          ? await api.listClusterCustomObject({ group: GROUP, version: VERSION, plural: PLURAL })
          : await api.listNamespacedCustomObject({
              group: GROUP,
              version: VERSION,
              namespace,
              plural: PLURAL,
            });
      const result = answer as KubernetesListObject<ImageSpecObject>;
      watched.synced = true;
      watched.failures = 0;
      delete watched.lastError;
      return result;
    };
    const informer = makeInformer<ImageSpecObject>(kubeConfig, path, list);
    const watched: Watched = { namespace, informer, synced: false, failures: 0 };
    informer.on("add", (o) => this.options.onChange(o, "add"));
    informer.on("update", (o) => this.options.onChange(o, "update"));
    informer.on("delete", (o) => this.options.onChange(o, "delete"));
    // The argument is whatever the watch or list failed with (client-node types it `any`).
    informer.on("error", (error: unknown) => this.restartAfterError(watched, error));
    return watched;
  }

  private restartAfterError(watched: Watched, error: unknown): void {
    if (this.stopped) return;
    watched.failures += 1;
    watched.lastError = error instanceof Error ? error.message : String(error);
    const base = this.options.baseBackoffMs ?? 1_000;
    const delay = Math.min(this.options.maxBackoffMs ?? 60_000, base * 2 ** (watched.failures - 1));
    this.options.logger.warn("ImageSpec watch failed: restarting after a backoff", {
      namespace: watched.namespace ?? "(all)",
      error: watched.lastError,
      failures: watched.failures,
      retryInMs: delay,
    });
    const abort = new AbortController();
    watched.restart = abort;
    void this.options.clock.sleep(delay, abort.signal).then(async () => {
      if (abort.signal.aborted || this.stopped) return;
      try {
        await watched.informer.start();
      } catch (startError) {
        this.restartAfterError(watched, startError);
      }
    });
  }

  /** Starts every informer; resolves once each has listed (or failed its first list and is retrying). */
  async start(): Promise<void> {
    await Promise.all(
      this.watched.map(async (w) => {
        try {
          await w.informer.start();
        } catch (error) {
          this.restartAfterError(w, error);
        }
      }),
    );
  }

  /** Every ImageSpec in the caches. */
  list(): ImageSpecObject[] {
    return this.watched.flatMap((w) => w.informer.list());
  }

  get(namespace: string, name: string): ImageSpecObject | undefined {
    for (const w of this.watched) {
      const found = w.informer.get(name, namespace);
      if (found) return found;
    }
    return undefined;
  }

  /** Every informer has listed at least once. */
  synced(): boolean {
    return this.watched.every((w) => w.synced);
  }

  /** Informers that are failing now, with their last error. */
  failing(): { namespace: string; error: string; failures: number }[] {
    return this.watched
      .filter((w) => w.failures > 0)
      .map((w) => ({ namespace: w.namespace ?? "(all)", error: w.lastError ?? "", failures: w.failures }));
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const w of this.watched) {
      w.restart?.abort();
      await w.informer.stop();
    }
  }
}
