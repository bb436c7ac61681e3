// A large, converged estate for the reconcile benchmarks: specs, and the images a converged world holds
// (the desired build of every spec, ready in every region with its channel tags, plus older builds).
// It is built by running the real planner against an in-memory world until it has nothing left to do.
import { copyTag, Tag } from "../controller/api/tags.ts";
import type { ImageSpec, ImageSpecSpec } from "../controller/api/types.generated.ts";
import type { CloudImage, Tags } from "../controller/cloud/port.ts";
import { emptyInventory, type Inventory } from "../controller/observe/inventory.ts";
import type { Action } from "../controller/plan/actions.ts";
import { plan } from "../controller/plan/plan.ts";
import type { ValidSpec } from "../controller/validation/result.ts";

export const BENCH_REGIONS = [
  "us-east-1",
  "us-east-2",
  "us-west-1",
  "us-west-2",
  "eu-west-1",
  "eu-west-2",
  "eu-central-1",
  "eu-north-1",
  "ap-southeast-2",
  "ap-northeast-1",
];

export function makeSpec(name: string, spec: ImageSpecSpec): ValidSpec {
  const document: ImageSpec = {
    apiVersion: "leaven.dev/v1alpha1",
    kind: "ImageSpec",
    metadata: { name },
    spec,
  };
  return { name, document, position: { file: `${name}.yaml`, line: 1, column: 1 } };
}

/** Ubuntu 22.04 as the simulator seeds it (Canonical's owner id and name pattern). */
export function ubuntuFoundation(regions: readonly string[]): ValidSpec {
  return makeSpec("ubuntu-jammy", {
    layer: "foundation",
    source: {
      owners: ["099720109477"],
      name: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*",
      architecture: "x86_64",
    },
    regions: [...regions] as [string, ...string[]],
    channels: { candidate: { latest: true }, release: { latest: true } },
  });
}

/** One Ubuntu foundation (as seeded in the simulator), `bases` bases on it, the rest apps on the bases. */
export function estateSpecs(total: number, regions: readonly string[], bases = 20): ValidSpec[] {
  const specs: ValidSpec[] = [ubuntuFoundation(regions)];
  for (let b = 0; b < bases; b++) {
    specs.push(
      makeSpec(`base-${b}`, {
        layer: "base",
        parent: { spec: "ubuntu-jammy", channel: "release" },
        version: "2.3.0",
        provision: { packages: [`acme-base-${b}=2.3.0`] },
        regions: [...regions] as [string, ...string[]],
        channels: { candidate: { latest: true }, release: { latest: true } },
      }),
    );
  }
  for (let a = 0; specs.length < total; a++) {
    specs.push(
      makeSpec(`app-${a}`, {
        layer: "app",
        parent: { spec: `base-${a % bases}`, channel: a % 3 === 0 ? "candidate" : "release" },
        version: `1.${a % 20}.0`,
        provision: { packages: [`app-${a}=1.${a % 20}.0`] },
        regions: [...regions] as [string, ...string[]],
        channels: { release: { version: "^1.0.0" } },
      }),
    );
  }
  return specs;
}

let imageCounter = 0;
export function nextImageId(): string {
  imageCounter++;
  return `ami-${imageCounter.toString(16).padStart(17, "0")}`;
}

function imageFor(
  region: string,
  homeRegion: string,
  tags: Tags,
  createdAt: number,
  homeImage?: string,
): CloudImage {
  const buildTags: Tags = {};
  for (const [k, v] of Object.entries(tags)) if (k !== Tag.role && k !== Tag.bakeInstance) buildTags[k] = v;
  if (homeImage) buildTags[Tag.homeImage] = homeImage;
  buildTags[Tag.homeRegion] = homeRegion;
  return {
    imageId: nextImageId(),
    region,
    name: `leaven/${tags[Tag.spec]}/${(tags[Tag.build] ?? "").replace("+", "_")}`,
    ownerId: "123456789012",
    state: "available",
    creationDate: new Date(createdAt).toISOString(),
    snapshotIds: [`snap-${imageCounter.toString(16).padStart(17, "0")}`],
    tags: buildTags,
  };
}

/** Applies what the executor would do, instantly: a launch yields a ready build in every region. */
function applyInstantly(
  inventory: Inventory,
  specs: Map<string, ValidSpec>,
  actions: readonly Action[],
  createdAt: number,
): void {
  const byId = new Map(inventory.images.map((i) => [i.imageId, i]));
  for (const action of actions) {
    switch (action.kind) {
      case "launch-bake": {
        const regions = specs.get(action.spec)!.document.spec.regions;
        const home = imageFor(regions[0], regions[0], action.launch.tags, createdAt);
        inventory.images.push(home);
        for (const region of regions.slice(1))
          inventory.images.push(imageFor(region, regions[0], action.launch.tags, createdAt, home.imageId));
        break;
      }
      case "set-tags":
        Object.assign(byId.get(action.imageId)!.tags, action.tags);
        break;
      case "remove-tags":
        for (const key of action.keys) delete byId.get(action.imageId)!.tags[key];
        break;
      default:
        throw new Error(`estate: unexpected ${action.kind} while converging`);
    }
  }
}

/** The id of a spec's `b`-th older build in the estate (version 0.9.b), as convergedEstate makes it. */
export function olderBuildId(spec: string, b: number): string {
  return `0.9.${b}+${(b * 2654435761 + spec.length).toString(16).slice(-8).padStart(8, "0")}`;
}

/**
 * A converged world for `specs`: every spec's desired build ready everywhere with channels tagged, and
 * `buildsPerSpec - 1` older builds besides. `vendor` are the foundation's images (as the simulator seeds).
 */
export function convergedEstate(
  specs: ValidSpec[],
  vendor: Map<string, CloudImage[]>,
  now: number,
  buildsPerSpec: number,
): Inventory {
  const regions = [...new Set(specs.flatMap((s) => s.document.spec.regions))];
  const inventory: Inventory = {
    ...emptyInventory(),
    regions,
    instanceRegions: regions,
    vendorImages: vendor,
  };
  const byName = new Map(specs.map((s) => [s.name, s]));
  for (let round = 0; round < 10; round++) {
    const p = plan({ specs, inventory, now });
    if (p.actions.length === 0) break;
    applyInstantly(inventory, byName, p.actions, now - 24 * 3600_000 + round * 60_000);
  }
  // Older builds: same spec, other recipes, no channels — with the tags real builds carry (installation,
  // layer, recipe, parent, Name; copy tags on the home image, home-image on the copies) and a snapshot each.
  const current = new Map<string, Tags>();
  for (const image of inventory.images)
    if (image.tags[Tag.spec] && image.tags[Tag.homeRegion] === image.region && !image.tags[Tag.homeImage])
      current.set(image.tags[Tag.spec]!, image.tags);
  const inherited = [
    Tag.installation,
    Tag.layer,
    Tag.parentSpec,
    Tag.parentChannel,
    Tag.parentBuild,
    Tag.parentImage,
  ];
  for (const spec of specs) {
    if (spec.document.spec.layer === "foundation") continue;
    const home = spec.document.spec.regions[0];
    const like = current.get(spec.name) ?? {};
    for (let b = 1; b < buildsPerSpec; b++) {
      const build = olderBuildId(spec.name, b);
      const tags: Tags = {
        [Tag.managedBy]: "leaven",
        [Tag.spec]: spec.name,
        [Tag.build]: build,
        [Tag.version]: `0.9.${b}`,
        [Tag.recipe]: build.slice(-8).padStart(16, "0"),
        Name: `${spec.name} ${build}`,
      };
      for (const key of inherited) if (like[key] !== undefined) tags[key] = like[key]!;
      const createdAt = now - (40 + b) * 24 * 3600_000;
      const homeImage = imageFor(home, home, tags, createdAt);
      inventory.images.push(homeImage);
      for (const region of spec.document.spec.regions.slice(1)) {
        const copy = imageFor(region, home, tags, createdAt, homeImage.imageId);
        homeImage.tags[copyTag(region)] = copy.imageId;
        inventory.images.push(copy);
      }
    }
  }
  return inventory;
}

/** Canonical-style vendor images, one per release date, in every region. */
export function fakeVendorImages(
  regions: readonly string[],
  now: number,
  releases = 6,
): Map<string, CloudImage[]> {
  const images: CloudImage[] = [];
  for (const region of regions) {
    for (let r = 0; r < releases; r++) {
      const date = new Date(now - (releases - r) * 20 * 24 * 3600_000);
      const stamp = date.toISOString().slice(0, 10).replaceAll("-", "");
      images.push({
        imageId: nextImageId(),
        region,
        name: `ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-${stamp}`,
        ownerId: "099720109477",
        state: "available",
        creationDate: date.toISOString(),
        architecture: "x86_64",
        rootDeviceName: "/dev/sda1",
        snapshotIds: [],
        tags: {},
      });
    }
  }
  return new Map([["ubuntu-jammy", images]]);
}
