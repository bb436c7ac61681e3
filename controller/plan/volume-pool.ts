// The warm volume pool (leaven.yaml bakery.poolSize, default 0: off): per parent image and availability zone,
// poolSize volumes already made from the parent's root snapshot, so a bake takes one instead of waiting for
// CreateVolume. A bake claims one by retagging it as its own; the pool is refilled on the passes that observe
// volume bakes, and a pool volume whose parent no volume spec bakes on any more is deleted.

import { POOL_ROLE } from "../api/bakery-roles.ts";
import { DEFAULT_INSTALLATION, Tag } from "../api/tags.ts";
import type { CloudVolume } from "../cloud/port.ts";
import type { VolumeBakeObservation } from "../observe/inventory.ts";
import type { Action } from "./actions.ts";
import { volumeToken } from "./recipe.ts";

export interface PoolPlanner {
  /**
   * Some volume spec bakes on this parent image now: the pool keeps volumes for it in `zone`, the host's (with
   * no host up, in whatever zone they are, refilling none).
   */
  want(region: string, parentImageId: string, parentBuild: string, zone: string | undefined): void;
  /** An available pool volume for this parent and zone, taken for one bake this pass (or none). */
  claim(region: string, parentImageId: string, zone: string): CloudVolume | undefined;
  /** Refills and discards, after every spec is planned (`sweep`: every volume spec was planned). */
  finish(actions: Action[], now: number, sweep: boolean): void;
}

const key = (region: string, parentImageId: string, zone: string) => `${region} ${parentImageId} ${zone}`;

export function createPool(
  observation: VolumeBakeObservation,
  size: number,
  installation: string = DEFAULT_INSTALLATION,
): PoolPlanner {
  const wanted = new Map<
    string,
    { region: string; parentImageId: string; parentBuild: string; zone: string }
  >();
  const claimed = new Set<string>();
  const kept = new Set<string>();
  const pooled = observation.volumes.filter(
    (v) => v.tags[Tag.role] === POOL_ROLE && v.state !== "deleting" && v.state !== "deleted",
  );
  const of = (region: string, parentImageId: string, zone: string) =>
    pooled.filter(
      (v) => v.region === region && v.availabilityZone === zone && v.tags[Tag.parentImage] === parentImageId,
    );
  return {
    want(region, parentImageId, parentBuild, zone) {
      if (size === 0) return;
      kept.add(`${region} ${parentImageId}`);
      if (zone) wanted.set(key(region, parentImageId, zone), { region, parentImageId, parentBuild, zone });
    },
    claim(region, parentImageId, zone) {
      if (size === 0) return undefined;
      const volume = of(region, parentImageId, zone).find(
        (v) => v.state === "available" && v.attachments.length === 0 && !claimed.has(v.volumeId),
      );
      if (volume) claimed.add(volume.volumeId);
      return volume;
    },
    finish(actions, now, sweep) {
      for (const want of wanted.values()) {
        if (!observation.regions.includes(want.region)) continue;
        const have = of(want.region, want.parentImageId, want.zone).filter((v) => !claimed.has(v.volumeId));
        // Minute by minute: a repeat after a crash reuses the token; a duplicate made across a minute is trimmed.
        const minute = Math.floor(now / 60_000);
        for (let slot = have.length; slot < size; slot++)
          actions.push({
            kind: "create-volume",
            spec: "(pool)",
            build: want.parentBuild,
            region: want.region,
            parentImageId: want.parentImageId,
            volume: {
              availabilityZone: want.zone,
              volumeType: "gp3",
              clientToken: volumeToken(`pool/${want.parentImageId}`, `${minute}-${slot}`, want.zone),
              tags: {
                [Tag.managedBy]: "leaven",
                [Tag.installation]: installation,
                [Tag.role]: POOL_ROLE,
                [Tag.parentImage]: want.parentImageId,
                [Tag.parentBuild]: want.parentBuild,
                Name: `leaven pool ${want.parentBuild}`,
              },
            },
            reason: `the warm pool of ${want.parentBuild} (${want.parentImageId}) in ${want.zone} has ${have.length} of bakery.poolSize ${size} volumes`,
          });
        for (const extra of have.slice(size))
          if (extra.state === "available")
            actions.push(
              discard(
                extra,
                `the warm pool of ${want.parentImageId} in ${want.zone} has ${have.length} volumes, more than bakery.poolSize ${size}`,
              ),
            );
      }
      // Attached but never retagged (the claim's tagging failed where its attach went through): back to the pool.
      for (const volume of pooled)
        if (!claimed.has(volume.volumeId) && volume.attachments.some((a) => a.state === "attached"))
          actions.push({
            kind: "detach-volume",
            spec: "(pool)",
            build: volume.tags[Tag.parentBuild] ?? "",
            region: volume.region,
            volumeId: volume.volumeId,
            instanceId: volume.attachments[0]!.instanceId,
            reason: `pool volume ${volume.volumeId} is attached but was not taken by a bake: detaching it`,
          });
      if (!sweep) return;
      // The parent channel moved on (or no spec bakes on a volume there any more): its pool goes.
      for (const volume of pooled) {
        if (claimed.has(volume.volumeId) || volume.state !== "available" || volume.attachments.length > 0)
          continue;
        if (!observation.regions.includes(volume.region)) continue;
        const parentImageId = volume.tags[Tag.parentImage] ?? "";
        if (wanted.has(key(volume.region, parentImageId, volume.availabilityZone))) continue;
        // No host up to say the zone: kept until one is.
        if (
          kept.has(`${volume.region} ${parentImageId}`) &&
          !observation.hosts.some((h) => h.region === volume.region && h.state === "running")
        )
          continue;
        actions.push(
          discard(volume, `no volume bake is on ${parentImageId} in ${volume.availabilityZone} any more`),
        );
      }
    },
  };
}

function discard(volume: CloudVolume, reason: string): Action {
  return {
    kind: "delete-volume",
    spec: "(pool)",
    region: volume.region,
    volumeId: volume.volumeId,
    ...(volume.tags[Tag.parentBuild] ? { build: volume.tags[Tag.parentBuild] } : {}),
    reason: `${reason}: deleting pool volume ${volume.volumeId}`,
  };
}
