import type { BakeOutcome } from "../api/bake-protocol.ts";
import type {
  CloudImage,
  CloudInstance,
  CloudSnapshot,
  CloudVolume,
  CommandInvocationStatus,
  ObservedLaunchPermissions,
  Tags,
} from "../cloud/port.ts";

/** The newest bake command a bakery host was sent for one volume (its comment names build and volume). */
export interface ObservedCommand {
  commandId: string;
  instanceId: string;
  volumeId: string;
  build: string;
  status: CommandInvocationStatus;
  /** ISO 8601. */
  requestedAt: string;
  /** Read from GetCommandInvocation once the command ended: the marker in its output. */
  outcome?: BakeOutcome;
  /** No marker, and GetCommandInvocation's stdout was at its 24,000-character cap (nor was the S3 output read). */
  outputCut?: true;
}

/** What a volume bake observes in the home regions of specs with bake.method volume (observe/volume-bakes.ts). */
export interface VolumeBakeObservation {
  /** Regions observed this pass: nothing of a volume bake is planned elsewhere. */
  regions: string[];
  /** Leaven's bakery hosts (role=bakery, this installation's; terminated ones too, for the next host's token) and the host bakery.hostInstanceId names. */
  hosts: CloudInstance[];
  /** This installation's volumes (owner tags). */
  volumes: CloudVolume[];
  /** Device names in use on each host, by instance id, whoever's volume holds them. */
  devices: Map<string, string[]>;
  /** This installation's volume-bake snapshots (role=volume-bake). */
  snapshots: CloudSnapshot[];
  /** The newest bake command per volume id. */
  commands: Map<string, ObservedCommand>;
  /** When each host was last sent a command (ISO 8601), by instance id: its idleness counts from here. */
  lastCommandAt: Map<string, string>;
  /** The AMI a new bakery host launches from, by region (bakery.imageId, else Amazon Linux 2023's newest). */
  hostImages: Map<string, string>;
  /** Regions whose volume bakes could not be observed, with why. */
  errors?: Map<string, string>;
}

/** A failed build's record (a launch template, see controller/api/failure-record.ts) as observed. */
export interface FailureRecord {
  spec: string;
  build: string;
  region: string;
  launchTemplateId: string;
  name: string;
  reason: string;
  /** ISO 8601: when the bake was found failed. */
  at?: string;
  /** The bake instance that failed. */
  instanceId?: string;
  /** The last console lines before the failure, oldest first. */
  console: string[];
  tags: Tags;
}

/** An SSM parameter under a publish prefix (spec.publish), as observed. */
export interface ObservedParameter {
  region: string;
  name: string;
  value: string;
  version: number;
  /** Listed by DescribeParameters with Leaven's owner and installation tags: this installation's to change. */
  owned: boolean;
  /** Read only for a parameter that is not owned but sits where Leaven would publish: who it belongs to. */
  tags?: Tags;
}

/** Everything one pass observed in the cloud. The planner reads only this (and the specs and the clock). */
export interface Inventory {
  /** Regions whose Leaven images were walked this pass. */
  regions: string[];
  /** Leaven-owned images (owner tag present) in every walked region, including copies. */
  images: CloudImage[];
  /** Leaven bake instances in the regions listed in `instanceRegions`. */
  instances: CloudInstance[];
  /** Regions whose bake instances were observed; the planner never launches a bake where it did not look. */
  instanceRegions: string[];
  /**
   * Instances tagged as bakery hosts (any installation's: the volume-bake observer picks its own), listed with
   * the bake instances, by region: observeVolumeBakes takes them rather than listing the region again.
   */
  bakeryHosts?: Map<string, CloudInstance[]>;
  /** Failed builds' records in the regions listed in `instanceRegions` (observed with the instances). */
  failures: FailureRecord[];
  /** Bake outcome read from the console of stopped bake instances, by instance id. */
  consoles: Map<string, BakeOutcome | undefined>;
  /**
   * Stopped instances whose console showed nothing at all this pass: not posted yet, or expired. Past the
   * grace, the outcome of such a bake cannot be known any more: it is baked again rather than failed.
   */
  silentConsoles?: Set<string>;
  /** Vendor images matching each foundation's source, by foundation spec name (all observed regions). */
  vendorImages: Map<string, CloudImage[]>;
  /**
   * Why a foundation's source found nothing where it was looked up, by foundation spec name, e.g. an SSM
   * parameter that does not exist in a region. Shown instead of the generic "no vendor image matches".
   */
  vendorProblems?: Map<string, string>;
  /** SSM parameters under the publish prefixes in use, in the regions of `parameterRegions`. */
  parameters?: ObservedParameter[];
  /**
   * Regions whose parameters were listed this pass. Publishing is blind elsewhere: no parameter is put or
   * deleted where Leaven could not look. Absent: parameters were not observed at all (nothing is published).
   */
  parameterRegions?: string[];
  /** Regions whose parameters could not be listed, with the reason. */
  parameterErrors?: Map<string, string>;
  /**
   * Leaven's snapshots (owner tag) in the regions of `snapshotRegions`, listed on sweep passes only (the first
   * pass and every 30 minutes) for the orphaned-snapshot sweep. Absent: not observed this pass.
   */
  snapshots?: CloudSnapshot[];
  /** Regions whose snapshots were listed this pass. */
  snapshotRegions?: string[];
  /** Regions whose snapshots could not be listed, with the reason: no snapshot is swept there. */
  snapshotErrors?: Map<string, string>;
  /** Regions that could not be observed this pass, with the reason: nothing is planned there. */
  regionErrors: Map<string, string>;
  /**
   * Copies Leaven made (their ids came back from its CopyImage calls) that the walk did not find tagged,
   * by `spec/build/region`: tagged by id rather than copied again.
   */
  untaggedCopies?: Map<string, CloudImage>;
  /**
   * What uses each image whose use was observed this pass (instances in any state but terminated, launch
   * templates' $Default and $Latest versions), e.g. "instance i-0abc (running)"; empty when nothing does.
   * Images absent here were not looked at: retirement leaves them alone.
   */
  usage?: Map<string, string[]>;
  /**
   * Launch permissions read back from EC2 on a sweep (observe/permissions.ts), by image id: drift that the
   * leaven.dev/shared tag cannot show. Images absent here are trusted from their tag.
   */
  launchPermissions?: Map<string, ObservedLaunchPermissions>;
  /** Volume bakes' hosts, volumes, snapshots and commands; absent when no spec bakes on a volume. */
  volumeBakes?: VolumeBakeObservation;
}

export function emptyInventory(): Inventory {
  return {
    regions: [],
    images: [],
    instances: [],
    instanceRegions: [],
    failures: [],
    consoles: new Map(),
    vendorImages: new Map(),
    regionErrors: new Map(),
  };
}
