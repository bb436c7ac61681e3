// Drift in sharing: Leaven knows an image's launch permissions are in sync from its leaven.dev/shared tag,
// which the image walk returns at no cost. A person or another tool changing the permissions behind Leaven's
// back does not change the tag, so on the sweep schedule the images that consumers launch — those in a
// channel, whose tag says they are in sync — have their permissions read back, a bounded number per region
// and sweep, and the planner repairs any difference.
import { CHANNEL_TAG_PREFIX, isLeavenOwned, Tag } from "../api/tags.ts";
import type { CloudImage, CloudPort } from "../cloud/port.ts";
import type { Inventory } from "./inventory.ts";

/** DescribeImageAttribute calls per region and sweep: one read per image, on the describe bucket. */
export const PERMISSION_CHECKS_PER_REGION = 200;

/**
 * The images whose permissions are worth reading back this sweep, by region: channel images whose tag says
 * they are in sync with their spec's share hash (`hashes`, by spec name; the planner's to compute).
 */
export function permissionChecks(
  hashes: ReadonlyMap<string, string>,
  images: readonly CloudImage[],
  installation?: string,
  perRegion = PERMISSION_CHECKS_PER_REGION,
): Map<string, string[]> {
  const byRegion = new Map<string, string[]>();
  for (const image of images) {
    if (image.state !== "available" || !isLeavenOwned(image.tags, installation)) continue;
    const hash = hashes.get(image.tags[Tag.spec] ?? "");
    if (hash === undefined || image.tags[Tag.shared] !== hash) continue;
    if (!Object.keys(image.tags).some((key) => key.startsWith(CHANNEL_TAG_PREFIX))) continue;
    const ids = byRegion.get(image.region) ?? [];
    if (ids.length < perRegion) ids.push(image.imageId);
    byRegion.set(image.region, ids);
  }
  return byRegion;
}

/**
 * Reads the launch permissions of the given images into `inventory.launchPermissions`. A failed read leaves
 * that image unobserved (its share is trusted from its tag this pass); it blinds nothing.
 */
export async function observePermissions(
  cloud: CloudPort,
  inventory: Inventory,
  checks: ReadonlyMap<string, readonly string[]>,
): Promise<void> {
  const observed = inventory.launchPermissions ?? new Map();
  await Promise.all(
    [...checks].flatMap(([region, ids]) =>
      ids.map(async (imageId) => {
        try {
          observed.set(imageId, await cloud.describeLaunchPermissions(region, imageId));
        } catch {
          // Deregistered since the walk, or throttled past the retries: look again at the next sweep.
        }
      }),
    ),
  );
  if (observed.size > 0) inventory.launchPermissions = observed;
}
