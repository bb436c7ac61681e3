// Instance actions. A launched instance gets a timeline: pending → running, and when its user data
// declares a build, the simulated bake script finishes after `bakeScript` and powers the instance off
// (stopping → stopped), leaving the bake marker on the console — or never finishes under a hang fault.
import { createHash } from "node:crypto";
import { buildIdFromUserData, formatBakeMarker } from "../api/bake-protocol.ts";
import { checkFromUserData, formatCheckMarker } from "../api/check-protocol.ts";
import { manifestConsoleLines } from "../api/package-manifest.ts";
import { isWindowsUserData } from "../execute/windows-user-data.ts";
import { liveToken, noteInstancesEnding } from "./client-tokens.ts";
import { isVisible, visibleFrom } from "./consistency.ts";
import {
  capConsoleOutput,
  isNitroInstanceType,
  lastPostAt,
  latestUnsupported,
  schedulePosts,
} from "./console-buffer.ts";
import { type ActionHandler, callerRegion, type RequestContext } from "./context.ts";
import { newEncryption } from "./encryption.ts";
import { invalidParameterValue, missingParameter, SimError } from "./errors.ts";
import { bakeBehaviour, checkBehaviour } from "./faults.ts";
import { compileFilters, type FieldReader } from "./filters.ts";
import {
  checkImageId,
  checkInstanceId,
  findInstance,
  imageNotFound,
  instanceNotFound,
  seenImage,
} from "./ids.ts";
import { imageState } from "./images.ts";
import { bakeManifest, simManifestBody } from "./manifests.ts";
import { checkMaxResults } from "./pagination.ts";
import { filtersOf, type Params } from "./query-protocol.ts";
import { parseTagSpecifications, tagSetXml } from "./tags.ts";
import { attachedDevices } from "./volumes.ts";
import {
  type BlockDevice,
  type RegionState,
  type SimInstance,
  type SimInstanceState,
  type SimTimings,
  stateAt,
  truncateTimeline,
} from "./world.ts";
import type { XmlObject } from "./xml.ts";

const STATE_CODES: Record<SimInstanceState, number> = {
  pending: 0,
  running: 16,
  "shutting-down": 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

const USER_DATA_LIMIT = 16_384;

export function instanceState(instance: SimInstance, now: number): SimInstanceState {
  return stateAt(instance.timeline, now);
}

/** Terminated instances stay visible for `terminatedVisible`, then vanish, as on AWS. */
function isGone(instance: SimInstance, now: number, timings: SimTimings): boolean {
  const last = instance.timeline[instance.timeline.length - 1]!;
  return last.state === "terminated" && last.at + timings.terminatedVisible <= now;
}

function visibleInstance(ctx: RequestContext): (instance: SimInstance) => boolean {
  return (instance) => !isGone(instance, ctx.now, ctx.world.timings);
}

/** Drops instances that have vanished; derived state, so it needs no persistence of its own. */
function purgeGone(ctx: RequestContext, region: RegionState): void {
  for (const [id, instance] of region.instances) {
    if (isGone(instance, ctx.now, ctx.world.timings)) region.instances.delete(id);
  }
}

function hashHex(input: string): string {
  return createHash("sha256").update(input).digest("hex");
}

function privateIp(instanceId: string): string {
  const h = hashHex(instanceId);
  return `10.0.${Number.parseInt(h.slice(0, 2), 16)}.${(Number.parseInt(h.slice(2, 4), 16) % 250) + 4}`;
}

function stateXml(state: SimInstanceState): XmlObject {
  return { code: STATE_CODES[state], name: state };
}

function instanceXml(instance: SimInstance, index: number, ctx: RequestContext): XmlObject {
  const state = instanceState(instance, ctx.now);
  const ip = privateIp(instance.instanceId);
  const scriptStopped = instance.scriptDoneAt !== undefined && instance.scriptDoneAt <= ctx.now;
  const stoppedOrStopping = state === "stopped" || state === "stopping";
  const profile = instance.iamInstanceProfile;
  return {
    instanceId: instance.instanceId,
    imageId: instance.imageId,
    instanceState: stateXml(state),
    privateDnsName: `ip-${ip.replaceAll(".", "-")}.${ctx.region}.compute.internal`,
    dnsName: "",
    reason:
      stoppedOrStopping && scriptStopped
        ? "Client.InstanceInitiatedShutdown"
        : (instance.stateTransitionReason ?? ""),
    amiLaunchIndex: index,
    productCodes: [],
    instanceType: instance.instanceType,
    launchTime: new Date(instance.launchTime),
    placement: { availabilityZone: `${ctx.region}a`, groupName: "", tenancy: "default" },
    monitoring: { state: "disabled" },
    subnetId: instance.subnetId,
    privateIpAddress: ip,
    sourceDestCheck: true,
    groupSet: instance.securityGroupIds.map((groupId) => ({ groupId, groupName: groupId })),
    stateReason:
      stoppedOrStopping && scriptStopped
        ? {
            code: "Client.InstanceInitiatedShutdown",
            message: "Client.InstanceInitiatedShutdown: Instance initiated shutdown",
          }
        : instance.stateReason,
    architecture: instance.architecture,
    rootDeviceType: "ebs",
    rootDeviceName: instance.blockDevices[0]?.deviceName ?? "/dev/xvda",
    blockDeviceMapping:
      state === "terminated"
        ? []
        : [
            {
              deviceName: instance.blockDevices[0]?.deviceName ?? "/dev/xvda",
              ebs: {
                volumeId: instance.volumeId,
                status: "attached",
                attachTime: new Date(instance.launchTime),
                deleteOnTermination: instance.blockDevices[0]?.deleteOnTermination ?? true,
              },
            },
            ...attachedDevices(ctx, instance.instanceId).map(({ deviceName, ...ebs }) => ({
              deviceName,
              ebs: { ...ebs, deleteOnTermination: false },
            })),
          ],
    virtualizationType: "hvm",
    clientToken: instance.clientToken ?? "",
    tagSet: tagSetXml(instance.tags),
    hypervisor: "xen",
    iamInstanceProfile: profile
      ? {
          arn: profile.startsWith("arn:")
            ? profile
            : `arn:aws:iam::${ctx.account}:instance-profile/${profile}`,
          id: `AIPA${hashHex(profile).slice(0, 17).toUpperCase()}`,
        }
      : undefined,
    ebsOptimized: false,
    enaSupport: true,
    ...(isWindowsUserData(instance.userData) ? { platform: "windows" } : {}),
    platformDetails: isWindowsUserData(instance.userData) ? "Windows" : "Linux/UNIX",
    usageOperation: "RunInstances",
  };
}

function reservationXml(reservationId: string, instances: SimInstance[], ctx: RequestContext): XmlObject {
  const groups = instances[0]?.securityGroupIds ?? [];
  return {
    reservationId,
    ownerId: ctx.account,
    groupSet: groups.map((groupId) => ({ groupId, groupName: groupId })),
    instancesSet: instances.map((instance, index) => instanceXml(instance, index, ctx)),
  };
}

function architectureOfType(instanceType: string): string {
  // Graviton families carry a "g" after the generation (t4g, m7g, c7gn, r8gd…); a1 is Graviton too.
  return /^[a-z]+\d+g/.test(instanceType) || instanceType.startsWith("a1.") ? "arm64" : "x86_64";
}

function blockDevicesOf(params: Params): BlockDevice[] {
  return params.structs("BlockDeviceMapping").map((mapping, position) => {
    const deviceName = mapping.get("DeviceName");
    if (!deviceName) throw missingParameter(`BlockDeviceMapping.${position + 1}.DeviceName`);
    const device: BlockDevice = { deviceName };
    const size = mapping.int("Ebs.VolumeSize");
    if (size !== undefined) {
      if (size < 1 || size > 16_384) {
        throw invalidParameterValue(
          `Volume size ${size} for ${deviceName} is out of range (1 to 16384 GiB).`,
        );
      }
      device.volumeSize = size;
    }
    const type = mapping.get("Ebs.VolumeType");
    if (type !== undefined) {
      if (!["gp2", "gp3", "io1", "io2", "st1", "sc1", "standard"].includes(type)) {
        throw invalidParameterValue(
          `Value (${type}) for parameter volumeType is invalid. Use gp3, gp2, io1, io2, st1, sc1 or standard.`,
        );
      }
      device.volumeType = type;
    }
    const deleteOnTermination = mapping.bool("Ebs.DeleteOnTermination");
    if (deleteOnTermination !== undefined) device.deleteOnTermination = deleteOnTermination;
    const encrypted = mapping.bool("Ebs.Encrypted");
    if (encrypted !== undefined) device.encrypted = encrypted;
    const kmsKeyId = mapping.get("Ebs.KmsKeyId");
    if (kmsKeyId !== undefined) device.kmsKeyId = kmsKeyId;
    return device;
  });
}

function idempotentMismatch(): SimError {
  return new SimError(
    "IdempotentParameterMismatch",
    "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).",
  );
}

export const runInstances: ActionHandler = (ctx) => {
  const { params, now, world } = ctx;
  const region = callerRegion(ctx);
  const clientToken = params.get("ClientToken");
  const fingerprint = params.fingerprint(["ClientToken", "Action", "Version"]);
  if (clientToken) {
    const previous = liveToken(ctx, region, `RunInstances:${clientToken}`);
    if (previous) {
      if (previous.fingerprint !== fingerprint) throw idempotentMismatch();
      const instances = previous.ids.map((id) => region.instances.get(id)).filter((i) => i !== undefined);
      const ended = (state: string) => state === "terminated" || state === "shutting-down";
      if (instances.every((i) => ended(instanceState(i, now)))) {
        // As EC2 does: a token whose instance is gone cannot launch again; a new token is needed.
        throw new SimError(
          "IdempotentInstanceTerminated",
          "The client token has already been used for an instance that has been terminated. Use a new client token.",
        );
      }
      return reservationXml(instances[0]?.reservationId ?? previous.ids[0]!, instances, ctx);
    }
  }
  const imageId = params.require("ImageId");
  const minCount = params.int("MinCount");
  const maxCount = params.int("MaxCount");
  if (minCount === undefined) throw missingParameter("MinCount");
  if (maxCount === undefined) throw missingParameter("MaxCount");
  if (minCount < 1 || maxCount < minCount) {
    throw invalidParameterValue(
      `MinCount (${minCount}) must be at least 1 and not more than MaxCount (${maxCount}).`,
    );
  }
  checkImageId(imageId);
  // Only what the caller may launch: its own, public, or shared with it (and visible by now).
  const image = seenImage(ctx, imageId);
  if (!image) throw imageNotFound([imageId]);
  const imageStateNow = imageState(image, now);
  if (imageStateNow !== "available") {
    throw new SimError(
      "InvalidAMIID.Unavailable",
      `The image id '[${imageId}]' is not available to launch (state: ${imageStateNow}). Wait until it is available.`,
    );
  }
  const instanceType = params.get("InstanceType") ?? "m1.small";
  if (!/^[a-z][a-z0-9-]*\.[a-z0-9-]+$/.test(instanceType)) {
    throw invalidParameterValue(`Invalid value '${instanceType}' for InstanceType.`);
  }
  const architecture = architectureOfType(instanceType);
  if (architecture !== image.architecture) {
    throw invalidParameterValue(
      `The architecture '${architecture}' of the specified instance type does not match the architecture '${image.architecture}' of the specified AMI. Specify an instance type and an AMI that have matching architectures, and try again.`,
    );
  }
  const rawUserData = params.get("UserData") ?? "";
  const userData = Buffer.from(rawUserData, "base64").toString("utf8");
  if (Buffer.byteLength(userData) > USER_DATA_LIMIT) {
    throw invalidParameterValue(`User data is limited to ${USER_DATA_LIMIT} bytes.`);
  }
  const tagSpecs = parseTagSpecifications(params, ["instance", "volume", "network-interface"]);
  const subnetId = params.get("SubnetId");
  if (subnetId !== undefined && !/^subnet-[0-9a-f]{8,17}$/.test(subnetId)) {
    throw new SimError("InvalidSubnetID.Malformed", `Invalid id: "${subnetId}" (expecting "subnet-...")`);
  }
  const securityGroupIds = params.list("SecurityGroupId");
  for (const group of securityGroupIds) {
    if (!/^sg-[0-9a-f]{8,17}$/.test(group)) {
      throw new SimError("InvalidGroupId.Malformed", `Invalid id: "${group}" (expecting "sg-...")`);
    }
  }
  const profile = params.get("IamInstanceProfile.Arn") ?? params.get("IamInstanceProfile.Name");
  const blockDevices = blockDevicesOf(params);
  if (blockDevices.length === 0) blockDevices.push({ deviceName: image.rootDeviceName });
  // The root volume is encrypted as asked, else as the image's snapshot is, else by default (encryption.ts).
  const root = blockDevices[0]!;
  const rootSnapshot = image.snapshotIds[0]
    ? world.region(ctx.region).snapshots.get(image.snapshotIds[0])
    : undefined;
  const rootEncryption = newEncryption(
    ctx,
    {
      ...(root.encrypted !== undefined ? { encrypted: root.encrypted } : {}),
      ...(root.kmsKeyId ? { kmsKeyId: root.kmsKeyId } : {}),
    },
    {
      encrypted: image.encrypted ?? rootSnapshot?.encrypted ?? false,
      ...((rootSnapshot?.kmsKeyId ?? image.kmsKeyId)
        ? { kmsKeyId: rootSnapshot?.kmsKeyId ?? image.kmsKeyId }
        : {}),
    },
    "BlockDeviceMapping.1.Ebs.",
  );
  if (rootEncryption.encrypted) {
    root.encrypted = true;
    if (rootEncryption.kmsKeyId) root.kmsKeyId = rootEncryption.kmsKeyId;
  }
  const buildId = buildIdFromUserData(userData);
  const tags = tagSpecs.instance ?? {};
  const timings = world.timings;
  const reservationId = world.newId("r");
  const instances: SimInstance[] = [];
  for (let n = 0; n < maxCount; n++) {
    const running = now + timings.instancePending;
    const visibleAt = visibleFrom(ctx);
    const instance: SimInstance = {
      instanceId: world.newId("i"),
      reservationId,
      imageId,
      instanceType,
      architecture,
      launchTime: now,
      timeline: [
        { at: now, state: "pending" },
        { at: running, state: "running" },
      ],
      userData,
      bake: "none",
      tags: { ...tags },
      volumeTags: { ...(tagSpecs.volume ?? {}) },
      securityGroupIds,
      blockDevices: blockDevices.map((device) => ({ ...device })),
      volumeId: world.newId("vol"),
      ...(subnetId !== undefined ? { subnetId } : {}),
      ...(profile !== undefined ? { iamInstanceProfile: profile } : {}),
      ...(clientToken ? { clientToken } : {}),
      ...(visibleAt !== undefined ? { visibleAt } : {}),
      ...(ctx.faults.scriptOutputBytes ? { scriptOutputBytes: ctx.faults.scriptOutputBytes } : {}),
    };
    const check = checkFromUserData(userData);
    if (check !== undefined) {
      const build = /^LEAVEN_CHECK_BUILD=(.*)$/m.exec(userData)?.[1]?.replace(/^'|'$/g, "") ?? "";
      instance.check = { name: check, build, ...checkBehaviour(ctx.faults, tags, build) };
      // A check boots the image and runs a short script: a quarter of a bake.
      const done = running + Math.round(timings.bakeScript / 4);
      instance.scriptDoneAt = done;
      instance.timeline.push(
        { at: done, state: "stopping" },
        { at: done + timings.instanceStopping, state: "stopped" },
      );
    } else if (buildId !== undefined) {
      instance.buildId = buildId;
      const behaviour = bakeBehaviour(ctx.faults, tags, buildId);
      instance.bake = behaviour.kind;
      if (behaviour.kind === "failure") instance.bakeReason = behaviour.reason;
      if (behaviour.kind !== "hang") {
        // A Windows bake installs through Chocolatey and ends in Sysprep: half as long again.
        const script = isWindowsUserData(userData)
          ? Math.round(timings.bakeScript * 1.5)
          : timings.bakeScript;
        const done = running + script;
        instance.scriptDoneAt = done;
        instance.timeline.push(
          { at: done, state: "stopping" },
          { at: done + timings.instanceStopping, state: "stopped" },
        );
      }
    }
    schedulePosts(ctx, instance.timeline);
    region.instances.set(instance.instanceId, instance);
    instances.push(instance);
  }
  if (clientToken) {
    region.tokens.set(`RunInstances:${clientToken}`, {
      fingerprint,
      ids: instances.map((i) => i.instanceId),
    });
  }
  return reservationXml(reservationId, instances, ctx);
};

const instanceFields: FieldReader<{ instance: SimInstance; state: SimInstanceState }> = {
  "instance-id": (r) => r.instance.instanceId,
  "instance-state-name": (r) => r.state,
  "instance-state-code": (r) => String(STATE_CODES[r.state]),
  "instance-type": (r) => r.instance.instanceType,
  "image-id": (r) => r.instance.imageId,
  "reservation-id": (r) => r.instance.reservationId,
  "client-token": (r) => r.instance.clientToken,
  "subnet-id": (r) => r.instance.subnetId,
  architecture: (r) => r.instance.architecture,
  "instance.group-id": (r) => r.instance.securityGroupIds,
  "launch-time": (r) => new Date(r.instance.launchTime).toISOString(),
};

export const describeInstances: ActionHandler = (ctx) => {
  const { params, now } = ctx;
  const region = callerRegion(ctx);
  purgeGone(ctx, region);
  const instanceIds = params.list("InstanceId");
  for (const id of instanceIds) checkInstanceId(id);
  const maxResults = params.int("MaxResults");
  checkMaxResults(maxResults, 5, 1000);
  if (maxResults !== undefined && instanceIds.length > 0) {
    throw new SimError(
      "InvalidParameterCombination",
      "The parameter instancesSet cannot be used with the parameter maxResults",
    );
  }
  const predicate = compileFilters(filtersOf(params), instanceFields, (r) => r.instance.tags);
  const compute = (): string[] => {
    const missing = instanceIds.filter((id) => {
      const instance = region.instances.get(id);
      return !instance || !isVisible(instance, now);
    });
    if (missing.length > 0) throw instanceNotFound(missing);
    const candidates =
      instanceIds.length > 0 ? instanceIds.map((id) => region.instances.get(id)!) : region.instances.values();
    const ids: string[] = [];
    for (const instance of candidates) {
      if (!isVisible(instance, now)) continue;
      if (predicate({ instance, state: instanceState(instance, now) })) ids.push(instance.instanceId);
    }
    return ids;
  };
  const key = `DescribeInstances:${ctx.account}:${ctx.region}:${params.fingerprint(["NextToken", "MaxResults", "Action", "Version"])}`;
  const page = ctx.listings.page(key, params.get("NextToken"), maxResults, compute);
  const byReservation = new Map<string, SimInstance[]>();
  for (const id of page.ids) {
    const instance = region.instances.get(id);
    if (!instance) continue;
    const group = byReservation.get(instance.reservationId) ?? [];
    group.push(instance);
    byReservation.set(instance.reservationId, group);
  }
  return {
    reservationSet: [...byReservation].map(([reservationId, instances]) =>
      reservationXml(reservationId, instances, ctx),
    ),
    nextToken: page.nextToken,
  };
};

function targetInstances(ctx: RequestContext): SimInstance[] {
  const ids = ctx.params.list("InstanceId");
  if (ids.length === 0) throw missingParameter("InstanceId");
  return ids.map((id) => findInstance(ctx, id, visibleInstance(ctx)));
}

/** The bake script is cut short when the instance is stopped or terminated before it finishes. */
function interruptScript(instance: SimInstance, now: number): void {
  if (instance.scriptDoneAt !== undefined && instance.scriptDoneAt > now) delete instance.scriptDoneAt;
  truncateTimeline(instance.timeline, now);
}

export const stopInstances: ActionHandler = (ctx) => {
  const { now } = ctx;
  const timings = ctx.world.timings;
  const instances = targetInstances(ctx);
  for (const instance of instances) {
    const state = instanceState(instance, now);
    if (state === "pending" || state === "shutting-down" || state === "terminated") {
      throw new SimError(
        "IncorrectInstanceState",
        `This instance '${instance.instanceId}' is not in a state from which it can be stopped (it is ${state}).`,
      );
    }
  }
  const changes = instances.map((instance) => {
    const previous = instanceState(instance, now);
    if (previous === "running") {
      interruptScript(instance, now);
      instance.timeline.push(
        { at: now, state: "stopping" },
        { at: now + timings.instanceStopping, state: "stopped" },
      );
      instance.stateTransitionReason = `User initiated (${new Date(now).toISOString().replace("T", " ").slice(0, 19)} GMT)`;
      schedulePosts(ctx, instance.timeline);
    }
    return {
      instanceId: instance.instanceId,
      currentState: stateXml(instanceState(instance, now)),
      previousState: stateXml(previous),
    };
  });
  return { instancesSet: changes };
};

/**
 * A stopped instance starts again: pending, then running after `instanceStarting`, its LaunchTime the start's
 * (as EC2 reports it). A running or pending one is left as it is; any other state is refused, as EC2 does.
 */
export const startInstances: ActionHandler = (ctx) => {
  const { now } = ctx;
  const timings = ctx.world.timings;
  const instances = targetInstances(ctx);
  for (const instance of instances) {
    const state = instanceState(instance, now);
    if (state !== "stopped" && state !== "running" && state !== "pending") {
      throw new SimError(
        "IncorrectInstanceState",
        `The instance '${instance.instanceId}' is not in a state from which it can be started (it is ${state}).`,
      );
    }
  }
  const changes = instances.map((instance) => {
    const previous = instanceState(instance, now);
    if (previous === "stopped") {
      instance.timeline.push(
        { at: now, state: "pending" },
        { at: now + timings.instanceStarting, state: "running" },
      );
      instance.launchTime = now;
      instance.stateTransitionReason = "";
      schedulePosts(ctx, instance.timeline);
    }
    return {
      instanceId: instance.instanceId,
      currentState: stateXml(instanceState(instance, now)),
      previousState: stateXml(previous),
    };
  });
  return { instancesSet: changes };
};

export const terminateInstances: ActionHandler = (ctx) => {
  const { now } = ctx;
  const timings = ctx.world.timings;
  const instances = targetInstances(ctx);
  const changes = instances.map((instance) => {
    const previous = instanceState(instance, now);
    if (previous !== "terminated" && previous !== "shutting-down") {
      interruptScript(instance, now);
      instance.timeline.push(
        { at: now, state: "shutting-down" },
        { at: now + timings.instanceShuttingDown, state: "terminated" },
      );
      instance.stateTransitionReason = `User initiated (${new Date(now).toISOString().replace("T", " ").slice(0, 19)} GMT)`;
      instance.stateReason = {
        code: "Client.UserInitiatedShutdown",
        message: "Client.UserInitiatedShutdown: User initiated shutdown",
      };
      schedulePosts(ctx, instance.timeline);
    }
    return {
      instanceId: instance.instanceId,
      currentState: stateXml(instanceState(instance, now)),
      previousState: stateXml(previous),
    };
  });
  noteInstancesEnding(callerRegion(ctx), instances, terminatedAt);
  return { instancesSet: changes };
};

/** When an instance is (or will be) terminated; undefined while it is not terminating. */
function terminatedAt(instance: SimInstance): number | undefined {
  const last = instance.timeline[instance.timeline.length - 1]!;
  return last.state === "terminated" ? last.at : undefined;
}

function bootLog(instance: SimInstance, region: string): string[] {
  const at = (offset: number) => `[${(offset / 1000).toFixed(6).padStart(12)}]`;
  return [
    `${at(0)} Linux version 6.8.0-1015-aws (buildd@lcy02-amd64-052) (gcc 13.2.0) #16-Ubuntu SMP`,
    `${at(4)} Command line: BOOT_IMAGE=/vmlinuz-6.8.0-1015-aws root=PARTUUID=${hashHex(instance.instanceId).slice(0, 8)} ro console=tty1 console=ttyS0`,
    `${at(1_204)} EXT4-fs (nvme0n1p1): mounted filesystem with ordered data mode.`,
    `${at(3_550)} cloud-init[512]: Cloud-init v. 24.1.3 running 'init' at ${new Date(instance.launchTime + 8_000).toUTCString()}.`,
    `${at(3_811)} cloud-init[512]: ci-info: | eth0 | True | ${privateIp(instance.instanceId)} | 255.255.240.0 | global |`,
    `${at(5_020)} cloud-init[700]: Cloud-init v. 24.1.3 running 'modules:final' (instance ${instance.instanceId}, ${region}a).`,
  ];
}

/** A Windows instance's console: EC2Launch v2 writes its progress to COM1, as the bake script does. */
function windowsBootLog(instance: SimInstance, region: string): string[] {
  const at = new Date(instance.launchTime + 40_000).toISOString().replace(/\.\d+Z$/, "Z");
  return [
    `${at} Info: EC2Launch v2 service v2.0.2107 starting`,
    `${at} Info: Instance ${instance.instanceId} in ${region}a, Windows_Server-2022-English-Full-Base`,
    `${at} Info: Windows is being configured. SysprepState=IMAGE_STATE_COMPLETE`,
    `${at} Message: Windows is Ready to use`,
    `${at} Info: Running executeScript task (powershell, frequency once)`,
  ];
}

/** What the console shows at time `at`; undefined while the instance is still pending then. */
function consoleText(
  instance: SimInstance,
  region: string,
  at: number,
  manifest: readonly string[] = [],
): string | undefined {
  const state = instanceState(instance, at);
  if (state === "pending") return undefined;
  const windows = isWindowsUserData(instance.userData);
  const lines = windows ? windowsBootLog(instance, region) : bootLog(instance, region);
  const done = instance.scriptDoneAt !== undefined && instance.scriptDoneAt <= at;
  if (instance.buildId !== undefined) {
    lines.push(`${windows ? "EC2Launch:" : "cloud-init[731]:"} leaven: baking build ${instance.buildId}`);
    lines.push(...scriptOutput(instance));
    if (done) {
      const outcome =
        instance.bake === "failure"
          ? {
              build: instance.buildId,
              result: "failure" as const,
              reason: instance.bakeReason ?? "bake failed",
            }
          : { build: instance.buildId, result: "success" as const };
      if (outcome.result === "failure")
        lines.push(`${windows ? "EC2Launch:" : "cloud-init[731]:"} leaven: ${outcome.reason}`);
      // The package manifest the bake lists after provisioning, just before its marker (user-data.ts).
      else lines.push(...manifest);
      lines.push(formatBakeMarker(outcome));
    }
  }
  if (instance.check !== undefined) {
    lines.push(
      `cloud-init[731]: leaven: running the ${instance.check.name} check of ${instance.check.build}`,
    );
    lines.push(...scriptOutput(instance));
    if (done) {
      if (!instance.check.passed) lines.push(`check.sh: ${instance.check.reason ?? "failed"}`);
      lines.push(
        formatCheckMarker({
          check: instance.check.name,
          build: instance.check.build,
          result: instance.check.passed ? "passed" : "failed",
          ...(instance.check.passed ? {} : { reason: instance.check.reason ?? "the check script failed" }),
        }),
      );
    }
  }
  if (windows && (done || state === "stopped" || state === "terminated")) {
    // After the success marker the script runs Sysprep through EC2Launch, which shuts the instance down.
    if (instance.bake !== "failure") lines.push("EC2Launch: Info: Running sysprep with --clean --shutdown");
    lines.push("EC2Launch: Info: Shutting down the instance");
  } else if (done || state === "stopped" || state === "terminated") {
    lines.push(
      "         Stopping cloud-init-final.service...",
      "[  OK  ] Reached target poweroff.target.",
      "reboot: Power down",
    );
  }
  return `${lines.join("\r\n")}\r\n`;
}

/** The script's own chatter (Faults.scriptOutputBytes): numbered lines of about 100 bytes each. */
function scriptOutput(instance: SimInstance): string[] {
  const lines: string[] = [];
  let bytes = 0;
  for (let n = 1; bytes < (instance.scriptOutputBytes ?? 0); n++) {
    const line = `cloud-init[731]: step ${String(n).padStart(6, "0")}: ${"installing packages, ".repeat(3)}done`;
    lines.push(line);
    bytes += line.length + 2;
  }
  return lines;
}

/** The manifest lines a successful Linux bake prints (manifests.ts), or none. */
function manifestLines(ctx: RequestContext, instance: SimInstance): string[] {
  if (instance.buildId === undefined || instance.bake === "failure") return [];
  const manifest = bakeManifest(ctx.world, ctx.region, instance);
  return manifest ? manifestConsoleLines(instance.buildId, simManifestBody(manifest)) : [];
}

function consoleOutput(text: string): string {
  return capConsoleOutput(text).toString("base64");
}

export const getConsoleOutput: ActionHandler = (ctx) => {
  const { now } = ctx;
  const instance = findInstance(ctx, ctx.params.require("InstanceId"), visibleInstance(ctx));
  const latest = ctx.params.bool("Latest") ?? false;
  const manifest = manifestLines(ctx, instance);
  if (!ctx.awkward.console) {
    // The exact mode: always the live console.
    const text = consoleText(instance, ctx.region, now, manifest);
    return {
      instanceId: instance.instanceId,
      timestamp: new Date(now),
      ...(text !== undefined ? { output: consoleOutput(text) } : {}),
    };
  }
  if (latest) {
    if (!isNitroInstanceType(instance.instanceType)) throw latestUnsupported(instance.instanceType);
    const text = consoleText(instance, ctx.region, now, manifest);
    return {
      instanceId: instance.instanceId,
      timestamp: new Date(now),
      ...(text !== undefined ? { output: consoleOutput(text) } : {}),
    };
  }
  // What EC2 last posted, while it keeps it (console-buffer.ts).
  const posted = lastPostAt(instance.timeline, now);
  if (posted === undefined || now >= posted + ctx.awkward.consoleRetentionMs) {
    return {
      instanceId: instance.instanceId,
      ...(posted !== undefined ? { timestamp: new Date(posted) } : {}),
    };
  }
  const text = consoleText(instance, ctx.region, posted, manifest);
  return {
    instanceId: instance.instanceId,
    timestamp: new Date(posted),
    ...(text !== undefined ? { output: consoleOutput(text) } : {}),
  };
};
