// The orphaned-snapshot sweep. Deregistration deletes an image's snapshots with it (DeleteAssociatedSnapshots),
// but snapshots outlive their image when something else deregistered it, when an earlier Leaven did, or when
// a CreateImage or CopyImage failed after making them. Such a snapshot costs money and serves nobody: it is
// deleted when it is Leaven's and this installation's, no observed image references it, and it is older than
// a safety age (a snapshot appears before its image during CreateImage and CopyImage). Pure: it plans
// `delete-snapshot` actions; the executor reads each snapshot's ownership back before deleting it.

import { VOLUME_BAKE_ROLE } from "../api/bakery-roles.ts";
import { ownershipProblem, Tag } from "../api/tags.ts";
import type { CloudImage, CloudSnapshot } from "../cloud/port.ts";
import type { Inventory } from "../observe/inventory.ts";
import type { ValidSpec } from "../validation/result.ts";
import type { Action, DeleteSnapshotAction } from "./actions.ts";
import { parseSchedule } from "./retention.ts";

/** A snapshot younger than this may belong to an image still being created or copied. */
export const SNAPSHOT_SAFETY_AGE_MS = 60 * 60_000;
/**
 * The safety age of a volume bake's snapshot whose spec is gone or bakes on an instance now: nothing will
 * register it (Leaven registers only from a completed snapshot, and EC2 refuses to delete one an image uses).
 */
export const ABANDONED_VOLUME_BAKE_AGE_MS = 10 * 60_000;

function abandonedVolumeBake(snapshot: CloudSnapshot, input: SnapshotSweepInput): boolean {
  if (snapshot.tags[Tag.role] !== VOLUME_BAKE_ROLE) return false;
  const spec = input.specs.find((s) => s.name === snapshot.tags[Tag.spec]);
  return spec?.document.spec.bake?.method !== "volume";
}

export interface SnapshotSweepInput {
  specs: readonly ValidSpec[];
  /** Invalid specs: their snapshots are left alone, like everything they own. */
  blocked?: ReadonlyMap<string, string>;
  inventory: Inventory;
  now: number;
  /** A document failed to load without naming its spec: nothing is swept (it might be any spec). */
  unattributedErrors: boolean;
  /** `--no-delete`: nothing is swept. */
  noDelete: boolean;
  installation?: string;
}

/** Why the sweep does not run this pass, or undefined when it does. */
export function sweepPaused(input: SnapshotSweepInput): string | undefined {
  if (input.inventory.snapshots === undefined) return "snapshots were not listed this pass";
  if (input.noDelete) return "--no-delete";
  if (input.inventory.regionErrors.size > 0)
    return `${[...input.inventory.regionErrors.keys()].join(", ")} could not be observed: an image there might use any snapshot`;
  if (input.unattributedErrors) return "a document failed to load: it might be any spec";
  return undefined;
}

function hours(ms: number): string {
  if (ms < 3_600_000) return `${Math.floor(ms / 60_000)}m`;
  const h = Math.floor(ms / 3_600_000);
  return h >= 48 ? `${Math.floor(h / 24)}d` : `${h}h`;
}

/**
 * The image id in EC2's description of a snapshot made for one: "Created by CreateImage(i-…) for ami-…", or
 * a copy's "Copied for DestinationAmi ami-… from SourceAmi …".
 */
function describedImage(snapshot: CloudSnapshot): string | undefined {
  return /(?:\bfor|DestinationAmi) (ami-[0-9a-zA-Z]+)\b/.exec(snapshot.description ?? "")?.[1];
}

/** Whether the snapshot's spec allows its deletion: retention.delete false (or, once deleted, retain) keeps it. */
function mayDelete(snapshot: CloudSnapshot, input: SnapshotSweepInput): boolean {
  const name = snapshot.tags[Tag.spec];
  if (!name || input.blocked?.has(name)) return false;
  const spec = input.specs.find((s) => s.name === name);
  if (spec) return spec.document.spec.suspend !== true && spec.document.spec.retention?.delete !== false;
  // A deleted spec's volume bake that never became an image: an intermediate, not an image to keep.
  if (snapshot.tags[Tag.role] === VOLUME_BAKE_ROLE) return true;
  // A deleted spec: only what it recorded on its resources says it may go (retention.onDelete: retire).
  return (
    snapshot.tags[Tag.onDelete] === "retire" && parseSchedule(snapshot.tags[Tag.retention]).delete !== false
  );
}

/** Plans the deletion of every orphaned snapshot the rules allow; returns how many. */
export function planSnapshotSweep(input: SnapshotSweepInput, actions: Action[]): number {
  if (sweepPaused(input)) return 0;
  const { inventory } = input;
  const listed = new Set(inventory.snapshotRegions ?? []);
  const images: CloudImage[] = [...inventory.images, ...(inventory.untaggedCopies?.values() ?? [])];
  const referenced = new Set(
    images.flatMap((image) => image.snapshotIds.map((id) => `${image.region} ${id}`)),
  );
  const imageIds = new Set(images.map((image) => `${image.region} ${image.imageId}`));
  // A pending image may not list its snapshots yet: keep its build's snapshots until it is done.
  const pendingBuilds = new Set(
    images
      .filter((image) => image.state === "pending")
      .map((image) => `${image.region} ${image.tags[Tag.spec]}/${image.tags[Tag.build]}`),
  );
  let count = 0;
  for (const snapshot of inventory.snapshots ?? []) {
    const { region, snapshotId } = snapshot;
    if (!listed.has(region)) continue;
    if (ownershipProblem(snapshot.tags, input.installation)) continue;
    if (snapshot.state !== "completed" && snapshot.state !== "error") continue;
    if (referenced.has(`${region} ${snapshotId}`)) continue;
    const madeFor = describedImage(snapshot);
    if (madeFor && imageIds.has(`${region} ${madeFor}`)) continue;
    const spec = snapshot.tags[Tag.spec];
    const build = snapshot.tags[Tag.build];
    if (pendingBuilds.has(`${region} ${spec}/${build}`)) continue;
    const started = snapshot.startTime ? Date.parse(snapshot.startTime) : Number.NaN;
    const safetyAge = abandonedVolumeBake(snapshot, input)
      ? ABANDONED_VOLUME_BAKE_AGE_MS
      : SNAPSHOT_SAFETY_AGE_MS;
    if (Number.isNaN(started) || input.now - started < safetyAge) continue;
    if (!mayDelete(snapshot, input)) continue;
    const action: DeleteSnapshotAction = {
      kind: "delete-snapshot",
      spec: spec!,
      ...(build ? { build } : {}),
      region,
      snapshotId,
      reason: `no image in ${region} uses it (${hours(input.now - started)} old${madeFor ? `, made for ${madeFor}, which is gone` : ""})`,
    };
    actions.push(action);
    count++;
  }
  return count;
}
