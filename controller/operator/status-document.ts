// A spec's planner status → the ImageSpec's `.status`: phase, message, per channel the build and its image
// per region, outdated builds, the last error, and the Ready / Reconciling / Stalled conditions following
// the Kubernetes API conventions (CamelCase reasons; lastTransitionTime moves only when the status does).
import type { ImageSpecStatus } from "../api/types.generated.ts";
import { isProgressing, type Phase, type SpecStatus } from "../plan/status.ts";

export type Condition = NonNullable<ImageSpecStatus["conditions"]>[number];
type ConditionStatus = Condition["status"];

const STALLED: ReadonlySet<Phase> = new Set<Phase>(["Stalled", "Failed", "Blocked"]);

interface Wanted {
  type: "Ready" | "Reconciling" | "Stalled";
  status: ConditionStatus;
  reason: string;
  message: string;
}

function wantedConditions(status: SpecStatus): Wanted[] {
  const { phase, message } = status;
  const ready = phase === "Ready";
  const progressing = isProgressing(phase);
  const stalled = STALLED.has(phase);
  return [
    {
      type: "Ready",
      status: ready ? "True" : "False",
      reason: ready ? "Ready" : phase,
      message,
    },
    {
      type: "Reconciling",
      status: progressing ? "True" : "False",
      reason: progressing ? phase : ready ? "Reconciled" : phase,
      message: progressing ? message : ready ? "nothing left to do" : message,
    },
    {
      type: "Stalled",
      status: stalled ? "True" : "False",
      reason: stalled ? phase : "NotStalled",
      message: stalled ? message : "",
    },
  ];
}

/** Conditions for `status`, keeping each condition's lastTransitionTime unless its status changes. */
export function conditionsFor(
  status: SpecStatus,
  previous: readonly Condition[] | undefined,
  generation: number | undefined,
  now: Date,
): Condition[] {
  return wantedConditions(status).map((wanted) => {
    const before = previous?.find((c) => c.type === wanted.type);
    const condition: Condition = {
      type: wanted.type,
      status: wanted.status,
      reason: wanted.reason,
      message: wanted.message,
      lastTransitionTime:
        before?.status === wanted.status && before.lastTransitionTime
          ? before.lastTransitionTime
          : now.toISOString(),
    };
    if (generation !== undefined) condition.observedGeneration = generation;
    return condition;
  });
}

/** The whole `.status` for a spec, given what the resource carries now. */
export function statusDocument(
  status: SpecStatus,
  previous: ImageSpecStatus | undefined,
  generation: number | undefined,
  now: Date,
  extraErrors: readonly string[] = [],
): ImageSpecStatus {
  const channels: NonNullable<ImageSpecStatus["channels"]> = {};
  for (const [name, channel] of Object.entries(status.channels)) {
    channels[name] = {
      ...(channel.build !== undefined ? { build: channel.build } : {}),
      images: { ...channel.images },
    };
  }
  const outdated =
    status.desiredBuild === undefined
      ? []
      : [
          ...new Set(
            Object.values(status.channels)
              .map((c) => c.build)
              .filter((b): b is string => b !== undefined && b !== status.desiredBuild),
          ),
        ].sort();
  const errors = [...extraErrors];
  if (status.failure) errors.push(`${status.failure.build}: ${status.failure.reason}`);
  else if (STALLED.has(status.phase)) errors.push(status.message);
  const document: ImageSpecStatus = {
    phase: status.phase,
    message: status.message,
    ...(status.desiredBuild !== undefined ? { desiredBuild: status.desiredBuild } : {}),
    channels,
    outdatedBuilds: outdated,
    conditions: conditionsFor(status, previous?.conditions, generation, now),
  };
  if (generation !== undefined) document.observedGeneration = generation;
  // The last error stays until the spec is Ready, so `kubectl describe` still says what went wrong while a
  // retry is in progress.
  const lastError =
    errors.length > 0 ? errors.join("; ") : status.phase === "Ready" ? undefined : previous?.lastError;
  if (lastError !== undefined) document.lastError = lastError;
  return document;
}

/** Whether two statuses say the same thing (key order aside). */
export function sameStatus(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(value: unknown): string {
  return JSON.stringify(value, (_key, v: unknown) =>
    v !== null && typeof v === "object" && !Array.isArray(v)
      ? Object.fromEntries(Object.entries(v as Record<string, unknown>).sort(([x], [y]) => (x < y ? -1 : 1)))
      : v,
  );
}
