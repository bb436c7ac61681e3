// The simulated EC2 world: per-region images, snapshots, instances and idempotency tokens. Resources
// carry timelines of (time, state) computed when they are created or acted on, so the current state is
// read lazily from the clock — no timers — and a manual clock makes every transition deterministic.
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, readFileSync } from "node:fs";
import { dirname } from "node:path";
import type { Clock } from "../cloud/clock.ts";
import { AWS_CONCURRENT_COPY_LIMIT } from "../cloud/ec2-limits.ts";
import { SIM_ACCOUNT_ID, SIM_CONSUMER_ACCOUNT_ID, SIM_REGIONS } from "./regions.ts";
import { type ClockAnchor, writeAtomically } from "./state-files.ts";

/** Accounts besides SIM_ACCOUNT_ID whose images are the caller's own when they call (accounts.ts). */
const SIMULATED_ACCOUNTS: readonly string[] = [SIM_CONSUMER_ACCOUNT_ID];

export type Tags = Record<string, string>;

export interface TimelineEntry<S extends string> {
  at: number;
  state: S;
  /** Awkward console: how long after this transition EC2 posts the console output (console-buffer.ts). */
  postLag?: number;
}

export type SimImageState = "pending" | "available" | "disabled" | "failed";
export type SimInstanceState =
  | "pending"
  | "running"
  | "stopping"
  | "stopped"
  | "shutting-down"
  | "terminated";

export interface LaunchPermission {
  userId?: string;
  group?: string;
  organizationArn?: string;
  organizationalUnitArn?: string;
}

export interface SimImage {
  imageId: string;
  name: string;
  description?: string;
  ownerId: string;
  ownerAlias?: string;
  /** "windows" for Windows images (EC2's Platform field); Linux images have none. */
  platform?: "windows";
  architecture: string;
  isPublic: boolean;
  creationDate: number;
  timeline: TimelineEntry<SimImageState>[];
  deprecationTime?: number;
  rootDeviceName: string;
  volumeSize: number;
  snapshotIds: string[];
  tags: Tags;
  launchPermissions: LaunchPermission[];
  sourceInstanceId?: string;
  sourceImageId?: string;
  sourceRegion?: string;
  /** The package manifest's body (manifests.ts) of an image CreateImage made, carried by its copies. */
  packages?: string;
  encrypted?: boolean;
  kmsKeyId?: string;
  /** Eventual consistency: calls other than the creating one see the image from then on (consistency.ts). */
  visibleAt?: number;
  /** Tags other accounts put on the image: each sees only its own (EC2 keeps tags per account). */
  accountTags?: Record<string, Tags>;
  /** RegisterImage's flags; absent = what CreateImage gives (hvm, ENA, SR-IOV simple, EC2's boot mode). */
  bootMode?: string;
  enaSupport?: boolean;
  sriovNetSupport?: string;
  virtualizationType?: string;
}

export interface SimSnapshot {
  snapshotId: string;
  ownerId: string;
  volumeId: string;
  volumeSize: number;
  description: string;
  startTime: number;
  completedAt: number;
  encrypted: boolean;
  kmsKeyId?: string;
  tags: Tags;
  /** Who may create volumes from it (ModifySnapshotAttribute createVolumePermission); absent = nobody. */
  createVolumePermissions?: VolumePermission[];
  visibleAt?: number;
  accountTags?: Record<string, Tags>;
  /** The image that used it was deregistered then: EC2 keeps it in use a little longer (consistency.ts). */
  releasedFrom?: { imageId: string; at: number };
  /** CreateSnapshot of a volume: the blocks written since the volume's own snapshot, in GiB (volumes.ts). */
  changedGiB?: number;
  /** The package manifest's body of the volume it was taken of, when a chroot bake wrote one (run-command.ts). */
  packages?: string;
}

/** An EBS volume (volumes.ts): created from a snapshot in one availability zone, attached to one instance. */
export interface SimVolume {
  volumeId: string;
  ownerId: string;
  availabilityZone: string;
  /** GiB. */
  size: number;
  volumeType: string;
  snapshotId?: string;
  createTime: number;
  /** creating until then, available (or in-use) after. */
  availableAt: number;
  tags: Tags;
  clientToken?: string;
  attachment?: {
    instanceId: string;
    device: string;
    /** attaching until then. */
    attachedAt: number;
    /** DetachVolume: detaching until then, then the volume is available again. */
    detachedAt?: number;
  };
  /** Written by a simulated chroot bake (SendCommand): the next snapshot's changed blocks count them. */
  written?: boolean;
  /** As CreateVolume decided (encryption.ts newEncryption): its snapshots are encrypted the same. */
  encrypted?: boolean;
  kmsKeyId?: string;
  /** The package manifest's body a successful chroot bake left on it, carried by its snapshot and image. */
  packages?: string;
}

/** One SSM Run Command invocation on one instance (run-command.ts). */
export interface SimCommand {
  commandId: string;
  instanceId: string;
  documentName: string;
  commands: string[];
  comment?: string;
  requestedAt: number;
  /** Eventual consistency (awkward): ListCommands and GetCommandInvocation see the command only from then. */
  visibleAt?: number;
  /** Pending until then (the agent picks it up), InProgress until doneAt. */
  startedAt: number;
  doneAt: number;
  /** What the command prints when done, and how it ends. */
  result: "success" | "failure";
  stdout: string;
  stderr: string;
  /** executionTimeout: a command still running then is TimedOut. */
  timeoutAt: number;
  /** SendCommand's OutputS3BucketName and OutputS3KeyPrefix: where the agent writes the whole output. */
  outputS3?: { bucket: string; keyPrefix: string };
  /** The agent has written (or given up writing) the output to S3 (run-command.ts deliverCommandOutputs). */
  outputDelivered?: true;
}

/** One create-volume permission: an account, or `group: "all"` (public). */
export interface VolumePermission {
  userId?: string;
  group?: string;
}

export interface BlockDevice {
  deviceName: string;
  volumeSize?: number;
  volumeType?: string;
  deleteOnTermination?: boolean;
  encrypted?: boolean;
  /** The KMS key the volume is encrypted with, as the request named it or the account's default key. */
  kmsKeyId?: string;
}

export interface SimInstance {
  instanceId: string;
  reservationId: string;
  imageId: string;
  instanceType: string;
  architecture: string;
  launchTime: number;
  timeline: TimelineEntry<SimInstanceState>[];
  userData: string;
  buildId?: string;
  /** What the simulated bake script does; "none" when the user data declares no build. */
  bake: "success" | "failure" | "hang" | "none";
  bakeReason?: string;
  /** A check instance (user data declares LEAVEN_CHECK): which check, of which build. */
  check?: { name: string; build: string; passed: boolean; reason?: string };
  /** When the bake script printed its marker and powered off; unset if it never finished. */
  scriptDoneAt?: number;
  stateReason?: { code: string; message: string };
  stateTransitionReason?: string;
  tags: Tags;
  volumeTags: Tags;
  subnetId?: string;
  securityGroupIds: string[];
  iamInstanceProfile?: string;
  blockDevices: BlockDevice[];
  volumeId: string;
  clientToken?: string;
  visibleAt?: number;
  /** Bytes the bake or check script prints to the console before its marker (Faults.scriptOutputBytes). */
  scriptOutputBytes?: number;
}

/** A launch template (one version): what CreateLaunchTemplate was sent, kept to describe it back. */
export interface SimLaunchTemplate {
  launchTemplateId: string;
  name: string;
  createTime: number;
  versionDescription?: string;
  /** The `LaunchTemplateData.*` request parameters, flattened as sent (e.g. `ImageId`, `UserData`). */
  data: Record<string, string>;
  tags: Tags;
  clientToken?: string;
  /** Versions after the first (CreateLaunchTemplateVersion); version 1 is `data`. */
  laterVersions?: {
    versionNumber: number;
    createTime: number;
    data: Record<string, string>;
    description?: string;
  }[];
  /** Default 1 (ModifyLaunchTemplate SetDefaultVersion). */
  defaultVersion?: number;
}

/** An SSM parameter of the caller's (Parameter Store); public `/aws/service/...` ones are derived, see ssm.ts. */
export interface SimParameter {
  name: string;
  value: string;
  /** `String` (Leaven writes only these), `StringList` or `SecureString`. */
  type: string;
  /** `text` or `aws:ec2:image`. */
  dataType: string;
  version: number;
  lastModified: number;
  description?: string;
  tags: Tags;
}

/** A DynamoDB table (dynamodb.ts): one account's, in one region, with a partition key only. */
export interface SimTable {
  account: string;
  region: string;
  name: string;
  hashKey: { name: string; type: "S" | "N" | "B" };
  createdAt: number;
  billingMode: string;
  /** Items (attribute name → wire AttributeValue) by dynamodb.ts itemKey of their key value. */
  items: Record<string, Record<string, Record<string, unknown>>>;
}

/** An S3 bucket of the simulator (s3.ts): one account's, its objects by key. */
export interface SimS3Bucket {
  name: string;
  account: string;
  region: string;
  createdAt: number;
  objects: Record<
    string,
    {
      body: string;
      contentType: string;
      contentEncoding?: string;
      tags: Record<string, string>;
      lastModified: number;
      etag: string;
    }
  >;
}

export interface IdempotencyRecord {
  fingerprint: string;
  /** Instance ids of a RunInstances reservation, or the image id of a CopyImage. */
  ids: string[];
  /** When what the token made was gone: all instances terminated, or the copy deregistered (client-tokens.ts). */
  endedAt?: number;
}

export interface RegionState {
  images: Map<string, SimImage>;
  snapshots: Map<string, SimSnapshot>;
  instances: Map<string, SimInstance>;
  /** By id; names are unique per region and account. */
  launchTemplates: Map<string, SimLaunchTemplate>;
  /** `${action}:${clientToken}` → what the first request created. */
  tokens: Map<string, IdempotencyRecord>;
  /** Name → image id of the caller's images: AMI names are unique per region and account. */
  ownNames: Map<string, string>;
  /** Bumped on every change to the region's images, so cached listings know when they are stale. */
  imageVersion: number;
  /** The caller's SSM parameters, by name. */
  parameters: Map<string, SimParameter>;
  /** EnableEbsEncryptionByDefault for this account and region; absent = never set (off). */
  ebsEncryptionByDefault?: boolean;
  /** The caller's EBS volumes, by id. */
  volumes: Map<string, SimVolume>;
  /** SSM Run Command invocations, by `${commandId}/${instanceId}`. */
  commands: Map<string, SimCommand>;
}

/** How long simulated transitions take, in the simulator clock's milliseconds. */
export interface SimTimings {
  instancePending: number;
  bakeScript: number;
  instanceStopping: number;
  /** StartInstances of a stopped instance: pending → running (EC2 takes 15–30 s for a small EBS-backed one). */
  instanceStarting: number;
  instanceShuttingDown: number;
  terminatedVisible: number;
  imagePending: number;
  copyPending: number;
  /** CreateVolume from a snapshot: creating → available. */
  volumeCreating: number;
  /** AttachVolume: attaching → attached. */
  volumeAttaching: number;
  /** DetachVolume: detaching → available. */
  volumeDetaching: number;
  /** CreateSnapshot of a volume: per GiB of changed blocks (about 7–8 % of a baked volume). */
  snapshotPerChangedGiB: number;
  /** RegisterImage: pending → available. */
  registerPending: number;
  /** SSM Run Command: the agent picks the command up (Pending → InProgress). */
  commandPickup: number;
  /** The chroot bake script (Run Command) runs this long (InProgress → Success/Failed). */
  volumeBakeScript: number;
}

export const DEFAULT_TIMINGS: Readonly<SimTimings> = {
  instancePending: 15_000,
  bakeScript: 4 * 60_000,
  instanceStopping: 20_000,
  instanceStarting: 20_000,
  instanceShuttingDown: 20_000,
  terminatedVisible: 60 * 60_000,
  // CreateImage snapshots the whole root of the stopped bake instance: with boot and provisioning (4 min) an
  // instance bake is 15 s + 4 min + 20 s + 4 min ≈ 8.6 minutes, inside the seeds' 8–10.
  imagePending: 4 * 60_000,
  copyPending: 8 * 60_000,
  // A volume bake, calibrated from the Bakery/Aminator figures (under 5 minutes in all): create 15 s, attach
  // 5 s, pick-up 2 s + chroot script 2 min, detach 10 s, snapshot of 0.6 GiB changed (8 GiB × 7.5 %) ≈ 54 s,
  // register 20 s: about 3.8 minutes before polling. An instance bake is ~8.6 minutes before polling.
  volumeCreating: 15_000,
  volumeAttaching: 5_000,
  volumeDetaching: 10_000,
  snapshotPerChangedGiB: 90_000,
  registerPending: 20_000,
  commandPickup: 2_000,
  volumeBakeScript: 2 * 60_000,
};

export function stateAt<S extends string>(timeline: readonly TimelineEntry<S>[], now: number): S {
  let state = timeline[0]!.state;
  for (const entry of timeline) {
    if (entry.at > now) break;
    state = entry.state;
  }
  return state;
}

/** Drops the transitions scheduled after `now`: an action replaces the resource's future. */
export function truncateTimeline<S extends string>(timeline: TimelineEntry<S>[], now: number): void {
  while (timeline.length > 1 && timeline[timeline.length - 1]!.at > now) timeline.pop();
}

interface PersistedRegion {
  images: SimImage[];
  snapshots: SimSnapshot[];
  instances: SimInstance[];
  /** Absent in state files written before the simulator had launch templates. */
  launchTemplates?: SimLaunchTemplate[];
  tokens: [string, IdempotencyRecord][];
  /** Absent in state files written before the simulator served SSM. */
  parameters?: SimParameter[];
  ebsEncryptionByDefault?: boolean;
  /** Absent in state files written before the simulator had volumes and Run Command. */
  volumes?: SimVolume[];
  commands?: SimCommand[];
}

/** What another account keeps of its own in a region; its images and snapshots live with everyone's. */
type PersistedAccountRegion = Omit<PersistedRegion, "images" | "snapshots">;

interface PersistedWorld {
  format: "leaven-sim/v1";
  clockNow: number;
  /** Wall-clock ms when `clockNow` was read; absent in state files written before restarts continued the clock. */
  savedAt?: number;
  /** The clock's speed then (simulated ms per wall ms); absent likewise. */
  speed?: number;
  epoch: number;
  idCounter: number;
  regions: Record<string, PersistedRegion>;
  /** Accounts other than SIM_ACCOUNT_ID (accounts.ts), by account id then region; absent before there were any. */
  accounts?: Record<string, Record<string, PersistedAccountRegion>>;
  /** DynamoDB tables with their items (dynamodb.ts); absent when there are none. */
  dynamoTables?: SimTable[];
  /** S3 buckets with their objects, bodies in base64 (s3.ts); absent when there are none. */
  s3Buckets?: SimS3Bucket[];
}

function emptyRegion(shared?: RegionState): RegionState {
  return {
    // Every account sees the same images and snapshots, each through its own permissions.
    images: shared?.images ?? new Map(),
    snapshots: shared?.snapshots ?? new Map(),
    instances: new Map(),
    launchTemplates: new Map(),
    tokens: new Map(),
    ownNames: new Map(),
    imageVersion: 0,
    parameters: new Map(),
    volumes: new Map(),
    commands: new Map(),
  };
}

export class World {
  /** SIM_ACCOUNT_ID's regions. */
  readonly regions = new Map<string, RegionState>();
  /** Other accounts' regions (accounts.ts), sharing the images and snapshots of `regions`. */
  readonly accounts = new Map<string, Map<string, RegionState>>();
  /** DynamoDB tables (dynamodb.ts), by `account/region/name`. */
  readonly dynamoTables = new Map<string, SimTable>();
  /** S3 buckets (s3.ts), by name: one namespace for every account, as S3's. */
  readonly s3Buckets = new Map<string, SimS3Bucket>();
  readonly clock: Clock;
  readonly timings: SimTimings;
  /** The simulated time the world was created; vendor image dates are spread before it. */
  epoch: number;
  /** AMI copies that may be pending into one region at once; CopyImage beyond it is ResourceLimitExceeded. */
  concurrentCopyLimit = AWS_CONCURRENT_COPY_LIMIT;
  /** How fast `clock` runs against wall time, saved with the world so a restart can continue the clock. */
  clockSpeed = 1;
  private idCounter = 0;

  constructor(clock: Clock, timings: SimTimings, epoch: number) {
    this.clock = clock;
    this.timings = timings;
    this.epoch = epoch;
    for (const region of SIM_REGIONS) this.regions.set(region, emptyRegion());
  }

  now(): number {
    return this.clock.now();
  }

  region(name: string): RegionState {
    let state = this.regions.get(name);
    if (!state) {
      state = emptyRegion();
      this.regions.set(name, state);
    }
    return state;
  }

  /** One account's view of a region: its own instances, templates, tokens and parameters; everyone's images. */
  accountRegion(account: string, name: string): RegionState {
    if (account === SIM_ACCOUNT_ID) return this.region(name);
    let regions = this.accounts.get(account);
    if (!regions) {
      regions = new Map();
      this.accounts.set(account, regions);
    }
    let state = regions.get(name);
    if (!state) {
      state = emptyRegion(this.region(name));
      regions.set(name, state);
    }
    return state;
  }

  /** A new resource id like AWS's (`ami-` + 17 hex digits), deterministic for a given sequence of calls. */
  newId(prefix: string): string {
    this.idCounter += 1;
    return `${prefix}-${createHash("sha256").update(`${prefix}:${this.idCounter}`).digest("hex").slice(0, 17)}`;
  }

  /** Whether an owner id is one of the simulated accounts (the caller's, or another that has state here). */
  private isSimulatedAccount(ownerId: string): boolean {
    return ownerId === SIM_ACCOUNT_ID || SIMULATED_ACCOUNTS.includes(ownerId);
  }

  addImage(region: string, image: SimImage): void {
    const state = this.region(region);
    state.images.set(image.imageId, image);
    if (this.isSimulatedAccount(image.ownerId))
      this.accountRegion(image.ownerId, region).ownNames.set(image.name, image.imageId);
    state.imageVersion += 1;
  }

  removeImage(region: string, imageId: string): void {
    const state = this.region(region);
    const image = state.images.get(imageId);
    if (!image) return;
    state.images.delete(imageId);
    if (this.isSimulatedAccount(image.ownerId)) {
      const names = this.accountRegion(image.ownerId, region).ownNames;
      if (names.get(image.name) === imageId) names.delete(image.name);
    }
    state.imageVersion += 1;
  }

  touchImages(region: string): void {
    this.region(region).imageVersion += 1;
  }

  toJSON(): PersistedWorld {
    const regions: Record<string, PersistedRegion> = {};
    for (const [name, state] of this.regions) {
      regions[name] = {
        images: [...state.images.values()],
        snapshots: [...state.snapshots.values()],
        instances: [...state.instances.values()],
        launchTemplates: [...state.launchTemplates.values()],
        tokens: [...state.tokens],
        parameters: [...state.parameters.values()],
        volumes: [...state.volumes.values()],
        commands: [...state.commands.values()],
        ...(state.ebsEncryptionByDefault !== undefined
          ? { ebsEncryptionByDefault: state.ebsEncryptionByDefault }
          : {}),
      };
    }
    const accounts: Record<string, Record<string, PersistedAccountRegion>> = {};
    for (const [account, states] of this.accounts) {
      const persisted: Record<string, PersistedAccountRegion> = {};
      for (const [name, state] of states) {
        persisted[name] = {
          instances: [...state.instances.values()],
          launchTemplates: [...state.launchTemplates.values()],
          tokens: [...state.tokens],
          parameters: [...state.parameters.values()],
          volumes: [...state.volumes.values()],
          commands: [...state.commands.values()],
          ...(state.ebsEncryptionByDefault !== undefined
            ? { ebsEncryptionByDefault: state.ebsEncryptionByDefault }
            : {}),
        };
      }
      accounts[account] = persisted;
    }
    return {
      format: "leaven-sim/v1",
      ...this.clockAnchor(),
      epoch: this.epoch,
      idCounter: this.idCounter,
      regions,
      ...(this.accounts.size > 0 ? { accounts } : {}),
      ...(this.dynamoTables.size > 0 ? { dynamoTables: [...this.dynamoTables.values()] } : {}),
      ...(this.s3Buckets.size > 0 ? { s3Buckets: [...this.s3Buckets.values()] } : {}),
    };
  }

  /** Where the clock stands now, in wall and simulated time. */
  clockAnchor(): ClockAnchor {
    return { clockNow: this.now(), savedAt: Date.now(), speed: this.clockSpeed };
  }

  /** Writes the whole world to `path` atomically (temp file + rename), so a crash leaves the old or the new file. */
  save(path: string): void {
    mkdirSync(dirname(path), { recursive: true });
    writeAtomically(path, JSON.stringify(this.toJSON()));
  }

  static readPersisted(path: string): PersistedWorld | undefined {
    if (!existsSync(path)) return undefined;
    let parsed: PersistedWorld;
    try {
      parsed = JSON.parse(readFileSync(path, "utf8")) as PersistedWorld;
    } catch (error) {
      throw new Error(
        `Simulator state file ${path} is not valid JSON (${(error as Error).message}); move it away to start fresh.`,
      );
    }
    if (parsed.format !== "leaven-sim/v1") {
      throw new Error(`Simulator state file ${path} has an unknown format; move it away to start fresh.`);
    }
    return parsed;
  }

  static fromPersisted(data: PersistedWorld, clock: Clock, timings: SimTimings): World {
    const world = new World(clock, timings, data.epoch);
    world.idCounter = data.idCounter;
    const restore = (state: RegionState, persisted: PersistedAccountRegion) => {
      for (const instance of persisted.instances) state.instances.set(instance.instanceId, instance);
      for (const template of persisted.launchTemplates ?? [])
        state.launchTemplates.set(template.launchTemplateId, template);
      for (const [key, record] of persisted.tokens) state.tokens.set(key, record);
      for (const parameter of persisted.parameters ?? []) state.parameters.set(parameter.name, parameter);
      for (const volume of persisted.volumes ?? []) state.volumes.set(volume.volumeId, volume);
      for (const command of persisted.commands ?? [])
        state.commands.set(`${command.commandId}/${command.instanceId}`, command);
      if (persisted.ebsEncryptionByDefault !== undefined)
        state.ebsEncryptionByDefault = persisted.ebsEncryptionByDefault;
    };
    for (const [name, persisted] of Object.entries(data.regions)) {
      const state = world.region(name);
      for (const image of persisted.images) world.addImage(name, image);
      for (const snapshot of persisted.snapshots) state.snapshots.set(snapshot.snapshotId, snapshot);
      restore(state, persisted);
    }
    for (const [account, regions] of Object.entries(data.accounts ?? {})) {
      for (const [name, persisted] of Object.entries(regions))
        restore(world.accountRegion(account, name), persisted);
    }
    for (const table of data.dynamoTables ?? [])
      world.dynamoTables.set(`${table.account}/${table.region}/${table.name}`, table);
    for (const bucket of data.s3Buckets ?? []) world.s3Buckets.set(bucket.name, bucket);
    return world;
  }
}
