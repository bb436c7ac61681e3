// What the volume bake's planner tests share: one base baked by the volume method in us-east-1, its bakery
// host, bake volumes, and the observation and context planVolumeBake reads.
import { Tag } from "../../controller/api/tags.ts";
import type { CloudInstance, CloudVolume, Tags } from "../../controller/cloud/port.ts";
import {
  emptyInventory,
  type FailureRecord,
  type VolumeBakeObservation,
} from "../../controller/observe/inventory.ts";
import type { Action } from "../../controller/plan/actions.ts";
import { createBakery } from "../../controller/plan/bakery.ts";
import { planVolumeBake, type VolumeBakeContext } from "../../controller/plan/volume-bake.ts";
import type { BakeryConfig } from "../../controller/validation/leaven-config.ts";
import { MIN, spec, T0 } from "./builders.ts";

export const REGION = "us-east-1";
export const BUILD = "1.0.0+abcdef12";
/** The bake volume's id, as most steps see it. */
export const V = "vol-0000000000000001";
export const HOST = "i-0000000000000host";
export const doc = spec("base", {
  layer: "base",
  parent: { spec: "ubuntu", channel: "release" },
  version: "1.0.0",
  provision: { packages: ["curl"] },
  bake: { method: "volume" },
  channels: { release: { latest: true } },
}).document;
/** The base with `bake` in place of its own (the volume method kept). */
export function docBaking(bake: Omit<NonNullable<typeof doc.spec.bake>, "method">): typeof doc {
  return { ...doc, spec: { ...doc.spec, bake: { method: "volume", ...bake } } };
}

export const owner: Tags = { [Tag.managedBy]: "leaven", [Tag.installation]: "default" };

export function host(
  id = HOST,
  tags: Tags = { ...owner, [Tag.role]: "bakery" },
  state: CloudInstance["state"] = "running",
): CloudInstance {
  return {
    instanceId: id,
    region: REGION,
    imageId: "ami-al2023",
    state,
    launchTime: new Date(T0 - 60 * MIN).toISOString(),
    availabilityZone: `${REGION}a`,
    tags,
  };
}

/** A bake volume of `base` BUILD, tagged as the volume bake tags it (plus `extra`). */
export function volume(id = V, options: Partial<CloudVolume> & { extra?: Tags } = {}): CloudVolume {
  const { extra, ...fields } = options;
  return {
    volumeId: id,
    region: REGION,
    availabilityZone: `${REGION}a`,
    state: "available",
    size: 8,
    attachments: [],
    createTime: new Date(T0 - 5 * MIN).toISOString(),
    ...fields,
    tags: { ...owner, [Tag.spec]: "base", [Tag.build]: BUILD, [Tag.role]: "volume-bake", ...extra },
  };
}

/** The bake volume attached to the host (as /dev/sdf). */
export function attached(
  id = V,
  state: "attaching" | "attached" | "detaching" = "attached",
  extra: Tags = {},
): CloudVolume {
  return volume(id, {
    state: "in-use",
    attachments: [{ instanceId: HOST, device: "/dev/sdf", state }],
    extra,
  });
}

export function observation(parts: Partial<VolumeBakeObservation> = {}): VolumeBakeObservation {
  return {
    regions: [REGION],
    hosts: [host()],
    volumes: [],
    devices: new Map(),
    snapshots: [],
    commands: new Map(),
    lastCommandAt: new Map(),
    hostImages: new Map([[REGION, "ami-al2023"]]),
    ...parts,
  };
}

export function context(
  vb: VolumeBakeObservation,
  extra: Partial<VolumeBakeContext> = {},
  config: BakeryConfig = {},
): VolumeBakeContext {
  return {
    doc,
    build: BUILD,
    recipe: "0123456789abcdef",
    homeRegion: REGION,
    parent: { spec: "ubuntu", channel: "release", build: "ubuntu-jammy-20260601", imageId: "ami-parent" },
    instances: [],
    failureRecords: [],
    inventory: { ...emptyInventory(), instanceRegions: [REGION] },
    now: T0,
    retry: false,
    volumes: vb,
    bakery: createBakery(vb, config),
    ...extra,
  };
}

/** One planned step: the state, the actions and their kinds, and the context it was planned in. */
export function step(
  vb: VolumeBakeObservation,
  extra: Partial<VolumeBakeContext> = {},
  config: BakeryConfig = {},
) {
  const actions: Action[] = [];
  const ctx = context(vb, extra, config);
  const state = planVolumeBake(ctx, actions);
  return { state, actions, kinds: actions.map((a) => a.kind), ctx };
}

/** The failure record of a volume bake of `base` BUILD (its `instanceId` is the failed volume's id). */
export function failureRecord(reason: string, fields: Partial<FailureRecord> = {}): FailureRecord {
  return {
    spec: "base",
    build: BUILD,
    region: REGION,
    launchTemplateId: "lt-1",
    name: "leaven-failed-base-1.0.0_abcdef12",
    reason,
    instanceId: V,
    console: [],
    tags: {},
    ...fields,
  };
}
