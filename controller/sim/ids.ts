// Resource id shapes and lookups with EC2's NotFound / Malformed error codes. A lookup sees what the caller
// may see: its own instances, the images and snapshots it owns or was granted (accounts.ts), and nothing that
// is still hidden by eventual consistency (consistency.ts).
import { canSeeImage, canSeeSnapshot } from "./accounts.ts";
import { isVisible } from "./consistency.ts";
import { callerRegion, type RequestContext } from "./context.ts";
import { malformedId, SimError } from "./errors.ts";
import { SIM_ACCOUNT_ID } from "./regions.ts";
import { OWNER_ALIASES } from "./vendor-images.ts";
import type { SimImage, SimInstance, SimSnapshot } from "./world.ts";

const idPattern = (prefix: string) => new RegExp(`^${prefix}-(?:[0-9a-f]{8}|[0-9a-f]{17})$`);
const amiPattern = idPattern("ami");
const instancePattern = idPattern("i");
const snapshotPattern = idPattern("snap");

export function checkImageId(id: string): void {
  if (!amiPattern.test(id)) throw malformedId("InvalidAMIID.Malformed", id, "ami");
}

export function checkInstanceId(id: string): void {
  if (!instancePattern.test(id)) throw malformedId("InvalidInstanceID.Malformed", id, "i");
}

export function checkSnapshotId(id: string): void {
  if (!snapshotPattern.test(id)) throw malformedId("InvalidSnapshotID.Malformed", id, "snap");
}

export function imageNotFound(ids: string[]): SimError {
  return new SimError("InvalidAMIID.NotFound", `The image id '[${ids.join(", ")}]' does not exist`);
}

export function instanceNotFound(ids: string[]): SimError {
  return new SimError(
    "InvalidInstanceID.NotFound",
    ids.length === 1
      ? `The instance ID '${ids[0]}' does not exist`
      : `The instance IDs '${ids.join(", ")}' do not exist`,
  );
}

export function snapshotNotFound(ids: string[]): SimError {
  return new SimError(
    "InvalidSnapshot.NotFound",
    ids.length === 1
      ? `The snapshot '${ids[0]}' does not exist.`
      : `The snapshots '${ids.join(", ")}' do not exist.`,
  );
}

/** An image the caller may see now, in its region or `regionName`. */
export function seenImage(
  ctx: RequestContext,
  id: string,
  regionName: string = ctx.region,
): SimImage | undefined {
  const image = ctx.world.region(regionName).images.get(id);
  return image && isVisible(image, ctx.now) && canSeeImage(ctx, image) ? image : undefined;
}

export function findImage(ctx: RequestContext, id: string, regionName: string = ctx.region): SimImage {
  checkImageId(id);
  const image = seenImage(ctx, id, regionName);
  if (!image) throw imageNotFound([id]);
  return image;
}

/** An image the caller owns; another's that it can see answers as EC2 does for a mutation. */
export function findOwnImage(ctx: RequestContext, id: string): SimImage {
  const image = findImage(ctx, id);
  if (image.ownerId !== ctx.account) {
    throw new SimError("AuthFailure", `Not authorized for image:${id}`);
  }
  return image;
}

/** One of the caller's instances that it can see now and that passes `visible`. */
export function seenInstance(
  ctx: RequestContext,
  id: string,
  visible: (i: SimInstance) => boolean = () => true,
): SimInstance | undefined {
  const instance = callerRegion(ctx).instances.get(id);
  return instance && isVisible(instance, ctx.now) && visible(instance) ? instance : undefined;
}

export function findInstance(
  ctx: RequestContext,
  id: string,
  visible: (i: SimInstance) => boolean = () => true,
): SimInstance {
  checkInstanceId(id);
  const instance = seenInstance(ctx, id, visible);
  if (!instance) throw instanceNotFound([id]);
  return instance;
}

export function seenSnapshot(ctx: RequestContext, id: string): SimSnapshot | undefined {
  const snapshot = ctx.world.region(ctx.region).snapshots.get(id);
  return snapshot && isVisible(snapshot, ctx.now) && canSeeSnapshot(ctx, snapshot) ? snapshot : undefined;
}

export function findSnapshot(ctx: RequestContext, id: string): SimSnapshot {
  checkSnapshotId(id);
  const snapshot = seenSnapshot(ctx, id);
  if (!snapshot) throw snapshotNotFound([id]);
  return snapshot;
}

/** `self`, an alias such as `amazon`, or a 12-digit account id → the account id. */
export function resolveOwner(owner: string, self: string = SIM_ACCOUNT_ID): string {
  if (owner === "self") return self;
  const alias = OWNER_ALIASES[owner];
  if (alias) return alias;
  if (/^\d{12}$/.test(owner)) return owner;
  throw new SimError("InvalidUserID.Malformed", `Invalid user id: "${owner}"`);
}
