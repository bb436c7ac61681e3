// Regions no spec names where this installation still has something: a region taken out of every spec, or
// whose last spec was deleted, still holds Leaven's images (to retire on their schedule, or report as
// orphans), parameters pointing at them, snapshots, bake volumes or a bakery host. Walking only the specs'
// regions would never see them again, and a plan would say "No changes" over them. Asked on sweep passes: the
// account's enabled regions (one DescribeRegions), then five filtered calls in each region no spec names.
import { DEFAULT_INSTALLATION, isLeavenOwned, MANAGED_BY_VALUE, Tag } from "../api/tags.ts";
import type { CloudImage, CloudPort, Filter } from "../cloud/port.ts";
import type { ValidSpec } from "../validation/result.ts";
import { errorMessage, regionsOf, walkOwnedImages } from "./observe.ts";

const owned: Filter[] = [{ name: `tag:${Tag.managedBy}`, values: [MANAGED_BY_VALUE] }];

export interface StrayRegions {
  /** Regions beyond `named` holding something of this installation's, sorted. */
  found: string[];
  /** What was found in each, e.g. "3 image(s)". */
  contents: Map<string, string>;
  /** This installation's images in the regions found (the owner-tag walk the probe made). */
  images: CloudImage[];
  /** Regions that could not be asked, with why (DescribeRegions' failure under the region it was asked in). */
  errors: Map<string, string>;
  /** Whether the account's regions were listed (when not, nothing was asked). */
  listed: boolean;
}

/** What this installation has in `region`, if anything (the first kind found, for the log), and its images. */
export async function strayContents(
  cloud: CloudPort,
  region: string,
  installation: string = DEFAULT_INSTALLATION,
): Promise<{ what: string | undefined; images: CloudImage[] }> {
  const mine = (tags: Readonly<Record<string, string>>) => isLeavenOwned(tags, installation);
  const [images, snapshots, volumes, instances, parameters] = await Promise.all([
    walkOwnedImages(cloud, region, installation),
    cloud.describeSnapshots(region, owned),
    cloud.describeVolumes(region, owned),
    cloud.describeInstances(region, owned),
    cloud.describeParameters(region, [
      { key: `tag:${Tag.managedBy}`, values: [MANAGED_BY_VALUE] },
      { key: `tag:${Tag.installation}`, values: [installation] },
    ]),
  ]);
  // A snapshot no image uses (an abandoned volume bake's, one a deregistration left) is swept there too.
  const kept = snapshots.filter((snapshot) => mine(snapshot.tags));
  const live = volumes.filter((v) => mine(v.tags) && v.state !== "deleted" && v.state !== "deleting");
  const running = instances.filter((i) => mine(i.tags) && i.state !== "terminated");
  const what =
    images.length > 0
      ? `${images.length} image(s)`
      : kept.length > 0
        ? `${kept.length} snapshot(s)`
        : live.length > 0
          ? `${live.length} volume(s)`
          : running.length > 0
            ? `${running.length} instance(s)`
            : parameters.length > 0
              ? `${parameters.length} parameter(s)`
              : undefined;
  return { what, images };
}

/**
 * The regions of the account (asked in `askIn`) beyond `named` where this installation has an image, a
 * snapshot, a volume, an instance not terminated or a parameter. A region that cannot be asked is in `errors`.
 */
export async function findStrayRegions(
  cloud: CloudPort,
  askIn: string,
  named: ReadonlySet<string>,
  installation?: string,
): Promise<StrayRegions> {
  const errors = new Map<string, string>();
  const contents = new Map<string, string>();
  const images: CloudImage[] = [];
  let regions: string[];
  try {
    regions = await cloud.describeRegions(askIn);
  } catch (error) {
    errors.set(askIn, `DescribeRegions: ${errorMessage(error)}`);
    return { found: [], contents, images, errors, listed: false };
  }
  await Promise.all(
    regions
      .filter((region) => !named.has(region))
      .map(async (region) => {
        try {
          const found = await strayContents(cloud, region, installation);
          if (found.what !== undefined) contents.set(region, found.what);
          images.push(...found.images);
        } catch (error) {
          errors.set(region, errorMessage(error));
        }
      }),
  );
  return { found: [...contents.keys()].sort(), contents, images, errors, listed: true };
}

/** The regions of an observation that no spec names: the stray ones the reconciler added. */
export function strayRegionsOf(observed: readonly string[], specs: readonly ValidSpec[]): string[] {
  const named = new Set(regionsOf(specs));
  return observed.filter((region) => !named.has(region));
}

/** How plan and the status page say it. */
export function strayRegionsText(regions: readonly string[]): string {
  return `Also observed, though no spec names ${regions.length === 1 ? "it" : "them"} (Leaven's resources are left there): ${regions.join(", ")}`;
}
