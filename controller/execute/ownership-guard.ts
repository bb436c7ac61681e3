// The executor's own ownership check. The planner only ever targets this installation's resources, but
// the executor does not take that on trust: before any call that changes or deletes a resource, it reads
// the resource's tags back from EC2 and refuses the action unless the resource is Leaven's and this
// installation's. A planner bug, a stale inventory or a look-alike resource therefore cannot make Leaven
// touch an image, snapshot, instance or launch template it does not own.
import { DEFAULT_INSTALLATION, OWNERSHIP_TAGS, ownershipProblem } from "../api/tags.ts";
import { CloudError, type CloudPort, type Tags } from "../cloud/port.ts";
import type { Action } from "../plan/actions.ts";

export type ResourceKind = "image" | "instance" | "snapshot" | "launch-template";

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
      return [{ kind: "instance", region, id: action.instanceId }];
    case "copy-image":
      return [{ kind: "image", region: action.copy.sourceRegion, id: action.copy.sourceImageId }];
    case "set-tags":
    case "remove-tags":
    case "share-image":
    case "disable-image":
      return [{ kind: "image", region, id: action.imageId }];
    case "deregister-image":
      return [
        { kind: "image", region, id: action.imageId },
        ...action.snapshotIds.map((id) => ({ kind: "snapshot" as const, region, id })),
      ];
    case "delete-failure-record":
      return [{ kind: "launch-template", region, id: action.launchTemplateId }];
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
    default:
      return undefined;
  }
}

/** Tag keys an action writes or removes on an existing resource. */
function changedKeys(action: Action): string[] {
  switch (action.kind) {
    case "set-tags":
    case "keep-instance":
      return Object.keys(action.tags);
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
async function readTags(cloud: CloudPort, targets: readonly Target[]): Promise<Map<string, Tags>> {
  const groups = new Map<string, Target[]>();
  for (const target of targets) {
    const key = `${target.kind} ${target.region}`;
    const group = groups.get(key);
    if (group) {
      if (!group.some((t) => t.id === target.id)) group.push(target);
    } else groups.set(key, [target]);
  }
  const found = new Map<string, Tags>();
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
            for (const image of images) found.set(targetKey({ kind, region, id: image.imageId }), image.tags);
          } else if (kind === "instance") {
            const instances = await cloud.describeInstances(region, [{ name: "instance-id", values: ids }]);
            for (const instance of instances)
              found.set(targetKey({ kind, region, id: instance.instanceId }), instance.tags);
          } else if (kind === "launch-template") {
            for (const template of await describeLaunchTemplatesById(cloud, region, ids))
              found.set(targetKey({ kind, region, id: template.launchTemplateId }), template.tags);
          } else {
            const snapshots = await cloud.describeSnapshots(region, [{ name: "snapshot-id", values: ids }]);
            for (const snapshot of snapshots)
              found.set(targetKey({ kind, region, id: snapshot.snapshotId }), snapshot.tags);
          }
        })(),
      );
    }
  }
  await Promise.all(reads);
  return found;
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
  }
  const tags = await readTags(cloud, toRead);
  for (const action of actions) {
    if (refused.has(action)) continue;
    for (const target of targetsOf(action)) {
      const current = tags.get(targetKey(target));
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
