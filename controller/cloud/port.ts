// The narrow cloud port: exactly the EC2 calls Leaven makes. Only the observer and the executor use it.
// Implemented by the AWS adapter (aws-adapter.ts), which speaks to real EC2 or to the embedded simulator.

import type { ParameterPort } from "./parameter-port.ts";

export type Tags = Record<string, string>;

export type ImageState =
  | "pending"
  | "available"
  | "invalid"
  | "deregistered"
  | "transient"
  | "failed"
  | "error"
  | "disabled";
export type InstanceState = "pending" | "running" | "shutting-down" | "terminated" | "stopping" | "stopped";

export interface CloudImage {
  imageId: string;
  region: string;
  name: string;
  ownerId: string;
  state: ImageState;
  /** ISO 8601. */
  creationDate: string;
  architecture?: string;
  description?: string;
  /** e.g. /dev/sda1 (Ubuntu) or /dev/xvda (Amazon Linux); needed to size the bake's root volume. */
  rootDeviceName?: string;
  /** ISO 8601, when the image is (or will be) deprecated. */
  deprecationTime?: string;
  snapshotIds: string[];
  tags: Tags;
  stateReason?: string;
  /** For a copy: the image it was copied from (EC2's SourceImageId), so a copy whose tags were lost is still known. */
  sourceImageId?: string;
  /** Only on images described by id: what a volume bake registers its image with. */
  boot?: ImageBoot;
}

/** A parent image's root and boot settings: a volume bake's RegisterImage copies them. */
export interface ImageBoot {
  rootSnapshotId?: string;
  rootVolumeSize?: number;
  rootVolumeType?: string;
  bootMode?: string;
  enaSupport?: boolean;
  sriovNetSupport?: boolean;
  virtualizationType?: string;
}

export interface CloudInstance {
  instanceId: string;
  region: string;
  imageId: string;
  state: InstanceState;
  /** ISO 8601. */
  launchTime: string;
  /** e.g. t3.medium: whether GetConsoleOutput's Latest is supported depends on it (Nitro). */
  instanceType?: string;
  /** e.g. us-east-1a: a volume bake's volume is created in its bakery host's zone. */
  availabilityZone?: string;
  stateReason?: string;
  /**
   * ISO 8601: when a stopping or stopped instance stopped, as EC2's StateTransitionReason says it ("User
   * initiated (2026-06-01 12:00:00 GMT)"); absent when it gives no time (e.g. the instance shut itself down).
   */
  stoppedAt?: string;
  /**
   * The device names of the EBS volumes attached to it (attaching, attached or detaching), its root among
   * them and whoever's volume the others are: DescribeInstances' BlockDeviceMappings. Absent when EC2 lists
   * none (a terminated instance).
   */
  devices?: string[];
  tags: Tags;
}

export interface ConsoleOutputOptions {
  /**
   * Ask for the latest output (GetConsoleOutput Latest=true) rather than the buffer EC2 posts some minutes
   * after a state change. Only instance types on the Nitro hypervisor support it; elsewhere the adapter
   * falls back to a call without it.
   */
  latest?: boolean;
  /** The instance's type: the adapter remembers per type that Latest is unsupported, and stops asking. */
  instanceType?: string;
}

export interface CloudSnapshot {
  snapshotId: string;
  region: string;
  state: string;
  /** ISO 8601: when the snapshot was started (EC2's StartTime). */
  startTime?: string;
  /** Percent done (EC2's Progress, "54%"), while it is pending: how long the rest will take. */
  progress?: number;
  /** EC2's description, e.g. "Created by CreateImage(i-…) for ami-…": names the image it was made for. */
  description?: string;
  tags: Tags;
}

export interface Filter {
  name: string;
  values: string[];
}

export interface DescribeImagesInput {
  owners?: string[];
  imageIds?: string[];
  filters?: Filter[];
  includeDeprecated?: boolean;
  /** EC2 leaves disabled images out unless asked; retirement must see them to deregister them. */
  includeDisabled?: boolean;
}

export interface RunInstanceInput {
  imageId: string;
  instanceType: string;
  userData: string;
  clientToken: string;
  tags: Tags;
  subnetId?: string;
  securityGroupIds?: string[];
  instanceProfile?: string;
  /** With kmsKeyId, the root volume is encrypted with that key (Encrypted=true, which EC2 requires with it). */
  rootVolume?: { deviceName: string; size?: number; type?: string; kmsKeyId?: string };
}

export interface CreateImageInput {
  instanceId: string;
  name: string;
  description?: string;
  /** Applied to the image and its snapshots. */
  tags: Tags;
}

export interface CopyImageInput {
  sourceRegion: string;
  sourceImageId: string;
  name: string;
  description?: string;
  clientToken: string;
  kmsKeyId?: string;
  /** The copy's complete tag set, applied atomically with TagSpecifications. CopyImageTags stays off:
   *  the source's channel tags must not leak onto a pending copy. */
  tags: Tags;
}

/** What an instance launched from a launch template gets: a bake's launch without its token and tags. */
export type LaunchTemplateLaunch = Omit<RunInstanceInput, "clientToken" | "tags">;

export interface CreateLaunchTemplateInput {
  /** 3–128 characters: letters, digits and ( ) . - / _; unique per account and region. */
  name: string;
  /** Idempotency token (at most 128 ASCII characters). */
  clientToken: string;
  /** The first version's description (at most 255 characters). */
  description?: string;
  launch: LaunchTemplateLaunch;
  /** Tags on the launch template itself (not on instances launched from it). */
  tags: Tags;
}

export interface CloudLaunchTemplate {
  launchTemplateId: string;
  region: string;
  name: string;
  /** ISO 8601. */
  createTime: string;
  tags: Tags;
}

/** A launch template version that launches an image: retirement keeps that image. */
export interface LaunchTemplateImageUse {
  launchTemplateId: string;
  name: string;
  version: number;
  isDefault: boolean;
  imageId: string;
}

export interface LaunchPermissions {
  accounts?: string[];
  organizationArns?: string[];
  organizationalUnitArns?: string[];
}

/** An image's launch permissions as EC2 reports them (DescribeImageAttribute launchPermission). */
export interface ObservedLaunchPermissions {
  accounts: string[];
  organizationArns: string[];
  organizationalUnitArns: string[];
  /** `Group=all`: anyone may launch it. Leaven never grants nor revokes this. */
  public: boolean;
}

/** A snapshot's create-volume permissions (DescribeSnapshotAttribute createVolumePermission). */
export interface ObservedVolumePermissions {
  accounts: string[];
  /** `Group=all`: anyone may create a volume from it. Leaven never grants nor revokes this. */
  public: boolean;
}

export type VolumeState = "creating" | "available" | "in-use" | "deleting" | "deleted" | "error";

export interface VolumeAttachment {
  instanceId: string;
  /** e.g. /dev/sdf: the name the volume was attached under. */
  device: string;
  state: "attaching" | "attached" | "detaching" | "detached" | "busy";
}

export interface CloudVolume {
  volumeId: string;
  region: string;
  availabilityZone: string;
  state: VolumeState;
  /** GiB. */
  size: number;
  volumeType?: string;
  snapshotId?: string;
  /** ISO 8601. */
  createTime?: string;
  attachments: VolumeAttachment[];
  tags: Tags;
}

export interface CreateVolumeInput {
  /** The parent image's root snapshot. */
  snapshotId: string;
  availabilityZone: string;
  /** GiB; the snapshot's size when absent. */
  size?: number;
  /** e.g. gp3. */
  volumeType?: string;
  /**
   * With it, the volume is encrypted with this key (Encrypted=true, which EC2 requires with it), and so are
   * its snapshot and the image registered from that; without it, as the snapshot and the account's default say.
   */
  kmsKeyId?: string;
  clientToken: string;
  tags: Tags;
}

export interface CreateSnapshotInput {
  volumeId: string;
  description?: string;
  tags: Tags;
}

export interface RegisterImageInput {
  name: string;
  description?: string;
  architecture: string;
  /** "uefi", "legacy-bios" or "uefi-preferred"; EC2's default when absent. */
  bootMode?: string;
  enaSupport?: boolean;
  /** SriovNetSupport "simple" when true. */
  sriovNetSupport?: boolean;
  /** "hvm" unless told. */
  virtualizationType?: string;
  /** e.g. /dev/xvda; the root mapping is under this name. */
  rootDeviceName: string;
  /** The root volume: the new snapshot, and how the volume launched from it is made. */
  root: { snapshotId: string; size?: number; volumeType?: string; deleteOnTermination?: boolean };
  /** Applied to the image (and not to the snapshot, which CreateSnapshot already tagged). */
  tags: Tags;
}

export interface SendCommandInput {
  instanceIds: string[];
  /** The shell lines of AWS-RunShellScript's `commands` parameter. */
  commands: string[];
  /** Seconds the command may run (executionTimeout); SSM's default (3600) when absent. */
  timeoutSeconds?: number;
  /** At most 100 characters (SSM's limit). */
  comment?: string;
  /**
   * OutputS3BucketName and OutputS3KeyPrefix: SSM writes the whole stdout and stderr there (GetCommandInvocation
   * keeps 24,000 characters of each), at KEYPREFIX/COMMAND/INSTANCE/awsrunShellScript/0.awsrunShellScript/.
   */
  outputS3?: { bucket: string; keyPrefix: string };
}

export type CommandInvocationStatus =
  | "Pending"
  | "InProgress"
  | "Delayed"
  | "Success"
  | "Cancelled"
  | "TimedOut"
  | "Failed"
  | "Cancelling";

/** One command sent to an instance (ListCommands): how a resumed bake finds the command it already sent. */
export interface CommandSummary {
  commandId: string;
  /** SendCommand's comment: the volume bake writes its build id here, since SendCommand has no ClientToken. */
  comment?: string;
  status: CommandInvocationStatus;
  /** ISO 8601. */
  requestedAt: string;
}

export interface CommandInvocation {
  commandId: string;
  instanceId: string;
  status: CommandInvocationStatus;
  /** The script's exit code; -1 while it runs. */
  responseCode?: number;
  /** SSM keeps the first 24,000 characters of each. */
  stdout: string;
  stderr: string;
}

/**
 * Every method takes the region first: EC2 is regional and so are its rate limits. The SSM parameter calls
 * (parameter-port.ts) come with it: one object serves both.
 */
export interface CloudPort extends ParameterPort {
  describeRegions(region: string): Promise<string[]>;
  /** Always walks every page (MaxResults 1000). */
  describeImages(region: string, input: DescribeImagesInput): Promise<CloudImage[]>;
  describeInstances(region: string, filters: Filter[]): Promise<CloudInstance[]>;
  describeSnapshots(region: string, filters: Filter[]): Promise<CloudSnapshot[]>;
  getConsoleOutput(region: string, instanceId: string, options?: ConsoleOutputOptions): Promise<string>;
  runInstance(region: string, input: RunInstanceInput): Promise<{ instanceId: string }>;
  stopInstances(region: string, instanceIds: string[]): Promise<void>;
  /** Starts stopped instances (a running or pending one is left as it is). */
  startInstances(region: string, instanceIds: string[]): Promise<void>;
  terminateInstances(region: string, instanceIds: string[]): Promise<void>;
  createImage(region: string, input: CreateImageInput): Promise<{ imageId: string }>;
  copyImage(region: string, input: CopyImageInput): Promise<{ imageId: string }>;
  createTags(region: string, resourceIds: string[], tags: Tags): Promise<void>;
  deleteTags(region: string, resourceIds: string[], keys: string[]): Promise<void>;
  describeLaunchPermissions(region: string, imageId: string): Promise<ObservedLaunchPermissions>;
  /** One ModifyImageAttribute with both lists (nothing is sent when both are empty). */
  modifyLaunchPermissions(
    region: string,
    imageId: string,
    change: { add: LaunchPermissions; remove: LaunchPermissions },
  ): Promise<void>;
  describeVolumePermissions(region: string, snapshotId: string): Promise<ObservedVolumePermissions>;
  /** One ModifySnapshotAttribute createVolumePermission with both lists (nothing sent when both are empty). */
  modifyVolumePermissions(
    region: string,
    snapshotId: string,
    change: { add: string[]; remove: string[] },
  ): Promise<void>;
  enableImageDeprecation(region: string, imageId: string, deprecateAt: Date): Promise<void>;
  disableImage(region: string, imageId: string): Promise<void>;
  /** With deleteSnapshots, EC2 deletes the image's snapshots with it (DeleteAssociatedSnapshots): one call. */
  deregisterImage(region: string, imageId: string, options?: { deleteSnapshots?: boolean }): Promise<void>;
  /** Undoes a retirement stage: a disabled image launches again (EnableImage)… */
  enableImage(region: string, imageId: string): Promise<void>;
  /** …and a deprecated one is no longer deprecated (DisableImageDeprecation). */
  disableImageDeprecation(region: string, imageId: string): Promise<void>;
  /** The images the $Default and $Latest versions of every launch template launch (one paginated walk). */
  describeLaunchTemplateImages(region: string): Promise<LaunchTemplateImageUse[]>;
  deleteSnapshot(region: string, snapshotId: string): Promise<void>;
  createLaunchTemplate(
    region: string,
    input: CreateLaunchTemplateInput,
  ): Promise<{ launchTemplateId: string }>;
  /** Always walks every page (MaxResults 200, this API's maximum); with ids, exactly those (an unknown id fails the call). */
  describeLaunchTemplates(
    region: string,
    filters: Filter[],
    launchTemplateIds?: string[],
  ): Promise<CloudLaunchTemplate[]>;
  deleteLaunchTemplate(region: string, launchTemplateId: string): Promise<void>;
  /** Volume bakes: a volume from the parent's root snapshot, in the bakery host's AZ; ClientToken makes it once. */
  createVolume(region: string, input: CreateVolumeInput): Promise<{ volumeId: string }>;
  /** Always walks every page (MaxResults 500); with ids, exactly those (an unknown id fails the call). */
  describeVolumes(region: string, filters: Filter[], volumeIds?: string[]): Promise<CloudVolume[]>;
  attachVolume(region: string, volumeId: string, instanceId: string, device: string): Promise<void>;
  /** With instanceId, only if attached there; force is EC2's last resort for a stuck detach. */
  detachVolume(
    region: string,
    volumeId: string,
    options?: { instanceId?: string; force?: boolean },
  ): Promise<void>;
  deleteVolume(region: string, volumeId: string): Promise<void>;
  /** The volume's snapshot, tagged at creation (TagSpecifications); EC2 takes no ClientToken here. */
  createSnapshot(region: string, input: CreateSnapshotInput): Promise<{ snapshotId: string }>;
  /** An image from a snapshot; names are unique per account and region, which makes a retry safe. */
  registerImage(region: string, input: RegisterImageInput): Promise<{ imageId: string }>;
  /**
   * SSM Run Command with AWS-RunShellScript on a managed instance: the bakery host runs the chroot script.
   * SendCommand takes no idempotency token, so a retry after a lost answer may run it twice: put the build in
   * the comment and look for it with listCommands before sending again.
   */
  sendCommand(region: string, input: SendCommandInput): Promise<{ commandId: string }>;
  getCommandInvocation(region: string, commandId: string, instanceId: string): Promise<CommandInvocation>;
  /** The commands sent to one instance (SSM keeps them 30 days), newest first; walks every page. */
  listCommands(region: string, instanceId: string): Promise<CommandSummary[]>;
}

/** An EC2 error surfaced to the planner/status: the AWS error code and message. */
export class CloudError extends Error {
  readonly code: string;
  readonly statusCode: number;
  readonly retryable: boolean;
  /** The message without its code: what a wrapping error adds to, so the code is not said twice. */
  readonly detail: string;
  constructor(code: string, message: string, statusCode: number, retryable: boolean) {
    super(`${code}: ${message}`);
    this.name = "CloudError";
    this.code = code;
    this.detail = message;
    this.statusCode = statusCode;
    this.retryable = retryable;
  }
}
