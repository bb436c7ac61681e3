import type { PutParameterInput } from "../cloud/parameter-port.ts";
import type {
  CopyImageInput,
  CreateImageInput,
  CreateLaunchTemplateInput,
  CreateSnapshotInput,
  CreateVolumeInput,
  LaunchPermissions,
  RegisterImageInput,
  RunInstanceInput,
  SendCommandInput,
  Tags,
} from "../cloud/port.ts";

interface ActionBase {
  /** The spec the action serves (for status and for `--retry`). */
  spec: string;
  region: string;
  /** Why the planner wants this: shown by `leaven plan` and logged by `apply`. */
  reason: string;
}

export interface LaunchBakeAction extends ActionBase {
  kind: "launch-bake";
  build: string;
  /** Exactly what RunInstances is sent: the parent image, user data, ClientToken, tags. */
  launch: RunInstanceInput;
}

/** Launches a check instance from a new image (spec.checks): the check's script is its user data. */
export interface LaunchCheckAction extends ActionBase {
  kind: "launch-check";
  check: string;
  build: string;
  launch: RunInstanceInput;
}

export interface CreateImageAction extends ActionBase {
  kind: "create-image";
  build: string;
  image: CreateImageInput;
}

export interface TerminateInstanceAction extends ActionBase {
  kind: "terminate-instance";
  build?: string;
  instanceId: string;
  /** Tags recorded on the instance before it is terminated (e.g. the failure reason). */
  tags?: Tags;
}

export interface CopyImageAction extends ActionBase {
  kind: "copy-image";
  build: string;
  /** Sent to the destination region (`region`). */
  copy: CopyImageInput;
}

/**
 * Tags a copy whose tags did not stick (an EC2 look-alike that ignores TagSpecifications, a lost write):
 * its id came back from Leaven's own CopyImage, so it is tagged by id rather than copied again.
 */
export interface TagCopyAction extends ActionBase {
  kind: "tag-copy";
  build: string;
  imageId: string;
  /** What the executor checks before tagging an image that carries no owner tag yet: Leaven's name for it… */
  name: string;
  /** …and that it was copied from this (owned) home image. */
  sourceRegion: string;
  sourceImageId: string;
  /** The copy's complete tag set, as CopyImage was asked to apply it (to the image and its snapshots). */
  tags: Tags;
  /** The copy's snapshots: CopyImage tags them too, so they are tagged with it. */
  snapshotIds: string[];
}

export interface SetTagsAction extends ActionBase {
  kind: "set-tags";
  build: string;
  imageId: string;
  tags: Tags;
}

export interface RemoveTagsAction extends ActionBase {
  kind: "remove-tags";
  build: string;
  imageId: string;
  keys: string[];
  /**
   * The build is revoked: its channel tags come off at once, even when the channel's new image cannot be
   * tagged this pass (no image is better than a revoked one). Other channel removals wait for that tag.
   */
  revoked?: true;
}

/**
 * Makes an image's launch permissions, and its snapshots' create-volume permissions, exactly what the spec
 * says: the executor reads the current ones and adds and removes the difference (public access excepted).
 */
export interface ShareImageAction extends ActionBase {
  kind: "share-image";
  build: string;
  imageId: string;
  /** The complete set of accounts, organizations and OUs that may launch the image (empty: nobody else). */
  permissions: LaunchPermissions;
  /** The image's snapshots: their create-volume permissions are set to exactly `snapshotAccounts`. */
  snapshotIds: string[];
  /** share.accounts when share.snapshots is true, else none (EC2 shares snapshots with accounts only). */
  snapshotAccounts: string[];
  /** Recorded in the leaven.dev/shared tag once applied, so the next pass sees it is done. */
  shareHash: string;
}

export interface DeregisterImageAction extends ActionBase {
  kind: "deregister-image";
  build: string;
  imageId: string;
  snapshotIds: string[];
}

/** Records a failed bake on its instance and keeps it (stopped) for debugging: bake.keepFailedInstance. */
export interface KeepInstanceAction extends ActionBase {
  kind: "keep-instance";
  build: string;
  instanceId: string;
  tags: Tags;
  /** Stop it first (a bake that timed out is still running). */
  stop: boolean;
}

/**
 * Tags a bake or check instance: the bake's verdict the moment it is read from the console
 * (leaven.dev/bake-result), or when it was first seen stopped (leaven.dev/stopped-at). Later passes read the
 * tag instead of the console, which EC2 keeps for about an hour.
 */
export interface TagInstanceAction extends ActionBase {
  kind: "tag-instance";
  build: string;
  instanceId: string;
  tags: Tags;
}

/**
 * Deletes one of Leaven's snapshots that no observed image references (the orphaned-snapshot sweep,
 * plan/snapshots.ts): EC2 deletes a snapshot only while no registered image uses it.
 */
export interface DeleteSnapshotAction extends ActionBase {
  kind: "delete-snapshot";
  /** The build the snapshot was made for (its leaven.dev/build tag), when it says. */
  build?: string;
  snapshotId: string;
}

/** Stops new launches from an image (DisableImage) while keeping it, e.g. a revoked build nothing uses. */
export interface DisableImageAction extends ActionBase {
  kind: "disable-image";
  build: string;
  imageId: string;
  /** Recorded on the image once disabled (retirement: leaven.dev/disabled-at). */
  tags?: Tags;
}

/** Retirement's first stage: EnableImageDeprecation, and the date recorded in leaven.dev/deprecated-at. */
export interface DeprecateImageAction extends ActionBase {
  kind: "deprecate-image";
  build: string;
  imageId: string;
  /** ISO 8601, in the future (EC2 refuses a past date). */
  deprecateAt: string;
  tags: Tags;
}

/** Undoes retirement of an image that is used again: enables it, cancels its deprecation, drops the stage tags. */
export interface RestoreImageAction extends ActionBase {
  kind: "restore-image";
  build: string;
  imageId: string;
  enable: boolean;
  undeprecate: boolean;
  keys: string[];
}

/**
 * Records a failed bake where it outlives the instance: a launch template in the home region, tagged
 * with the reason and the console, whose data relaunches the same bake for debugging.
 */
export interface RecordFailureAction extends ActionBase {
  kind: "record-failure";
  build: string;
  template: CreateLaunchTemplateInput;
}

/** Deletes a failure record: on --retry, once the build has an image, or when the build is no longer wanted. */
export interface DeleteFailureRecordAction extends ActionBase {
  kind: "delete-failure-record";
  build: string;
  launchTemplateId: string;
}

/**
 * Publishes a channel in a region as an SSM parameter (spec.publish): creates it with Leaven's tags
 * (Overwrite false), or replaces the value of Leaven's own parameter (Overwrite true, no tags: AWS refuses
 * both together). Planned only when the value differs, since every PutParameter makes a new version.
 */
export interface PutParameterAction extends ActionBase {
  kind: "put-parameter";
  channel: string;
  /** The build the channel is on (for a foundation, the vendor image name). */
  build: string;
  parameter: PutParameterInput;
  /** An update's observed value and version, for `leaven plan`. */
  previous?: { value: string; version: number };
}

/** Deletes a parameter of Leaven's whose spec, channel, region or prefix is no longer published. */
export interface DeleteParameterAction extends ActionBase {
  kind: "delete-parameter";
  name: string;
  /** The value observed, for `leaven plan`. */
  value: string;
}

/**
 * Stores the build's package manifest (api/package-manifest.ts) in the manifests bucket: read from the bake
 * instance's console, or for a volume bake from the command output SSM wrote to the bucket, written unless an
 * object is at its key, then the home image tagged leaven.dev/manifest so it is not planned again. Planned
 * while the bake instance (the image's bake-volume tag) still exists.
 */
export interface StoreManifestAction extends ActionBase {
  kind: "store-manifest";
  build: string;
  imageId: string;
  /** An instance bake: the manifest is on this instance's console. */
  instanceId?: string;
  /** A volume bake: the manifest is in the output of the command that provisioned this volume. */
  volumeId?: string;
  /** What the build was baked on, recorded in the manifest for `leaven diff`'s parent chain. */
  parent: { spec: string; build: string };
}

/**
 * Launches the installation's bakery host in a region (volume bakes): an instance with an instance profile
 * that SSM manages, tagged leaven.dev/role=bakery. `spec` is the first spec that needs it.
 */
export interface LaunchBakeryHostAction extends ActionBase {
  kind: "launch-bakery-host";
  launch: RunInstanceInput;
}

/** Stops one of Leaven's bakery hosts that has been idle for bakery.idleStop (tags recorded first). */
export interface StopInstanceAction extends ActionBase {
  kind: "stop-instance";
  instanceId: string;
  tags: Tags;
}

/**
 * Starts one of Leaven's bakery hosts, stopped (for idleness or by someone else), that a bake needs again; the
 * start is recorded first (leaven.dev/start-requested-at), so a host that will not start is replaced in time.
 */
export interface StartInstanceAction extends ActionBase {
  kind: "start-instance";
  instanceId: string;
  tags: Tags;
}

/** A volume bake's first step: the volume, from the parent image's root snapshot, in the host's zone. */
export interface CreateVolumeAction extends ActionBase {
  kind: "create-volume";
  build: string;
  /**
   * The parent image: the executor reads its root snapshot (by its root device name) right before
   * CreateVolume, so the inventory's image walk need not carry every image's block devices and boot settings.
   */
  parentImageId: string;
  volume: Omit<CreateVolumeInput, "snapshotId">;
}

/** Attaches a bake's volume to the bakery host under a device name no other volume uses there. */
export interface AttachVolumeAction extends ActionBase {
  kind: "attach-volume";
  build: string;
  volumeId: string;
  instanceId: string;
  device: string;
  /** The host is bakery.hostInstanceId, the user's: it is not read back for Leaven's tags. */
  userNamedHost?: true;
}

/**
 * Runs the chroot script on the bakery host (SSM SendCommand, AWS-RunShellScript). SendCommand has no
 * ClientToken: the comment names the build and volume, and the executor looks for it (ListCommands) first.
 */
export interface SendBakeCommandAction extends ActionBase {
  kind: "send-bake-command";
  build: string;
  volumeId: string;
  instanceId: string;
  command: SendCommandInput;
  /**
   * A manifests bucket is configured: the executor has SSM write the command's whole output there
   * (bakeOutputPrefix), where store-manifest reads the package manifest back.
   */
  outputToManifests?: true;
  userNamedHost?: true;
  /**
   * When the host was launched (ISO 8601): SSM reaching none of a host Leaven owns this long after its launch
   * (HOST_REGISTRATION_MS) marks it unhealthy, and it is replaced; before, its agent may still be registering.
   */
  hostLaunchedAt?: string;
}

/** Detaches a bake's volume from its host; `tags` (the verdict) are recorded on the volume first. */
export interface DetachVolumeAction extends ActionBase {
  kind: "detach-volume";
  build: string;
  volumeId: string;
  instanceId: string;
  tags?: Tags;
}

/** Records something on a bake's volume (e.g. when its snapshot was asked for). */
export interface TagVolumeAction extends ActionBase {
  kind: "tag-volume";
  build: string;
  volumeId: string;
  tags: Tags;
}

/** Deletes one of Leaven's volumes: the bake is done, failed, or abandoned (the leak sweep). */
export interface DeleteVolumeAction extends ActionBase {
  kind: "delete-volume";
  build?: string;
  volumeId: string;
}

/** Snapshots a provisioned volume (tagged at creation; an existing one for the volume is found first). */
export interface CreateBakeSnapshotAction extends ActionBase {
  kind: "create-bake-snapshot";
  build: string;
  volumeId: string;
  snapshot: CreateSnapshotInput;
}

/**
 * Registers the home image from the bake's snapshot, with the parent's architecture, boot mode, ENA and
 * SR-IOV support, virtualization type and root device name. The name is deterministic (imageNameFor): a
 * duplicate that is this build's own is adopted.
 */
export interface RegisterImageAction extends ActionBase {
  kind: "register-image";
  build: string;
  snapshotId: string;
  /** The parent image, whose architecture, boot mode, ENA/SR-IOV, virtualization type and root device name the executor copies. */
  parentImageId: string;
  image: Pick<RegisterImageInput, "name" | "description" | "tags"> & {
    root: Omit<RegisterImageInput["root"], "snapshotId">;
  };
}

/** Everything the executor can do. A discriminated union: the plan is a value. */
export type Action =
  | LaunchBakeAction
  | LaunchCheckAction
  | CreateImageAction
  | TerminateInstanceAction
  | CopyImageAction
  | TagCopyAction
  | SetTagsAction
  | RemoveTagsAction
  | ShareImageAction
  | DeregisterImageAction
  | DisableImageAction
  | DeprecateImageAction
  | RestoreImageAction
  | KeepInstanceAction
  | TagInstanceAction
  | DeleteSnapshotAction
  | RecordFailureAction
  | DeleteFailureRecordAction
  | PutParameterAction
  | DeleteParameterAction
  | StoreManifestAction
  | LaunchBakeryHostAction
  | StopInstanceAction
  | StartInstanceAction
  | CreateVolumeAction
  | AttachVolumeAction
  | SendBakeCommandAction
  | DetachVolumeAction
  | TagVolumeAction
  | DeleteVolumeAction
  | CreateBakeSnapshotAction
  | RegisterImageAction;

export type ActionKind = Action["kind"];

/** A stable, human-readable identity for logs and idempotency checks. */
export function actionKey(action: Action): string {
  switch (action.kind) {
    case "launch-bake":
      return `launch-bake/${action.spec}/${action.build}`;
    case "launch-check":
      return `launch-check/${action.check}/${action.spec}/${action.build}`;
    case "create-image":
      return `create-image/${action.spec}/${action.build}`;
    case "terminate-instance":
      return `terminate/${action.region}/${action.instanceId}`;
    case "copy-image":
      return `copy/${action.spec}/${action.build}/${action.region}`;
    case "tag-copy":
      return `tag-copy/${action.region}/${action.imageId}`;
    case "set-tags":
      return `set-tags/${action.region}/${action.imageId}/${Object.keys(action.tags).join(",")}`;
    case "remove-tags":
      return `remove-tags/${action.region}/${action.imageId}/${action.keys.join(",")}`;
    case "share-image":
      return `share/${action.region}/${action.imageId}`;
    case "deregister-image":
      return `deregister/${action.region}/${action.imageId}`;
    case "disable-image":
      return `disable/${action.region}/${action.imageId}`;
    case "deprecate-image":
      return `deprecate/${action.region}/${action.imageId}`;
    case "restore-image":
      return `restore/${action.region}/${action.imageId}`;
    case "keep-instance":
      return `keep/${action.region}/${action.instanceId}`;
    case "tag-instance":
      return `tag-instance/${action.region}/${action.instanceId}/${Object.keys(action.tags).join(",")}`;
    case "delete-snapshot":
      return `delete-snapshot/${action.region}/${action.snapshotId}`;
    case "record-failure":
      return `record-failure/${action.region}/${action.spec}/${action.build}`;
    case "delete-failure-record":
      return `delete-failure-record/${action.region}/${action.launchTemplateId}`;
    case "put-parameter":
      return `put-parameter/${action.region}${action.parameter.name}`;
    case "delete-parameter":
      return `delete-parameter/${action.region}${action.name}`;
    case "store-manifest":
      return `store-manifest/${action.spec}/${action.build}`;
    case "launch-bakery-host":
      return `launch-bakery-host/${action.region}`;
    case "stop-instance":
      return `stop/${action.region}/${action.instanceId}`;
    case "start-instance":
      return `start/${action.region}/${action.instanceId}`;
    case "create-volume":
      return `create-volume/${action.spec}/${action.build}`;
    case "attach-volume":
      return `attach-volume/${action.region}/${action.volumeId}`;
    case "send-bake-command":
      return `send-bake-command/${action.region}/${action.volumeId}`;
    case "detach-volume":
      return `detach-volume/${action.region}/${action.volumeId}`;
    case "tag-volume":
      return `tag-volume/${action.region}/${action.volumeId}/${Object.keys(action.tags).join(",")}`;
    case "delete-volume":
      return `delete-volume/${action.region}/${action.volumeId}`;
    case "create-bake-snapshot":
      return `create-bake-snapshot/${action.region}/${action.volumeId}`;
    case "register-image":
      return `register-image/${action.spec}/${action.build}`;
  }
}
