// The executor's own ownership check. The planner only ever targets this installation's resources, but
// the executor does not take that on trust: before any call that changes or deletes a resource, it reads
// the resource's tags back from EC2 and refuses the action unless the resource is Leaven's and this
// installation's. A planner bug, a stale inventory or a look-alike resource therefore cannot make Leaven
// touch an image, snapshot, instance or launch template it does not own.
import { DEFAULT_INSTALLATION, OWNERSHIP_TAGS, ownershipProblem, Tag } from "../api/tags.ts";
import { CloudError, type CloudPort, type Tags } from "../cloud/port.ts";
import type { Action, TagCopyAction } from "../plan/actions.ts";

export type ResourceKind = "image" | "instance" | "snapshot" | "launch-template" | "parameter" | "volume";

/** A resource an action changes or deletes: its tags are read back before the action runs. */
export interface Target {
  kind: ResourceKind;
  region: string;
  id: string;
}

/** EC2 accepts up to 200 values in one filter. */
const FILTER_VALUES = 200;

/** The existing resources an action changes (its parent image, only read, is not among them). */
export function targetsOf(action: Action): Target[] {
  const region = action.region;
  switch (action.kind) {
    case "launch-bake":
    case "launch-check":
    case "record-failure":
      return [];
    case "create-image":
      // Imaging an instance reboots it unless told not to: only Leaven's own bake instances.
      return [{ kind: "instance", region, id: action.image.instanceId }];
    case "terminate-instance":
    case "keep-instance":
    case "tag-instance":
      return [{ kind: "instance", region, id: action.instanceId }];
    case "copy-image":
      return [{ kind: "image", region: action.copy.sourceRegion, id: action.copy.sourceImageId }];
    case "tag-copy":
      // The copy itself has no owner tag yet: it is checked by name and source (see verifyOwnership).
      return [{ kind: "image", region: action.sourceRegion, id: action.sourceImageId }];
    case "set-tags":
    case "remove-tags":
    case "store-manifest":
    case "disable-image":
    case "deprecate-image":
    case "restore-image":
      return [{ kind: "image", region, id: action.imageId }];
    case "share-image":
      // Sharing changes the snapshots' create-volume permissions too: they must be Leaven's as well.
      return [
        { kind: "image", region, id: action.imageId },
        ...action.snapshotIds.map((id) => ({ kind: "snapshot" as const, region, id })),
      ];
    case "deregister-image":
      return [
        { kind: "image", region, id: action.imageId },
        ...action.snapshotIds.map((id) => ({ kind: "snapshot" as const, region, id })),
      ];
    case "delete-failure-record":
      return [{ kind: "launch-template", region, id: action.launchTemplateId }];
    case "delete-snapshot":
      return [{ kind: "snapshot", region, id: action.snapshotId }];
    case "put-parameter":
      // A create changes nothing that exists (and fails if something does); an overwrite replaces a value.
      return action.parameter.overwrite ? [{ kind: "parameter", region, id: action.parameter.name }] : [];
    case "delete-parameter":
      return [{ kind: "parameter", region, id: action.name }];
    case "launch-bakery-host":
      return [];
    case "stop-instance":
    case "start-instance":
      return [{ kind: "instance", region, id: action.instanceId }];
    case "create-volume":
      // The parent image is only read (its root snapshot): it may be a vendor's.
      return [];
    case "attach-volume":
    case "send-bake-command":
      // A user-named host (bakery.hostInstanceId) is not Leaven's, but the user lent it: only the volume is checked.
      return [
        { kind: "volume", region, id: action.volumeId },
        ...(action.userNamedHost ? [] : [{ kind: "instance" as const, region, id: action.instanceId }]),
      ];
    case "detach-volume":
    case "tag-volume":
    case "delete-volume":
    case "create-bake-snapshot":
      return [{ kind: "volume", region, id: action.volumeId }];
    case "register-image":
      return [{ kind: "snapshot", region, id: action.snapshotId }];
  }
}

/** Tags a new resource will carry: it must be born owned, or Leaven could never clean it up. */
function createdTags(action: Action): Tags | undefined {
  switch (action.kind) {
    case "launch-bake":
    case "launch-check":
      return action.launch.tags;
    case "create-image":
      return action.image.tags;
    case "copy-image":
      return action.copy.tags;
    case "record-failure":
      return action.template.tags;
    case "tag-copy":
      return action.tags;
    case "put-parameter":
      return action.parameter.overwrite ? undefined : (action.parameter.tags ?? {});
    case "launch-bakery-host":
      return action.launch.tags;
    case "create-volume":
      return action.volume.tags;
    case "create-bake-snapshot":
      return action.snapshot.tags;
    case "register-image":
      return action.image.tags;
    default:
      return undefined;
  }
}

/** Tag keys an action writes or removes on an existing resource. */
function changedKeys(action: Action): string[] {
  switch (action.kind) {
    case "set-tags":
    case "keep-instance":
    case "tag-instance":
    case "deprecate-image":
    case "stop-instance":
    case "start-instance":
    case "tag-volume":
      return Object.keys(action.tags);
    case "detach-volume":
      return Object.keys(action.tags ?? {});
    case "disable-image":
      return Object.keys(action.tags ?? {});
    case "restore-image":
      return action.keys;
    case "terminate-instance":
      return Object.keys(action.tags ?? {});
    case "remove-tags":
      return action.keys;
    default:
      return [];
  }
}

function describeTarget(target: Target): string {
  return `${target.kind} ${target.id} in ${target.region}`;
}

const targetKey = (target: Target) => `${target.kind} ${target.region} ${target.id}`;

/** Reads the current tags of every target, a few describe calls per region and kind. Missing → absent. */
/** What the read-back knows of a resource: its tags, and for an image its name and source. */
interface ReadBack {
  tags: Tags;
  name?: string;
  sourceImageId?: string;
  snapshotIds?: string[];
}

async function readTags(cloud: CloudPort, targets: readonly Target[]): Promise<Map<string, ReadBack>> {
  const groups = new Map<string, Target[]>();
  for (const target of targets) {
    const key = `${target.kind} ${target.region}`;
    const group = groups.get(key);
    if (group) {
      if (!group.some((t) => t.id === target.id)) group.push(target);
    } else groups.set(key, [target]);
  }
  const found = new Map<string, ReadBack>();
  const reads: Promise<void>[] = [];
  for (const group of groups.values()) {
    const { kind, region } = group[0]!;
    for (let i = 0; i < group.length; i += FILTER_VALUES) {
      const ids = group.slice(i, i + FILTER_VALUES).map((t) => t.id);
      reads.push(
        (async () => {
          if (kind === "image") {
            const images = await cloud.describeImages(region, {
              owners: ["self"],
              filters: [{ name: "image-id", values: ids }],
              includeDeprecated: true,
              includeDisabled: true,
            });
            for (const image of images)
              found.set(targetKey({ kind, region, id: image.imageId }), {
                tags: image.tags,
                name: image.name,
                ...(image.sourceImageId ? { sourceImageId: image.sourceImageId } : {}),
                snapshotIds: image.snapshotIds,
              });
          } else if (kind === "instance") {
            const instances = await cloud.describeInstances(region, [{ name: "instance-id", values: ids }]);
            for (const instance of instances)
              found.set(targetKey({ kind, region, id: instance.instanceId }), { tags: instance.tags });
          } else if (kind === "parameter") {
            // SSM has no bulk tag read: one ListTagsForResource per parameter; a missing one is absent.
            await Promise.all(
              ids.map(async (name) => {
                const parameterTags = await parameterTagsOrMissing(cloud, region, name);
                if (parameterTags) found.set(targetKey({ kind, region, id: name }), { tags: parameterTags });
              }),
            );
          } else if (kind === "launch-template") {
            for (const template of await describeLaunchTemplatesById(cloud, region, ids))
              found.set(targetKey({ kind, region, id: template.launchTemplateId }), { tags: template.tags });
          } else if (kind === "volume") {
            const volumes = await cloud.describeVolumes(region, [{ name: "volume-id", values: ids }]);
            for (const volume of volumes)
              found.set(targetKey({ kind, region, id: volume.volumeId }), { tags: volume.tags });
          } else {
            const snapshots = await cloud.describeSnapshots(region, [{ name: "snapshot-id", values: ids }]);
            for (const snapshot of snapshots)
              found.set(targetKey({ kind, region, id: snapshot.snapshotId }), { tags: snapshot.tags });
          }
        })(),
      );
    }
  }
  await Promise.all(reads);
  return found;
}

async function parameterTagsOrMissing(
  cloud: CloudPort,
  region: string,
  name: string,
): Promise<Tags | undefined> {
  try {
    return await cloud.listTagsForResource(region, name);
  } catch (error) {
    if (
      error instanceof CloudError &&
      (error.code === "InvalidResourceId" || error.code === "ParameterNotFound")
    )
      return undefined;
    throw error;
  }
}

/**
 * DescribeLaunchTemplates has no id filter, and fails the whole call for one unknown id: when it does,
 * each id is read alone, and the unknown ones are absent.
 */
async function describeLaunchTemplatesById(cloud: CloudPort, region: string, ids: string[]) {
  const notFound = (error: unknown) =>
    error instanceof CloudError && error.code === "InvalidLaunchTemplateId.NotFound";
  try {
    return await cloud.describeLaunchTemplates(region, [], ids);
  } catch (error) {
    if (!notFound(error) || ids.length === 1) {
      if (notFound(error)) return [];
      throw error;
    }
  }
  const one = await Promise.all(
    ids.map(async (id) => {
      try {
        return await cloud.describeLaunchTemplates(region, [], [id]);
      } catch (error) {
        if (notFound(error)) return [];
        throw error;
      }
    }),
  );
  return one.flat();
}

/**
 * Why an action is refused before anything is read from EC2: it would create a resource without this
 * installation's ownership tags, or change an ownership tag. Undefined when it may go on to the read-back.
 */
export function preflightRefusal(
  action: Action,
  installation: string = DEFAULT_INSTALLATION,
): string | undefined {
  const created = createdTags(action);
  const bornProblem = created ? ownershipProblem(created, installation) : undefined;
  if (bornProblem)
    return `refused: the new resource would not be this installation's (${bornProblem}), so Leaven could never manage it`;
  const ownershipKeys = changedKeys(action).filter((key) => OWNERSHIP_TAGS.includes(key));
  if (ownershipKeys.length > 0)
    return `refused: Leaven never changes the ownership tag ${ownershipKeys.join(", ")}`;
  return undefined;
}

export interface OwnershipVerdict {
  /** Why each refused action may not run, by action. Actions not in the map may run. */
  refused: Map<Action, string>;
}

/**
 * Checks every action of a plan against what EC2 says now. An action is refused when a resource it would
 * change is missing or not this installation's, when it would change a resource's ownership tags, or
 * when it would create a resource without them.
 */
export async function verifyOwnership(
  cloud: CloudPort,
  actions: readonly Action[],
  installation: string = DEFAULT_INSTALLATION,
): Promise<OwnershipVerdict> {
  const refused = new Map<Action, string>();
  const toRead: Target[] = [];
  for (const action of actions) {
    const problem = preflightRefusal(action, installation);
    if (problem) {
      refused.set(action, problem);
      continue;
    }
    toRead.push(...targetsOf(action));
    if (action.kind === "tag-copy") toRead.push(copyTarget(action));
  }
  const tags = await readTags(cloud, toRead);
  for (const action of actions) {
    if (refused.has(action)) continue;
    if (action.kind === "tag-copy") {
      const problem = untaggedCopyProblem(action, tags.get(targetKey(copyTarget(action))), installation);
      if (problem) {
        refused.set(action, `refused: ${describeTarget(copyTarget(action))} ${problem}`);
        continue;
      }
    }
    for (const target of targetsOf(action)) {
      const current = tags.get(targetKey(target))?.tags;
      const problem =
        current === undefined
          ? "it does not exist (or is not this account's)"
          : ownershipProblem(current, installation);
      if (problem) {
        refused.set(
          action,
          `refused: ${describeTarget(target)} is not Leaven's to change: ${problem}. Leaven never changes or deletes a resource it does not own`,
        );
        break;
      }
    }
  }
  return { refused };
}

function copyTarget(action: TagCopyAction): Target {
  return { kind: "image", region: action.region, id: action.imageId };
}

/**
 * A copy without an owner tag is tagged only when it is provably the one Leaven made: Leaven's name for it,
 * copied from Leaven's own home image (checked as a normal target). One with an owner tag must be ours.
 */
function untaggedCopyProblem(
  action: TagCopyAction,
  current: ReadBack | undefined,
  installation: string,
): string | undefined {
  if (!current) return "does not exist (or is not this account's)";
  // Its snapshots are tagged with it only when they are the copy's own (EC2 lists them on the image).
  const foreign = action.snapshotIds.filter((id) => !(current.snapshotIds ?? []).includes(id));
  if (foreign.length > 0) return `does not own snapshot ${foreign.join(", ")}`;
  if (current.tags[Tag.managedBy] !== undefined) {
    const problem = ownershipProblem(current.tags, installation);
    return problem ? `is not Leaven's to change: ${problem}` : undefined;
  }
  if (current.name !== action.name || current.sourceImageId !== action.sourceImageId)
    return `is not the copy Leaven made: it is named ${current.name ?? "(unknown)"} and copied from ${current.sourceImageId ?? "(unknown)"}, not ${action.name} from ${action.sourceImageId}`;
  return undefined;
}
