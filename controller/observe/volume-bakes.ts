// What volume bakes observe (bake.method: volume), only in the home regions of specs that use the method and
// only on passes that plan a bake there: the bakery hosts (whose BlockDeviceMappings say which device names
// anyone's volumes hold), this installation's volumes, the volume-bake snapshots (only while a bake that
// succeeded is being snapshotted and registered), and the bake commands a host was sent (ListCommands, only
// while a bake on it awaits its verdict or the host may be idle; the comment names build and volume, since
// SendCommand has no ClientToken). A command that ended is read once (GetCommandInvocation) for its marker;
// the verdict is then written on the volume and trusted.
import { parseBakeMarker } from "../api/bake-protocol.ts";
import { BAKERY_ROLE, POOL_ROLE, VOLUME_BAKE_ROLE } from "../api/bakery-roles.ts";
import { bakeOutputPrefix, commandOutputKey } from "../api/package-manifest.ts";
import { DEFAULT_INSTALLATION, isLeavenOwned, MANAGED_BY_VALUE, Tag } from "../api/tags.ts";
import type { ObjectStorePort } from "../cloud/object-store-port.ts";
import type {
  CloudInstance,
  CloudPort,
  CloudVolume,
  CommandInvocationStatus,
  Filter,
} from "../cloud/port.ts";
import type { Inventory, ObservedCommand, VolumeBakeObservation } from "./inventory.ts";
import { errorMessage } from "./observe.ts";

/** Device names a bake volume may take (EC2's recommended range for EBS on HVM instances: /dev/sd[f-p]). */
export const BAKE_DEVICES: readonly string[] = "fghijklmnop".split("").map((l) => `/dev/sd${l}`);
/** SendCommand's comment for a volume bake: how a resumed pass finds the command it already sent. */
const COMMENT_PREFIX = "leaven-bake";

export function bakeCommandComment(build: string, volumeId: string): string {
  return `${COMMENT_PREFIX} ${build} ${volumeId}`;
}

export function parseBakeCommandComment(
  comment: string | undefined,
): { build: string; volumeId: string } | undefined {
  const parts = comment?.split(" ");
  if (parts?.length !== 3 || parts[0] !== COMMENT_PREFIX) return undefined;
  return { build: parts[1]!, volumeId: parts[2]! };
}

const ENDED: readonly CommandInvocationStatus[] = ["Success", "Failed", "Cancelled", "TimedOut"];

export function commandEnded(status: CommandInvocationStatus): boolean {
  return ENDED.includes(status);
}

/** The AMI of a bakery host Leaven launches when leaven.yaml names none: Amazon's newest Amazon Linux 2023. */
export const BAKERY_IMAGE_NAME = "al2023-ami-2023.*-kernel-6.1-x86_64";

export interface VolumeBakeObserveOptions {
  installation?: string;
  /** bakery.hostInstanceId: the user's host, observed by id whatever its tags. */
  hostInstanceId?: string;
  /** bakery.imageId: when set, no AMI is looked up. */
  imageId?: string;
  /** Where a host may be launched (home regions of volume specs): elsewhere no AMI is looked up. */
  launchRegions?: ReadonlySet<string>;
  /**
   * The manifests bucket, where SSM wrote the bake commands' whole output (execute/executor.ts
   * withBakeOutput): the verdict is read there when GetCommandInvocation's stdout was cut before it.
   */
  commandOutput?: { store: ObjectStorePort; bucket: string; prefix?: string };
  /**
   * bakery.idleStop in ms, and the cloud's time now: a host's commands are then listed only when a bake
   * volume attached to it awaits its verdict, or when the planner could find it idle (launched that long
   * ago, no bake device in use), which needs its last command's time. Without them, on every pass.
   */
  idle?: { stopMs: number; now: number };
}

/** GetCommandInvocation keeps this many characters of stdout (and of stderr); the rest is only in S3. */
export const INVOCATION_OUTPUT_LIMIT = 24_000;

const owned: Filter[] = [{ name: `tag:${Tag.managedBy}`, values: [MANAGED_BY_VALUE] }];

/**
 * Regions among `regions` where this installation has a volume (a bake's or the pool's) or a bakery host not
 * terminated: two filtered calls per region (DescribeVolumes, DescribeInstances), for the sweep to find what
 * a volume spec left behind where no spec bakes on a volume any more. A region that fails is left out.
 */
export async function regionsWithVolumeBakes(
  cloud: CloudPort,
  regions: readonly string[],
  installation?: string,
): Promise<{ found: string[]; errors: Map<string, string> }> {
  const found: string[] = [];
  const errors = new Map<string, string>();
  const mine: Filter[] = [
    ...owned,
    { name: `tag:${Tag.installation}`, values: [installation ?? DEFAULT_INSTALLATION] },
  ];
  await Promise.all(
    regions.map(async (region) => {
      try {
        const [volumes, hosts] = await Promise.all([
          cloud.describeVolumes(region, mine),
          cloud.describeInstances(region, [...mine, { name: `tag:${Tag.role}`, values: [BAKERY_ROLE] }]),
        ]);
        if (hasVolumeBakes(region, volumes, hosts, installation)) found.push(region);
      } catch (error) {
        errors.set(region, errorMessage(error));
      }
    }),
  );
  return { found: found.sort(), errors };
}

/**
 * A volume of a bake or of the warm pool: not a bakery host's own root volume, which RunInstances tags as the
 * host (role=bakery) and which is attached for as long as the host lives.
 */
export function isBakeVolume(volume: CloudVolume): boolean {
  const role = volume.tags[Tag.role];
  return role === VOLUME_BAKE_ROLE || role === POOL_ROLE;
}

/** Whether `region` holds a volume of this installation's or a bakery host of its not terminated. */
export function hasVolumeBakes(
  region: string,
  volumes: readonly CloudVolume[],
  hosts: readonly CloudInstance[],
  installation?: string,
): boolean {
  const mine = (tags: Record<string, string>) => isLeavenOwned(tags, installation);
  return (
    volumes.some((v) => v.region === region && mine(v.tags) && isBakeVolume(v) && v.state !== "deleted") ||
    hosts.some(
      (h) =>
        h.region === region && mine(h.tags) && h.tags[Tag.role] === BAKERY_ROLE && h.state !== "terminated",
    )
  );
}

/**
 * Whether a running host's commands are worth a ListCommands this pass: a bake volume of ours attached to it
 * has no verdict yet (its command is to be sent, or is running), or the planner may find the host idle, for
 * which it needs the last command's time (plan/bakery.ts: launched bakery.idleStop ago, no bake device taken).
 */
function commandsMatter(
  host: CloudInstance,
  ours: readonly CloudVolume[],
  idle: VolumeBakeObserveOptions["idle"],
): boolean {
  if (!idle) return true;
  const awaiting = ours.some(
    (v) =>
      isBakeVolume(v) &&
      !v.tags[Tag.bakeResult] &&
      v.attachments.some((a) => a.instanceId === host.instanceId && a.state === "attached"),
  );
  if (awaiting) return true;
  // The last command is what this would list: the launch alone bounds the host's last activity from below.
  return idleFor({ launchTime: host.launchTime, devices: host.devices ?? [] }, idle.stopMs, idle.now);
}

/**
 * Whether a bakery host has been idle for `stopMs` (bakery.idleStop): no bake device name taken, and neither
 * launched nor sent a command for that long. The one rule for both the planner's idle stop (plan/bakery.ts)
 * and the observer's choice to list a host's commands (commandsMatter), so the two cannot disagree.
 */
export function idleFor(
  host: { launchTime: string; devices: readonly string[] },
  stopMs: number,
  now: number,
  lastCommandAt?: string,
): boolean {
  if (host.devices.some((d) => BAKE_DEVICES.includes(d))) return false;
  const last = Math.max(Date.parse(host.launchTime), Date.parse(lastCommandAt ?? "") || 0);
  return now - last >= stopMs;
}

/** Observes volume bakes in `regions` into `inventory.volumeBakes`; a region that fails is left out. */
export async function observeVolumeBakes(
  cloud: CloudPort,
  inventory: Inventory,
  regions: readonly string[],
  options: VolumeBakeObserveOptions = {},
): Promise<Inventory> {
  const observation: VolumeBakeObservation = {
    regions: [],
    hosts: [],
    volumes: [],
    devices: new Map(),
    snapshots: [],
    commands: new Map(),
    lastCommandAt: new Map(),
    hostImages: new Map(),
  };
  const mine = (tags: Record<string, string>) => isLeavenOwned(tags, options.installation);
  await Promise.all(
    regions.map(async (region) => {
      try {
        const [leavenHosts, named, volumes] = await Promise.all([
          inventory.bakeryHosts?.get(region) ??
            cloud.describeInstances(region, [...owned, { name: `tag:${Tag.role}`, values: [BAKERY_ROLE] }]),
          options.hostInstanceId
            ? cloud.describeInstances(region, [{ name: "instance-id", values: [options.hostInstanceId] }])
            : Promise.resolve([] as CloudInstance[]),
          cloud.describeVolumes(region, owned),
        ]);
        const hosts = [
          ...leavenHosts.filter((h) => mine(h.tags) && h.instanceId !== options.hostInstanceId),
          ...named,
        ];
        const ours = volumes.filter((v) => mine(v.tags));
        const live = hosts.filter((h) => h.state === "running");
        // Only a bake that succeeded is snapshotted (plan/volume-bake.ts): until then there is none to find.
        const snapshots = ours.some((v) => v.tags[Tag.bakeResult] === "success")
          ? await cloud.describeSnapshots(region, [
              ...owned,
              { name: `tag:${Tag.role}`, values: [VOLUME_BAKE_ROLE] },
            ])
          : [];
        // Device names are taken by whoever's volume holds them, not only Leaven's: the host's own
        // BlockDeviceMappings list them all.
        const devices = new Map<string, string[]>();
        for (const host of live) devices.set(host.instanceId, host.devices ?? []);
        const commands = new Map<string, ObservedCommand>();
        const lastCommandAt = new Map<string, string>();
        const volumeIds = new Set(ours.map((v) => v.volumeId));
        await Promise.all(
          live
            .filter((host) => commandsMatter(host, ours, options.idle))
            .map(async (host) => {
              const sent = await cloud.listCommands(region, host.instanceId);
              if (sent[0]) lastCommandAt.set(host.instanceId, sent[0].requestedAt);
              for (const summary of sent) {
                const named = parseBakeCommandComment(summary.comment);
                if (!named || !volumeIds.has(named.volumeId)) continue;
                const known = commands.get(named.volumeId);
                if (known && known.requestedAt >= summary.requestedAt) continue;
                commands.set(named.volumeId, {
                  commandId: summary.commandId,
                  instanceId: host.instanceId,
                  volumeId: named.volumeId,
                  build: named.build,
                  status: summary.status,
                  requestedAt: summary.requestedAt,
                });
              }
            }),
        );
        await Promise.all(
          [...commands.values()].map(async (command) => {
            const volume = ours.find((v) => v.volumeId === command.volumeId);
            // Read once: the verdict is then on the volume's tags.
            if (!volume || volume.tags[Tag.bakeResult] || !commandEnded(command.status)) return;
            const invocation = await cloud.getCommandInvocation(
              region,
              command.commandId,
              command.instanceId,
            );
            command.status = invocation.status;
            let outcome = parseBakeMarker(`${invocation.stdout}\n${invocation.stderr}`, command.build);
            const output = options.commandOutput;
            const spec = volume.tags[Tag.spec];
            if (!outcome && output && spec && invocation.stdout.length >= INVOCATION_OUTPUT_LIMIT) {
              // Cut before the marker (a chatty provisioning): the whole stdout is in the bucket.
              const prefix = bakeOutputPrefix(output.prefix, spec, command.build, command.volumeId);
              const key = commandOutputKey(prefix, command.commandId, command.instanceId, "stdout");
              const body = await output.store.getObject(output.bucket, key);
              if (body) outcome = parseBakeMarker(Buffer.from(body).toString("utf8"), command.build);
            }
            if (outcome) command.outcome = outcome;
            else if (invocation.stdout.length >= INVOCATION_OUTPUT_LIMIT) command.outputCut = true;
          }),
        );
        if (
          !options.imageId &&
          (options.launchRegions?.has(region) ?? true) &&
          !hosts.some((h) => h.state === "running" || h.state === "pending")
        ) {
          const images = await cloud.describeImages(region, {
            owners: ["amazon"],
            filters: [{ name: "name", values: [BAKERY_IMAGE_NAME] }],
          });
          const newest = images
            .filter((i) => i.state === "available")
            .sort((a, b) => a.creationDate.localeCompare(b.creationDate))
            .at(-1);
          if (newest) observation.hostImages.set(region, newest.imageId);
        } else if (options.imageId) observation.hostImages.set(region, options.imageId);
        observation.hosts.push(...hosts);
        observation.volumes.push(...ours);
        for (const [id, list] of devices) observation.devices.set(id, list);
        observation.snapshots.push(...snapshots.filter((s) => mine(s.tags)));
        for (const [id, command] of commands) observation.commands.set(id, command);
        for (const [id, at] of lastCommandAt) observation.lastCommandAt.set(id, at);
        observation.regions.push(region);
      } catch (error) {
        // Only the volume bakes there are blind (the planner waits); images and instances are not.
        observation.errors ??= new Map();
        observation.errors.set(region, errorMessage(error));
      }
    }),
  );
  observation.regions.sort();
  inventory.volumeBakes = observation;
  return inventory;
}
