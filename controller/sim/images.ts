// Image actions: DescribeImages, CreateImage, CopyImage, DeregisterImage, the launch-permission
// attribute, deprecation and disabling. Names are unique per region among the caller's images.
import { canSeeImage, grantsLaunch, organizationsOf, tagsSeenBy } from "./accounts.ts";
import { liveToken, noteImageGone } from "./client-tokens.ts";
import { isVisible, releaseSnapshots, visibleFrom } from "./consistency.ts";
import { type ActionHandler, callerRegion, type RequestContext } from "./context.ts";
import { newEncryption, refuseManagedKeyImageSharing } from "./encryption.ts";
import { invalidParameterValue, SimError } from "./errors.ts";
import { compileFilters, type FieldReader } from "./filters.ts";
import { checkImageId, findImage, findInstance, findOwnImage, imageNotFound, resolveOwner } from "./ids.ts";
import { instanceState } from "./instances.ts";
import { bakeManifest, simManifestBody } from "./manifests.ts";
import { checkMaxResults } from "./pagination.ts";
import { filtersOf } from "./query-protocol.ts";
import { isSimRegion, SIM_ACCOUNT_ID } from "./regions.ts";
import { parseTagSpecifications, tagSetXml } from "./tags.ts";
import { OWNER_ALIAS_ACCOUNTS } from "./vendor-images.ts";
import {
  type LaunchPermission,
  type RegionState,
  type SimImage,
  type SimImageState,
  type SimSnapshot,
  stateAt,
  type Tags,
  type World,
} from "./world.ts";
import type { XmlObject } from "./xml.ts";

export function imageState(image: SimImage, now: number): SimImageState {
  return stateAt(image.timeline, now);
}

function isDeprecated(image: SimImage, now: number): boolean {
  return image.deprecationTime !== undefined && image.deprecationTime <= now;
}

/** Whether the caller may see the image now: permitted (accounts.ts) and no longer hidden (consistency.ts). */
function visibleToCaller(ctx: RequestContext, image: SimImage): boolean {
  return isVisible(image, ctx.now) && canSeeImage(ctx, image);
}

export function imageXml(
  image: SimImage,
  region: string,
  world: World,
  now: number,
  account: string = SIM_ACCOUNT_ID,
): XmlObject {
  const state = imageState(image, now);
  const own = image.ownerId === account;
  const snapshots = world.region(region).snapshots;
  return {
    imageId: image.imageId,
    imageLocation: `${image.ownerAlias ?? image.ownerId}/${image.name}`,
    imageState: state,
    imageOwnerId: image.ownerId,
    creationDate: new Date(image.creationDate).toISOString(),
    isPublic: image.isPublic,
    architecture: image.architecture,
    imageType: "machine",
    sourceInstanceId: own ? image.sourceInstanceId : undefined,
    imageOwnerAlias: image.ownerAlias,
    name: image.name,
    description: image.description,
    rootDeviceType: "ebs",
    rootDeviceName: image.rootDeviceName,
    blockDeviceMapping: image.snapshotIds.map((snapshotId, index) => ({
      deviceName: index === 0 ? image.rootDeviceName : `/dev/sd${String.fromCharCode(98 + index)}`,
      ebs: {
        deleteOnTermination: true,
        snapshotId,
        volumeSize: snapshots.get(snapshotId)?.volumeSize ?? image.volumeSize,
        volumeType: "gp3",
        encrypted: image.encrypted ?? false,
        kmsKeyId: own ? (snapshots.get(snapshotId)?.kmsKeyId ?? image.kmsKeyId) : undefined,
      },
    })),
    virtualizationType: image.virtualizationType ?? "hvm",
    bootMode: image.bootMode,
    // EC2 keeps tags per account: another account sees only the tags it put on the image itself.
    tagSet: tagSetXml(tagsSeenBy(image, account)),
    hypervisor: "xen",
    enaSupport: image.enaSupport ?? true,
    sriovNetSupport: image.enaSupport === undefined ? "simple" : image.sriovNetSupport,
    platform: image.platform,
    platformDetails: image.platform === "windows" ? "Windows" : "Linux/UNIX",
    usageOperation: image.platform === "windows" ? "RunInstances:0002" : "RunInstances",
    deprecationTime:
      image.deprecationTime === undefined ? undefined : new Date(image.deprecationTime).toISOString(),
    sourceImageId: own ? image.sourceImageId : undefined,
    sourceImageRegion: own ? image.sourceRegion : undefined,
    stateReason:
      state === "failed"
        ? { code: "Client.ImageFailed", message: "The image failed to register." }
        : undefined,
  };
}

const imageFields: FieldReader<{ image: SimImage; state: SimImageState }> = {
  "image-id": (r) => r.image.imageId,
  name: (r) => r.image.name,
  state: (r) => r.state,
  architecture: (r) => r.image.architecture,
  "owner-id": (r) => r.image.ownerId,
  "owner-alias": (r) => r.image.ownerAlias,
  description: (r) => r.image.description,
  "is-public": (r) => String(r.image.isPublic),
  "image-type": () => "machine",
  "root-device-type": () => "ebs",
  "virtualization-type": () => "hvm",
  hypervisor: () => "xen",
  platform: (r) => r.image.platform,
  "platform-details": (r) => (r.image.platform === "windows" ? "Windows" : "Linux/UNIX"),
  "block-device-mapping.snapshot-id": (r) => r.image.snapshotIds,
  "source-instance-id": (r) => r.image.sourceInstanceId,
  "creation-date": (r) => isoDate(r.image.creationDate),
};

// A creation-date filter formats every image's date: many share one (a build's copies, a seeded estate).
const isoDates = new Map<number, string>();
function isoDate(at: number): string {
  let iso = isoDates.get(at);
  if (iso === undefined) {
    if (isoDates.size > 100_000) isoDates.clear();
    iso = new Date(at).toISOString();
    isoDates.set(at, iso);
  }
  return iso;
}

/** ExecutableBy.N (the SDK's ExecutableUsers): `all` = public, `self` or an account = explicitly granted to it. */
function executableBy(ctx: RequestContext, values: string[]): ((image: SimImage) => boolean) | undefined {
  if (values.length === 0) return undefined;
  const tests = values.map((value): ((image: SimImage) => boolean) => {
    if (value === "all") return (image) => image.isPublic;
    const account = resolveOwner(value, ctx.account);
    const organizations = organizationsOf(ctx, account);
    return (image) => image.launchPermissions.some((p) => grantsLaunch(p, account, organizations));
  });
  return (image) => tests.some((test) => test(image));
}

export const describeImages: ActionHandler = (ctx) => {
  const { params, now } = ctx;
  const region = ctx.world.region(ctx.region);
  const owners = new Set(
    params
      .list("Owner")
      .flatMap((owner) => OWNER_ALIAS_ACCOUNTS[owner] ?? [resolveOwner(owner, ctx.account)]),
  );
  const executable = executableBy(ctx, params.list("ExecutableBy"));
  const imageIds = params.list("ImageId");
  for (const id of imageIds) checkImageId(id);
  const maxResults = params.int("MaxResults");
  checkMaxResults(maxResults, 5, 1000);
  if (maxResults !== undefined && imageIds.length > 0) {
    throw new SimError(
      "InvalidParameterCombination",
      "The parameter imageIdsSet cannot be used with the parameter maxResults",
    );
  }
  const includeDeprecated = params.bool("IncludeDeprecated") ?? false;
  const includeDisabled = params.bool("IncludeDisabled") ?? false;
  const predicate = compileFilters(filtersOf(params), imageFields, (r) => tagsSeenBy(r.image, ctx.account));

  const compute = (): string[] => {
    const ids: string[] = [];
    if (imageIds.length > 0) {
      const missing = imageIds.filter((id) => {
        const image = region.images.get(id);
        return !image || !visibleToCaller(ctx, image);
      });
      if (missing.length > 0) throw imageNotFound(missing);
    }
    const candidates =
      imageIds.length > 0 ? imageIds.map((id) => region.images.get(id)!) : region.images.values();
    for (const image of candidates) {
      if (!visibleToCaller(ctx, image)) continue;
      if (owners.size > 0 && !owners.has(image.ownerId)) continue;
      if (executable && !executable(image)) continue;
      const state = imageState(image, now);
      if (imageIds.length === 0) {
        // As on AWS: deprecated images of other owners only on request; disabled ones only on request.
        if (!includeDeprecated && image.ownerId !== ctx.account && isDeprecated(image, now)) continue;
        if (!includeDisabled && state === "disabled") continue;
      }
      if (!predicate({ image, state })) continue;
      ids.push(image.imageId);
    }
    return ids;
  };
  const key = `DescribeImages:${ctx.account}:${ctx.region}:${params.fingerprint(["NextToken", "MaxResults", "Action", "Version"])}`;
  const page = ctx.listings.page(key, params.get("NextToken"), maxResults, compute);
  const items: XmlObject[] = [];
  for (const id of page.ids) {
    const image = region.images.get(id);
    if (image) items.push(imageXml(image, ctx.region, ctx.world, now, ctx.account));
  }
  return { imagesSet: items, nextToken: page.nextToken };
};

const namePattern = /^[a-zA-Z0-9()[\] ./\-'@_]{3,128}$/;

function checkName(region: RegionState, name: string): void {
  if (!namePattern.test(name)) {
    throw new SimError(
      "InvalidAMIName.Malformed",
      `AMI name '${name}' is invalid: names are 3 to 128 characters of letters, numbers, spaces and ( ) [ ] . / - ' @ _`,
    );
  }
  const existing = region.ownNames.get(name);
  if (existing !== undefined) {
    throw new SimError("InvalidAMIName.Duplicate", `AMI name ${name} is already in use by AMI ${existing}`);
  }
}

function newSnapshot(
  ctx: RequestContext,
  fields: Omit<SimSnapshot, "snapshotId" | "ownerId" | "startTime">,
): SimSnapshot {
  const visibleAt = visibleFrom(ctx);
  const snapshot: SimSnapshot = {
    snapshotId: ctx.world.newId("snap"),
    ownerId: ctx.account,
    startTime: ctx.now,
    ...fields,
    ...(visibleAt !== undefined ? { visibleAt } : {}),
  };
  ctx.world.region(ctx.region).snapshots.set(snapshot.snapshotId, snapshot);
  return snapshot;
}

export const createImage: ActionHandler = (ctx) => {
  const { params, now, world } = ctx;
  const region = callerRegion(ctx);
  const instanceId = params.require("InstanceId");
  const name = params.require("Name");
  const instance = findInstance(ctx, instanceId, (i) => instanceState(i, now) !== "terminated");
  const state = instanceState(instance, now);
  if (state !== "running" && state !== "stopped") {
    throw new SimError(
      "IncorrectInstanceState",
      `The instance '${instanceId}' is not in a state from which an image can be created (it is ${state}); wait until it is running or stopped.`,
    );
  }
  const tagSpecs = parseTagSpecifications(params, ["image", "snapshot"]);
  checkName(region, name);
  const source = region.images.get(instance.imageId);
  const manifest = bakeManifest(world, ctx.region, instance);
  const rootSize = instance.blockDevices[0]?.volumeSize ?? source?.volumeSize ?? 8;
  const imageId = world.newId("ami");
  // The snapshot is of the instance's root volume, encrypted (or not) as the volume is.
  const root = instance.blockDevices[0];
  const encryption = root?.encrypted
    ? { encrypted: true, ...(root.kmsKeyId ? { kmsKeyId: root.kmsKeyId } : {}) }
    : {};
  const snapshot = newSnapshot(ctx, {
    volumeId: instance.volumeId,
    volumeSize: rootSize,
    description: `Created by CreateImage(${instanceId}) for ${imageId}`,
    completedAt: now + world.timings.imagePending,
    encrypted: root?.encrypted ?? false,
    ...(root?.kmsKeyId ? { kmsKeyId: root.kmsKeyId } : {}),
    tags: tagSpecs.snapshot ?? {},
  });
  const visibleAt = visibleFrom(ctx);
  world.addImage(ctx.region, {
    imageId,
    name,
    description: params.get("Description"),
    ownerId: ctx.account,
    // An image of a Windows instance is a Windows image, as EC2 records it.
    ...(source?.platform ? { platform: source.platform } : {}),
    architecture: instance.architecture,
    isPublic: false,
    creationDate: now,
    timeline: [
      { at: now, state: "pending" },
      { at: now + world.timings.imagePending, state: "available" },
    ],
    rootDeviceName: source?.rootDeviceName ?? "/dev/xvda",
    volumeSize: rootSize,
    snapshotIds: [snapshot.snapshotId],
    tags: tagSpecs.image ?? {},
    launchPermissions: [],
    sourceInstanceId: instanceId,
    ...(manifest ? { packages: simManifestBody(manifest) } : {}),
    ...encryption,
    ...(visibleAt !== undefined ? { visibleAt } : {}),
  });
  return { imageId };
};

export const copyImage: ActionHandler = (ctx) => {
  const { params, now, world } = ctx;
  const region = callerRegion(ctx);
  const sourceRegion = params.require("SourceRegion");
  const sourceImageId = params.require("SourceImageId");
  const name = params.require("Name");
  const clientToken = params.get("ClientToken");
  const fingerprint = params.fingerprint(["ClientToken", "Action", "Version"]);
  if (clientToken) {
    const previous = liveToken(ctx, region, `CopyImage:${clientToken}`);
    if (previous) {
      if (previous.fingerprint !== fingerprint) {
        throw new SimError(
          "IdempotentParameterMismatch",
          "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).",
        );
      }
      return { imageId: previous.ids[0] };
    }
  }
  if (!isSimRegion(sourceRegion)) {
    throw invalidParameterValue(`Invalid value '${sourceRegion}' for SourceRegion: not an enabled region.`);
  }
  const sourceRegionState = world.region(sourceRegion);
  const source = findImage(ctx, sourceImageId, sourceRegion);
  const sourceState = imageState(source, now);
  if (sourceState !== "available") {
    throw new SimError(
      "IncorrectState",
      `Image ${sourceImageId} is in state ${sourceState}; only available images can be copied. Retry once it is available.`,
    );
  }
  const requestedKey = params.get("KmsKeyId");
  // Copies of encrypted snapshots are encrypted, with the key named or else the destination's default key.
  const { encrypted, kmsKeyId } = newEncryption(
    ctx,
    { encrypted: params.bool("Encrypted"), ...(requestedKey ? { kmsKeyId: requestedKey } : {}) },
    { encrypted: source.encrypted ?? false },
    "",
  );
  const parsedTags = parseTagSpecifications(params, ["image", "snapshot"]);
  const tagSpecs = ctx.faults.dropCopyTags ? {} : parsedTags;
  checkName(region, name);
  const copying = [...region.images.values()].filter(
    (image) =>
      image.ownerId === ctx.account &&
      image.sourceImageId !== undefined &&
      imageState(image, now) === "pending",
  ).length;
  if (copying >= world.concurrentCopyLimit) {
    // EC2's code for "too many snapshot copies in progress" (EC2 API error codes); the wording is ours.
    throw new SimError(
      "ResourceLimitExceeded",
      `You have exceeded an Amazon EC2 resource limit: ${copying} AMI copies are in progress into ${ctx.region}, the most a destination region allows at once (${world.concurrentCopyLimit}). Retry once some have completed.`,
    );
  }
  const imageId = world.newId("ami");
  const ready = now + world.timings.copyPending;
  const snapshotIds = source.snapshotIds.map((sourceSnapshot) => {
    const size = sourceRegionState.snapshots.get(sourceSnapshot)?.volumeSize ?? source.volumeSize;
    return newSnapshot(ctx, {
      volumeId: "vol-ffffffff",
      volumeSize: size,
      description: `Copied for DestinationAmi ${imageId} from SourceAmi ${sourceImageId} for SourceSnapshot ${sourceSnapshot}`,
      completedAt: ready,
      encrypted,
      ...(kmsKeyId ? { kmsKeyId } : {}),
      tags: { ...(tagSpecs.snapshot ?? {}) },
    }).snapshotId;
  });
  const copiedTags: Tags =
    params.bool("CopyImageTags") && source.ownerId === ctx.account ? { ...source.tags } : {};
  const visibleAt = visibleFrom(ctx);
  world.addImage(ctx.region, {
    imageId,
    name,
    description: params.get("Description"),
    ownerId: ctx.account,
    architecture: source.architecture,
    isPublic: false,
    creationDate: now,
    timeline: [
      { at: now, state: "pending" },
      { at: ready, state: "available" },
    ],
    rootDeviceName: source.rootDeviceName,
    ...(source.platform ? { platform: source.platform } : {}),
    volumeSize: source.volumeSize,
    snapshotIds,
    tags: { ...copiedTags, ...(tagSpecs.image ?? {}) },
    launchPermissions: [],
    sourceImageId,
    sourceRegion,
    ...(source.packages !== undefined ? { packages: source.packages } : {}),
    encrypted,
    ...(kmsKeyId ? { kmsKeyId } : {}),
    ...(visibleAt !== undefined ? { visibleAt } : {}),
  });
  if (clientToken) region.tokens.set(`CopyImage:${clientToken}`, { fingerprint, ids: [imageId] });
  return { imageId };
};

export const deregisterImage: ActionHandler = (ctx) => {
  const region = ctx.world.region(ctx.region);
  const image = findOwnImage(ctx, ctx.params.require("ImageId"));
  ctx.world.removeImage(ctx.region, image.imageId);
  noteImageGone(ctx, callerRegion(ctx), image.imageId);
  releaseSnapshots(ctx, region, image);
  if (!ctx.params.bool("DeleteAssociatedSnapshots")) return { return: true };
  const results = image.snapshotIds.map((snapshotId) => {
    const inUse = [...region.images.values()].some((other) => other.snapshotIds.includes(snapshotId));
    if (!inUse) region.snapshots.delete(snapshotId);
    return { snapshotId, returnCode: inUse ? "error-generic" : "success" };
  });
  return { return: true, deleteSnapshotResultSet: results };
};

function checkPermission(permission: LaunchPermission): LaunchPermission {
  if (permission.userId !== undefined && !/^\d{12}$/.test(permission.userId)) {
    throw new SimError(
      "InvalidAMIAttributeItemValue",
      `Invalid attribute item value "${permission.userId}" for userId item type.`,
    );
  }
  if (permission.group !== undefined && permission.group !== "all") {
    throw new SimError(
      "InvalidAMIAttributeItemValue",
      `Invalid attribute item value "${permission.group}" for group item type.`,
    );
  }
  if (
    permission.organizationArn !== undefined &&
    !permission.organizationArn.startsWith("arn:aws:organizations::")
  ) {
    throw invalidParameterValue(`Invalid organization ARN: ${permission.organizationArn}`);
  }
  if (
    permission.organizationalUnitArn !== undefined &&
    !permission.organizationalUnitArn.startsWith("arn:aws:organizations::")
  ) {
    throw invalidParameterValue(`Invalid organizational unit ARN: ${permission.organizationalUnitArn}`);
  }
  return permission;
}

function permissionsFrom(ctx: RequestContext, operation: "Add" | "Remove"): LaunchPermission[] {
  const structured = ctx.params.structs(`LaunchPermission.${operation}`).map((p) => {
    const permission: LaunchPermission = {};
    const userId = p.get("UserId");
    const group = p.get("Group");
    const organizationArn = p.get("OrganizationArn");
    const organizationalUnitArn = p.get("OrganizationalUnitArn");
    if (userId !== undefined) permission.userId = userId;
    if (group !== undefined) permission.group = group;
    if (organizationArn !== undefined) permission.organizationArn = organizationArn;
    if (organizationalUnitArn !== undefined) permission.organizationalUnitArn = organizationalUnitArn;
    return permission;
  });
  // The older flat form: Attribute=launchPermission, OperationType=add|remove, UserId.N, UserGroup.N, …
  const legacy: LaunchPermission[] = [];
  if (ctx.params.get("OperationType")?.toLowerCase() === operation.toLowerCase()) {
    for (const userId of ctx.params.list("UserId")) legacy.push({ userId });
    for (const group of ctx.params.list("UserGroup")) legacy.push({ group });
    for (const organizationArn of ctx.params.list("OrganizationArn")) legacy.push({ organizationArn });
    for (const organizationalUnitArn of ctx.params.list("OrganizationalUnitArn"))
      legacy.push({ organizationalUnitArn });
  }
  return [...structured, ...legacy].map(checkPermission);
}

const samePermission = (a: LaunchPermission, b: LaunchPermission) =>
  a.userId === b.userId &&
  a.group === b.group &&
  a.organizationArn === b.organizationArn &&
  a.organizationalUnitArn === b.organizationalUnitArn;

export const modifyImageAttribute: ActionHandler = (ctx) => {
  const region = ctx.world.region(ctx.region);
  const image = findOwnImage(ctx, ctx.params.require("ImageId"));
  const add = permissionsFrom(ctx, "Add");
  const remove = permissionsFrom(ctx, "Remove");
  const description = ctx.params.get("Description.Value");
  if (add.length === 0 && remove.length === 0 && description === undefined) {
    throw new SimError(
      "InvalidParameterCombination",
      "No attributes specified: give LaunchPermission.Add.N / LaunchPermission.Remove.N or Description.Value.",
    );
  }
  refuseManagedKeyImageSharing(region, image, add);
  image.launchPermissions = image.launchPermissions.filter((p) => !remove.some((r) => samePermission(p, r)));
  for (const permission of add) {
    if (!image.launchPermissions.some((p) => samePermission(p, permission)))
      image.launchPermissions.push(permission);
  }
  image.isPublic = image.launchPermissions.some((p) => p.group === "all");
  if (description !== undefined) image.description = description;
  ctx.world.touchImages(ctx.region);
  return { return: true };
};

export const describeImageAttribute: ActionHandler = (ctx) => {
  const attribute = ctx.params.require("Attribute");
  const image = findOwnImage(ctx, ctx.params.require("ImageId"));
  switch (attribute) {
    case "launchPermission":
      return {
        imageId: image.imageId,
        launchPermission: image.launchPermissions.map((p) => ({
          group: p.group,
          userId: p.userId,
          organizationArn: p.organizationArn,
          organizationalUnitArn: p.organizationalUnitArn,
        })),
      };
    case "description":
      return { imageId: image.imageId, description: { value: image.description } };
    case "blockDeviceMapping":
      return {
        imageId: image.imageId,
        blockDeviceMapping: image.snapshotIds.map((snapshotId) => ({
          deviceName: image.rootDeviceName,
          ebs: { snapshotId, volumeSize: image.volumeSize, deleteOnTermination: true, volumeType: "gp3" },
        })),
      };
    case "bootMode":
      return { imageId: image.imageId, bootMode: { value: "uefi-preferred" } };
    default:
      throw invalidParameterValue(
        `Value (${attribute}) for parameter attribute is invalid. Use launchPermission, description, blockDeviceMapping or bootMode.`,
      );
  }
};

const MINUTE = 60_000;
const TEN_YEARS = 3650 * 86_400_000;

export const enableImageDeprecation: ActionHandler = (ctx) => {
  const image = findOwnImage(ctx, ctx.params.require("ImageId"));
  const raw = ctx.params.require("DeprecateAt");
  const parsed = Date.parse(raw);
  if (Number.isNaN(parsed))
    throw invalidParameterValue(`Value (${raw}) for parameter DeprecateAt is not a valid timestamp.`);
  // EC2 rounds to the nearest minute and refuses dates in the past or more than 10 years ahead.
  const deprecateAt = Math.round(parsed / MINUTE) * MINUTE;
  if (deprecateAt < ctx.now - MINUTE) {
    throw invalidParameterValue(`The DeprecateAt time ${raw} is in the past; specify a time in the future.`);
  }
  if (deprecateAt > ctx.now + TEN_YEARS) {
    throw invalidParameterValue(`The DeprecateAt time ${raw} is more than 10 years in the future.`);
  }
  image.deprecationTime = deprecateAt;
  ctx.world.touchImages(ctx.region);
  return { return: true };
};

export const disableImage: ActionHandler = (ctx) => {
  const image = findOwnImage(ctx, ctx.params.require("ImageId"));
  const state = imageState(image, ctx.now);
  if (state === "disabled") return { return: true };
  if (state !== "available") {
    throw new SimError(
      "IncorrectState",
      `Image ${image.imageId} is in state ${state}; only available images can be disabled.`,
    );
  }
  image.timeline.push({ at: ctx.now, state: "disabled" });
  // "Sets the AMI state to disabled and removes all launch permissions": EnableImage does not bring them back.
  image.launchPermissions = [];
  image.isPublic = false;
  ctx.world.touchImages(ctx.region);
  return { return: true };
};

export const enableImage: ActionHandler = (ctx) => {
  const image = findOwnImage(ctx, ctx.params.require("ImageId"));
  const state = imageState(image, ctx.now);
  if (state === "available") return { return: true };
  if (state !== "disabled") {
    throw new SimError(
      "IncorrectState",
      `Image ${image.imageId} is in state ${state}; only disabled images can be enabled.`,
    );
  }
  image.timeline.push({ at: ctx.now, state: "available" });
  ctx.world.touchImages(ctx.region);
  return { return: true };
};

export const disableImageDeprecation: ActionHandler = (ctx) => {
  const image = findOwnImage(ctx, ctx.params.require("ImageId"));
  delete image.deprecationTime;
  ctx.world.touchImages(ctx.region);
  return { return: true };
};

export interface SeedImage {
  region: string;
  /** Default a fresh id; a benchmark's estate passes its own, so the ids its tags name exist. */
  imageId?: string;
  name: string;
  tags?: Tags;
  description?: string;
  architecture?: string;
  /** Default now; the image is available from then on. */
  creationDate?: number;
  deprecationTime?: number;
  /** Default true: one completed snapshot backs the image, as for a baked image. */
  withSnapshot?: boolean;
  /** The snapshot's tags (default none); a baked image's snapshot carries the image's. */
  snapshotTags?: Tags;
}

/** Creates available, caller-owned images directly (no HTTP, no name-uniqueness scan): for benchmarks. */
export function seedImages(world: World, images: readonly SeedImage[]): string[] {
  const ids: string[] = [];
  const now = world.now();
  for (const seed of images) {
    const region = world.region(seed.region);
    const created = seed.creationDate ?? now;
    const imageId = seed.imageId ?? world.newId("ami");
    const snapshotIds: string[] = [];
    if (seed.withSnapshot ?? true) {
      const snapshotId = world.newId("snap");
      region.snapshots.set(snapshotId, {
        snapshotId,
        ownerId: SIM_ACCOUNT_ID,
        volumeId: "vol-ffffffff",
        volumeSize: 8,
        description: `Created by seedImages for ${imageId}`,
        startTime: created,
        completedAt: created,
        encrypted: false,
        tags: { ...seed.snapshotTags },
      });
      snapshotIds.push(snapshotId);
    }
    world.addImage(seed.region, {
      imageId,
      name: seed.name,
      ...(seed.description !== undefined ? { description: seed.description } : {}),
      ownerId: SIM_ACCOUNT_ID,
      architecture: seed.architecture ?? "x86_64",
      isPublic: false,
      creationDate: created,
      timeline: [{ at: created, state: "available" }],
      ...(seed.deprecationTime !== undefined ? { deprecationTime: seed.deprecationTime } : {}),
      rootDeviceName: "/dev/xvda",
      volumeSize: 8,
      snapshotIds,
      tags: { ...seed.tags },
      launchPermissions: [],
    });
    ids.push(imageId);
  }
  return ids;
}
