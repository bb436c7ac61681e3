import { bakeOutputPrefix } from "../api/package-manifest.ts";
import { ownershipProblem, Tag } from "../api/tags.ts";
import { CloudError, type CloudPort, type Tags } from "../cloud/port.ts";
import type {
  Action,
  CreateBakeSnapshotAction,
  CreateImageAction,
  CreateVolumeAction,
  LaunchBakeAction,
  LaunchBakeryHostAction,
  PutParameterAction,
  RegisterImageAction,
  RemoveTagsAction,
  SendBakeCommandAction,
  ShareImageAction,
} from "../plan/actions.ts";
import { canonicalJson, relaunchToken, sha256 } from "../plan/recipe.ts";
import { channelMoves, heldBackReason } from "./channel-order.ts";
import { preflightRefusal, targetsOf, verifyOwnership } from "./ownership-guard.ts";
import { type ManifestTarget, storeManifest } from "./store-manifest.ts";

export interface ActionResult {
  /** The actions this result covers (tag and terminate calls are batched per region). */
  actions: Action[];
  ok: boolean;
  error?: string;
  /** False when retrying the same call cannot help (a 4xx other than throttling). */
  retryable?: boolean;
  /** Ids created: instance, image, launch template. */
  created?: string;
}

export interface ExecuteOptions {
  /** Actions in flight per region; the token buckets set the rate, this bounds memory and sockets. */
  concurrencyPerRegion?: number;
  onResult?: (result: ActionResult) => void;
  /** This controller's installation: the executor refuses to touch any other's resources. */
  installation?: string;
  /** The clock's time, for a relaunch whose terminated instance EC2 no longer lists (default Date.now). */
  now?: () => number;
  /** The manifests bucket and its store (leaven.yaml manifests), for store-manifest. */
  manifests?: ManifestTarget;
}

/** A unit of work: one action, or several tag/terminate actions that one EC2 call can serve. */
interface Job {
  region: string;
  actions: Action[];
  run(cloud: CloudPort): Promise<string | undefined>;
}

function tagsKey(tags: Tags): string {
  return JSON.stringify(Object.entries(tags).sort(([a], [b]) => a.localeCompare(b)));
}

/** CreateTags/DeleteTags/TerminateInstances take many resource ids: batch identical calls per region. */
const MAX_BATCH = 500;

function toJobs(
  actions: readonly Action[],
  installation: string | undefined,
  now: () => number = Date.now,
  manifests?: ManifestTarget,
): Job[] {
  const jobs: Job[] = [];
  const batches = new Map<string, Action[]>();
  const batch = (key: string, action: Action) => {
    const list = batches.get(key);
    if (list) list.push(action);
    else batches.set(key, [action]);
  };
  for (const action of actions) {
    switch (action.kind) {
      case "set-tags":
        batch(`set ${action.region} ${tagsKey(action.tags)}`, action);
        break;
      case "remove-tags":
        batch(`remove ${action.region} ${JSON.stringify([...action.keys].sort())}`, action);
        break;
      case "terminate-instance":
        if (action.tags) jobs.push(single(action, installation, now));
        else batch(`terminate ${action.region}`, action);
        break;
      case "store-manifest":
        jobs.push({
          region: action.region,
          actions: [action],
          run: (cloud) => storeManifest(cloud, action, manifests, installation),
        });
        break;
      case "send-bake-command":
        jobs.push({
          region: action.region,
          actions: [action],
          run: (cloud) => runAction(cloud, withBakeOutput(action, manifests), installation, now),
        });
        break;
      default:
        jobs.push(single(action, installation, now));
    }
  }
  for (const [key, list] of batches) {
    for (let i = 0; i < list.length; i += MAX_BATCH) jobs.push(toBatchJob(key, list.slice(i, i + MAX_BATCH)));
  }
  return jobs;
}

function toBatchJob(key: string, actions: Action[]): Job {
  const first = actions[0]!;
  const region = first.region;
  if (key.startsWith("set ") && first.kind === "set-tags") {
    const ids = actions.map((a) => (a as { imageId: string }).imageId);
    return { region, actions, run: async (cloud) => void (await cloud.createTags(region, ids, first.tags)) };
  }
  if (key.startsWith("remove ") && first.kind === "remove-tags") {
    const ids = actions.map((a) => (a as { imageId: string }).imageId);
    return { region, actions, run: async (cloud) => void (await cloud.deleteTags(region, ids, first.keys)) };
  }
  const ids = actions.map((a) => (a as { instanceId: string }).instanceId);
  return { region, actions, run: async (cloud) => void (await cloud.terminateInstances(region, ids)) };
}

function single(action: Action, installation: string | undefined, now: () => number = Date.now): Job {
  return {
    region: action.region,
    actions: [action],
    run: (cloud) => runAction(cloud, action, installation, now),
  };
}

const DAY_MS = 86_400_000;

/**
 * EC2 refuses a launch token whose instance has terminated (for at least a day after), or that was sent
 * before with other arguments. The planner launches
 * a bake only when the build has no image, no live instance and no recorded failure, so the instance that
 * token launched made an image that is gone since (deregistered behind Leaven's back) or ended with no trace:
 * bake again with a token derived from that instance — deterministic, so a repeat after a crash or a lost
 * answer reuses it. When EC2 no longer lists the instance (about an hour after termination), the token
 * derives from the day instead; a duplicate launched across midnight is terminated by the next plan.
 */
async function relaunch(cloud: CloudPort, action: LaunchBakeAction, now: () => number): Promise<string> {
  const { region, launch } = action;
  const earlier = await cloud.describeInstances(region, [
    { name: "client-token", values: [launch.clientToken] },
  ]);
  const gone = earlier.map((i) => i.instanceId).sort()[0];
  // The request itself is part of the token: EC2 refuses a token sent with other arguments (a parent image
  // baked again since, another instance type), and an earlier relaunch's token may have been.
  const { clientToken: _token, tags: _tags, ...request } = launch;
  const after = `${gone ?? `day-${Math.floor(now() / DAY_MS)}`}/${sha256(canonicalJson(request)).slice(0, 16)}`;
  const { instanceId } = await cloud.runInstance(region, {
    ...launch,
    clientToken: relaunchToken(launch.clientToken, after),
    tags: { ...launch.tags, [Tag.rebakeOf]: gone ?? launch.clientToken },
  });
  return instanceId;
}

/** How many successors of a bakery host's token are tried before the launch fails (each is one RunInstances). */
const HOST_TOKEN_SUCCESSORS = 10;

/**
 * RunInstances for a bakery host, along a chain of tokens: the planner's (one per region and day, or after a
 * dead host) and its deterministic successors. A token whose host was terminated and is no longer listed (a
 * host terminated when no spec baked on a volume, needed again the same day) is refused by EC2; the next one
 * is tried, so a launch repeated after a crash walks the same chain to the same host.
 */
async function launchBakeryHost(cloud: CloudPort, action: LaunchBakeryHostAction): Promise<string> {
  for (let n = 0; ; n++) {
    const clientToken = n === 0 ? action.launch.clientToken : successorToken(action.launch.clientToken, n);
    try {
      const { instanceId } = await cloud.runInstance(action.region, { ...action.launch, clientToken });
      return instanceId;
    } catch (error) {
      const spent =
        error instanceof CloudError &&
        (error.code === "IdempotentInstanceTerminated" || error.code === "IdempotentParameterMismatch");
      if (!spent || n >= HOST_TOKEN_SUCCESSORS) throw error;
    }
  }
}

/** The n-th successor of a launch token (≤ 64 characters, as RunInstances' ClientToken must be). */
export function successorToken(token: string, n: number): string {
  return `${token.slice(0, 40)}-${sha256(`${token}#${n}`).slice(0, 16)}`;
}

/**
 * The image name is deterministic, so a duplicate is success only when the image holding the name is this
 * build's own (an earlier attempt, before a crash, made it). Anything else — a foreign image, another
 * installation's or another build's — would be mistaken for progress pass after pass: fail for good,
 * naming the image and what to do.
 */
async function adoptDuplicate(
  cloud: CloudPort,
  action: CreateImageAction,
  error: CloudError,
  installation: string | undefined,
): Promise<string | undefined> {
  const { region } = action;
  const name = action.image.name;
  const found = await cloud.describeImages(region, {
    owners: ["self"],
    filters: [{ name: "name", values: [name] }],
    includeDeprecated: true,
    includeDisabled: true,
  });
  const holder = found.find((image) => image.name === name);
  if (!holder) {
    // Deregistered since, or not yet visible: let the next pass try again.
    throw new CloudError(
      error.code,
      `${error.message} (the image holding the name is not visible yet)`,
      400,
      true,
    );
  }
  const problem = ownershipProblem(holder.tags, installation);
  const sameBuild = holder.tags[Tag.spec] === action.spec && holder.tags[Tag.build] === action.build;
  if (!problem && sameBuild) return holder.imageId;
  const why = problem
    ? `it is not Leaven's (${problem})`
    : `it carries ${Tag.spec}=${holder.tags[Tag.spec] ?? "(none)"} ${Tag.build}=${holder.tags[Tag.build] ?? "(none)"}, not ${action.spec} ${action.build}`;
  throw new CloudError(
    error.code,
    `image name ${name} is taken in ${region} by ${holder.imageId}: ${why}. Leaven never adopts or changes it; deregister or rename that image (aws ec2 deregister-image --region ${region} --image-id ${holder.imageId}) or bump the spec's version, then run apply again`,
    400,
    false,
  );
}

/**
 * A create (Overwrite=false) found the name taken. Success only when the parameter there is this
 * installation's for the same spec and channel (an earlier attempt, whose answer was lost, made it: the next
 * pass compares its value); anyone else's is never overwritten — fail for good, naming it.
 */
async function adoptExistingParameter(
  cloud: CloudPort,
  action: PutParameterAction,
  error: CloudError,
  installation: string | undefined,
): Promise<undefined> {
  const { region } = action;
  const name = action.parameter.name;
  let tags: Tags | undefined;
  try {
    tags = await cloud.listTagsForResource(region, name);
  } catch (readError) {
    if (!(readError instanceof CloudError && readError.code === "InvalidResourceId")) throw readError;
  }
  if (tags === undefined)
    throw new CloudError(error.code, `${error.message} (parameter ${name} is not visible yet)`, 400, true);
  const problem = ownershipProblem(tags, installation);
  if (!problem && tags[Tag.spec] === action.spec && tags[Tag.channel] === action.channel) return undefined;
  const why =
    problem ??
    `it carries ${Tag.spec}=${tags[Tag.spec] ?? "(none)"} ${Tag.channel}=${tags[Tag.channel] ?? "(none)"}, not ${action.spec} ${action.channel}`;
  throw new CloudError(
    error.code,
    `parameter ${name} already exists in ${region} and is not Leaven's to overwrite (${why}); delete it (aws ssm delete-parameter --region ${region} --name ${name}) or set spec.publish.prefix of ${action.spec} to another path`,
    400,
    false,
  );
}

/** `wanted` minus `current`, and `current` minus `wanted`. */
function difference(wanted: readonly string[] = [], current: readonly string[] = []) {
  const have = new Set(current);
  const want = new Set(wanted);
  return { add: [...want].filter((v) => !have.has(v)), remove: [...have].filter((v) => !want.has(v)) };
}

/**
 * Makes the image's launch permissions, and its snapshots' create-volume permissions, exactly the spec's:
 * reads what is granted now, sends one Modify call with both Add and Remove where something differs, and
 * only then records the share hash (a crash before it repeats the level-based comparison, harmlessly).
 * Public access (`group: all`) is never granted nor revoked: a public image or snapshot is brought in line
 * otherwise, left public, and reported — its hash stays unwritten, so the report stands until it is private.
 */
async function applyShare(cloud: CloudPort, action: ShareImageAction): Promise<void> {
  const { region, imageId } = action;
  const current = await cloud.describeLaunchPermissions(region, imageId);
  const accounts = difference(action.permissions.accounts, current.accounts);
  const organizations = difference(action.permissions.organizationArns, current.organizationArns);
  const units = difference(action.permissions.organizationalUnitArns, current.organizationalUnitArns);
  try {
    await cloud.modifyLaunchPermissions(region, imageId, {
      add: { accounts: accounts.add, organizationArns: organizations.add, organizationalUnitArns: units.add },
      remove: {
        accounts: accounts.remove,
        organizationArns: organizations.remove,
        organizationalUnitArns: units.remove,
      },
    });
  } catch (error) {
    // Default EBS encryption with the AWS-managed key: such an image can never be shared; say how to fix it.
    if (error instanceof CloudError && /AWS Managed CMK|AWS managed key/i.test(error.message))
      throw new CloudError(
        error.code,
        `${error.message.replace(`${error.code}: `, "")} ${imageId} in ${region} is encrypted with the AWS-managed EBS key (the account encrypts EBS by default): set bake.kmsKeyId of ${action.spec} to a customer-managed key (and share.kmsKeys for its copies' regions), bump its version so the build is baked again under that key, and give the accounts a grant on the keys`,
        error.statusCode,
        false,
      );
    throw error;
  }
  const publicOnes: { what: string; fix: string }[] = [];
  if (current.public)
    publicOnes.push({
      what: `image ${imageId}`,
      fix: `aws ec2 modify-image-attribute --region ${region} --image-id ${imageId} --launch-permission "Remove=[{Group=all}]"`,
    });
  for (const snapshotId of action.snapshotIds) {
    const volume = await cloud.describeVolumePermissions(region, snapshotId);
    await cloud.modifyVolumePermissions(
      region,
      snapshotId,
      difference(action.snapshotAccounts, volume.accounts),
    );
    if (volume.public)
      publicOnes.push({
        what: `snapshot ${snapshotId}`,
        fix: `aws ec2 modify-snapshot-attribute --region ${region} --snapshot-id ${snapshotId} --attribute createVolumePermission --operation-type remove --group-names all`,
      });
  }
  if (publicOnes.length > 0) {
    throw new CloudError(
      "PublicImage",
      `${publicOnes.map((p) => p.what).join(" and ")} in ${region} ${publicOnes.length === 1 ? "is" : "are"} public (group all), which Leaven never grants nor revokes; the other permissions now match spec.share. Make ${publicOnes.length === 1 ? "it" : "them"} private unless ${publicOnes.length === 1 ? "it" : "they"} must be public: ${publicOnes.map((p) => p.fix).join("; ")}`,
      400,
      false,
    );
  }
  await cloud.createTags(region, [imageId], { [Tag.shared]: action.shareHash });
}

/** The side effects of one action. Each is idempotent: repeating it after a crash is harmless. */
async function runAction(
  cloud: CloudPort,
  action: Action,
  installation: string | undefined,
  now: () => number,
): Promise<string | undefined> {
  const region = action.region;
  switch (action.kind) {
    case "launch-bake":
      try {
        const { instanceId } = await cloud.runInstance(region, action.launch);
        return instanceId;
      } catch (error) {
        // Terminated: the instance that token launched is gone. Mismatch: the token was sent before with other
        // arguments (the parent image was baked again, the instance type changed) and that instance is gone
        // too, or the plan would be following it instead of launching.
        if (
          error instanceof CloudError &&
          (error.code === "IdempotentInstanceTerminated" || error.code === "IdempotentParameterMismatch")
        )
          return relaunch(cloud, action, now);
        throw error;
      }
    case "launch-check": {
      const { instanceId } = await cloud.runInstance(region, action.launch);
      return instanceId;
    }
    case "create-image": {
      try {
        const { imageId } = await cloud.createImage(region, action.image);
        return imageId;
      } catch (error) {
        if (error instanceof CloudError && error.code === "InvalidAMIName.Duplicate")
          return adoptDuplicate(cloud, action, error, installation);
        throw error;
      }
    }
    case "terminate-instance":
      if (action.tags) await cloud.createTags(region, [action.instanceId], action.tags);
      await cloud.terminateInstances(region, [action.instanceId]);
      return undefined;
    case "copy-image": {
      const { imageId } = await cloud.copyImage(region, action.copy);
      return imageId;
    }
    case "set-tags":
      await cloud.createTags(region, [action.imageId], action.tags);
      return undefined;
    case "tag-copy":
      await cloud.createTags(region, [action.imageId, ...action.snapshotIds], action.tags);
      return undefined;
    case "remove-tags":
      await cloud.deleteTags(region, [action.imageId], action.keys);
      return undefined;
    case "share-image":
      await applyShare(cloud, action);
      return undefined;
    case "disable-image":
      await cloud.disableImage(region, action.imageId);
      if (action.tags) await cloud.createTags(region, [action.imageId], action.tags);
      return undefined;
    case "deprecate-image":
      await cloud.enableImageDeprecation(region, action.imageId, new Date(action.deprecateAt));
      await cloud.createTags(region, [action.imageId], action.tags);
      return undefined;
    case "restore-image":
      if (action.enable) await cloud.enableImage(region, action.imageId);
      if (action.undeprecate) await cloud.disableImageDeprecation(region, action.imageId);
      if (action.keys.length > 0) await cloud.deleteTags(region, [action.imageId], action.keys);
      return undefined;
    case "keep-instance":
      await cloud.createTags(region, [action.instanceId], action.tags);
      if (action.stop) await cloud.stopInstances(region, [action.instanceId]);
      return undefined;
    case "tag-instance":
      await cloud.createTags(region, [action.instanceId], action.tags);
      return undefined;
    case "deregister-image":
      // One call: EC2 deletes the snapshots with the image (their ownership was read back beforehand).
      try {
        await cloud.deregisterImage(region, action.imageId, { deleteSnapshots: true });
      } catch (error) {
        // Gone since the ownership check read it (a lost response after it went through): done.
        if (!(error instanceof CloudError && error.code === "InvalidAMIID.NotFound")) throw error;
      }
      return undefined;
    case "record-failure":
      try {
        const { launchTemplateId } = await cloud.createLaunchTemplate(region, action.template);
        return launchTemplateId;
      } catch (error) {
        // The token is per failed instance: a mismatch means this very failure was recorded already
        // (the same request on an earlier pass, with another failed-at time).
        if (error instanceof CloudError && error.code === "IdempotentParameterMismatch") return undefined;
        if (error instanceof CloudError && error.code === "InvalidLaunchTemplateName.AlreadyExistsException")
          throw new CloudError(
            error.code,
            `a launch template named ${action.template.name} already exists in ${region}: an earlier failure record of ${action.build} that was not deleted, or not Leaven's. Leaven deletes its own on the next pass or on apply --retry ${action.spec}; delete another's yourself (aws ec2 delete-launch-template --region ${region} --launch-template-name ${action.template.name})`,
            error.statusCode,
            false,
          );
        throw error;
      }
    case "put-parameter":
      try {
        await cloud.putParameter(region, action.parameter);
      } catch (error) {
        if (
          error instanceof CloudError &&
          error.code === "ParameterAlreadyExists" &&
          !action.parameter.overwrite
        )
          return adoptExistingParameter(cloud, action, error, installation);
        throw error;
      }
      return undefined;
    case "delete-parameter":
      try {
        await cloud.deleteParameter(region, action.name);
      } catch (error) {
        // Gone since the ownership check read it: deleted is what was wanted.
        if (!(error instanceof CloudError && error.code === "ParameterNotFound")) throw error;
      }
      return undefined;
    case "delete-snapshot":
      try {
        await cloud.deleteSnapshot(region, action.snapshotId);
      } catch (error) {
        // Gone since the ownership check read it: deleted is what was wanted. (InvalidSnapshot.InUse — an
        // image uses it after all — is retried by the adapter and then left for the next sweep.)
        if (!(error instanceof CloudError && error.code === "InvalidSnapshot.NotFound")) throw error;
      }
      return undefined;
    case "store-manifest":
      return storeManifest(cloud, action, undefined, installation);
    case "delete-failure-record":
      try {
        await cloud.deleteLaunchTemplate(region, action.launchTemplateId);
      } catch (error) {
        // Gone since the ownership check read it: deleted is what was wanted.
        if (!(error instanceof CloudError && error.code === "InvalidLaunchTemplateId.NotFound")) throw error;
      }
      return undefined;
    case "launch-bakery-host":
      return launchBakeryHost(cloud, action);
    case "stop-instance":
      // Recorded first: a stop Leaven expects is not mistaken for an unhealthy host.
      await cloud.createTags(region, [action.instanceId], action.tags);
      await cloud.stopInstances(region, [action.instanceId]);
      return undefined;
    case "start-instance":
      // Recorded first: a host that does not come up is replaced once the start has had its time.
      await cloud.createTags(region, [action.instanceId], action.tags);
      await cloud.startInstances(region, [action.instanceId]);
      return undefined;
    case "create-volume":
      return createBakeVolume(cloud, action, now);
    case "attach-volume":
      await cloud.attachVolume(region, action.volumeId, action.instanceId, action.device);
      return undefined;
    case "send-bake-command":
      return sendBakeCommand(cloud, action, now);
    case "detach-volume":
      // The verdict first: once detached, nothing else says how the bake ended.
      if (action.tags) await cloud.createTags(region, [action.volumeId], action.tags);
      try {
        await cloud.detachVolume(region, action.volumeId, { instanceId: action.instanceId });
      } catch (error) {
        // Detached since the plan was made (a repeat after a crash): done.
        if (
          !(
            error instanceof CloudError &&
            (error.code === "IncorrectState" || error.code === "InvalidAttachment.NotFound")
          )
        )
          throw error;
      }
      return undefined;
    case "tag-volume":
      await cloud.createTags(region, [action.volumeId], action.tags);
      return undefined;
    case "delete-volume":
      try {
        await cloud.deleteVolume(region, action.volumeId);
      } catch (error) {
        if (!(error instanceof CloudError && error.code === "InvalidVolume.NotFound")) throw error;
      }
      return undefined;
    case "create-bake-snapshot":
      return createBakeSnapshot(cloud, action, now);
    case "register-image":
      return registerBakeImage(cloud, action, installation);
  }
}

/** The parent image, described by id: its root snapshot and boot settings (CloudImage.boot). */
async function parentImage(cloud: CloudPort, region: string, imageId: string) {
  const [image] = await cloud.describeImages(region, { imageIds: [imageId], includeDeprecated: true });
  if (!image?.boot?.rootSnapshotId || !image.rootDeviceName)
    throw new CloudError(
      "ParentImageUnreadable",
      `the parent image ${imageId} in ${region} shows no root snapshot: a volume bake needs an EBS-backed parent`,
      400,
      false,
    );
  return { image, boot: image.boot, rootDeviceName: image.rootDeviceName };
}

async function createBakeVolume(
  cloud: CloudPort,
  action: CreateVolumeAction,
  now: () => number,
): Promise<string> {
  const { boot } = await parentImage(cloud, action.region, action.parentImageId);
  const size =
    action.volume.size !== undefined && boot.rootVolumeSize !== undefined
      ? Math.max(action.volume.size, boot.rootVolumeSize)
      : action.volume.size;
  const input = {
    ...action.volume,
    ...(size !== undefined ? { size } : {}),
    snapshotId: boot.rootSnapshotId!,
  };
  try {
    const { volumeId } = await cloud.createVolume(action.region, input);
    return volumeId;
  } catch (error) {
    // The token's volume is deleted (the sweep took an abandoned bake's volume, and the build is wanted again):
    // a token derived from it and the day, deterministic so a repeat after a crash reuses it.
    if (!(error instanceof CloudError && error.code === "IdempotentParameterMismatch")) throw error;
    const clientToken = `leaven-volume-${sha256(`${input.clientToken}#after-day-${Math.floor(now() / DAY_MS)}`).slice(0, 40)}`;
    // What it replaces is not known, only that the token was spent: the rebake says so, by that token.
    const tags = { ...input.tags, [Tag.rebakeOf]: input.tags[Tag.rebakeOf] ?? input.clientToken };
    const { volumeId } = await cloud.createVolume(action.region, { ...input, clientToken, tags });
    return volumeId;
  }
}

/**
 * The bake command with SSM's output to the manifests bucket, when the planner asked for it and the bucket is
 * there: the whole stdout, the package manifest with it, lands under bakeOutputPrefix (store-manifest reads it).
 */
export function withBakeOutput(
  action: SendBakeCommandAction,
  manifests: ManifestTarget | undefined,
): SendBakeCommandAction {
  if (!action.outputToManifests || !manifests) return action;
  const keyPrefix = bakeOutputPrefix(manifests.prefix, action.spec, action.build, action.volumeId);
  return { ...action, command: { ...action.command, outputS3: { bucket: manifests.bucket, keyPrefix } } };
}

/** A host SSM does not reach this long after its launch is unhealthy: its agent never registered. */
export const HOST_REGISTRATION_MS = 10 * 60_000;

/**
 * SendCommand has no ClientToken. The planner sends only when this pass's ListCommands of the host showed no
 * command for the build and volume (observe/volume-bakes.ts), and waits after a send it cannot see yet
 * (plan/volume-bake.ts COMMAND_VISIBILITY_MS), so it is not listed again here.
 */
async function sendBakeCommand(
  cloud: CloudPort,
  action: SendBakeCommandAction,
  now: () => number,
): Promise<string> {
  try {
    // Recorded first, so a send whose answer is lost (or a crash right after it) is waited for.
    await cloud.createTags(action.region, [action.volumeId], {
      [Tag.commandRequestedAt]: new Date(now()).toISOString(),
    });
    const { commandId } = await cloud.sendCommand(action.region, action.command);
    return commandId;
  } catch (error) {
    if (!(error instanceof CloudError && error.code === "InvalidInstanceId")) throw error;
    // SSM does not reach the host, so nothing runs there: the next pass need not wait for the command to be
    // listed (a new host's agent may be registering). Best effort: should the tag stay, that pass only waits.
    await cloud.deleteTags(action.region, [action.volumeId], [Tag.commandRequestedAt]).catch(() => {});
    if (action.userNamedHost) throw error;
    const launched = Date.parse(action.hostLaunchedAt ?? "");
    if (!(now() - launched >= HOST_REGISTRATION_MS))
      throw new CloudError(
        error.code,
        `${error.detail} (the host's SSM agent may still be registering)`,
        error.statusCode,
        true,
      );
    // Marked, not terminated here: the planner replaces it (plan/bakery.ts), and the bake moves with it.
    await cloud.createTags(action.region, [action.instanceId], {
      [Tag.unhealthy]: `SSM Run Command cannot reach it (${error.code})`,
    });
    throw new CloudError(
      error.code,
      `${error.detail}; bakery host ${action.instanceId} is marked unhealthy and will be replaced`,
      error.statusCode,
      true,
    );
  }
}

/** CreateSnapshot has no ClientToken: an existing snapshot of the volume (by its tag) is used instead. */
async function createBakeSnapshot(
  cloud: CloudPort,
  action: CreateBakeSnapshotAction,
  now: () => number,
): Promise<string> {
  const existing = await cloud.describeSnapshots(action.region, [
    { name: `tag:${Tag.bakeVolume}`, values: [action.volumeId] },
    { name: `tag:${Tag.build}`, values: [action.build] },
  ]);
  const mine = existing.find(
    (s) => ownershipProblem(s.tags, action.snapshot.tags[Tag.installation]) === undefined,
  );
  if (mine) return mine.snapshotId;
  // The planner waits this long before asking again, while a new snapshot may not be listed yet.
  await cloud.createTags(action.region, [action.volumeId], {
    [Tag.snapshotRequestedAt]: new Date(now()).toISOString(),
  });
  const { snapshotId } = await cloud.createSnapshot(action.region, action.snapshot);
  return snapshotId;
}

async function registerBakeImage(
  cloud: CloudPort,
  action: RegisterImageAction,
  installation: string | undefined,
): Promise<string> {
  const {
    image: parent,
    boot,
    rootDeviceName,
  } = await parentImage(cloud, action.region, action.parentImageId);
  try {
    const { imageId } = await cloud.registerImage(action.region, {
      name: action.image.name,
      ...(action.image.description ? { description: action.image.description } : {}),
      architecture: parent.architecture ?? "x86_64",
      ...(boot.bootMode ? { bootMode: boot.bootMode } : {}),
      ...(boot.enaSupport !== undefined ? { enaSupport: boot.enaSupport } : {}),
      ...(boot.sriovNetSupport !== undefined ? { sriovNetSupport: boot.sriovNetSupport } : {}),
      virtualizationType: boot.virtualizationType ?? "hvm",
      rootDeviceName,
      root: { ...action.image.root, snapshotId: action.snapshotId },
      tags: action.image.tags,
    });
    return imageId;
  } catch (error) {
    if (!(error instanceof CloudError && error.code === "InvalidAMIName.Duplicate")) throw error;
    // The name is deterministic: a duplicate that is this build's own is an earlier attempt's answer, lost.
    const [found] = await cloud.describeImages(action.region, {
      owners: ["self"],
      filters: [{ name: "name", values: [action.image.name] }],
      includeDeprecated: true,
      includeDisabled: true,
    });
    if (
      found &&
      ownershipProblem(found.tags, installation) === undefined &&
      found.tags[Tag.build] === action.build
    )
      return found.imageId;
    // EC2 lists a new image a few seconds after RegisterImage: most likely this build's, from a pass ago.
    if (!found)
      throw new CloudError(
        "ImageNotListedYet",
        `${error.message}, but no image of that name is listed yet (EC2 lists a new image a few seconds after RegisterImage); the next pass looks again`,
        error.statusCode,
        true,
      );
    throw error;
  }
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

/**
 * Runs a plan's actions: bounded concurrency per region (the rate-limited cloud paces the calls), and one
 * failing action never stops the others. Every resource an action changes is first read back from EC2 and
 * the action refused unless the resource is this installation's. Returns one result per job, in
 * completion order.
 */
export async function execute(
  cloud: CloudPort,
  actions: readonly Action[],
  options: ExecuteOptions = {},
): Promise<ActionResult[]> {
  const concurrency = options.concurrencyPerRegion ?? 32;
  const results: ActionResult[] = [];
  const record = (result: ActionResult) => {
    results.push(result);
    options.onResult?.(result);
  };
  let allowed: Action[];
  try {
    const { refused } = await verifyOwnership(cloud, actions, options.installation);
    for (const [action, why] of refused)
      record({ actions: [action], ok: false, error: why, retryable: false });
    allowed = actions.filter((action) => !refused.has(action));
  } catch (error) {
    // Ownership could not be read back: nothing that changes an existing resource runs blind.
    allowed = [];
    for (const action of actions) {
      // What needs no read-back still gets the checks that need none: never create an unowned resource.
      const refusal = preflightRefusal(action, options.installation);
      if (refusal) record({ actions: [action], ok: false, error: refusal, retryable: false });
      else if (targetsOf(action).length === 0) allowed.push(action);
      else
        record({
          actions: [action],
          ok: false,
          error: `not run: could not verify ownership: ${errorText(error)}`,
          retryable: true,
        });
    }
  }
  // Channel moves: a removal waits, in its region, for the adds of the same channel (channel-order.ts).
  const moves = channelMoves(actions);
  const succeeded = new Set<Action>();
  const errors = new Map<Action, string>();
  for (const result of results) for (const action of result.actions) errors.set(action, result.error ?? "");
  const track = (result: ActionResult) => {
    for (const action of result.actions) {
      if (result.ok) succeeded.add(action);
      else errors.set(action, result.error ?? "");
    }
    record(result);
  };
  const byRegion = new Map<string, { first: Action[]; after: RemoveTagsAction[] }>();
  for (const action of allowed) {
    const phases = byRegion.get(action.region) ?? { first: [], after: [] };
    if (action.kind === "remove-tags" && moves.has(action)) phases.after.push(action);
    else phases.first.push(action);
    byRegion.set(action.region, phases);
  }
  const runJobs = async (jobs: Job[]) => {
    let next = 0;
    const worker = async () => {
      while (next < jobs.length) {
        const job = jobs[next++]!;
        try {
          const created = await job.run(cloud);
          track({ actions: job.actions, ok: true, ...(created ? { created } : {}) });
        } catch (error) {
          const retryable = error instanceof CloudError ? error.retryable : true;
          if (!retryable && job.actions.length > 1) {
            // EC2 fails a whole CreateTags/DeleteTags/TerminateInstances call for one bad id (an image
            // deregistered meanwhile): split the batch so that one id does not hold back the rest (alone,
            // an id EC2 does not show yet is retried on the consistency budget).
            jobs.push(...job.actions.map((a) => single(a, options.installation, options.now)));
            continue;
          }
          track({
            actions: job.actions,
            ok: false,
            error: errorText(error),
            retryable,
          });
        }
      }
    };
    await Promise.all(Array.from({ length: Math.min(concurrency, jobs.length) }, worker));
  };
  await Promise.all(
    [...byRegion.values()].map(async ({ first, after }) => {
      await runJobs(toJobs(first, options.installation, options.now, options.manifests));
      // Only now, with the region's adds done: the removals whose adds all succeeded.
      const ready: Action[] = [];
      for (const removal of after) {
        const failedAdd = moves.get(removal)!.find((add) => !succeeded.has(add));
        if (!failedAdd) ready.push(removal);
        else
          track({
            actions: [removal],
            ok: false,
            error: heldBackReason(removal, failedAdd, errors.get(failedAdd)),
            retryable: true,
          });
      }
      await runJobs(toJobs(ready, options.installation, options.now, options.manifests));
    }),
  );
  return results;
}
