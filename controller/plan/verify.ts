import { checkTags, DEFAULT_INSTALLATION, Tag } from "../api/tags.ts";
import type { ImageSpec } from "../api/types.generated.ts";
import type { CloudImage, CloudInstance, Tags } from "../cloud/port.ts";
import { renderCheckUserData } from "../execute/check-user-data.ts";
import type { Inventory } from "../observe/inventory.ts";
import { parseDuration } from "../validation/durations.ts";
import type { Action } from "./actions.ts";
import { DEFAULT_INSTANCE_TYPE } from "./bake.ts";
import { consoleGrace, tagInstance } from "./console.ts";
import type { ObservedBuild } from "./index-inventory.ts";
import { sha256 } from "./recipe.ts";

export const DEFAULT_CHECK_TIMEOUT = "15m";

/** Where one check of one build stands, decided from the image's tags and the check instance. */
export type CheckState =
  | { step: "passed" }
  | { step: "failed"; message: string; console?: string[] }
  | { step: "running"; message: string }
  | { step: "blind"; message: string };

export interface CheckContext {
  doc: ImageSpec;
  check: "smoke";
  build: ObservedBuild;
  homeRegion: string;
  /** Check instances of this build (role = the check's name). */
  instances: readonly CloudInstance[];
  inventory: Inventory;
  now: number;
  retry: boolean;
  /** This controller's installation, recorded on the check instance (default: "default"). */
  installation?: string;
}

/** Idempotency token of a check launch (≤ 64 chars); a retry is a new attempt with a new token. */
export function checkToken(check: string, specName: string, buildId: string, attempt: string): string {
  return `leaven-${check}-${sha256(`${specName}/${buildId}#${attempt}`).slice(0, 40)}`;
}

/** The check's result as recorded on the home image: what a restart reads instead of testing again. */
export function recordedCheck(
  image: CloudImage,
  check: string,
): { result: string; reason?: string } | undefined {
  const keys = checkTags(check);
  const result = image.tags[keys.result];
  if (result === undefined) return undefined;
  const reason = image.tags[keys.reason];
  return { result, ...(reason ? { reason } : {}) };
}

function record(ctx: CheckContext, result: "passed" | "failed", why: string, reason?: string): Action[] {
  const keys = checkTags(ctx.check);
  const tags: Tags = { [keys.result]: result, [keys.at]: new Date(ctx.now).toISOString() };
  if (reason) tags[keys.reason] = reason.slice(0, 256);
  const spec = ctx.doc.metadata.name;
  return [...ctx.build.images.values()]
    .filter((image) => image.state === "available")
    .map((image) => ({
      kind: "set-tags" as const,
      spec,
      build: ctx.build.build,
      region: image.region,
      imageId: image.imageId,
      tags,
      reason: why,
    }));
}

/** Terminates a check instance; with a verdict, records it on the instance too, in case the image tags fail. */
function terminate(
  ctx: CheckContext,
  instance: CloudInstance,
  reason: string,
  verdict?: { passed: boolean; reason?: string },
): Action {
  return {
    kind: "terminate-instance",
    spec: ctx.doc.metadata.name,
    build: ctx.build.build,
    region: ctx.homeRegion,
    instanceId: instance.instanceId,
    ...(verdict
      ? {
          tags: {
            [Tag.bakeResult]: verdict.passed ? "success" : "failed",
            ...(verdict.reason ? { [Tag.bakeReason]: verdict.reason.slice(0, 250) } : {}),
          },
        }
      : {}),
    reason,
  };
}

function launch(ctx: CheckContext, home: CloudImage, attempt: string, reason: string): Action {
  const spec = ctx.doc.metadata.name;
  const smoke = ctx.doc.spec.checks!.smoke!;
  const bake = ctx.doc.spec.bake ?? {};
  return {
    kind: "launch-check",
    check: ctx.check,
    spec,
    build: ctx.build.build,
    region: ctx.homeRegion,
    launch: {
      imageId: home.imageId,
      instanceType: smoke.instanceType ?? bake.instanceType ?? DEFAULT_INSTANCE_TYPE,
      userData: renderCheckUserData({
        check: ctx.check,
        buildId: ctx.build.build,
        spec,
        script: smoke.script,
      }),
      clientToken: checkToken(ctx.check, spec, ctx.build.build, attempt),
      tags: {
        [Tag.managedBy]: "leaven",
        [Tag.installation]: ctx.installation ?? DEFAULT_INSTALLATION,
        [Tag.spec]: spec,
        [Tag.build]: ctx.build.build,
        [Tag.role]: ctx.check,
        Name: `${spec} ${ctx.build.build} ${ctx.check} check`,
      },
      ...(bake.subnetId ? { subnetId: bake.subnetId } : {}),
      ...(bake.securityGroupIds ? { securityGroupIds: bake.securityGroupIds } : {}),
      ...(bake.instanceProfile ? { instanceProfile: bake.instanceProfile } : {}),
    },
    reason,
  };
}

/**
 * Advances one check of one build by one step: launch a check instance from the home image → wait while
 * it runs → read its verdict from the console once it stopped → record it on the build's images and
 * terminate the instance. A recorded result is final until `--retry`, so a restart never tests twice.
 */
export function planCheck(ctx: CheckContext, actions: Action[]): CheckState {
  const home = ctx.build.images.get(ctx.homeRegion);
  if (!home || home.state !== "available") return { step: "running", message: "waiting for the home image" };
  const live = ctx.instances.filter((i) => i.state !== "terminated" && i.state !== "shutting-down");
  const recorded = recordedCheck(home, ctx.check);
  const label = `${ctx.check} check of ${ctx.build.build}`;

  if (recorded && !(ctx.retry && recorded.result === "failed")) {
    for (const instance of live) actions.push(terminate(ctx, instance, `the ${label} is recorded`));
    return recorded.result === "passed"
      ? { step: "passed" }
      : { step: "failed", message: `${label} failed: ${recorded.reason ?? "no reason recorded"}` };
  }
  if (recorded) {
    // --retry of a failed check: forget the result and test again with a new attempt.
    const keys = checkTags(ctx.check);
    for (const image of ctx.build.images.values()) {
      actions.push({
        kind: "remove-tags",
        spec: ctx.doc.metadata.name,
        build: ctx.build.build,
        region: image.region,
        imageId: image.imageId,
        keys: [keys.result, keys.at, keys.reason].filter((k) => image.tags[k] !== undefined),
        reason: `retry requested: the ${label} runs again`,
      });
    }
    for (const instance of live) actions.push(terminate(ctx, instance, `retrying the ${label}`));
    actions.push(launch(ctx, home, `retry-${ctx.now}`, `retry requested: ${label} failed before`));
    return { step: "running", message: `retrying the ${label}` };
  }

  if (!ctx.inventory.instanceRegions.includes(ctx.homeRegion))
    return { step: "blind", message: `check instances in ${ctx.homeRegion} were not observed this pass` };

  const timeout = ctx.doc.spec.checks?.smoke?.timeout ?? DEFAULT_CHECK_TIMEOUT;
  const timeoutMs = parseDuration(timeout);
  const instance = live[0];
  for (const extra of live.slice(1)) actions.push(terminate(ctx, extra, `duplicate ${label} instance`));
  if (!instance) {
    const ended = ctx.instances.find((i) => i.state === "terminated" || i.state === "shutting-down");
    if (ended) {
      // The verdict was read but not recorded on the images (the tags failed): record it from the instance.
      if (ended.tags[Tag.bakeResult] === "success") {
        actions.push(...record(ctx, "passed", `the ${label} passed on ${ended.instanceId}`));
        return { step: "running", message: `recording the ${label}: passed` };
      }
      const why =
        ended.tags[Tag.bakeReason] ??
        `the check instance ${ended.instanceId} ended before it reported a verdict`;
      actions.push(...record(ctx, "failed", `${label}: ${why}`, why));
      return { step: "failed", message: `${label} failed: ${why}` };
    }
    actions.push(
      launch(ctx, home, "0", `build ${ctx.build.build} has not been through its ${ctx.check} check`),
    );
    return { step: "running", message: `launching the ${label}` };
  }

  const elapsed = ctx.now - Date.parse(instance.launchTime);
  if (instance.state === "stopped") {
    const outcome = ctx.inventory.consoles.get(instance.instanceId);
    if (outcome?.result === "success") {
      actions.push(...record(ctx, "passed", `the ${label} passed on ${instance.instanceId}`));
      actions.push(terminate(ctx, instance, `the ${label} passed`, { passed: true }));
      return { step: "running", message: `recording the ${label}: passed` };
    }
    // The check's timeout bounds its running phase; a stopped instance's console gets the grace from the stop.
    const grace = consoleGrace(ctx.doc, instance, ctx.now);
    if (outcome === undefined && grace.waiting) {
      if (grace.record)
        actions.push(
          tagInstance(
            {
              spec: ctx.doc.metadata.name,
              build: ctx.build.build,
              region: ctx.homeRegion,
              instanceId: instance.instanceId,
            },
            grace.record,
            `${instance.instanceId} is stopped: its console grace starts now`,
          ),
        );
      return {
        step: "running",
        message: `waiting for the console output of ${instance.instanceId} (${grace.progress})`,
      };
    }
    const why =
      outcome?.reason ??
      `the check instance ${instance.instanceId} stopped without a verdict on its console within bake.consoleGrace (${grace.grace}) of the stop`;
    actions.push(...record(ctx, "failed", `the ${label} failed on ${instance.instanceId}`, why));
    actions.push(terminate(ctx, instance, `the ${label} failed`, { passed: false, reason: why }));
    return {
      step: "failed",
      message: `${label} failed: ${why}`,
      ...(outcome?.tail ? { console: outcome.tail } : {}),
    };
  }
  if (elapsed > timeoutMs) {
    const why = `timed out after ${timeout} (instance ${instance.instanceId} still ${instance.state})`;
    actions.push(...record(ctx, "failed", `the ${label} timed out`, why));
    actions.push(terminate(ctx, instance, `the ${label} timed out`, { passed: false, reason: why }));
    return { step: "failed", message: `${label} failed: ${why}` };
  }
  return { step: "running", message: `${label} running on ${instance.instanceId}` };
}
