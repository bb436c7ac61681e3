// The bakery hosts of volume bakes, one per home region: which host a bake uses, which device name its
// volume is attached under, and — once every spec is planned — whether a host must be launched, replaced or
// stopped for idleness. Decided from the observed hosts only; a host bakery.hostInstanceId names is the
// user's and is never stopped or terminated.

import { BAKERY_ROLE } from "../api/bakery-roles.ts";
import { DEFAULT_INSTALLATION, Tag } from "../api/tags.ts";
import type { CloudInstance } from "../cloud/port.ts";
import type { VolumeBakeObservation } from "../observe/inventory.ts";
import { BAKE_DEVICES, idleFor, isBakeVolume } from "../observe/volume-bakes.ts";
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

export { BAKE_DEVICES };

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
  /**
   * `volumeHomes`, given when every spec is known: the home regions of the specs baking on a volume; a host
   * Leaven launched in any other region is terminated (once no volume of Leaven's is attached to it).
   */
  finish(
    actions: Action[],
    now: number,
    options?: { idleStops?: boolean; volumeHomes?: ReadonlySet<string> },
  ): void;
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
  const current = (region: string) => leavenHosts(region).filter(healthy).sort(byLaunch);

  // The newest stopped (or stopping) host that is not marked and has not failed to start (by `now`, when
  // known): it is started again.
  const stoppedHost = (region: string, now?: number) =>
    leavenHosts(region)
      .filter(
        (h) =>
          (h.state === "stopped" || h.state === "stopping") &&
          h.tags[Tag.unhealthy] === undefined &&
          (now === undefined || !startFailed(h, now)),
      )
      .sort(byLaunch)
      .at(-1);

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
      const stopped = host ? undefined : stoppedHost(region);
      if (stopped)
        return {
          ok: false,
          message: `waiting for stopped bakery host ${stopped.instanceId} to start (${stopped.state})`,
        };
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
      const bakes = observation.volumes.filter(
        (v) => isBakeVolume(v) && v.attachments.some((a) => a.instanceId === host.instanceId),
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
        if (options.volumeHomes && !options.volumeHomes.has(region) && !needed.has(region)) {
          // No spec bakes on a volume here any more: nothing will need the host again.
          for (const host of hosts) {
            if (host.state === "terminated" || host.state === "shutting-down") continue;
            if (!bakeVolumeOn(observation, host.instanceId))
              actions.push(
                terminateHost(
                  host,
                  `no spec bakes on a volume in ${region} any more: terminating bakery host ${host.instanceId}`,
                ),
              );
          }
          continue;
        }
        const live = current(region);
        const [keep, ...extras] = live;
        // A host marked unhealthy, or a stopped one that did not start when asked, is replaced.
        for (const host of hosts) {
          const marked = host.tags[Tag.unhealthy] !== undefined;
          if (marked && host.state !== "terminated" && host.state !== "shutting-down")
            actions.push(
              terminateHost(
                host,
                `bakery host ${host.instanceId} is unhealthy (${host.tags[Tag.unhealthy]}): replacing it`,
              ),
            );
          else if (startFailed(host, now))
            actions.push(
              terminateHost(
                host,
                `bakery host ${host.instanceId} is still ${host.state} ${START_TIMEOUT_MS / 60_000} minutes after Leaven started it (${host.tags[Tag.startRequestedAt]}): replacing it`,
              ),
            );
        }
        // A stopped host (idle, or stopped by someone else) is started again when a bake needs it.
        const stopped = keep ? undefined : stoppedHost(region, now);
        if (needed.has(region) && stopped && stopped.state === "stopped" && !startAsked(stopped, now))
          actions.push({
            kind: "start-instance",
            spec: firstSpec.get(region) ?? "(bakery)",
            region,
            instanceId: stopped.instanceId,
            tags: { [Tag.startRequestedAt]: new Date(now).toISOString() },
            reason: `a volume bake needs a bakery host in ${region}: starting stopped ${stopped.instanceId}`,
          });
        // A stopped spare while another host serves the region (stopped by hand after a replacement, say).
        if (keep)
          for (const host of hosts)
            if (
              host.state === "stopped" &&
              host.tags[Tag.unhealthy] === undefined &&
              !startFailed(host, now) &&
              !bakeVolumeOn(observation, host.instanceId)
            )
              actions.push(
                terminateHost(
                  host,
                  `bakery host ${host.instanceId} is stopped and ${keep.instanceId} serves ${region}: terminating the spare`,
                ),
              );
        // Two hosts (a launch repeated across midnight with a new token): the one without bakes goes.
        for (const extra of extras)
          if (!bakeDevicesOn(observation, extra.instanceId) && extra.state === "running")
            actions.push(
              terminateHost(extra, `duplicate bakery host in ${region} (keeping ${keep!.instanceId})`),
            );
        if (needed.has(region) && !keep && !stopped) {
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
          const devices = observation.devices.get(keep.instanceId) ?? [];
          const lastCommand = observation.lastCommandAt.get(keep.instanceId);
          if (idleFor({ launchTime: keep.launchTime, devices }, idleMs, now, lastCommand))
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

/** Whether a volume of a bake or the pool is attached to the host (or attaching, or detaching). */
function bakeVolumeOn(observation: VolumeBakeObservation, instanceId: string): boolean {
  return observation.volumes.some(
    (v) =>
      isBakeVolume(v) && v.attachments.some((a) => a.instanceId === instanceId && a.state !== "detached"),
  );
}

/** Whether anything (anyone's) is attached to the host under a bake device name (not its root device). */
function bakeDevicesOn(observation: VolumeBakeObservation, instanceId: string): boolean {
  return (observation.devices.get(instanceId) ?? []).some((d) => BAKE_DEVICES.includes(d));
}

/** How long a stopped host Leaven started may take to leave the stopped state before it is replaced. */
export const START_TIMEOUT_MS = 10 * 60_000;

/** When Leaven last asked the host to start, if it has not stopped (idle or otherwise) since. */
function startRequested(host: CloudInstance): number | undefined {
  const asked = Date.parse(host.tags[Tag.startRequestedAt] ?? "");
  if (Number.isNaN(asked)) return undefined;
  const stoppedSince = Math.max(
    Date.parse(host.tags[Tag.idleStoppedAt] ?? "") || 0,
    Date.parse(host.stoppedAt ?? "") || 0,
  );
  return stoppedSince > asked ? undefined : asked;
}

/** Asked to start less than START_TIMEOUT_MS ago, and not stopped again since: waiting for it. */
function startAsked(host: CloudInstance, now: number): boolean {
  const asked = startRequested(host);
  return asked !== undefined && now - asked < START_TIMEOUT_MS;
}

/** Stopped still, START_TIMEOUT_MS after Leaven started it: it will not start. */
function startFailed(host: CloudInstance, now: number): boolean {
  if (host.state !== "stopped" && host.state !== "stopping") return false;
  const asked = startRequested(host);
  return asked !== undefined && now - asked >= START_TIMEOUT_MS;
}

/** Oldest launch first; ties by id, so every pass orders the hosts alike. */
function byLaunch(a: CloudInstance, b: CloudInstance): number {
  return a.launchTime.localeCompare(b.launchTime) || a.instanceId.localeCompare(b.instanceId);
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
