// Leaven's published SSM parameters (spec.publish), observed once per pass. Per region and prefix in use:
//   - GetParametersByPath (Recursive, 10 a page): every parameter under the prefix with its value and
//     version, Leaven's or not — ceil(n/10) requests;
//   - DescribeParameters filtered on the prefix and Leaven's owner and installation tags (50 a page): which
//     of them are this installation's — ceil(m/50) requests (SSM returns no tags in listings, and has no
//     bulk tag read);
//   - ListTagsForResource only for a parameter that is not Leaven's but sits at a name Leaven would publish
//     to, so the status can say whose it is: none in a healthy estate.
// A steady-state pass with n parameters in a region therefore costs ceil(n/10) + ceil(n/50) requests there.
import { DEFAULT_PUBLISH_PREFIX, publishedNames, publishPrefix } from "../api/publish.ts";
import { DEFAULT_INSTALLATION, MANAGED_BY_VALUE, Tag } from "../api/tags.ts";
import type { CloudPort } from "../cloud/port.ts";
import type { ValidSpec } from "../validation/result.ts";
import type { Inventory, ObservedParameter } from "./inventory.ts";
import { errorMessage, regionsOf } from "./observe.ts";

/**
 * The prefixes to list per region: every spec's prefix in its regions (publishing on or off: a spec that
 * stops publishing has parameters to delete), and the default prefix wherever any spec is, so parameters of
 * deleted specs are found. A prefix under another listed one is covered by that one's recursive listing.
 */
export function prefixesByRegion(
  specs: readonly ValidSpec[],
  /** Regions no spec names where Leaven may have published (observe/stray-regions.ts): every prefix in use. */
  strayRegions: readonly string[] = [],
): Map<string, string[]> {
  const byRegion = new Map<string, Set<string>>();
  const add = (region: string, prefix: string) => {
    const set = byRegion.get(region) ?? new Set<string>();
    set.add(prefix);
    byRegion.set(region, set);
  };
  for (const region of regionsOf(specs)) add(region, DEFAULT_PUBLISH_PREFIX);
  for (const { document } of specs)
    for (const region of document.spec.regions) add(region, publishPrefix(document));
  for (const region of strayRegions) {
    add(region, DEFAULT_PUBLISH_PREFIX);
    for (const { document } of specs) add(region, publishPrefix(document));
  }
  const result = new Map<string, string[]>();
  for (const [region, set] of byRegion) {
    const all = [...set].sort();
    result.set(
      region,
      all.filter((p) => !all.some((q) => q !== p && p.startsWith(`${q}/`))),
    );
  }
  return result;
}

/** What observeParameters adds to a pass's inventory. */
export type ObservedParameters = Required<Pick<Inventory, "parameters" | "parameterRegions">> &
  Pick<Inventory, "parameterErrors">;

/** Lists the parameters under the publish prefixes in use (runs beside observeImages). */
export async function observeParameters(
  cloud: CloudPort,
  specs: readonly ValidSpec[],
  installation: string = DEFAULT_INSTALLATION,
  /** Only these regions (default: every region of the specs and `strayRegions`). */
  onlyRegions?: ReadonlySet<string>,
  strayRegions: readonly string[] = [],
): Promise<ObservedParameters> {
  const parameters: ObservedParameter[] = [];
  const regions: string[] = [];
  const errors = new Map<string, string>();
  const wanted = new Map<string, Set<string>>();
  for (const { document } of specs) {
    for (const { region, name } of publishedNames(document)) {
      const set = wanted.get(region) ?? new Set<string>();
      set.add(name);
      wanted.set(region, set);
    }
  }
  await Promise.all(
    [...prefixesByRegion(specs, strayRegions)]
      .filter(([region]) => onlyRegions === undefined || onlyRegions.has(region))
      .map(async ([region, prefixes]) => {
        try {
          const listed = await Promise.all(
            prefixes.map(async (prefix) => {
              const [all, ours] = await Promise.all([
                cloud.getParametersByPath(region, prefix),
                cloud.describeParameters(region, [
                  { key: "Path", option: "Recursive", values: [prefix] },
                  { key: `tag:${Tag.managedBy}`, values: [MANAGED_BY_VALUE] },
                  { key: `tag:${Tag.installation}`, values: [installation] },
                ]),
              ]);
              const owned = new Set(ours.map((p) => p.name));
              return all.map(
                (p): ObservedParameter => ({
                  region,
                  name: p.name,
                  value: p.value,
                  version: p.version,
                  owned: owned.has(p.name),
                }),
              );
            }),
          );
          const found = listed.flat();
          // Someone else's parameter where Leaven would publish: read whose it is, for the status.
          await Promise.all(
            found
              .filter((p) => !p.owned && wanted.get(region)?.has(p.name))
              .map(async (p) => {
                p.tags = await cloud.listTagsForResource(region, p.name);
              }),
          );
          parameters.push(...found);
          regions.push(region);
        } catch (error) {
          errors.set(region, errorMessage(error));
        }
      }),
  );
  return {
    parameters: parameters.sort((a, b) =>
      a.region === b.region ? (a.name < b.name ? -1 : 1) : a.region < b.region ? -1 : 1,
    ),
    parameterRegions: regions.sort(),
    ...(errors.size > 0 ? { parameterErrors: errors } : {}),
  };
}
