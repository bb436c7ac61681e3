// Resource id shapes and lookups with EC2's NotFound / Malformed error codes.
import { malformedId, SimError } from "./errors.ts";
import { SIM_ACCOUNT_ID } from "./regions.ts";
import { OWNER_ALIASES } from "./vendor-images.ts";
import type { RegionState, SimImage, SimInstance, SimSnapshot } from "./world.ts";

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

export function findImage(region: RegionState, id: string): SimImage {
  checkImageId(id);
  const image = region.images.get(id);
  if (!image) throw imageNotFound([id]);
  return image;
}

/** An image the caller owns; others' images answer as if they did not exist for mutations. */
export function findOwnImage(region: RegionState, id: string): SimImage {
  const image = findImage(region, id);
  if (image.ownerId !== SIM_ACCOUNT_ID) {
    throw new SimError("AuthFailure", `Not authorized for image:${id}`);
  }
  return image;
}

export function findInstance(
  region: RegionState,
  id: string,
  visible: (i: SimInstance) => boolean,
): SimInstance {
  checkInstanceId(id);
  const instance = region.instances.get(id);
  if (!instance || !visible(instance)) {
    throw new SimError("InvalidInstanceID.NotFound", `The instance ID '${id}' does not exist`);
  }
  return instance;
}

export function findSnapshot(region: RegionState, id: string): SimSnapshot {
  checkSnapshotId(id);
  const snapshot = region.snapshots.get(id);
  if (!snapshot) throw new SimError("InvalidSnapshot.NotFound", `The snapshot '${id}' does not exist.`);
  return snapshot;
}

/** `self`, an alias such as `amazon`, or a 12-digit account id → the account id. */
export function resolveOwner(owner: string): string {
  if (owner === "self") return SIM_ACCOUNT_ID;
  const alias = OWNER_ALIASES[owner];
  if (alias) return alias;
  if (/^\d{12}$/.test(owner)) return owner;
  throw new SimError("InvalidUserID.Malformed", `Invalid user id: "${owner}"`);
}
