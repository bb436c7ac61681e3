// What uses an image, looked up right before retirement, in the same pass: instances in any state but
// terminated (a stopped fleet still needs its image to start again) and the $Default and $Latest versions of
// every launch template (an Auto Scaling group launches from one at any time). Any instance or template
// counts, not only Leaven's: retirement must never break anybody's fleet.
import type { CloudPort } from "../cloud/port.ts";
import type { Inventory } from "./inventory.ts";

/** EC2 accepts up to 200 values in one filter. */
const FILTER_VALUES = 200;
const LIVE_STATES = ["pending", "running", "shutting-down", "stopping", "stopped"];

/**
 * Observes the use of the given images (region → image ids) into `inventory.usage`. A region whose lookups
 * fail leaves its images unobserved, so nothing there is retired this pass; it does not blind the region.
 * Returns the regions that failed, with the reason.
 */
export async function observeUsage(
  cloud: CloudPort,
  inventory: Inventory,
  needed: ReadonlyMap<string, readonly string[]>,
): Promise<Map<string, string>> {
  const failed = new Map<string, string>();
  const usage = inventory.usage ?? new Map<string, string[]>();
  await Promise.all(
    [...needed].map(async ([region, imageIds]) => {
      try {
        const found = new Map<string, string[]>(imageIds.map((id) => [id, []]));
        const slices: string[][] = [];
        for (let i = 0; i < imageIds.length; i += FILTER_VALUES)
          slices.push(imageIds.slice(i, i + FILTER_VALUES));
        const [instances, templates] = await Promise.all([
          Promise.all(
            slices.map((ids) =>
              cloud.describeInstances(region, [
                { name: "image-id", values: ids },
                { name: "instance-state-name", values: LIVE_STATES },
              ]),
            ),
          ),
          cloud.describeLaunchTemplateImages(region),
        ]);
        for (const instance of instances.flat()) {
          if (instance.state === "terminated") continue;
          found.get(instance.imageId)?.push(`instance ${instance.instanceId} (${instance.state})`);
        }
        for (const template of templates) {
          const which = template.isDefault ? "default version" : "latest version";
          found
            .get(template.imageId)
            ?.push(
              `launch template ${template.name} (${template.launchTemplateId}) ${which} ${template.version}`,
            );
        }
        for (const [id, users] of found) usage.set(id, [...new Set(users)]);
      } catch (error) {
        failed.set(region, error instanceof Error ? error.message : String(error));
      }
    }),
  );
  inventory.usage = usage;
  return failed;
}
