// EBS volumes for volume bakes: CreateVolume from a snapshot (creating → available) in one of the region's
// availability zones, AttachVolume / DetachVolume with device names (attaching → attached, detaching →
// available), DeleteVolume, CreateSnapshot of a volume (pending → completed, the changed blocks only) and
// RegisterImage from a snapshot. States are read lazily from the clock, like every other resource here.
// Instances all live in `${region}a` (instances.ts), so a volume elsewhere cannot be attached to them.
import { liveToken } from "./client-tokens.ts";
import { visibleFrom } from "./consistency.ts";
import { type ActionHandler, callerRegion, type RequestContext } from "./context.ts";
import { newEncryption } from "./encryption.ts";
import { invalidParameterValue, malformedId, missingParameter, notFound, SimError } from "./errors.ts";
import { compileFilters, type FieldReader } from "./filters.ts";
import { checkSnapshotId, findInstance, findSnapshot, seenImage, snapshotNotFound } from "./ids.ts";
import { instanceState } from "./instances.ts";
import { checkMaxResults } from "./pagination.ts";
import { filtersOf } from "./query-protocol.ts";
import { parseTagSpecifications, tagSetXml } from "./tags.ts";
import type { SimImage, SimSnapshot, SimVolume } from "./world.ts";
import type { XmlObject } from "./xml.ts";

/** The availability zones of every simulated region. */
export const SIM_ZONE_SUFFIXES = ["a", "b", "c"] as const;

/**
 * The share of a baked volume's blocks a bake rewrites: the Bakery's figure is 7–8 % of the image. An
 * unwritten volume's snapshot changes almost nothing (EBS still copies its metadata).
 */
export const CHANGED_FRACTION = 0.075;
const UNWRITTEN_FRACTION = 0.001;

const volumePattern = /^vol-(?:[0-9a-f]{8}|[0-9a-f]{17})$/;
const VOLUME_TYPES = ["gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"];

export type SimVolumeState = "creating" | "available" | "in-use";
export type SimAttachmentState = "attaching" | "attached" | "detaching";

export function volumeState(volume: SimVolume, now: number): SimVolumeState {
  if (now < volume.availableAt) return "creating";
  const attachment = volume.attachment;
  if (attachment === undefined) return "available";
  if (attachment.detachedAt !== undefined && now >= attachment.detachedAt) return "available";
  return "in-use";
}

function attachmentState(volume: SimVolume, now: number): SimAttachmentState | undefined {
  const attachment = volume.attachment;
  if (attachment === undefined) return undefined;
  if (attachment.detachedAt !== undefined) return now >= attachment.detachedAt ? undefined : "detaching";
  return now < attachment.attachedAt ? "attaching" : "attached";
}

/**
 * Forgets an attachment that has ended: a finished detach, or an instance that was terminated (EC2 detaches
 * the volumes it would not delete, so a replaced bakery host leaves its volume available).
 */
function settle(ctx: RequestContext, volume: SimVolume): void {
  const attachment = volume.attachment;
  if (attachment === undefined) return;
  if (attachment.detachedAt !== undefined && ctx.now >= attachment.detachedAt) {
    delete volume.attachment;
    return;
  }
  const instance = callerRegion(ctx).instances.get(attachment.instanceId);
  if (!instance || instanceState(instance, ctx.now) === "terminated") delete volume.attachment;
}

/** Volumes attached (or attaching, or detaching) to an instance, with their device names. */
export function attachedTo(ctx: RequestContext, instanceId: string): SimVolume[] {
  return [...callerRegion(ctx).volumes.values()].filter((v) => {
    settle(ctx, v);
    return v.attachment?.instanceId === instanceId && attachmentState(v, ctx.now) !== undefined;
  });
}

/**
 * The volumes attached to an instance as DescribeInstances' BlockDeviceMappings list them beside its root
 * (EC2 lists every EBS volume attached, whoever owns it, with the attachment's status).
 */
export function attachedDevices(
  ctx: RequestContext,
  instanceId: string,
): { deviceName: string; volumeId: string; status: SimAttachmentState; attachTime: Date }[] {
  return attachedTo(ctx, instanceId).map((volume) => ({
    deviceName: volume.attachment!.device,
    volumeId: volume.volumeId,
    status: attachmentState(volume, ctx.now)!,
    attachTime: new Date(volume.attachment!.attachedAt),
  }));
}

function checkVolumeId(id: string): void {
  if (!volumePattern.test(id)) throw malformedId("InvalidVolumeID.Malformed", id, "vol");
}

function volumeNotFound(ids: string[]): SimError {
  return notFound("InvalidVolume.NotFound", "volume", ids);
}

function findVolume(ctx: RequestContext, id: string): SimVolume {
  checkVolumeId(id);
  const volume = callerRegion(ctx).volumes.get(id);
  if (!volume) throw volumeNotFound([id]);
  settle(ctx, volume);
  return volume;
}

function volumeXml(volume: SimVolume, now: number): XmlObject {
  const state = attachmentState(volume, now);
  return {
    volumeId: volume.volumeId,
    size: volume.size,
    snapshotId: volume.snapshotId ?? "",
    availabilityZone: volume.availabilityZone,
    status: volumeState(volume, now),
    createTime: new Date(volume.createTime),
    attachmentSet:
      state === undefined || volume.attachment === undefined
        ? []
        : [
            {
              volumeId: volume.volumeId,
              instanceId: volume.attachment.instanceId,
              device: volume.attachment.device,
              status: state,
              attachTime: new Date(volume.attachment.attachedAt),
              deleteOnTermination: false,
            },
          ],
    tagSet: tagSetXml(volume.tags),
    volumeType: volume.volumeType,
    encrypted: volume.encrypted ?? false,
    ...(volume.kmsKeyId ? { kmsKeyId: volume.kmsKeyId } : {}),
    multiAttachEnabled: false,
  };
}

const volumeFields: FieldReader<SimVolume & { state: string; attachState?: string }> = {
  "volume-id": (v) => v.volumeId,
  status: (v) => v.state,
  "availability-zone": (v) => v.availabilityZone,
  "snapshot-id": (v) => v.snapshotId,
  size: (v) => String(v.size),
  "volume-type": (v) => v.volumeType,
  "attachment.instance-id": (v) => v.attachment?.instanceId,
  "attachment.device": (v) => v.attachment?.device,
  "attachment.status": (v) => v.attachState,
};

function idempotentMismatch(): SimError {
  return new SimError(
    "IdempotentParameterMismatch",
    "The client token you have provided is associated with a resource that is already deleted or has different parameters. Use a new client token.",
  );
}

/**
 * A snapshot the caller may create a volume from: its own or one shared with it, and — as EC2 allows, and as
 * a volume bake from a vendor's base needs — any snapshot of an image the caller may launch.
 */
function launchableSnapshot(ctx: RequestContext, snapshotId: string): SimSnapshot {
  const region = ctx.world.region(ctx.region);
  const snapshot = region.snapshots.get(snapshotId);
  for (const image of region.images.values()) {
    if (!image.snapshotIds.includes(snapshotId) || !seenImage(ctx, image.imageId)) continue;
    // Vendor images (vendor-images.ts) keep no snapshot records: their root snapshot is the image's own size.
    return (
      snapshot ?? {
        snapshotId,
        ownerId: image.ownerId,
        volumeId: "vol-ffffffff",
        volumeSize: image.volumeSize,
        description: `Snapshot of ${image.name}`,
        startTime: image.creationDate,
        completedAt: image.creationDate,
        encrypted: image.encrypted ?? false,
        tags: {},
      }
    );
  }
  return findSnapshot(ctx, snapshotId);
}

export const createVolume: ActionHandler = (ctx) => {
  const { params, now, world } = ctx;
  const region = callerRegion(ctx);
  const clientToken = params.get("ClientToken");
  const fingerprint = params.fingerprint(["ClientToken", "Action", "Version"]);
  const tokenKey = `CreateVolume:${clientToken}`;
  if (clientToken) {
    const previous = liveToken(ctx, region, tokenKey);
    if (previous) {
      if (previous.fingerprint !== fingerprint) throw idempotentMismatch();
      const volume = region.volumes.get(previous.ids[0]!);
      // As EC2 does: the token's volume is gone, so the same token cannot make another.
      if (!volume) throw idempotentMismatch();
      return volumeXml(volume, now);
    }
  }
  const zone = params.require("AvailabilityZone");
  if (!SIM_ZONE_SUFFIXES.some((suffix) => zone === `${ctx.region}${suffix}`)) {
    throw invalidParameterValue(
      `Invalid availability zone: [${zone}]. Use one of ${SIM_ZONE_SUFFIXES.map((s) => `${ctx.region}${s}`).join(", ")}.`,
    );
  }
  const snapshotId = params.get("SnapshotId");
  let snapshot: SimSnapshot | undefined;
  if (snapshotId !== undefined) {
    checkSnapshotId(snapshotId);
    snapshot = launchableSnapshot(ctx, snapshotId);
    if (now < snapshot.completedAt) {
      throw new SimError(
        "IncorrectState",
        `Snapshot is in invalid state - pending: ${snapshotId}. Wait until it is completed.`,
      );
    }
  }
  const size = params.int("Size") ?? snapshot?.volumeSize;
  if (size === undefined) throw missingParameter("Size");
  if (snapshot && size < snapshot.volumeSize) {
    throw invalidParameterValue(
      `Volume of ${size}GiB is smaller than snapshot '${snapshot.snapshotId}', expect size >= ${snapshot.volumeSize}GiB`,
    );
  }
  if (size < 1 || size > 16_384)
    throw invalidParameterValue(`Volume size ${size} GiB is out of range (1–16384).`);
  const volumeType = params.get("VolumeType") ?? "gp2";
  if (!VOLUME_TYPES.includes(volumeType))
    throw invalidParameterValue(`Value (${volumeType}) for parameter volumeType is invalid.`);
  const tags = parseTagSpecifications(params, ["volume"]).volume ?? {};
  const requestedKey = params.get("KmsKeyId");
  // The requested key (with Encrypted=true); else the snapshot's; else the account's default, if on.
  const encryption = newEncryption(
    ctx,
    { encrypted: params.bool("Encrypted"), ...(requestedKey ? { kmsKeyId: requestedKey } : {}) },
    {
      encrypted: snapshot?.encrypted ?? false,
      ...(snapshot?.kmsKeyId ? { kmsKeyId: snapshot.kmsKeyId } : {}),
    },
    "",
  );
  const volume: SimVolume = {
    volumeId: world.newId("vol"),
    ownerId: ctx.account,
    availabilityZone: zone,
    size,
    volumeType,
    ...(snapshotId !== undefined ? { snapshotId } : {}),
    createTime: now,
    availableAt: now + world.timings.volumeCreating,
    tags,
    ...(clientToken ? { clientToken } : {}),
    ...(encryption.encrypted ? { encrypted: true } : {}),
    ...(encryption.kmsKeyId ? { kmsKeyId: encryption.kmsKeyId } : {}),
  };
  region.volumes.set(volume.volumeId, volume);
  if (clientToken) region.tokens.set(tokenKey, { fingerprint, ids: [volume.volumeId] });
  return volumeXml(volume, now);
};

export const describeVolumes: ActionHandler = (ctx) => {
  const { params, now } = ctx;
  const region = callerRegion(ctx);
  const ids = params.list("VolumeId");
  for (const id of ids) checkVolumeId(id);
  const maxResults = params.int("MaxResults");
  checkMaxResults(maxResults, 5, 500);
  if (maxResults !== undefined && ids.length > 0) {
    throw new SimError(
      "InvalidParameterCombination",
      "The parameter volumeSet cannot be used with the parameter maxResults",
    );
  }
  const missing = ids.filter((id) => !region.volumes.has(id));
  if (missing.length > 0) throw volumeNotFound(missing);
  const predicate = compileFilters(filtersOf(params), volumeFields, (v) => v.tags);
  const compute = (): string[] => {
    const candidates = ids.length > 0 ? ids.map((id) => region.volumes.get(id)!) : region.volumes.values();
    const out: string[] = [];
    for (const volume of candidates) {
      settle(ctx, volume);
      const attachState = attachmentState(volume, now);
      const row = {
        ...volume,
        state: volumeState(volume, now),
        ...(attachState !== undefined ? { attachState } : {}),
      };
      if (predicate(row)) out.push(volume.volumeId);
    }
    return out;
  };
  const key = `DescribeVolumes:${ctx.account}:${ctx.region}:${params.fingerprint(["NextToken", "MaxResults", "Action", "Version"])}`;
  const page = ctx.listings.page(key, params.get("NextToken"), maxResults, compute);
  const items: XmlObject[] = [];
  for (const id of page.ids) {
    const volume = region.volumes.get(id);
    if (volume) items.push(volumeXml(volume, now));
  }
  return { volumeSet: items, nextToken: page.nextToken };
};

/** EC2's device names for an attached EBS volume on Linux: /dev/sd[f-p] or /dev/xvd[b-z], and friends. */
const DEVICE_PATTERN = /^\/dev\/(?:sd[b-z]|xvd[b-z]{1,2}|xvd[a-z]|sd[a-z][1-9]?)$/;

function attachmentXml(volume: SimVolume, status: string): XmlObject {
  return {
    volumeId: volume.volumeId,
    instanceId: volume.attachment?.instanceId,
    device: volume.attachment?.device,
    status,
    attachTime: new Date(volume.attachment?.attachedAt ?? volume.createTime),
  };
}

export const attachVolume: ActionHandler = (ctx) => {
  const { params, now, world } = ctx;
  const volume = findVolume(ctx, params.require("VolumeId"));
  const instanceId = params.require("InstanceId");
  const device = params.require("Device");
  const instance = findInstance(ctx, instanceId);
  const instanceNow = instanceState(instance, now);
  if (instanceNow !== "running" && instanceNow !== "stopped") {
    throw new SimError(
      "IncorrectInstanceState",
      `Instance '${instanceId}' is not 'running' or 'stopped' (it is ${instanceNow}).`,
    );
  }
  const state = volumeState(volume, now);
  if (state === "in-use") {
    throw new SimError(
      "VolumeInUse",
      `${volume.volumeId} is already attached to an instance (${volume.attachment?.instanceId}).`,
    );
  }
  if (state !== "available") {
    throw new SimError("IncorrectState", `${volume.volumeId} is not 'available' (it is ${state}).`);
  }
  const instanceZone = `${ctx.region}a`;
  if (volume.availabilityZone !== instanceZone) {
    throw new SimError(
      "InvalidVolume.ZoneMismatch",
      `The volume '${volume.volumeId}' is not in the same availability zone as instance '${instanceId}'.`,
    );
  }
  if (!DEVICE_PATTERN.test(device)) {
    throw invalidParameterValue(
      `Value (${device}) for parameter device is invalid. ${device} is not a valid EBS device name.`,
    );
  }
  const rootDevice = instance.blockDevices[0]?.deviceName ?? "/dev/xvda";
  const taken = attachedTo(ctx, instanceId).some((v) => v.attachment?.device === device);
  if (device === rootDevice || taken) {
    throw invalidParameterValue(`Attachment point ${device} is already in use`);
  }
  volume.attachment = { instanceId, device, attachedAt: now + world.timings.volumeAttaching };
  return attachmentXml(volume, "attaching");
};

export const detachVolume: ActionHandler = (ctx) => {
  const { params, now, world } = ctx;
  const volume = findVolume(ctx, params.require("VolumeId"));
  const instanceId = params.get("InstanceId");
  const attachState = attachmentState(volume, now);
  if (volume.attachment === undefined || attachState === undefined) {
    throw new SimError(
      "IncorrectState",
      `Volume '${volume.volumeId}' is in the '${volumeState(volume, now)}' state.`,
    );
  }
  if (instanceId !== undefined && volume.attachment.instanceId !== instanceId) {
    throw new SimError(
      "InvalidAttachment.NotFound",
      `The volume '${volume.volumeId}' is not attached to instance '${instanceId}'.`,
    );
  }
  if (attachState === "detaching") return attachmentXml(volume, "detaching");
  // A detach of a volume still attaching waits for the attachment first, as EC2's does.
  const from = Math.max(now, volume.attachment.attachedAt);
  volume.attachment.detachedAt = from + world.timings.volumeDetaching;
  return attachmentXml(volume, "detaching");
};

export const deleteVolume: ActionHandler = (ctx) => {
  const volume = findVolume(ctx, ctx.params.require("VolumeId"));
  const state = volumeState(volume, ctx.now);
  if (state === "in-use") {
    throw new SimError(
      "VolumeInUse",
      `Volume ${volume.volumeId} is currently attached to ${volume.attachment?.instanceId}; detach it first.`,
    );
  }
  if (state === "creating") {
    throw new SimError(
      "IncorrectState",
      `Volume ${volume.volumeId} is still being created; wait until it is available.`,
    );
  }
  const region = callerRegion(ctx);
  region.volumes.delete(volume.volumeId);
  for (const [key, record] of region.tokens) {
    if (key.startsWith("CreateVolume:") && record.ids[0] === volume.volumeId) record.endedAt = ctx.now;
  }
  return { return: true };
};

/** GiB of changed blocks a snapshot of this volume holds (never less than EBS's smallest unit here, 1 MiB). */
export function changedGiB(volume: Pick<SimVolume, "size" | "written" | "snapshotId">): number {
  const fraction =
    volume.snapshotId === undefined ? 1 : volume.written ? CHANGED_FRACTION : UNWRITTEN_FRACTION;
  return Math.max(1 / 1024, volume.size * fraction);
}

export const createSnapshot: ActionHandler = (ctx) => {
  const { params, now, world } = ctx;
  const volume = findVolume(ctx, params.require("VolumeId"));
  const state = volumeState(volume, now);
  if (state === "creating") {
    throw new SimError(
      "IncorrectState",
      `Volume ${volume.volumeId} is still being created; wait until it is available.`,
    );
  }
  const tags = parseTagSpecifications(params, ["snapshot"]).snapshot ?? {};
  const changed = changedGiB(volume);
  const visibleAt = visibleFrom(ctx);
  const snapshot: SimSnapshot = {
    snapshotId: world.newId("snap"),
    ownerId: ctx.account,
    volumeId: volume.volumeId,
    volumeSize: volume.size,
    description: params.get("Description") ?? "",
    startTime: now,
    completedAt: now + Math.round(changed * world.timings.snapshotPerChangedGiB),
    // A snapshot is encrypted as its volume is, with the same key.
    encrypted: volume.encrypted ?? false,
    ...(volume.kmsKeyId ? { kmsKeyId: volume.kmsKeyId } : {}),
    tags,
    changedGiB: changed,
    // What a chroot bake left on the volume is what the image made from this snapshot holds.
    ...(volume.packages !== undefined ? { packages: volume.packages } : {}),
    ...(visibleAt !== undefined ? { visibleAt } : {}),
  };
  world.region(ctx.region).snapshots.set(snapshot.snapshotId, snapshot);
  return {
    snapshotId: snapshot.snapshotId,
    volumeId: volume.volumeId,
    status: "pending",
    startTime: new Date(now),
    progress: "0%",
    ownerId: snapshot.ownerId,
    volumeSize: snapshot.volumeSize,
    description: snapshot.description,
    encrypted: snapshot.encrypted,
    ...(snapshot.kmsKeyId ? { kmsKeyId: snapshot.kmsKeyId } : {}),
    tagSet: tagSetXml(tags),
  };
};

const ARCHITECTURES = ["x86_64", "arm64", "i386"];
const BOOT_MODES = ["legacy-bios", "uefi", "uefi-preferred"];

export const registerImage: ActionHandler = (ctx) => {
  const { params, now, world } = ctx;
  const name = params.require("Name");
  const architecture = params.get("Architecture") ?? "x86_64";
  if (!ARCHITECTURES.includes(architecture))
    throw invalidParameterValue(`Value (${architecture}) for parameter architecture is invalid.`);
  const bootMode = params.get("BootMode");
  if (bootMode !== undefined && !BOOT_MODES.includes(bootMode))
    throw invalidParameterValue(`Value (${bootMode}) for parameter bootMode is invalid.`);
  const virtualizationType = params.get("VirtualizationType") ?? "paravirtual";
  if (params.get("ImageLocation") !== undefined)
    throw new SimError(
      "UnsupportedOperation",
      "The simulator registers EBS-backed images only: leave ImageLocation out.",
    );
  const rootDeviceName = params.require("RootDeviceName");
  const mappings = params.structs("BlockDeviceMapping");
  const root = mappings.find((m) => m.get("DeviceName") === rootDeviceName);
  const rootSnapshotId = root?.get("Ebs.SnapshotId");
  if (rootSnapshotId === undefined) {
    throw invalidParameterValue(
      `The root device name ${rootDeviceName} has no block device mapping with an EBS snapshot.`,
    );
  }
  const snapshotIds = [
    rootSnapshotId,
    ...mappings.flatMap((m) => {
      const id = m.get("Ebs.SnapshotId");
      return id !== undefined && m !== root ? [id] : [];
    }),
  ];
  const snapshots = snapshotIds.map((id) => {
    checkSnapshotId(id);
    const snapshot = findSnapshot(ctx, id);
    if (snapshot.ownerId !== ctx.account && !snapshot.createVolumePermissions?.length)
      throw snapshotNotFound([id]);
    return snapshot;
  });
  const pending = snapshots.find((s) => now < s.completedAt);
  if (pending) {
    throw new SimError(
      "IncorrectState",
      `Snapshot ${pending.snapshotId} is not completed yet (it is pending); register the image once it is.`,
    );
  }
  const region = callerRegion(ctx);
  const existing = region.ownNames.get(name);
  if (existing !== undefined)
    throw new SimError("InvalidAMIName.Duplicate", `AMI name ${name} is already in use by AMI ${existing}`);
  if (!/^[A-Za-z0-9 ()[\]./\-'@_]{3,128}$/.test(name)) {
    throw invalidParameterValue(
      `AMI name '${name}' is invalid: names are 3 to 128 characters of letters, numbers, spaces and ( ) [ ] . / - ' @ _`,
    );
  }
  const tags = parseTagSpecifications(params, ["image"]).image ?? {};
  const rootSize = root?.int("Ebs.VolumeSize") ?? snapshots[0]!.volumeSize;
  const visibleAt = visibleFrom(ctx);
  const enaSupport = params.bool("EnaSupport");
  const sriovNetSupport = params.get("SriovNetSupport");
  const description = params.get("Description");
  const image: SimImage = {
    imageId: world.newId("ami"),
    name,
    ...(description !== undefined ? { description } : {}),
    ownerId: ctx.account,
    architecture,
    isPublic: false,
    creationDate: now,
    timeline: [
      { at: now, state: "pending" },
      { at: now + world.timings.registerPending, state: "available" },
    ],
    rootDeviceName,
    volumeSize: rootSize,
    snapshotIds,
    tags,
    launchPermissions: [],
    ...(bootMode !== undefined ? { bootMode } : {}),
    enaSupport: enaSupport ?? false,
    ...(sriovNetSupport !== undefined ? { sriovNetSupport } : {}),
    virtualizationType,
    // The image's root is its snapshot: encrypted as that is (RegisterImage cannot change it).
    ...(snapshots[0]!.encrypted ? { encrypted: true } : {}),
    ...(snapshots[0]!.kmsKeyId ? { kmsKeyId: snapshots[0]!.kmsKeyId } : {}),
    ...(visibleAt !== undefined ? { visibleAt } : {}),
    ...(snapshots[0]!.packages !== undefined ? { packages: snapshots[0]!.packages } : {}),
  };
  world.addImage(ctx.region, image);
  return { imageId: image.imageId };
};
