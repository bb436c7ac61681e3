// Builders for planner tests: specs, images, instances and inventories as plain values.
import { Tag } from "../../controller/api/tags.ts";
import type { ImageSpec, ImageSpecSpec } from "../../controller/api/types.generated.ts";
import type { CloudImage, CloudInstance, Tags } from "../../controller/cloud/port.ts";
import { emptyInventory, type FailureRecord, type Inventory } from "../../controller/observe/inventory.ts";
import type { ValidSpec } from "../../controller/validation/result.ts";

export const T0 = Date.UTC(2026, 5, 1);
export const MIN = 60_000;
export const DAY = 24 * 60 * MIN;

export function spec(name: string, body: Partial<ImageSpecSpec> & Pick<ImageSpecSpec, "layer">): ValidSpec {
  const document: ImageSpec = {
    apiVersion: "leaven.dev/v1alpha1",
    kind: "ImageSpec",
    metadata: { name },
    spec: { regions: ["us-east-1"], ...body } as ImageSpecSpec,
  };
  return { name, document, position: { file: `${name}.yaml`, line: 1, column: 1 } };
}

export const ubuntu = spec("ubuntu", {
  layer: "foundation",
  source: { owners: ["099720109477"], name: "ubuntu/images/*" },
  regions: ["us-east-1", "eu-west-1"],
  channels: { release: { latest: true } },
});

export function vendorImage(region: string, name: string, id: string, createdAt: number): CloudImage {
  return {
    imageId: id,
    region,
    name,
    ownerId: "099720109477",
    state: "available",
    creationDate: new Date(createdAt).toISOString(),
    snapshotIds: [],
    tags: {},
    rootDeviceName: "/dev/sda1",
  };
}

let counter = 0;
export function leavenImage(
  region: string,
  specName: string,
  build: string,
  options: { state?: CloudImage["state"]; createdAt?: number; tags?: Tags; id?: string } = {},
): CloudImage {
  counter++;
  return {
    imageId: options.id ?? `ami-${String(counter).padStart(8, "0")}`,
    region,
    name: `leaven/${specName}/${build.replace("+", "_")}`,
    ownerId: "123456789012",
    state: options.state ?? "available",
    creationDate: new Date(options.createdAt ?? T0).toISOString(),
    snapshotIds: [`snap-${counter}`],
    tags: {
      [Tag.managedBy]: "leaven",
      [Tag.spec]: specName,
      [Tag.build]: build,
      [Tag.version]: build.split("+")[0]!,
      ...options.tags,
    },
  };
}

export function bakeInstance(
  region: string,
  specName: string,
  build: string,
  state: CloudInstance["state"],
  options: { launchedAt?: number; tags?: Tags; id?: string } = {},
): CloudInstance {
  counter++;
  return {
    instanceId: options.id ?? `i-${String(counter).padStart(8, "0")}`,
    region,
    imageId: "ami-parent",
    state,
    launchTime: new Date(options.launchedAt ?? T0).toISOString(),
    tags: {
      [Tag.managedBy]: "leaven",
      [Tag.spec]: specName,
      [Tag.build]: build,
      [Tag.role]: "bake",
      ...options.tags,
    },
  };
}

/** A failed build's record (a launch template) as the observer reads it. */
export function failureRecord(
  region: string,
  specName: string,
  build: string,
  options: { instanceId?: string; reason?: string; console?: string[]; id?: string; tags?: Tags } = {},
): FailureRecord {
  counter++;
  const reason = options.reason ?? "bake script failed: boom";
  return {
    spec: specName,
    build,
    region,
    launchTemplateId: options.id ?? `lt-${String(counter).padStart(17, "0")}`,
    name: `leaven-failed-${specName}-${build.replace("+", "_")}`,
    reason,
    at: new Date(T0).toISOString(),
    ...(options.instanceId ? { instanceId: options.instanceId } : {}),
    console: options.console ?? [],
    tags: {
      [Tag.managedBy]: "leaven",
      [Tag.spec]: specName,
      [Tag.build]: build,
      [Tag.role]: "failure",
      [Tag.bakeResult]: "failed",
      [Tag.bakeReason]: reason,
      ...options.tags,
    },
  };
}

export function inventory(parts: Partial<Inventory> = {}): Inventory {
  return {
    ...emptyInventory(),
    regions: ["us-east-1", "eu-west-1"],
    instanceRegions: ["us-east-1", "eu-west-1"],
    vendorImages: new Map([
      [
        "ubuntu",
        [
          vendorImage("us-east-1", "ubuntu/images/jammy-20260101", "ami-0e1", T0 - 30 * DAY),
          vendorImage("eu-west-1", "ubuntu/images/jammy-20260101", "ami-0w1", T0 - 30 * DAY),
          vendorImage("us-east-1", "ubuntu/images/jammy-20260301", "ami-0e2", T0 - 10 * DAY),
          vendorImage("eu-west-1", "ubuntu/images/jammy-20260301", "ami-0w2", T0 - 10 * DAY),
        ],
      ],
    ]),
    ...parts,
  };
}
