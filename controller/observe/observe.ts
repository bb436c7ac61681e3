import { type BakeOutcome, parseBakeMarker } from "../api/bake-protocol.ts";
import { BAKERY_ROLE } from "../api/bakery-roles.ts";
import { asConsoleOutcome, CHECKS, parseCheckMarker } from "../api/check-protocol.ts";
import { FAILURE_ROLE, readFailureTags } from "../api/failure-record.ts";
import { isLeavenOwned, MANAGED_BY_VALUE, Tag } from "../api/tags.ts";
import type { ImageSpec } from "../api/types.generated.ts";
import type {
  CloudImage,
  CloudLaunchTemplate,
  CloudPort,
  DescribeImagesInput,
  Filter,
} from "../cloud/port.ts";
import type { ValidSpec } from "../validation/result.ts";
import { emptyInventory, type FailureRecord, type Inventory } from "./inventory.ts";

/** Vendor AMIs change a few times a month: one lookup per source and region per TTL is plenty. */
export class VendorCache {
  private readonly entries = new Map<string, { at: number; images: CloudImage[] }>();
  private readonly ttlMs: number;
  constructor(ttlMs: number) {
    this.ttlMs = ttlMs;
  }
  get(key: string, now: number): CloudImage[] | undefined {
    const entry = this.entries.get(key);
    return entry && now - entry.at < this.ttlMs ? entry.images : undefined;
  }
  set(key: string, now: number, images: CloudImage[]): void {
    this.entries.set(key, { at: now, images });
  }
}

/** Every region any spec names. */
export function regionsOf(specs: readonly ValidSpec[]): string[] {
  return [...new Set(specs.flatMap((s) => s.document.spec.regions))].sort();
}

/** Home regions of the specs that bake (base and app). */
export function homeRegionsOf(specs: readonly ValidSpec[]): string[] {
  return [
    ...new Set(
      specs.filter((s) => s.document.spec.layer !== "foundation").map((s) => s.document.spec.regions[0]),
    ),
  ].sort();
}

/** Regions a foundation's images must be looked up in: its own and the home regions of specs baked on it. */
function foundationRegions(foundation: ImageSpec, specs: readonly ValidSpec[]): string[] {
  const regions = new Set(foundation.spec.regions);
  for (const s of specs) {
    if (s.document.spec.parent?.spec === foundation.metadata.name) regions.add(s.document.spec.regions[0]);
  }
  return [...regions].sort();
}

function vendorQuery(doc: ImageSpec): DescribeImagesInput | undefined {
  const source = doc.spec.source;
  if (!source?.owners || !source.name) return undefined;
  const filters: Filter[] = [
    { name: "name", values: [source.name] },
    { name: "state", values: ["available"] },
  ];
  if (source.architecture) filters.push({ name: "architecture", values: [source.architecture] });
  return { owners: source.owners, filters, ...(source.includeDeprecated ? { includeDeprecated: true } : {}) };
}

export const ownerFilter: Filter[] = [{ name: `tag:${Tag.managedBy}`, values: [MANAGED_BY_VALUE] }];

/** Leaven's images in one region: the owner-tag walk (paginated), deprecated and disabled ones included. */
export async function walkOwnedImages(
  cloud: CloudPort,
  region: string,
  installation?: string,
): Promise<CloudImage[]> {
  const images = await cloud.describeImages(region, {
    owners: ["self"],
    filters: ownerFilter,
    // Deprecated and disabled images are still Leaven's: retirement must keep seeing them.
    includeDeprecated: true,
    includeDisabled: true,
  });
  return images.filter((image) => keptByWalk(image, installation));
}

/** What the owner-tag walk keeps of an image: the filter asks EC2, this checks what came back. */
export function keptByWalk(image: CloudImage, installation?: string): boolean {
  return isLeavenOwned(image.tags, installation);
}

/** Phase one of a pass: Leaven's images in every region (one paginated walk each) and the vendor images. */
export async function observeImages(
  cloud: CloudPort,
  specs: readonly ValidSpec[],
  options: { now: number; vendorCache?: VendorCache; installation?: string },
): Promise<Inventory> {
  const regions = regionsOf(specs);
  const inventory: Inventory = { ...emptyInventory(), regions };
  const walks = regions.map(async (region) => {
    try {
      return await walkOwnedImages(cloud, region, options.installation);
    } catch (error) {
      inventory.regionErrors.set(region, errorMessage(error));
      return [];
    }
  });
  const [walked] = await Promise.all([
    Promise.all(walks),
    observeVendorImages(cloud, specs, inventory, options),
  ]);
  inventory.images = walked.flat();
  return inventory;
}

/**
 * The foundations' vendor images (owners + name lookups and SSM parameter sources), cached per source and
 * region for the cache's TTL, into `inventory.vendorImages` (and `vendorProblems`, `regionErrors`).
 */
export async function observeVendorImages(
  cloud: CloudPort,
  specs: readonly ValidSpec[],
  inventory: Inventory,
  options: { now: number; vendorCache?: VendorCache },
): Promise<void> {
  const vendorLookups = specs
    .filter((s) => s.document.spec.layer === "foundation")
    .map(async ({ name, document }) => {
      const query = vendorQuery(document);
      if (!query) return;
      const found: CloudImage[] = [];
      await Promise.all(
        foundationRegions(document, specs).map(async (region) => {
          const key = `${region} ${JSON.stringify(query)}`;
          const cached = options.vendorCache?.get(key, options.now);
          if (cached) {
            found.push(...cached);
            return;
          }
          try {
            const images = await cloud.describeImages(region, query);
            options.vendorCache?.set(key, options.now, images);
            found.push(...images);
          } catch (error) {
            inventory.regionErrors.set(region, errorMessage(error));
          }
        }),
      );
      inventory.vendorImages.set(name, found);
    });
  await Promise.all([Promise.all(vendorLookups), lookupSsmSources(cloud, specs, inventory, options)]);
}

/**
 * Foundations whose source is an SSM parameter (public `/aws/service/...` ones included): per region, one
 * GetParameters for every such parameter not cached (10 names a request), then one DescribeImages of the
 * image ids they hold. The images go into `vendorImages` like an owners+name lookup's, so channels resolve
 * the same way; a parameter missing in a region is reported by name and region (`vendorProblems`).
 */
async function lookupSsmSources(
  cloud: CloudPort,
  specs: readonly ValidSpec[],
  inventory: Inventory,
  options: { now: number; vendorCache?: VendorCache },
): Promise<void> {
  const foundations = specs.filter(
    (s) => s.document.spec.layer === "foundation" && s.document.spec.source?.ssmParameter !== undefined,
  );
  if (foundations.length === 0) return;
  // region → parameter → the image it points at (empty when missing or unreadable).
  const found = new Map<string, Map<string, CloudImage[]>>();
  // `region parameter` → what is wrong there: "missing", or the image id it holds that cannot be found.
  const missing = new Map<string, string>();
  const wanted = new Map<string, Set<string>>();
  for (const { document } of foundations) {
    for (const region of foundationRegions(document, specs)) {
      const names = wanted.get(region) ?? new Set<string>();
      names.add(document.spec.source!.ssmParameter!);
      wanted.set(region, names);
    }
  }
  const cacheKey = (region: string, name: string) => `${region} ssm ${name}`;
  await Promise.all(
    [...wanted].map(async ([region, names]) => {
      const byName = new Map<string, CloudImage[]>();
      found.set(region, byName);
      const uncached: string[] = [];
      for (const name of names) {
        const cached = options.vendorCache?.get(cacheKey(region, name), options.now);
        if (cached) byName.set(name, cached);
        else uncached.push(name);
      }
      if (uncached.length === 0) return;
      try {
        const { parameters, invalid } = await cloud.getParameters(region, uncached);
        for (const name of invalid) missing.set(`${region} ${name}`, "missing");
        const ids = [...new Set(parameters.map((p) => p.value))];
        const images = ids.length > 0 ? await cloud.describeImages(region, { imageIds: ids }) : [];
        for (const parameter of parameters) {
          const image = images.filter((i) => i.imageId === parameter.value);
          if (image.length === 0) {
            missing.set(`${region} ${parameter.name}`, parameter.value);
            continue;
          }
          byName.set(parameter.name, image);
          // Misses are not cached: a parameter that appears is picked up on the next pass.
          options.vendorCache?.set(cacheKey(region, parameter.name), options.now, image);
        }
      } catch (error) {
        inventory.regionErrors.set(region, errorMessage(error));
      }
    }),
  );
  for (const { name, document } of foundations) {
    const parameter = document.spec.source!.ssmParameter!;
    const regions = foundationRegions(document, specs);
    inventory.vendorImages.set(
      name,
      regions.flatMap((region) => found.get(region)?.get(parameter) ?? []),
    );
    const absent = regions.filter((region) => missing.get(`${region} ${parameter}`) === "missing");
    const dangling = regions.flatMap((region) => {
      const value = missing.get(`${region} ${parameter}`);
      return value && value !== "missing"
        ? [`in ${region} it holds ${value}, which DescribeImages does not find`]
        : [];
    });
    const problems = [
      ...(absent.length > 0
        ? [
            `SSM parameter ${parameter} does not exist in ${absent.join(", ")}: check the name (public AMI parameters live under /aws/service/) and that it is published in ${absent.length === 1 ? "that region" : "those regions"}`,
          ]
        : []),
      ...(dangling.length > 0 ? [`SSM parameter ${parameter}: ${dangling.join("; ")}`] : []),
    ];
    if (problems.length > 0) {
      inventory.vendorProblems ??= new Map();
      inventory.vendorProblems.set(name, problems.join("; "));
    }
  }
}

// Bakery hosts come in the same listing: a pass that observes volume bakes where it observes bakes (the
// volume bake of a spec is a bake too) then lists the region's instances once, not twice.
const bakeFilters: Filter[] = [
  { name: `tag:${Tag.managedBy}`, values: [MANAGED_BY_VALUE] },
  { name: `tag:${Tag.role}`, values: ["bake", ...CHECKS, BAKERY_ROLE] },
];

const failureFilters: Filter[] = [
  { name: `tag:${Tag.managedBy}`, values: [MANAGED_BY_VALUE] },
  { name: `tag:${Tag.role}`, values: [FAILURE_ROLE] },
];

/** A failure record's launch template as the planner reads it; undefined when it names no spec and build. */
export function toFailureRecord(template: CloudLaunchTemplate): FailureRecord | undefined {
  const spec = template.tags[Tag.spec];
  const build = template.tags[Tag.build];
  if (!spec || !build) return undefined;
  const facts = readFailureTags(template.tags);
  return {
    spec,
    build,
    region: template.region,
    launchTemplateId: template.launchTemplateId,
    name: template.name,
    reason: facts.reason ?? "bake failed",
    ...(facts.at !== undefined ? { at: facts.at } : {}),
    ...(facts.instanceId !== undefined ? { instanceId: facts.instanceId } : {}),
    console: facts.console,
    tags: template.tags,
  };
}

/**
 * Phase two: bake instances and failed builds' records in the given regions, and the console of every
 * stopped bake instance whose outcome is not yet recorded in its tags (leaven.dev/bake-result, which the
 * planner writes the moment it reads a verdict: from then on the tag is trusted and the console not read). Mutates and returns the inventory.
 * A region counts as observed only when both its instances and its records were listed: the planner
 * must not bake a build again because its failure record could not be read.
 */
export async function observeBakes(
  cloud: CloudPort,
  inventory: Inventory,
  regions: readonly string[],
  consoleCache?: Map<string, BakeOutcome>,
  installation?: string,
): Promise<Inventory> {
  await Promise.all(
    regions.map(async (region) => {
      try {
        const [instances, templates] = await Promise.all([
          cloud.describeInstances(region, bakeFilters),
          cloud.describeLaunchTemplates(region, failureFilters),
        ]);
        const hosts = instances.filter((i) => i.tags[Tag.role] === BAKERY_ROLE);
        inventory.bakeryHosts ??= new Map();
        inventory.bakeryHosts.set(region, hosts);
        const ours = instances.filter(
          (i) => i.tags[Tag.role] !== BAKERY_ROLE && isLeavenOwned(i.tags, installation),
        );
        inventory.instances.push(...ours);
        for (const template of templates) {
          const record = isLeavenOwned(template.tags, installation) ? toFailureRecord(template) : undefined;
          if (record) inventory.failures.push(record);
        }
        await Promise.all(
          ours
            .filter((i) => i.state === "stopped" && !i.tags[Tag.bakeResult])
            .map(async (instance) => {
              // A stopped instance's console does not change: once a marker is read, it is kept.
              const cached = consoleCache?.get(instance.instanceId);
              if (cached) {
                inventory.consoles.set(instance.instanceId, cached);
                return;
              }
              // Latest: the buffered output EC2 posts after the stop may be minutes late (Nitro types only; the
              // adapter falls back for the others).
              const output = await cloud.getConsoleOutput(region, instance.instanceId, {
                latest: true,
                ...(instance.instanceType ? { instanceType: instance.instanceType } : {}),
              });
              const role = instance.tags[Tag.role] ?? "bake";
              const build = instance.tags[Tag.build] ?? "";
              const checked = role === "bake" ? undefined : parseCheckMarker(output, role, build);
              const outcome =
                role === "bake" ? parseBakeMarker(output, build) : checked && asConsoleOutcome(checked);
              if (outcome) consoleCache?.set(instance.instanceId, outcome);
              inventory.consoles.set(instance.instanceId, outcome);
              // Nothing at all: not posted yet, or expired (EC2 keeps it about an hour after its last post).
              if (output.trim() === "") {
                inventory.silentConsoles ??= new Set();
                inventory.silentConsoles.add(instance.instanceId);
              }
            }),
        );
        inventory.instanceRegions.push(region);
      } catch (error) {
        inventory.regionErrors.set(region, errorMessage(error));
      }
    }),
  );
  inventory.instanceRegions.sort();
  return inventory;
}

export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
