// The volume bake's state machine (bake.method: volume), one step per pass, decided only from what is
// observed: the build's volume (its tags carry the verdict and the snapshot request), its attachment, the bake
// command the host was sent, the snapshot tagged with the volume, and the home image.
//
//   no volume ──create-volume (ClientToken build+attempt+zone)──► creating ──► available
//   available, no verdict ──attach-volume (free device on the bakery host)──► attached
//   attached, no command ──send-bake-command (tag command-requested-at first; comment names build and
//     volume)──► command running
//   command ended: marker success ──tag bake-result=success (and provision-seconds)──► verdict recorded
//   command ended: failure / no marker / bake.timeout ──detach + tag failed + record the failure──► Failed
//   success, no snapshot ──create-bake-snapshot (tag snapshot-requested-at first; still attached: the
//     command ended with the filesystems unmounted)──► snapshot
//   snapshot started, still attached ──detach-volume (while the snapshot runs)──► available
//   snapshot completed ──register-image (deterministic name, parent's boot settings)──► image
//   image registered, manifests bucket ──store-manifest (from the command's S3 output)──► manifest tagged
//   image available ──delete-volume, then remove the image's bake-volume tag──► done

import { VOLUME_BAKE_ROLE } from "../api/bakery-roles.ts";
import { Tag } from "../api/tags.ts";
import type { CloudVolume } from "../cloud/port.ts";
import { renderChrootScript } from "../execute/chroot-script.ts";
import type { VolumeBakeObservation } from "../observe/inventory.ts";
import { bakeCommandComment, commandEnded } from "../observe/volume-bakes.ts";
import { parseDuration } from "../validation/durations.ts";
import type { Action } from "./actions.ts";
import {
  type BakeContext,
  type BakeState,
  buildTags,
  DEFAULT_BAKE_TIMEOUT,
  deleteFailureRecord,
  recordFailure,
} from "./bake.ts";
import type { BakeryPlanner } from "./bakery.ts";
import { imageNameFor, rebakeAttempt, volumeToken } from "./recipe.ts";
import { volumeManifestAction } from "./volume-manifest.ts";
import type { PoolPlanner } from "./volume-pool.ts";

/** A snapshot asked for but not listed yet (CreateSnapshot has no ClientToken): wait this long before asking again. */
export const SNAPSHOT_VISIBILITY_MS = 10 * 60_000;
/** A bake command sent but not listed yet (SendCommand has no ClientToken): wait this long before sending again. */
export const COMMAND_VISIBILITY_MS = 5 * 60_000;

export interface VolumeBakeContext extends BakeContext {
  volumes: VolumeBakeObservation;
  bakery: BakeryPlanner;
  /** The warm pool (bakery.poolSize): a bake takes a ready volume instead of creating one. */
  pool?: PoolPlanner;
}

const gone = (v: CloudVolume) => v.state === "deleting" || v.state === "deleted";

export function volumesOf(
  ctx: Pick<VolumeBakeContext, "volumes" | "doc" | "build" | "homeRegion">,
): CloudVolume[] {
  return ctx.volumes.volumes.filter(
    (v) =>
      v.region === ctx.homeRegion &&
      v.tags[Tag.spec] === ctx.doc.metadata.name &&
      v.tags[Tag.build] === ctx.build &&
      !gone(v),
  );
}

function attachment(volume: CloudVolume) {
  return volume.attachments.find((a) => a.state !== "detached");
}

/** Advances one build's volume bake by one step. */
export function planVolumeBake(ctx: VolumeBakeContext, actions: Action[]): BakeState {
  const spec = ctx.doc.metadata.name;
  const region = ctx.homeRegion;
  const base = { spec, build: ctx.build, region };
  const records = ctx.failureRecords ?? [];
  const observed = ctx.volumes.regions.includes(region);
  const volumes = observed ? volumesOf(ctx) : [];

  if (ctx.homeImage) {
    const image = ctx.homeImage;
    // Before the volume goes: its id (the image's bake-volume tag) is where the command's output is.
    const manifest = volumeManifestAction(ctx, image);
    if (manifest) {
      actions.push(manifest);
      return { step: "in-progress", message: `storing the package manifest of ${ctx.build}` };
    }
    if (image.state === "pending")
      return { step: "in-progress", message: `image ${image.imageId} is pending` };
    if (image.state !== "available") {
      const why = `image ${image.imageId} is ${image.state}${image.stateReason ? `: ${image.stateReason}` : ""}`;
      if (!ctx.retry) return { step: "failed", message: why };
      actions.push({
        kind: "deregister-image",
        ...base,
        imageId: image.imageId,
        snapshotIds: image.snapshotIds,
        reason: `retry requested: ${why}`,
      });
      return { step: "in-progress", message: `retrying: deregistering ${image.imageId}` };
    }
    // The image is safe: its volume has served its purpose.
    for (const volume of volumes)
      actions.push(...cleanUp(spec, volume, `image ${image.imageId} of ${ctx.build} is available`));
    if (observed && volumes.length === 0 && image.tags[Tag.bakeVolume])
      actions.push({
        kind: "remove-tags",
        ...base,
        imageId: image.imageId,
        keys: [Tag.bakeVolume],
        reason: `bake volume ${image.tags[Tag.bakeVolume]} is gone`,
      });
    for (const record of records)
      actions.push(
        deleteFailureRecord(record, `build ${ctx.build} has an available image, ${image.imageId}`),
      );
    return { step: "done", image };
  }
  if (!observed)
    return {
      step: "blind",
      message: `volume bakes in ${region} were not observed this pass${ctx.volumes.errors?.get(region) ? `: ${ctx.volumes.errors.get(region)}` : ""}`,
    };
  if (!ctx.inventory.instanceRegions.includes(region))
    return { step: "blind", message: `failure records in ${region} were not observed this pass` };

  const failed = volumes.filter((v) => v.tags[Tag.bakeResult] === "failed");
  const active = volumes
    .filter((v) => v.tags[Tag.bakeResult] !== "failed")
    .sort(
      (a, b) =>
        (a.createTime ?? "").localeCompare(b.createTime ?? "") || a.volumeId.localeCompare(b.volumeId),
    );
  for (const volume of failed) {
    actions.push(
      ...cleanUp(
        spec,
        volume,
        `the bake of ${ctx.build} on ${volume.volumeId} failed; cleaning up its volume`,
      ),
    );
    if (!records.some((r) => r.instanceId === volume.volumeId))
      actions.push(
        recordFailure(
          ctx,
          { instanceId: volume.volumeId, imageId: ctx.parent.imageId },
          volume.tags[Tag.bakeReason] ?? "bake failed",
        ),
      );
  }
  const [volume, ...extras] = active;
  for (const extra of extras)
    if (!extra.tags[Tag.bakeResult] && !attachment(extra))
      actions.push(
        ...cleanUp(spec, extra, `duplicate bake volume for ${ctx.build} (keeping ${volume!.volumeId})`),
      );

  if (!volume) {
    if ((failed.length > 0 || records.length > 0) && !ctx.retry) {
      const record = records.at(-1);
      const reason = failed.at(-1)?.tags[Tag.bakeReason] ?? record?.reason ?? "bake failed";
      const console = record?.console.length ? record.console : undefined;
      return { step: "failed", message: reason, ...(console ? { console } : {}) };
    }
    const retrying = failed.length > 0 || records.length > 0;
    for (const record of records)
      actions.push(deleteFailureRecord(record, `retry requested after: ${record.reason}`));
    const pick = ctx.bakery.host(region, spec);
    if (!pick.ok) return { step: "in-progress", message: pick.message };
    const zone = pick.host.availabilityZone;
    if (!zone)
      return {
        step: "in-progress",
        message: `bakery host ${pick.host.instanceId} shows no availability zone yet`,
      };
    const bake = ctx.doc.spec.bake ?? {};
    const dead = ctx.deadHomeImages ?? [];
    // A rebake of a build whose image is gone: the first attempt's token names a volume deleted long since.
    const attempt = retrying ? `retry-${ctx.now}` : dead.length > 0 ? rebakeAttempt(dead) : "0";
    // A pool volume is encrypted as the parent's snapshot: a bake with a key of its own makes its volume.
    const pooled =
      attempt === "0" && !bake.kmsKeyId ? ctx.pool?.claim(region, ctx.parent.imageId, zone) : undefined;
    if (pooled) {
      // Claimed by retagging it as this build's (the ownership tags it has already, and keeps).
      const { [Tag.managedBy]: _owner, [Tag.installation]: _installation, ...tags } = buildTags(ctx);
      actions.push({
        kind: "tag-volume",
        ...base,
        volumeId: pooled.volumeId,
        tags: { ...tags, [Tag.role]: VOLUME_BAKE_ROLE, [Tag.bakeMethod]: "volume" },
        reason: `taking warm pool volume ${pooled.volumeId} (made from ${ctx.parent.imageId}) for ${ctx.build}`,
      });
      // Ready already: attached in the same pass, which is the point of the pool.
      const claim = ctx.bakery.claimDevice(pick.host);
      if ("device" in claim)
        actions.push({
          kind: "attach-volume",
          ...base,
          volumeId: pooled.volumeId,
          instanceId: pick.host.instanceId,
          device: claim.device,
          ...(pick.userNamed ? { userNamedHost: true as const } : {}),
          reason: `warm pool volume ${pooled.volumeId} is ready: attaching it to bakery host ${pick.host.instanceId}`,
        });
      return { step: "in-progress", message: `taking warm pool volume ${pooled.volumeId}` };
    }
    actions.push({
      kind: "create-volume",
      ...base,
      parentImageId: ctx.parent.imageId,
      volume: {
        availabilityZone: zone,
        ...(bake.rootVolume?.size ? { size: bake.rootVolume.size } : {}),
        volumeType: bake.rootVolume?.type ?? "gp3",
        // Encrypted with the key, and so its snapshot and the image; a new key is a new request (token).
        ...(bake.kmsKeyId ? { kmsKeyId: bake.kmsKeyId } : {}),
        clientToken: volumeToken(ctx.build, attempt, bake.kmsKeyId ? `${zone} ${bake.kmsKeyId}` : zone),
        tags: {
          ...buildTags(ctx),
          [Tag.role]: VOLUME_BAKE_ROLE,
          [Tag.bakeMethod]: "volume",
          // A rebake says what it replaces (its copies get tokens of a new generation from it).
          ...(dead.length > 0 ? { [Tag.rebakeOf]: dead.join(",").slice(0, 255) } : {}),
        },
      },
      reason: retrying
        ? `retry requested: baking ${ctx.build} again on a new volume`
        : dead.length > 0
          ? `the home image of build ${ctx.build} in ${region}, ${dead.join(", ")}, is gone: baking the same build again on a new volume`
          : `no image of build ${ctx.build} exists (recipe ${ctx.recipe.slice(0, 8)} on ${ctx.parent.spec}/${ctx.parent.channel} = ${ctx.parent.build}): creating its volume from ${ctx.parent.imageId}'s root snapshot`,
    });
    return { step: "in-progress", message: "creating the bake volume" };
  }
  return advanceVolume(ctx, volume, actions);
}

function advanceVolume(ctx: VolumeBakeContext, volume: CloudVolume, actions: Action[]): BakeState {
  const spec = ctx.doc.metadata.name;
  const region = ctx.homeRegion;
  const base = { spec, build: ctx.build, region, volumeId: volume.volumeId };
  if (volume.state === "creating")
    return { step: "in-progress", message: `volume ${volume.volumeId} is being created` };
  if (volume.state === "error") {
    const reason = `bake volume ${volume.volumeId} is in state error`;
    actions.push({ kind: "tag-volume", ...base, tags: failedTags(reason), reason });
    return { step: "in-progress", message: reason };
  }
  const attached = attachment(volume);
  const verdict = volume.tags[Tag.bakeResult];

  if (verdict === "success") {
    // The bake command ends only once the chroot's filesystems are unmounted (execute/chroot-script.ts): the
    // volume is consistent while still attached, so it is snapshotted first and detached while the snapshot
    // runs, rather than after a detach (Aminator's order) that costs a pass and ~10 s more.
    const snapshot = ctx.volumes.snapshots.find(
      (s) =>
        s.region === region && s.tags[Tag.bakeVolume] === volume.volumeId && s.tags[Tag.build] === ctx.build,
    );
    if (!snapshot) {
      const asked = Date.parse(volume.tags[Tag.snapshotRequestedAt] ?? "");
      if (asked && ctx.now - asked < SNAPSHOT_VISIBILITY_MS)
        return {
          step: "in-progress",
          message: `waiting for the snapshot of ${volume.volumeId} (asked for at ${volume.tags[Tag.snapshotRequestedAt]})`,
        };
      actions.push({
        kind: "create-bake-snapshot",
        ...base,
        snapshot: {
          volumeId: volume.volumeId,
          description: `Leaven ${spec} ${ctx.build}: volume bake of ${volume.volumeId}`,
          tags: {
            ...buildTags(ctx),
            [Tag.role]: VOLUME_BAKE_ROLE,
            [Tag.bakeMethod]: "volume",
            [Tag.bakeVolume]: volume.volumeId,
          },
        },
        reason: `the bake of ${ctx.build} on ${volume.volumeId} succeeded: snapshotting it`,
      });
      return { step: "in-progress", message: `snapshotting ${volume.volumeId}` };
    }
    if (attached?.state === "attached" || attached?.state === "busy")
      actions.push({
        kind: "detach-volume",
        ...base,
        instanceId: attached.instanceId,
        reason: `snapshot ${snapshot.snapshotId} of ${volume.volumeId} is started: detaching the volume from ${attached.instanceId}`,
      });
    if (snapshot.state === "pending")
      return { step: "in-progress", message: `snapshot ${snapshot.snapshotId} is pending` };
    if (snapshot.state === "error") {
      const reason = `snapshot ${snapshot.snapshotId} of ${volume.volumeId} failed (state error)`;
      actions.push({ kind: "tag-volume", ...base, tags: failedTags(reason), reason });
      return { step: "in-progress", message: reason };
    }
    const bake = ctx.doc.spec.bake ?? {};
    actions.push({
      kind: "register-image",
      spec,
      build: ctx.build,
      region,
      snapshotId: snapshot.snapshotId,
      parentImageId: ctx.parent.imageId,
      image: {
        name: imageNameFor(spec, ctx.build),
        description: `Leaven ${spec} ${ctx.build} on ${ctx.parent.spec}/${ctx.parent.build}`,
        root: {
          ...(bake.rootVolume?.size ? { size: bake.rootVolume.size } : {}),
          volumeType: bake.rootVolume?.type ?? "gp3",
          deleteOnTermination: true,
        },
        tags: {
          ...buildTags(ctx),
          [Tag.bakeMethod]: "volume",
          [Tag.bakeVolume]: volume.volumeId,
          ...(volume.tags[Tag.rebakeOf] ? { [Tag.rebakeOf]: volume.tags[Tag.rebakeOf] } : {}),
          ...(volume.tags[Tag.provisionSeconds]
            ? { [Tag.provisionSeconds]: volume.tags[Tag.provisionSeconds] }
            : {}),
        },
      },
      reason: `snapshot ${snapshot.snapshotId} of ${ctx.build} is complete: registering the image`,
    });
    return { step: "in-progress", message: `registering the image from ${snapshot.snapshotId}` };
  }

  // No verdict yet: provisioning.
  if (!attached) {
    if (volume.state !== "available")
      return { step: "in-progress", message: `volume ${volume.volumeId} is ${volume.state}` };
    const pick = ctx.bakery.host(region, spec);
    if (!pick.ok) return { step: "in-progress", message: pick.message };
    if (pick.host.availabilityZone !== volume.availabilityZone) {
      // The host was replaced in another zone: a volume cannot move, a new one is made there.
      actions.push(
        ...cleanUp(
          spec,
          volume,
          `bakery host ${pick.host.instanceId} is in ${pick.host.availabilityZone}, ${volume.volumeId} in ${volume.availabilityZone}`,
        ),
      );
      return { step: "in-progress", message: `replacing ${volume.volumeId}: the bakery host moved zones` };
    }
    const claim = ctx.bakery.claimDevice(pick.host);
    if ("message" in claim) return { step: "in-progress", message: claim.message };
    actions.push({
      kind: "attach-volume",
      ...base,
      instanceId: pick.host.instanceId,
      device: claim.device,
      ...(pick.userNamed ? { userNamedHost: true as const } : {}),
      reason: `volume ${volume.volumeId} of ${ctx.build} is ready: attaching it to bakery host ${pick.host.instanceId}`,
    });
    return { step: "in-progress", message: `attaching ${volume.volumeId} to ${pick.host.instanceId}` };
  }
  if (attached.state !== "attached")
    return {
      step: "in-progress",
      message: `volume ${volume.volumeId} is ${attached.state} on ${attached.instanceId}`,
    };
  const command = ctx.volumes.commands.get(volume.volumeId);
  const timeout = ctx.doc.spec.bake?.timeout ?? DEFAULT_BAKE_TIMEOUT;
  if (!command) {
    const sent = Date.parse(volume.tags[Tag.commandRequestedAt] ?? "");
    if (sent && ctx.now - sent < COMMAND_VISIBILITY_MS)
      return {
        step: "in-progress",
        message: `waiting for the bake command on ${attached.instanceId} to be listed (sent at ${volume.tags[Tag.commandRequestedAt]})`,
      };
    const hostNow = ctx.volumes.hosts.find((h) => h.instanceId === attached.instanceId);
    const userNamed = hostNow !== undefined && hostNow.tags[Tag.role] !== "bakery";
    // Commands go only to a host Leaven owns or the one the user named, never to whatever holds the volume.
    if (!hostNow || hostNow.state !== "running")
      return {
        step: "in-progress",
        message: `volume ${volume.volumeId} is attached to ${attached.instanceId}, which is not a running bakery host`,
      };
    const script = renderChrootScript({
      buildId: ctx.build,
      spec,
      ...(ctx.doc.spec.provision ? { provision: ctx.doc.spec.provision } : {}),
      device: attached.device,
      volumeId: volume.volumeId,
    });
    actions.push({
      kind: "send-bake-command",
      ...base,
      instanceId: attached.instanceId,
      command: {
        instanceIds: [attached.instanceId],
        commands: script.split("\n"),
        timeoutSeconds: Math.ceil(parseDuration(timeout) / 1000),
        comment: bakeCommandComment(ctx.build, volume.volumeId),
      },
      ...(ctx.manifests ? { outputToManifests: true as const } : {}),
      ...(userNamed ? { userNamedHost: true as const } : { hostLaunchedAt: hostNow.launchTime }),
      reason: `volume ${volume.volumeId} is attached to ${attached.instanceId} as ${attached.device}: running the chroot bake`,
    });
    return { step: "in-progress", message: `starting the chroot bake on ${attached.instanceId}` };
  }
  const elapsed = ctx.now - Date.parse(command.requestedAt);
  if (!commandEnded(command.status)) {
    if (elapsed > parseDuration(timeout)) {
      const reason = `bake timed out after ${timeout} (command ${command.commandId} still ${command.status})`;
      return fail(ctx, volume, attached.instanceId, reason, actions);
    }
    return {
      step: "in-progress",
      message: `baking in a chroot on ${attached.instanceId} (command ${command.commandId} ${command.status})`,
    };
  }
  if (command.outcome?.result === "success") {
    actions.push({
      kind: "tag-volume",
      ...base,
      tags: { [Tag.bakeResult]: "success", [Tag.provisionSeconds]: String(Math.round(elapsed / 1000)) },
      reason: `command ${command.commandId} says the bake of ${ctx.build} succeeded`,
    });
    return {
      step: "in-progress",
      message: `recording the verdict on ${volume.volumeId}: the bake succeeded`,
    };
  }
  const reason =
    command.outcome?.result === "failure"
      ? `bake script failed: ${command.outcome.reason ?? "no reason given"}`
      : `bake command ${command.commandId} ended ${command.status} without a result marker in its output${command.outputCut ? CUT_OUTPUT : ""}`;
  return fail(ctx, volume, attached.instanceId, reason, actions, command.outcome?.tail);
}

const CUT_OUTPUT =
  " (GetCommandInvocation keeps only stdout's first 24,000 characters: with leaven.yaml's manifests: { bucket } SSM writes all of it there if the bakery host's role may s3:PutObject; or print less)";

function failedTags(reason: string) {
  return { [Tag.bakeResult]: "failed", [Tag.bakeReason]: reason.slice(0, 250) };
}

function fail(
  ctx: VolumeBakeContext,
  volume: CloudVolume,
  instanceId: string,
  reason: string,
  actions: Action[],
  console?: string[],
): BakeState {
  actions.push({
    kind: "detach-volume",
    spec: ctx.doc.metadata.name,
    build: ctx.build,
    region: ctx.homeRegion,
    volumeId: volume.volumeId,
    instanceId,
    tags: failedTags(reason),
    reason,
  });
  if (!(ctx.failureRecords ?? []).some((r) => r.instanceId === volume.volumeId))
    actions.push(
      recordFailure(ctx, { instanceId: volume.volumeId, imageId: ctx.parent.imageId }, reason, console),
    );
  return { step: "failed", message: reason, ...(console ? { console } : {}) };
}

/** Detaches a volume still attached, deletes one that is not; nothing while it is detaching or being made. */
export function cleanUp(
  spec: string,
  volume: CloudVolume,
  reason: string,
  build = volume.tags[Tag.build],
): Action[] {
  const attached = attachment(volume);
  const base = { spec, region: volume.region, volumeId: volume.volumeId };
  if (attached?.state === "detaching" || volume.state === "creating") return [];
  if (attached)
    return [
      {
        kind: "detach-volume",
        ...base,
        build: build ?? "",
        instanceId: attached.instanceId,
        reason: `${reason}: detaching ${volume.volumeId} to delete it`,
      },
    ];
  return [
    {
      kind: "delete-volume",
      ...base,
      ...(build ? { build } : {}),
      reason: `${reason}: deleting ${volume.volumeId}`,
    },
  ];
}
