// DescribeSnapshots and DeleteSnapshot. A snapshot completes when its image becomes available and
// cannot be deleted while a registered image still uses it.
import type { ActionHandler } from "./context.ts";
import { SimError } from "./errors.ts";
import { compileFilters, type FieldReader } from "./filters.ts";
import { checkSnapshotId, findSnapshot, resolveOwner } from "./ids.ts";
import { checkMaxResults } from "./pagination.ts";
import { filtersOf } from "./query-protocol.ts";
import { SIM_ACCOUNT_ID } from "./regions.ts";
import { tagSetXml } from "./tags.ts";
import type { SimSnapshot } from "./world.ts";
import type { XmlObject } from "./xml.ts";

function snapshotState(snapshot: SimSnapshot, now: number): "pending" | "completed" {
  return now >= snapshot.completedAt ? "completed" : "pending";
}

function progress(snapshot: SimSnapshot, now: number): string {
  if (now >= snapshot.completedAt) return "100%";
  const span = Math.max(1, snapshot.completedAt - snapshot.startTime);
  return `${Math.floor(((now - snapshot.startTime) / span) * 100)}%`;
}

function snapshotXml(snapshot: SimSnapshot, now: number): XmlObject {
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
    tagSet: tagSetXml(snapshot.tags),
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
  const owners = new Set(params.list("Owner").map(resolveOwner));
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
  const predicate = compileFilters(filtersOf(params), snapshotFields, (s) => s.tags);
  const compute = (): string[] => {
    const missing = snapshotIds.filter((id) => !region.snapshots.has(id));
    if (missing.length > 0) {
      throw new SimError(
        "InvalidSnapshot.NotFound",
        missing.length === 1
          ? `The snapshot '${missing[0]}' does not exist.`
          : `The snapshots '${missing.join(", ")}' do not exist.`,
      );
    }
    const candidates =
      snapshotIds.length > 0 ? snapshotIds.map((id) => region.snapshots.get(id)!) : region.snapshots.values();
    const ids: string[] = [];
    for (const snapshot of candidates) {
      if (owners.size > 0 && !owners.has(snapshot.ownerId)) continue;
      if (snapshot.ownerId !== SIM_ACCOUNT_ID && snapshotIds.length === 0 && owners.size === 0) continue;
      if (predicate({ ...snapshot, state: snapshotState(snapshot, now) })) ids.push(snapshot.snapshotId);
    }
    return ids;
  };
  const key = `DescribeSnapshots:${ctx.region}:${params.fingerprint(["NextToken", "MaxResults", "Action", "Version"])}`;
  const page = ctx.listings.page(key, params.get("NextToken"), maxResults, compute);
  const items: XmlObject[] = [];
  for (const id of page.ids) {
    const snapshot = region.snapshots.get(id);
    if (snapshot) items.push(snapshotXml(snapshot, now));
  }
  return { snapshotSet: items, nextToken: page.nextToken };
};

export const deleteSnapshot: ActionHandler = (ctx) => {
  const region = ctx.world.region(ctx.region);
  const snapshot = findSnapshot(region, ctx.params.require("SnapshotId"));
  if (snapshot.ownerId !== SIM_ACCOUNT_ID) {
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
  region.snapshots.delete(snapshot.snapshotId);
  return { return: true };
};
