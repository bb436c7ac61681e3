// DescribeSnapshots, DeleteSnapshot and the create-volume permission attribute. A snapshot completes when
// its image becomes available and cannot be deleted while a registered image still uses it.
import { canSeeSnapshot, tagsSeenBy } from "./accounts.ts";
import { isVisible, recentlyReleasedFrom } from "./consistency.ts";
import type { ActionHandler, RequestContext } from "./context.ts";
import { refuseManagedKeySnapshotSharing } from "./encryption.ts";
import { invalidParameterValue, SimError } from "./errors.ts";
import { compileFilters, type FieldReader } from "./filters.ts";
import { checkSnapshotId, findSnapshot, resolveOwner, snapshotNotFound } from "./ids.ts";
import { checkMaxResults } from "./pagination.ts";
import { filtersOf } from "./query-protocol.ts";
import { tagSetXml } from "./tags.ts";
import type { SimSnapshot, VolumePermission } from "./world.ts";
import type { XmlObject } from "./xml.ts";

function snapshotState(snapshot: SimSnapshot, now: number): "pending" | "completed" {
  return now >= snapshot.completedAt ? "completed" : "pending";
}

function progress(snapshot: SimSnapshot, now: number): string {
  if (now >= snapshot.completedAt) return "100%";
  const span = Math.max(1, snapshot.completedAt - snapshot.startTime);
  return `${Math.floor(((now - snapshot.startTime) / span) * 100)}%`;
}

function snapshotXml(snapshot: SimSnapshot, now: number, account: string): XmlObject {
  return {
    snapshotId: snapshot.snapshotId,
    volumeId: snapshot.volumeId,
    status: snapshotState(snapshot, now),
    startTime: new Date(snapshot.startTime),
    progress: progress(snapshot, now),
    ownerId: snapshot.ownerId,
    volumeSize: snapshot.volumeSize,
    description: snapshot.description,
    encrypted: snapshot.encrypted,
    kmsKeyId: snapshot.kmsKeyId,
    tagSet: tagSetXml(tagsSeenBy(snapshot, account)),
    storageTier: "standard",
  };
}

const snapshotFields: FieldReader<SimSnapshot & { state: string }> = {
  "snapshot-id": (s) => s.snapshotId,
  status: (s) => s.state,
  "owner-id": (s) => s.ownerId,
  description: (s) => s.description,
  "volume-id": (s) => s.volumeId,
  "volume-size": (s) => String(s.volumeSize),
  encrypted: (s) => String(s.encrypted),
};

export const describeSnapshots: ActionHandler = (ctx) => {
  const { params, now } = ctx;
  const region = ctx.world.region(ctx.region);
  const owners = new Set(params.list("Owner").map((owner) => resolveOwner(owner, ctx.account)));
  const snapshotIds = params.list("SnapshotId");
  for (const id of snapshotIds) checkSnapshotId(id);
  const maxResults = params.int("MaxResults");
  checkMaxResults(maxResults, 5, 1000);
  if (maxResults !== undefined && snapshotIds.length > 0) {
    throw new SimError(
      "InvalidParameterCombination",
      "The parameter snapshotSet cannot be used with the parameter maxResults",
    );
  }
  const predicate = compileFilters(filtersOf(params), snapshotFields, (s) => tagsSeenBy(s, ctx.account));
  const seen = (snapshot: SimSnapshot) => isVisible(snapshot, now) && canSeeSnapshot(ctx, snapshot);
  const compute = (): string[] => {
    const missing = snapshotIds.filter((id) => {
      const snapshot = region.snapshots.get(id);
      return !snapshot || !seen(snapshot);
    });
    if (missing.length > 0) throw snapshotNotFound(missing);
    const candidates =
      snapshotIds.length > 0 ? snapshotIds.map((id) => region.snapshots.get(id)!) : region.snapshots.values();
    const ids: string[] = [];
    for (const snapshot of candidates) {
      if (!seen(snapshot)) continue;
      if (owners.size > 0 && !owners.has(snapshot.ownerId)) continue;
      if (snapshot.ownerId !== ctx.account && snapshotIds.length === 0 && owners.size === 0) continue;
      if (predicate({ ...snapshot, state: snapshotState(snapshot, now) })) ids.push(snapshot.snapshotId);
    }
    return ids;
  };
  const key = `DescribeSnapshots:${ctx.account}:${ctx.region}:${params.fingerprint(["NextToken", "MaxResults", "Action", "Version"])}`;
  const page = ctx.listings.page(key, params.get("NextToken"), maxResults, compute);
  const items: XmlObject[] = [];
  for (const id of page.ids) {
    const snapshot = region.snapshots.get(id);
    if (snapshot) items.push(snapshotXml(snapshot, now, ctx.account));
  }
  return { snapshotSet: items, nextToken: page.nextToken };
};

export const deleteSnapshot: ActionHandler = (ctx) => {
  const region = ctx.world.region(ctx.region);
  const snapshot = findSnapshot(ctx, ctx.params.require("SnapshotId"));
  if (snapshot.ownerId !== ctx.account) {
    throw new SimError(
      "UnauthorizedOperation",
      `You are not authorized to delete snapshot ${snapshot.snapshotId}.`,
      403,
    );
  }
  for (const image of region.images.values()) {
    if (image.snapshotIds.includes(snapshot.snapshotId)) {
      throw new SimError(
        "InvalidSnapshot.InUse",
        `The snapshot ${snapshot.snapshotId} is currently in use by ${image.imageId}`,
      );
    }
  }
  // Eventual consistency: EC2 takes a while to let go of a deregistered image's snapshots.
  const releasedFrom = recentlyReleasedFrom(ctx, snapshot);
  if (releasedFrom !== undefined) {
    throw new SimError(
      "InvalidSnapshot.InUse",
      `The snapshot ${snapshot.snapshotId} is currently in use by ${releasedFrom}`,
    );
  }
  region.snapshots.delete(snapshot.snapshotId);
  return { return: true };
};

function volumePermissionsFrom(ctx: RequestContext, operation: "Add" | "Remove"): VolumePermission[] {
  const structured = ctx.params.structs(`CreateVolumePermission.${operation}`).map((p) => {
    const permission: VolumePermission = {};
    const userId = p.get("UserId");
    const group = p.get("Group");
    if (userId !== undefined) permission.userId = userId;
    if (group !== undefined) permission.group = group;
    return permission;
  });
  // The flat form the AWS CLI sends: OperationType=add|remove, UserId.N, UserGroup.N.
  const flat: VolumePermission[] = [];
  if (ctx.params.get("OperationType")?.toLowerCase() === operation.toLowerCase()) {
    for (const userId of ctx.params.list("UserId")) flat.push({ userId });
    for (const group of ctx.params.list("UserGroup")) flat.push({ group });
  }
  return [...structured, ...flat].map((permission) => {
    if (permission.userId !== undefined && !/^\d{12}$/.test(permission.userId))
      throw invalidParameterValue(`Value (${permission.userId}) for parameter userId is invalid.`);
    if (permission.group !== undefined && permission.group !== "all")
      throw invalidParameterValue(`Value (${permission.group}) for parameter group is invalid.`);
    return permission;
  });
}

const sameVolumePermission = (a: VolumePermission, b: VolumePermission) =>
  a.userId === b.userId && a.group === b.group;

/** An own snapshot, for attribute calls: another account's answers as EC2 does for a mutation. */
function ownSnapshot(ctx: RequestContext): SimSnapshot {
  const snapshot = findSnapshot(ctx, ctx.params.require("SnapshotId"));
  if (snapshot.ownerId !== ctx.account) {
    throw new SimError(
      "UnauthorizedOperation",
      `You are not authorized to perform this operation on snapshot ${snapshot.snapshotId}.`,
      403,
    );
  }
  return snapshot;
}

/** ModifySnapshotAttribute createVolumePermission: Add and Remove in one call, accounts or group all. */
export const modifySnapshotAttribute: ActionHandler = (ctx) => {
  const snapshot = ownSnapshot(ctx);
  const attribute = ctx.params.get("Attribute") ?? "createVolumePermission";
  if (attribute !== "createVolumePermission") {
    throw invalidParameterValue(
      `Value (${attribute}) for parameter attribute is invalid. Only createVolumePermission can be modified.`,
    );
  }
  const add = volumePermissionsFrom(ctx, "Add");
  const remove = volumePermissionsFrom(ctx, "Remove");
  if (add.length === 0 && remove.length === 0) {
    throw new SimError(
      "MissingParameter",
      "The request must contain CreateVolumePermission.Add.N or CreateVolumePermission.Remove.N (or OperationType with UserId.N or UserGroup.N).",
    );
  }
  refuseManagedKeySnapshotSharing(snapshot, add);
  if (snapshot.encrypted && add.some((p) => p.group === "all")) {
    throw invalidParameterValue(`Encrypted snapshots cannot be made public: ${snapshot.snapshotId}.`);
  }
  const current = (snapshot.createVolumePermissions ?? []).filter(
    (p) => !remove.some((r) => sameVolumePermission(p, r)),
  );
  for (const permission of add) {
    if (!current.some((p) => sameVolumePermission(p, permission))) current.push(permission);
  }
  snapshot.createVolumePermissions = current;
  return { return: true };
};

export const describeSnapshotAttribute: ActionHandler = (ctx) => {
  const snapshot = ownSnapshot(ctx);
  const attribute = ctx.params.require("Attribute");
  switch (attribute) {
    case "createVolumePermission":
      return {
        snapshotId: snapshot.snapshotId,
        createVolumePermission: (snapshot.createVolumePermissions ?? []).map((p) => ({
          group: p.group,
          userId: p.userId,
        })),
      };
    case "productCodes":
      return { snapshotId: snapshot.snapshotId, productCodes: [] };
    default:
      throw invalidParameterValue(
        `Value (${attribute}) for parameter attribute is invalid. Use createVolumePermission or productCodes.`,
      );
  }
};
