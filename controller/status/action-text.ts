// What an action did, in words: one sentence per action for the JSON log, and the actions of a pass grouped
// across regions ("started copying api-server 1.14.2+b2a7f678 to eu-west-1, ap-southeast-2") for the live
// view's log and the pass summary. Channel moves say which channel moved, from which build to which.
import { CHANNEL_SINCE_TAG_PREFIX, CHANNEL_TAG_PREFIX, hasChannelTag, Tag } from "../api/tags.ts";
import type { CloudImage } from "../cloud/port.ts";
import { channelMoves } from "../execute/channel-order.ts";
import type { ActionResult } from "../execute/executor.ts";
import type { Action } from "../plan/actions.ts";

/** One log line: the sentence, and the fields a machine filters on. */
export interface ActionEvent {
  msg: string;
  fields: Record<string, unknown>;
}

/** Channels a tag action adds (set-tags) or takes off (remove-tags); empty for other actions. */
export function channelsOf(action: Action): string[] {
  const keys =
    action.kind === "set-tags"
      ? Object.keys(action.tags).filter((key) => action.tags[key] === "true")
      : action.kind === "remove-tags"
        ? action.keys
        : [];
  return keys
    .filter((key) => key.startsWith(CHANNEL_TAG_PREFIX))
    .map((key) => key.slice(CHANNEL_TAG_PREFIX.length))
    .sort();
}

/**
 * The build a channel add moves the channel away from: the spec's other image in that region that carries
 * one of the channels now (observed before the pass). Undefined for a channel the region did not have yet.
 */
export function movedFrom(action: Action, images: readonly CloudImage[]): string | undefined {
  if (action.kind !== "set-tags") return undefined;
  const keys = channelsOf(action).map((channel) => CHANNEL_TAG_PREFIX + channel);
  if (keys.length === 0) return undefined;
  const builds = (inChannels(images).get(`${action.spec} ${action.region}`) ?? [])
    .filter((image) => image.imageId !== action.imageId && keys.some((key) => image.tags[key] === "true"))
    .map((image) => image.tags[Tag.build] ?? image.imageId);
  return [...new Set(builds)].sort().join(", ") || undefined;
}

/**
 * The images in some channel, by `spec region`: found in one walk per list of images (a pass's, and the cache
 * hands out the same list while nothing changed), not one per logged action.
 */
const channelHolders = new WeakMap<readonly CloudImage[], Map<string, CloudImage[]>>();

function inChannels(images: readonly CloudImage[]): Map<string, CloudImage[]> {
  let bySpecRegion = channelHolders.get(images);
  if (!bySpecRegion) {
    bySpecRegion = new Map();
    for (const image of images) {
      if (!hasChannelTag(image.tags)) continue;
      const key = `${image.tags[Tag.spec]} ${image.region}`;
      const list = bySpecRegion.get(key);
      if (list) list.push(image);
      else bySpecRegion.set(key, [image]);
    }
    channelHolders.set(images, bySpecRegion);
  }
  return bySpecRegion;
}

/** Tag keys besides the channels (and their since-dates), shortened: `bake-result`, `shared`. */
function otherKeys(keys: readonly string[]): string[] {
  return keys
    .filter((key) => !key.startsWith(CHANNEL_TAG_PREFIX) && !key.startsWith(CHANNEL_SINCE_TAG_PREFIX))
    .map((key) => key.replace(/^leaven\.dev\//, ""));
}

function list(items: readonly string[]): string {
  return items.join(", ");
}

/** "in us-east-1", "in us-east-1, eu-west-1", "in 5 regions": named while a reader can take them in. */
function where(regions: readonly string[], preposition = "in"): string {
  return regions.length <= 3 ? `${preposition} ${list(regions)}` : `${preposition} ${regions.length} regions`;
}

/**
 * The sentence for actions of one kind, spec and build (and channels) in `regions`; `id` is what the
 * action created or touched, given when there is one action.
 */
function sentence(action: Action, regions: readonly string[], from: string | undefined, id?: string): string {
  const build = "build" in action && action.build ? ` ${action.build}` : "";
  const what = `${action.spec}${build}`;
  const at = where(regions);
  const opt = (text: string | undefined) => (text ? ` ${text}` : "");
  switch (action.kind) {
    case "launch-bake":
      return `launched bake instance${opt(id)} for ${what} ${at}`;
    case "launch-check":
      return `launched ${action.check} check instance${opt(id)} for ${what} ${at}`;
    case "store-manifest":
      return `stored the package manifest of ${what}`;
    case "create-image":
      return `created image${opt(id)} of ${what} ${at}`;
    case "copy-image":
      return `started copying ${what} ${where(regions, "to")}${id ? ` as ${id}` : ""}`;
    case "tag-copy":
      return `tagged the copy${opt(id)} of ${what} ${at}`;
    case "set-tags": {
      const channels = channelsOf(action);
      const others = otherKeys(Object.keys(action.tags));
      const parts: string[] = [];
      if (channels.length > 0)
        parts.push(
          from
            ? `moved ${list(channels)} of ${action.spec} from ${from} to${build} ${at}`
            : `put ${list(channels)} of ${action.spec} on${build} ${at}`,
        );
      if (others.length > 0) parts.push(`tagged ${what} ${at}: ${list(others)}`);
      return parts.join("; ") || `tagged ${what} ${at}`;
    }
    case "remove-tags": {
      const channels = channelsOf(action);
      const others = otherKeys(action.keys);
      const parts: string[] = [];
      if (channels.length > 0)
        parts.push(
          `took ${list(channels)} of ${action.spec} off${build} ${at}${action.revoked ? " (revoked)" : ""}`,
        );
      if (others.length > 0) parts.push(`removed ${list(others)} from ${what} ${at}`);
      return parts.join("; ") || `untagged ${what} ${at}`;
    }
    case "share-image": {
      const { accounts = [], organizationArns = [], organizationalUnitArns = [] } = action.permissions;
      const who = [...accounts, ...organizationArns, ...organizationalUnitArns];
      return `shared ${what} ${at} with ${who.length > 0 ? list(who) : "nobody"}`;
    }
    case "terminate-instance":
      return `terminated instance${opt(id)} of ${what} ${at}`;
    case "deregister-image":
      return `retired ${what}: deregistered its image${opt(id)} and snapshots ${at}`;
    case "disable-image":
      return `disabled image${opt(id)} of ${what} ${at}`;
    case "deprecate-image":
      return `deprecated image${opt(id)} of ${what} ${at} (from ${action.deprecateAt})`;
    case "restore-image":
      return `restored image${opt(id)} of ${what} ${at}: it is used again`;
    case "keep-instance":
      return `kept the failed bake instance${opt(id)} of ${what} ${at}, stopped, for debugging`;
    case "tag-instance":
      return `recorded ${list(otherKeys(Object.keys(action.tags)))} on instance${opt(id)} of ${what} ${at}`;
    case "delete-snapshot":
      return `deleted orphaned snapshot${opt(id)} of ${what} ${at}`;
    case "record-failure":
      return `recorded the failed bake of ${what} ${at} as a launch template`;
    case "delete-failure-record":
      return `deleted the failure record of ${what} ${at}`;
    case "put-parameter":
      return `published ${action.channel} of ${action.spec} ${at}${id ? ` as ${id}` : ""}`;
    case "delete-parameter":
      return `deleted parameter${opt(id)} of ${action.spec} ${at}`;
    case "launch-bakery-host":
      return `launched bakery host${opt(id)} ${at}`;
    case "stop-instance":
      return `stopped idle bakery host${opt(id)} ${at}`;
    case "start-instance":
      return `started stopped bakery host${opt(id)} ${at}`;
    case "create-volume":
      return `created bake volume${opt(id)} for ${what} ${at}`;
    case "attach-volume":
      return `attached the bake volume of ${what} ${at}`;
    case "send-bake-command":
      return `started the chroot bake${opt(id)} of ${what} ${at}`;
    case "detach-volume":
      return `detached the bake volume of ${what} ${at}`;
    case "tag-volume":
      return `tagged the bake volume of ${what} ${at}`;
    case "delete-volume":
      return `deleted bake volume${opt(id)} of ${what} ${at}`;
    case "create-bake-snapshot":
      return `snapshotted the bake volume of ${what} ${at}${id ? ` as ${id}` : ""}`;
    case "register-image":
      return `registered image${opt(id)} of ${what} ${at}`;
  }
}

/** The resource an action touched or made, by id, for a sentence about that one action. */
function idOf(action: Action, created: string | undefined): string | undefined {
  switch (action.kind) {
    case "launch-bake":
    case "launch-check":
    case "create-image":
    case "copy-image":
      return created;
    case "tag-copy":
    case "deregister-image":
    case "disable-image":
    case "deprecate-image":
    case "restore-image":
      return action.imageId;
    case "terminate-instance":
    case "keep-instance":
    case "tag-instance":
      return action.instanceId;
    case "delete-snapshot":
      return action.snapshotId;
    case "put-parameter":
      return `${action.parameter.name} = ${action.parameter.value}`;
    case "delete-parameter":
      return action.name;
    default:
      return undefined;
  }
}

/** The log line for one executed action: `images` are the pass's observed images (where channels came from). */
export function actionEvent(
  action: Action,
  result: Pick<ActionResult, "ok" | "error" | "created">,
  images: readonly CloudImage[],
): ActionEvent {
  const build = "build" in action && action.build ? action.build : undefined;
  const channels = action.kind === "put-parameter" ? [action.channel] : channelsOf(action);
  const from = movedFrom(action, images);
  const fields: Record<string, unknown> = {
    kind: action.kind,
    spec: action.spec,
    region: action.region,
    ...(build ? { build } : {}),
    ...(channels.length > 0 ? { channels } : {}),
    // A channel move: from the build that had it, to this one.
    ...(from ? { from } : {}),
    ...(action.kind === "set-tags" && channels.length > 0 && build ? { to: build } : {}),
    ...(result.created ? { created: result.created } : {}),
  };
  if (!result.ok)
    return {
      msg: `${action.kind} of ${action.spec}${build ? ` ${build}` : ""} in ${action.region} failed: ${result.error ?? "unknown error"}`,
      fields: { ...fields, error: result.error },
    };
  return { msg: sentence(action, [action.region], from, idOf(action, result.created)), fields };
}

/**
 * Leaven's notes to itself: a bake's verdict on its instance, copy bookkeeping on a home image. The live view
 * leaves them out; the JSON log has them.
 */
export function isBookkeeping(action: Action): boolean {
  if (action.kind === "tag-instance") return true;
  return (action.kind === "set-tags" || action.kind === "remove-tags") && channelsOf(action).length === 0;
}

/**
 * The pass's actions as sentences, those of one kind, spec, build and channels grouped across regions, in the
 * order they were planned. Failed actions are left to their own lines: see `actionEvent`. `ids` names what
 * a lone action made or touched; without `bookkeeping` Leaven's notes to itself, and the removals that
 * complete a channel move, are left out.
 */
export function describeActions(
  actions: readonly Action[],
  results: readonly ActionResult[],
  images: readonly CloudImage[],
  options: { ids?: boolean; bookkeeping?: boolean } = {},
): string[] {
  const { ids = true, bookkeeping = true } = options;
  const failed = new Set(results.filter((r) => !r.ok).flatMap((r) => r.actions));
  // The removal half of a channel move: "moved release of web from A to B" says it already.
  const moves = channelMoves(bookkeeping ? [] : actions);
  const created = new Map<Action, string>();
  for (const result of results) {
    if (result.created && result.actions.length === 1) created.set(result.actions[0]!, result.created);
  }
  const groups = new Map<string, { action: Action; regions: string[]; from?: string; members: Action[] }>();
  for (const action of actions) {
    if (failed.has(action) || (!bookkeeping && isBookkeeping(action))) continue;
    if (action.kind === "remove-tags" && moves.has(action)) continue;
    const from = movedFrom(action, images);
    const channel = action.kind === "put-parameter" ? action.channel : channelsOf(action).join(",");
    const key = [action.kind, action.spec, "build" in action ? action.build : "", channel, from].join("\0");
    const group = groups.get(key);
    if (group) {
      if (!group.regions.includes(action.region)) group.regions.push(action.region);
      group.members.push(action);
    } else
      groups.set(key, { action, regions: [action.region], members: [action], ...(from ? { from } : {}) });
  }
  return [...groups.values()].map(({ action, regions, from, members }) =>
    sentence(
      action,
      regions,
      from,
      ids && members.length === 1 ? idOf(action, created.get(action)) : undefined,
    ),
  );
}
