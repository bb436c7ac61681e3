// Leaven's own snapshots, for the orphaned-snapshot sweep (plan/snapshots.ts): one paginated DescribeSnapshots
// per region (OwnerIds self, filtered on the owner tag, 1000 a page), on the sweep schedule only — the first
// pass and every 30 minutes — since a steady-state pass must cost nothing but the image walks.
import { MANAGED_BY_VALUE, Tag } from "../api/tags.ts";
import type { CloudPort } from "../cloud/port.ts";
import type { Inventory } from "./inventory.ts";
import { errorMessage } from "./observe.ts";

/** Lists Leaven's snapshots in `regions` into the inventory; a region that fails is left out, with why. */
export async function observeSnapshots(
  cloud: CloudPort,
  inventory: Inventory,
  regions: readonly string[],
): Promise<Inventory> {
  inventory.snapshots = [];
  inventory.snapshotRegions = [];
  await Promise.all(
    regions.map(async (region) => {
      try {
        const snapshots = await cloud.describeSnapshots(region, [
          { name: `tag:${Tag.managedBy}`, values: [MANAGED_BY_VALUE] },
        ]);
        inventory.snapshots!.push(...snapshots);
        inventory.snapshotRegions!.push(region);
      } catch (error) {
        inventory.snapshotErrors ??= new Map();
        inventory.snapshotErrors.set(region, errorMessage(error));
      }
    }),
  );
  inventory.snapshotRegions.sort();
  return inventory;
}
