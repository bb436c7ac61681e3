// Kubernetes Events (core v1) on the owning ImageSpec for what a pass did: bakes, images, copies, channel
// moves (promotions), retirement stages and failures. A repeat of the same reason and note on the same
// object within the series window is not a new Event: the first one's count and lastTimestamp go up, as
// client-go's event correlator does.
import { randomBytes } from "node:crypto";
import { type CoreV1Api, type CoreV1Event, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { CHANNEL_TAG_PREFIX } from "../api/tags.ts";
import type { Clock } from "../cloud/clock.ts";
import type { ActionResult } from "../execute/executor.ts";
import type { Logger } from "../log/logger.ts";
import type { Action } from "../plan/actions.ts";
import { GROUP, VERSION } from "./imagespec-informers.ts";

export interface EventTarget {
  namespace: string;
  name: string;
  uid?: string;
}

export interface RecordedEvent {
  type: "Normal" | "Warning";
  reason: string;
  note: string;
}

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

/** The Event an action's result deserves, or none (tags, parameters and other bookkeeping are not news). */
export function eventFor(action: Action, result: ActionResult): RecordedEvent | undefined {
  const where = action.region;
  if (!result.ok) {
    return {
      type: "Warning",
      reason: "ActionFailed",
      note: `${action.kind} in ${where} failed: ${result.error ?? "unknown error"} (${action.reason})`,
    };
  }
  switch (action.kind) {
    case "launch-bake":
      return {
        type: "Normal",
        reason: "BakeStarted",
        note: `baking ${action.build} in ${where}${result.created ? ` on ${result.created}` : ""}`,
      };
    case "create-image":
      return {
        type: "Normal",
        reason: "ImageCreated",
        note: `creating the image of ${action.build} in ${where}${result.created ? `: ${result.created}` : ""}`,
      };
    case "copy-image":
      return {
        type: "Normal",
        reason: "CopyStarted",
        note: `copying ${action.build} to ${where}${result.created ? `: ${result.created}` : ""}`,
      };
    case "set-tags": {
      const channels = Object.keys(action.tags)
        .filter((k) => k.startsWith(CHANNEL_TAG_PREFIX))
        .map((k) => k.slice(CHANNEL_TAG_PREFIX.length));
      if (channels.length === 0) return undefined;
      return {
        type: "Normal",
        reason: "Promoted",
        note: `${channels.join(", ")} → ${action.build} in ${where} (${action.imageId})`,
      };
    }
    case "record-failure":
      return { type: "Warning", reason: "BakeFailed", note: `${action.reason} (${where})` };
    case "deprecate-image":
      return { type: "Normal", reason: "ImageDeprecated", note: `${action.reason} (${where})` };
    case "disable-image":
      return { type: "Normal", reason: "ImageDisabled", note: `${action.reason} (${where})` };
    case "deregister-image":
      return { type: "Normal", reason: "ImageRetired", note: `${action.reason} (${where})` };
    case "restore-image":
      return { type: "Normal", reason: "ImageRestored", note: `${action.reason} (${where})` };
    default:
      return undefined;
  }
}

interface Series {
  name: string;
  count: number;
  firstTimestamp: string;
}

export interface EventRecorderOptions {
  api: CoreV1Api;
  clock: Clock;
  logger: Logger;
  /** reportingController / source.component. */
  component?: string;
  /** This process (source.host, reportingInstance). */
  instance: string;
  /** Repeats within this long count up one Event (default 10 minutes, client-go's). */
  seriesWindowMs?: number;
}

export class EventRecorder {
  private readonly series = new Map<string, Series & { last: number }>();
  /** Writes in order, so a count never goes back and a test can wait for them. */
  private chain: Promise<void> = Promise.resolve();

  private readonly options: EventRecorderOptions;

  constructor(options: EventRecorderOptions) {
    this.options = options;
  }

  record(target: EventTarget, event: RecordedEvent): void {
    this.chain = this.chain.then(() => this.write(target, event));
  }

  /** Resolves once every Event recorded so far is written (or has failed and been logged). */
  flush(): Promise<void> {
    return this.chain;
  }

  private async write(target: EventTarget, event: RecordedEvent): Promise<void> {
    const { api, clock, logger } = this.options;
    const now = clock.now();
    const stamp = new Date(now);
    const key = `${target.namespace}/${target.name}/${target.uid ?? ""}\u0000${event.type}\u0000${event.reason}\u0000${event.note}`;
    const window = this.options.seriesWindowMs ?? 10 * 60_000;
    const existing = this.series.get(key);
    try {
      if (existing && now - existing.last <= window) {
        existing.count += 1;
        existing.last = now;
        await api.patchNamespacedEvent(
          {
            name: existing.name,
            namespace: target.namespace,
            body: { count: existing.count, lastTimestamp: stamp.toISOString() },
          },
          mergePatch,
        );
        return;
      }
      const name = `${target.name}.${now.toString(16)}${randomBytes(3).toString("hex")}`;
      const body: CoreV1Event = {
        metadata: { name, namespace: target.namespace },
        involvedObject: {
          apiVersion: `${GROUP}/${VERSION}`,
          kind: "ImageSpec",
          name: target.name,
          namespace: target.namespace,
          ...(target.uid ? { uid: target.uid } : {}),
        },
        type: event.type,
        reason: event.reason,
        // The API server caps an Event's message at 1 KiB.
        message: event.note.length > 1024 ? `${event.note.slice(0, 1021)}...` : event.note,
        count: 1,
        firstTimestamp: stamp,
        lastTimestamp: stamp,
        source: { component: this.options.component ?? "leaven-operator", host: this.options.instance },
        reportingComponent: this.options.component ?? "leaven.dev/operator",
        reportingInstance: this.options.instance,
      };
      await api.createNamespacedEvent({ namespace: target.namespace, body });
      this.series.set(key, { name, count: 1, firstTimestamp: stamp.toISOString(), last: now });
      if (this.series.size > 10_000) this.series.delete(this.series.keys().next().value as string);
    } catch (error) {
      logger.warn("an Event could not be written", {
        object: `${target.namespace}/${target.name}`,
        reason: event.reason,
        error: error instanceof Error ? error.message : String(error),
      });
    }
  }
}
