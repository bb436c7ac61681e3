// The bakery hosts of volume bakes, one per home region: which host a bake uses, which device name its
// volume is attached under, and — once every spec is planned — whether a host must be launched, replaced or
// stopped for idleness. Decided from the observed hosts only; a host bakery.hostInstanceId names is the
// user's and is never stopped or terminated.
import { DEFAULT_INSTALLATION, Tag } from "../api/tags.ts";
import type { CloudInstance } from "../cloud/port.ts";
import type { VolumeBakeObservation } from "../observe/inventory.ts";
import { BAKERY_ROLE } from "../observe/volume-bakes.ts";
import { parseDuration } from "../validation/durations.ts";
import type { BakeryConfig } from "../validation/leaven-config.ts";
import type { Action } from "./actions.ts";
import { bakeryHostToken } from "./recipe.ts";

export const BAKERY_DEFAULTS = {
  instanceType: "t3.medium",
  instanceProfile: "leaven-bakery",
  idleStop: "30m",
  maxConcurrentBakes: 4,
  poolSize: 0,
} as const;

/** Device names a bake volume may take (EC2's recommended range for EBS on HVM instances: /dev/sd[f-p]). */
export const BAKE_DEVICES: readonly string[] = "fghijklmnop".split("").map((l) => `/dev/sd${l}`);

const DAY_MS = 86_400_000;

export type HostPick = { ok: true; host: CloudInstance; userNamed: boolean } | { ok: false; message: string };

export interface BakeryPlanner {
  /** The host bakes in `region` use now, or why there is none (a launch is planned in finish). */
  host(region: string, spec?: string): HostPick;
  /** The zone of the host bakes in `region` would use now, without asking for one (the warm pool's zone). */
  zone(region: string): string | undefined;
  /**
   * A device name for one more volume on `host` this pass, or why not (bounded by device names and
   * bakery.maxConcurrentBakes, counting this installation's bake volumes attached there).
   */
  claimDevice(host: CloudInstance): { device: string } | { message: string };
  /** The host plans after every spec: launches, replacements, idle stops. */
  finish(actions: Action[], now: number, options?: { idleStops?: boolean }): void;
}

function healthy(host: CloudInstance): boolean {
  return (host.state === "running" || host.state === "pending") && host.tags[Tag.unhealthy] === undefined;
}

export function createBakery(
  observation: VolumeBakeObservation,
  config: BakeryConfig = {},
  installation: string = DEFAULT_INSTALLATION,
): BakeryPlanner {
  const needed = new Set<string>();
  // The launch is the first needing spec's action: a launch EC2 refuses stalls that spec with the error.
  const firstSpec = new Map<string, string>();
  const claimed = new Map<string, string[]>();
  const maxBakes = config.maxConcurrentBakes ?? BAKERY_DEFAULTS.maxConcurrentBakes;
  const named = config.hostInstanceId;
  const leavenHosts = (region: string) =>
    observation.hosts.filter(
      (h) => h.region === region && h.instanceId !== named && h.tags[Tag.role] === BAKERY_ROLE,
    );
  const current = (region: string) =>
    leavenHosts(region)
      .filter(healthy)
      .sort((a, b) => a.launchTime.localeCompare(b.launchTime) || a.instanceId.localeCompare(b.instanceId));

  return {
    host(region, spec) {
      needed.add(region);
      if (spec && !firstSpec.has(region)) firstSpec.set(region, spec);
      if (named) {
        const host = observation.hosts.find((h) => h.instanceId === named && h.region === region);
        if (!host)
          return {
            ok: false,
            message: `bakery.hostInstanceId ${named} is not an instance in ${region}; name a host in the home region of every spec that bakes on a volume`,
          };
        if (host.state !== "running")
          return {
            ok: false,
            message: `bakery host ${named} (bakery.hostInstanceId) is ${host.state}; start it: Leaven never starts or stops a host it does not own`,
          };
        return { ok: true, host, userNamed: true };
      }
      const host = current(region)[0];
      if (!host) return { ok: false, message: `waiting for a bakery host in ${region}` };
      if (host.state !== "running")
        return { ok: false, message: `waiting for bakery host ${host.instanceId} (${host.state})` };
      return { ok: true, host, userNamed: false };
    },

    zone(region) {
      const host = named
        ? observation.hosts.find((h) => h.instanceId === named && h.region === region)
        : current(region)[0];
      return host?.availabilityZone;
    },

    claimDevice(host) {
      const inUse = observation.devices.get(host.instanceId) ?? [];
      const mine = claimed.get(host.instanceId) ?? [];
      const bakes = observation.volumes.filter((v) =>
        v.attachments.some((a) => a.instanceId === host.instanceId),
      ).length;
      if (bakes + mine.length >= maxBakes)
        return {
          message: `bakery host ${host.instanceId} has ${bakes + mine.length} bakes attached, bakery.maxConcurrentBakes is ${maxBakes}: waiting for one to finish`,
        };
      const device = BAKE_DEVICES.find((d) => !inUse.includes(d) && !mine.includes(d));
      if (!device)
        return {
          message: `bakery host ${host.instanceId} has no free device name (${BAKE_DEVICES.join(" ")}): waiting`,
        };
      claimed.set(host.instanceId, [...mine, device]);
      return { device };
    },

    finish(actions, now, options = {}) {
      if (named) return; // The user's host: Leaven only attaches volumes and sends commands.
      const idleMs = parseDuration(config.idleStop ?? BAKERY_DEFAULTS.idleStop);
      for (const region of observation.regions) {
        const hosts = leavenHosts(region);
        const live = current(region);
        const [keep, ...extras] = live;
        // A host Leaven did not stop (stopped behind its back), or one marked unhealthy, is replaced.
        for (const host of hosts) {
          const unexpectedStop = host.state === "stopped" && host.tags[Tag.idleStoppedAt] === undefined;
          const marked = host.tags[Tag.unhealthy] !== undefined;
          const idleStopped = host.state === "stopped" && host.tags[Tag.idleStoppedAt] !== undefined;
          if (unexpectedStop || (marked && host.state !== "terminated" && host.state !== "shutting-down"))
            actions.push(
              terminateHost(
                host,
                `bakery host ${host.instanceId} is unhealthy (${marked ? host.tags[Tag.unhealthy] : "stopped, and not by Leaven"}): replacing it`,
              ),
            );
          else if (idleStopped && needed.has(region) && !keep)
            // No StartInstances in the port: a fresh host (the newest AMI) replaces a stopped one.
            actions.push(
              terminateHost(
                host,
                `a bake needs a bakery host in ${region}: replacing stopped ${host.instanceId}`,
              ),
            );
        }
        // Two hosts (a launch repeated across midnight with a new token): the one without bakes goes.
        for (const extra of extras)
          if (!(observation.devices.get(extra.instanceId) ?? []).length && extra.state === "running")
            actions.push(
              terminateHost(extra, `duplicate bakery host in ${region} (keeping ${keep!.instanceId})`),
            );
        if (needed.has(region) && !keep) {
          const imageId = config.imageId ?? observation.hostImages.get(region);
          if (!imageId) continue; // Reported by host(): no AMI found to launch from.
          const dead = hosts
            .filter((h) => !healthy(h))
            .sort((a, b) => a.launchTime.localeCompare(b.launchTime))
            .at(-1);
          // Deterministic: a repeat after a crash reuses the token; a replacement derives from its predecessor.
          const generation = dead ? `after-${dead.instanceId}` : `day-${Math.floor(now / DAY_MS)}`;
          actions.push({
            kind: "launch-bakery-host",
            spec: firstSpec.get(region) ?? "(bakery)",
            region,
            launch: {
              imageId,
              instanceType: config.instanceType ?? BAKERY_DEFAULTS.instanceType,
              userData: "#!/bin/bash\n# Leaven's bakery host: volume bakes run here over SSM Run Command.\n",
              clientToken: bakeryHostToken(installation, region, generation),
              instanceProfile: config.instanceProfile ?? BAKERY_DEFAULTS.instanceProfile,
              tags: {
                [Tag.managedBy]: "leaven",
                [Tag.installation]: installation,
                [Tag.role]: BAKERY_ROLE,
                Name: `leaven bakery ${installation}`,
              },
            },
            reason: `a volume bake needs a bakery host in ${region}${dead ? ` (${dead.instanceId} is ${dead.state})` : ""}`,
          });
          continue;
        }
        if (options.idleStops !== false && keep && !needed.has(region) && keep.state === "running") {
          const attached = (observation.devices.get(keep.instanceId) ?? []).length > 0;
          const last = Math.max(
            Date.parse(keep.launchTime),
            Date.parse(observation.lastCommandAt.get(keep.instanceId) ?? "") || 0,
          );
          if (!attached && now - last >= idleMs)
            actions.push({
              kind: "stop-instance",
              spec: "(bakery)",
              region,
              instanceId: keep.instanceId,
              tags: { [Tag.idleStoppedAt]: new Date(now).toISOString() },
              reason: `bakery host ${keep.instanceId} has been idle for bakery.idleStop (${config.idleStop ?? BAKERY_DEFAULTS.idleStop})`,
            });
        }
      }
    },
  };
}

function terminateHost(host: CloudInstance, reason: string): Action {
  return {
    kind: "terminate-instance",
    spec: "(bakery)",
    build: "",
    region: host.region,
    instanceId: host.instanceId,
    reason,
  };
}
