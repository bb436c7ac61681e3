import { failureRecordName, failureRecordToken, failureTags } from "../api/failure-record.ts";
import { DEFAULT_INSTALLATION, Tag } from "../api/tags.ts";
import type { ImageSpec } from "../api/types.generated.ts";
import type { CloudImage, CloudInstance, LaunchTemplateLaunch, Tags } from "../cloud/port.ts";
import { renderUserData } from "../execute/user-data.ts";
import { renderWindowsUserData } from "../execute/windows-user-data.ts";
import type { Platform } from "../lineage/platform.ts";
import type { FailureRecord, Inventory } from "../observe/inventory.ts";
import { parseDuration } from "../validation/durations.ts";
import type { Action, DeleteFailureRecordAction, RecordFailureAction } from "./actions.ts";
import { consoleGrace, tagInstance } from "./console.ts";
import { imageNameFor, launchToken, rebakeAttempt } from "./recipe.ts";
import { deletionPolicyTags } from "./retention.ts";

export const DEFAULT_INSTANCE_TYPE = "t3.medium";
/** leaven.dev/bake-result of a bake whose console expired unread: neither success nor failure. */
export const UNKNOWN_RESULT = "unknown";
export const DEFAULT_BAKE_TIMEOUT = "45m";
/** Windows bakes boot slower, install through Chocolatey and end in Sysprep: twice the Linux default. */
export const DEFAULT_WINDOWS_BAKE_TIMEOUT = "90m";

/** Where one build's bake stands, decided from what is observed — never from memory. */
export type BakeState =
  | { step: "done"; image: CloudImage }
  | { step: "in-progress"; message: string }
  | { step: "failed"; message: string; console?: string[] }
  | { step: "blind"; message: string };

export interface BakeContext {
  doc: ImageSpec;
  build: string;
  recipe: string;
  /** The scheduled rebake's window (spec.rebuild), recorded on the image beside the recipe. */
  rebuildEpoch?: string;
  homeRegion: string;
  parent: { spec: string; channel: string; build: string; imageId: string; rootDeviceName?: string };
  homeImage?: CloudImage;
  /** Ids the build's home image had that are observed gone (deregistered behind Leaven's back): rebake. */
  deadHomeImages?: readonly string[];
  instances: readonly CloudInstance[];
  /** The build's failure records in the home region (launch templates that outlive its instances). */
  failureRecords?: readonly FailureRecord[];
  inventory: Inventory;
  now: number;
  retry: boolean;
  commit?: string;
  /** This controller's installation, recorded on everything the bake creates (default: "default"). */
  installation?: string;
  /** The lineage's platform (its foundation's): which bake script to render. Default linux. */
  platform?: Platform;
  /** A manifests bucket is configured: each build's package manifest is stored before its instance goes. */
  manifests?: boolean;
}

export function buildTags(
  ctx: Pick<
    BakeContext,
    "doc" | "build" | "recipe" | "rebuildEpoch" | "homeRegion" | "parent" | "commit" | "installation"
  >,
): Tags {
  const tags: Tags = {
    [Tag.managedBy]: "leaven",
    // Always written, the default installation's too: who owns it is read off the resource, not inferred.
    [Tag.installation]: ctx.installation ?? DEFAULT_INSTALLATION,
    [Tag.spec]: ctx.doc.metadata.name,
    [Tag.layer]: ctx.doc.spec.layer,
    [Tag.version]: ctx.doc.spec.version ?? "",
    [Tag.build]: ctx.build,
    [Tag.recipe]: ctx.recipe,
    [Tag.parentSpec]: ctx.parent.spec,
    [Tag.parentChannel]: ctx.parent.channel,
    [Tag.parentBuild]: ctx.parent.build,
    [Tag.parentImage]: ctx.parent.imageId,
    [Tag.homeRegion]: ctx.homeRegion,
    Name: `${ctx.doc.metadata.name} ${ctx.build}`,
  };
  if (ctx.commit) tags[Tag.commit] = ctx.commit;
  if (ctx.rebuildEpoch) tags[Tag.rebuildEpoch] = ctx.rebuildEpoch;
  // The deletion policy outlives the spec: recorded on what the spec makes.
  return { ...tags, ...deletionPolicyTags(ctx.doc) };
}

/**
 * Terminates a bake instance; with `failure`, records why on the instance first (the build's failure
 * record) — and with bake.keepFailedInstance, records it and keeps the instance, stopped, for debugging.
 */
function terminate(
  ctx: BakeContext,
  instanceId: string,
  reason: string,
  failure?: string,
  running = false,
): Action {
  if (failure !== undefined && ctx.doc.spec.bake?.keepFailedInstance === true) {
    return {
      kind: "keep-instance",
      spec: ctx.doc.metadata.name,
      build: ctx.build,
      region: ctx.homeRegion,
      instanceId,
      tags: { [Tag.bakeResult]: "failed", [Tag.bakeReason]: failure.slice(0, 250) },
      stop: running,
      reason: `${reason}; keeping ${instanceId} for debugging (bake.keepFailedInstance)`,
    };
  }
  return {
    kind: "terminate-instance",
    spec: ctx.doc.metadata.name,
    build: ctx.build,
    region: ctx.homeRegion,
    instanceId,
    ...(failure !== undefined
      ? { tags: { [Tag.bakeResult]: "failed", [Tag.bakeReason]: failure.slice(0, 250) } }
      : {}),
    reason,
  };
}

/**
 * Keeps a failure where it outlives the instance (EC2 forgets a terminated instance within an hour): a
 * launch template tagged with the reason and the console, whose data relaunches this very bake.
 */
export function recordFailure(
  ctx: BakeContext,
  instance: Pick<CloudInstance, "instanceId" | "imageId">,
  reason: string,
  console?: readonly string[],
): RecordFailureAction {
  const spec = ctx.doc.metadata.name;
  const launch = bakeLaunch(ctx);
  const description = `Leaven: the failed bake of ${spec} ${ctx.build} (instance ${instance.instanceId})`;
  return {
    kind: "record-failure",
    spec,
    build: ctx.build,
    region: ctx.homeRegion,
    template: {
      name: failureRecordName(spec, ctx.build),
      clientToken: failureRecordToken(spec, ctx.build, instance.instanceId),
      // EC2 takes at most 255 characters of a version description.
      description: description.slice(0, 255),
      launch: { ...launch, imageId: instance.imageId || launch.imageId },
      tags: {
        ...buildTags(ctx),
        ...failureTags({
          reason,
          at: new Date(ctx.now).toISOString(),
          instanceId: instance.instanceId,
          ...(console ? { console } : {}),
        }),
      },
    },
    reason: `the failure of ${ctx.build} on ${instance.instanceId} must outlive its instance`,
  };
}

export function deleteFailureRecord(record: FailureRecord, reason: string): DeleteFailureRecordAction {
  return {
    kind: "delete-failure-record",
    spec: record.spec,
    build: record.build,
    region: record.region,
    launchTemplateId: record.launchTemplateId,
    reason,
  };
}

function failedReason(instance: CloudInstance): string | undefined {
  if (instance.tags[Tag.bakeResult] !== "failed") return undefined;
  return instance.tags[Tag.bakeReason] ?? "bake failed";
}

function minutes(ms: number): string {
  return ms >= 60_000 ? `${Math.round(ms / 60_000)}m` : `${Math.round(ms / 1000)}s`;
}

/**
 * Advances one build's bake by one step: launch → instance running → stopped with a console marker →
 * CreateImage → image available → terminate the instance. Returns the actions for this pass and the state.
 */
export function planBake(ctx: BakeContext, actions: Action[]): BakeState {
  const spec = ctx.doc.metadata.name;
  const region = ctx.homeRegion;
  const live = ctx.instances.filter((i) => i.state !== "terminated" && i.state !== "shutting-down");
  const records = ctx.failureRecords ?? [];

  if (ctx.homeImage) {
    const image = ctx.homeImage;
    // The manifest is on the bake instance's console: store it before the instance is terminated.
    const manifestFrom =
      ctx.manifests && ctx.platform !== "windows" && !image.tags[Tag.manifest] && image.state !== "failed"
        ? live.find((i) => i.instanceId === image.tags[Tag.bakeInstance])
        : undefined;
    if (manifestFrom) {
      actions.push({
        kind: "store-manifest",
        spec,
        build: ctx.build,
        region,
        imageId: image.imageId,
        instanceId: manifestFrom.instanceId,
        parent: { spec: ctx.parent.spec, build: ctx.parent.build },
        reason: `the package manifest of ${ctx.build} is on the console of ${manifestFrom.instanceId}`,
      });
      return { step: "in-progress", message: `storing the package manifest of ${ctx.build}` };
    }
    if (image.state === "available") {
      // The image is safe: the bake instance has served its purpose.
      if (
        live.length === 0 &&
        image.tags[Tag.bakeInstance] &&
        ctx.inventory.instanceRegions.includes(region)
      ) {
        actions.push({
          kind: "remove-tags",
          spec,
          build: ctx.build,
          region,
          imageId: image.imageId,
          keys: [Tag.bakeInstance],
          reason: `bake instance ${image.tags[Tag.bakeInstance]} is gone`,
        });
      }
      for (const instance of live) {
        actions.push(
          terminate(
            ctx,
            instance.instanceId,
            `image ${image.imageId} of build ${ctx.build} is available; the bake instance is no longer needed`,
          ),
        );
      }
      for (const record of records)
        actions.push(
          deleteFailureRecord(record, `build ${ctx.build} has an available image, ${image.imageId}`),
        );
      return { step: "done", image };
    }
    if (image.state === "pending")
      return { step: "in-progress", message: `image ${image.imageId} is pending` };
    const why = `image ${image.imageId} is ${image.state}${image.stateReason ? `: ${image.stateReason}` : ""}`;
    if (ctx.retry) {
      actions.push({
        kind: "deregister-image",
        spec,
        build: ctx.build,
        region,
        imageId: image.imageId,
        snapshotIds: image.snapshotIds,
        reason: `retry requested: ${why}`,
      });
      return { step: "in-progress", message: `retrying: deregistering ${image.imageId}` };
    }
    return { step: "failed", message: why };
  }

  if (!ctx.inventory.instanceRegions.includes(region)) {
    return { step: "blind", message: `bake instances in ${region} were not observed this pass` };
  }

  const failures = ctx.instances.map(failedReason).filter((r): r is string => r !== undefined);
  const unknown = (i: CloudInstance) => i.tags[Tag.bakeResult] === UNKNOWN_RESULT;
  const active = live.filter((i) => failedReason(i) === undefined && !unknown(i));
  for (const instance of live.filter(unknown))
    actions.push(
      terminate(ctx, instance.instanceId, `the outcome of the bake on ${instance.instanceId} is unknown`),
    );

  const keep = ctx.doc.spec.bake?.keepFailedInstance === true && !ctx.retry;
  for (const instance of live) {
    // A kept failed instance stays (stopped) until the user retries or the build is no longer wanted.
    if (failedReason(instance) !== undefined && !(keep && instance.state === "stopped")) {
      actions.push(
        terminate(ctx, instance.instanceId, `bake of ${ctx.build} failed; cleaning up its instance`),
      );
    }
  }

  const instance = active[0];
  for (const extra of active.slice(1)) {
    actions.push(
      terminate(
        ctx,
        extra.instanceId,
        `duplicate bake instance for ${ctx.build} (keeping ${instance!.instanceId})`,
      ),
    );
  }

  if (instance) {
    // An older attempt's record while the build bakes again (a retry whose deletion did not go through).
    for (const record of records) {
      if (active.some((i) => i.instanceId === record.instanceId)) continue;
      actions.push(deleteFailureRecord(record, `${ctx.build} is baking again on ${instance.instanceId}`));
    }
    return advanceInstance(ctx, instance, actions);
  }

  const dead = ctx.deadHomeImages ?? [];
  // With its image known gone, an earlier instance of the build ended well: it made that image.
  const lostInstance =
    dead.length > 0
      ? undefined
      : ctx.instances.find(
          (i) => failedReason(i) === undefined && i.tags[Tag.bakeResult] !== "success" && !unknown(i),
        );
  if (failures.length > 0 || lostInstance || records.length > 0) {
    // The instance tells while EC2 still lists it; after that, the failure record does.
    const failed = ctx.instances
      .filter((i) => failedReason(i) !== undefined)
      .sort((a, b) => a.launchTime.localeCompare(b.launchTime))
      .at(-1);
    const record = records.find((r) => r.instanceId === failed?.instanceId) ?? records.at(-1);
    const reason =
      failures.at(-1) ??
      (lostInstance
        ? `bake instance ${lostInstance.instanceId} was terminated before its image was created`
        : record!.reason);
    if (!ctx.retry) {
      // A failure recorded only on its instance (its record could not be made, or predates records).
      if (failed && records.length === 0) actions.push(recordFailure(ctx, failed, failedReason(failed)!));
      const console = record?.console.length ? record.console : undefined;
      return { step: "failed", message: reason, ...(console ? { console } : {}) };
    }
    for (const stale of records) actions.push(deleteFailureRecord(stale, `retry requested after: ${reason}`));
    actions.push(launchAction(ctx, `retry requested after: ${reason}`, `retry-${ctx.now}`));
    return { step: "in-progress", message: "retrying the bake" };
  }

  const unread = ctx.instances
    .filter(unknown)
    .sort((a, b) => a.launchTime.localeCompare(b.launchTime))
    .at(-1);
  if (unread) {
    // Deterministic: a repeat after a crash, or while the new instance is not visible yet, reuses the token.
    actions.push(
      launchAction(
        ctx,
        `the outcome of the bake on ${unread.instanceId} is unknown (${unread.tags[Tag.bakeReason] ?? "its console expired"}): baking ${ctx.build} again`,
        `after-${unread.instanceId}`,
      ),
    );
    return { step: "in-progress", message: `baking again: the outcome on ${unread.instanceId} is unknown` };
  }
  if (dead.length > 0) {
    actions.push(
      launchAction(
        ctx,
        `the home image of build ${ctx.build} in ${region}, ${dead.join(", ")}, is gone: baking the same build again`,
        rebakeAttempt(dead),
        dead.join(",").slice(0, 255),
      ),
    );
    return { step: "in-progress", message: `rebaking: ${dead.join(", ")} is gone` };
  }
  actions.push(
    launchAction(
      ctx,
      `no image of build ${ctx.build} exists (recipe ${ctx.recipe.slice(0, 8)} on ${ctx.parent.spec}/${ctx.parent.channel} = ${ctx.parent.build})`,
      "0",
    ),
  );
  return { step: "in-progress", message: "launching the bake instance" };
}

function advanceInstance(ctx: BakeContext, instance: CloudInstance, actions: Action[]): BakeState {
  const spec = ctx.doc.metadata.name;
  const region = ctx.homeRegion;
  const timeout = ctx.doc.spec.bake?.timeout ?? defaultBakeTimeout(ctx.platform);
  const timeoutMs = parseDuration(timeout);
  const elapsed = ctx.now - Date.parse(instance.launchTime);

  if (instance.state === "pending" || instance.state === "running") {
    if (elapsed > timeoutMs) {
      const reason = `bake timed out after ${timeout} (instance ${instance.instanceId} still ${instance.state})`;
      actions.push(terminate(ctx, instance.instanceId, reason, reason, true));
      if (!recorded(ctx, instance)) actions.push(recordFailure(ctx, instance, reason));
      return { step: "failed", message: reason };
    }
    return {
      step: "in-progress",
      message: `baking on ${instance.instanceId} (${minutes(elapsed)} of ${minutes(timeoutMs)})`,
    };
  }
  if (instance.state === "stopping")
    return { step: "in-progress", message: `bake instance ${instance.instanceId} is stopping` };

  // stopped: the verdict recorded on the instance, else the console, says how the bake ended.
  const target = { spec, build: ctx.build, region, instanceId: instance.instanceId };
  const recordedSuccess = instance.tags[Tag.bakeResult] === "success";
  const outcome = recordedSuccess ? undefined : ctx.inventory.consoles.get(instance.instanceId);
  if (recordedSuccess || outcome?.result === "success") {
    // Written the moment it is read: EC2 keeps the console for about an hour, the tag as long as the instance.
    if (!recordedSuccess)
      actions.push(
        tagInstance(
          target,
          { [Tag.bakeResult]: "success" },
          `the console of ${instance.instanceId} says the bake of ${ctx.build} succeeded`,
        ),
      );
    actions.push({
      kind: "create-image",
      spec,
      build: ctx.build,
      region,
      image: {
        instanceId: instance.instanceId,
        name: imageNameFor(spec, ctx.build),
        description: `Leaven ${spec} ${ctx.build} on ${ctx.parent.spec}/${ctx.parent.build}`,
        tags: {
          ...buildTags(ctx),
          // Which method made it: the build id is the same for both.
          [Tag.bakeMethod]: "instance",
          [Tag.bakeInstance]: instance.instanceId,
          // A rebake says what it replaces (and its copies get tokens of a new generation from it).
          ...(instance.tags[Tag.rebakeOf] ? { [Tag.rebakeOf]: instance.tags[Tag.rebakeOf] } : {}),
        },
      },
      reason: `bake of ${ctx.build} succeeded on ${instance.instanceId}`,
    });
    return { step: "in-progress", message: `creating the image from ${instance.instanceId}` };
  }
  const grace = consoleGrace(ctx.doc, instance, ctx.now);
  if (outcome === undefined && grace.waiting) {
    // EC2 may publish the console output minutes after the instance stopped: wait, from the stop.
    if (grace.record)
      actions.push(
        tagInstance(target, grace.record, `${instance.instanceId} is stopped: its console grace starts now`),
      );
    return {
      step: "in-progress",
      message: `waiting for the console output of ${instance.instanceId} (${grace.progress})`,
    };
  }
  if (outcome === undefined && ctx.inventory.silentConsoles?.has(instance.instanceId)) {
    // The console expired before anyone read it (the controller was away for over an hour after the stop):
    // the outcome cannot be known, and a good build must not fail for it. Bake it again.
    const why = `the console of ${instance.instanceId} shows nothing ${grace.progress.replace("; waiting up to", ", past bake.consoleGrace")} (EC2 keeps it about an hour after its last post): the outcome of the bake is unknown`;
    actions.push({
      kind: "terminate-instance",
      spec,
      build: ctx.build,
      region,
      instanceId: instance.instanceId,
      tags: { [Tag.bakeResult]: UNKNOWN_RESULT, [Tag.bakeReason]: why.slice(0, 250) },
      reason: `${why}; baking ${ctx.build} again`,
    });
    return { step: "in-progress", message: `${why}; baking again` };
  }
  const reason =
    outcome?.result === "failure"
      ? `bake script failed: ${outcome.reason ?? "no reason given"}`
      : `bake instance ${instance.instanceId} stopped without a result marker on its console within bake.consoleGrace (${grace.grace}) of the stop`;
  actions.push(terminate(ctx, instance.instanceId, reason, reason));
  if (!recorded(ctx, instance)) actions.push(recordFailure(ctx, instance, reason, outcome?.tail));
  return { step: "failed", message: reason, ...(outcome?.tail ? { console: outcome.tail } : {}) };
}

export function defaultBakeTimeout(platform: Platform | undefined): string {
  return platform === "windows" ? DEFAULT_WINDOWS_BAKE_TIMEOUT : DEFAULT_BAKE_TIMEOUT;
}

/** This attempt's failure is recorded already (the record was made; tagging the instance was not). */
function recorded(ctx: BakeContext, instance: CloudInstance): boolean {
  return (ctx.failureRecords ?? []).some((r) => r.instanceId === instance.instanceId);
}

/** How the bake instance is launched, token and tags aside: also what a failure record relaunches. */
function bakeLaunch(ctx: BakeContext): LaunchTemplateLaunch {
  const bake = ctx.doc.spec.bake ?? {};
  // bake.kmsKeyId: a customer-managed key, so the image can be shared under EBS encryption by default.
  const rootVolume =
    bake.rootVolume || bake.kmsKeyId
      ? {
          deviceName: ctx.parent.rootDeviceName ?? "/dev/xvda",
          ...(bake.rootVolume?.size ? { size: bake.rootVolume.size } : {}),
          ...(bake.rootVolume?.type ? { type: bake.rootVolume.type } : {}),
          ...(bake.kmsKeyId ? { kmsKeyId: bake.kmsKeyId } : {}),
        }
      : undefined;
  return {
    imageId: ctx.parent.imageId,
    instanceType: bake.instanceType ?? DEFAULT_INSTANCE_TYPE,
    // The lineage's platform picks the script: cloud-init bash on Linux, EC2Launch v2 PowerShell on Windows.
    userData: (ctx.platform === "windows" ? renderWindowsUserData : renderUserData)({
      buildId: ctx.build,
      spec: ctx.doc.metadata.name,
      ...(ctx.doc.spec.provision ? { provision: ctx.doc.spec.provision } : {}),
    }),
    ...(bake.subnetId ? { subnetId: bake.subnetId } : {}),
    ...(bake.securityGroupIds ? { securityGroupIds: bake.securityGroupIds } : {}),
    ...(bake.instanceProfile ? { instanceProfile: bake.instanceProfile } : {}),
    ...(rootVolume ? { rootVolume } : {}),
  };
}

function launchAction(ctx: BakeContext, reason: string, attempt: string, rebakeOf?: string): Action {
  const { imageId, instanceType, userData, ...placement } = bakeLaunch(ctx);
  return {
    kind: "launch-bake",
    spec: ctx.doc.metadata.name,
    build: ctx.build,
    region: ctx.homeRegion,
    launch: {
      imageId,
      instanceType,
      userData,
      clientToken: launchToken(ctx.build, attempt),
      tags: { ...buildTags(ctx), [Tag.role]: "bake", ...(rebakeOf ? { [Tag.rebakeOf]: rebakeOf } : {}) },
      ...placement,
    },
    reason,
  };
}
