// Leaven keeps all of its state in AWS tags under leaven.dev/ (see docs/architecture.md).

export const Tag = {
  /** Owner marker: Leaven never changes or deletes a resource without it. */
  managedBy: "leaven.dev/managed-by",
  spec: "leaven.dev/spec",
  layer: "leaven.dev/layer",
  version: "leaven.dev/version",
  build: "leaven.dev/build",
  recipe: "leaven.dev/recipe",
  /** A scheduled rebake's window start (UTC ISO 8601 to the minute), part of its build id. */
  rebuildEpoch: "leaven.dev/rebuild-epoch",
  parentSpec: "leaven.dev/parent-spec",
  parentChannel: "leaven.dev/parent-channel",
  parentBuild: "leaven.dev/parent-build",
  parentImage: "leaven.dev/parent-image",
  homeRegion: "leaven.dev/home-region",
  homeImage: "leaven.dev/home-image",
  commit: "leaven.dev/commit",
  /**
   * On bake instances: "bake"; on check instances: the check's name, e.g. "smoke"; on failure records:
   * "failure"; on bakery hosts: "bakery"; on a volume bake's volume and snapshot: "volume-bake".
   */
  role: "leaven.dev/role",
  /**
   * On bake and check instances the moment the outcome is read (from then on it is trusted instead of the
   * console, which EC2 keeps for about an hour), and on failure records: "success" | "failed".
   */
  bakeResult: "leaven.dev/bake-result",
  bakeReason: "leaven.dev/bake-reason",
  /**
   * On a stopped bake or check instance whose stop time EC2 does not give: when Leaven first saw it stopped
   * (ISO 8601). The console grace (bake.consoleGrace) counts from here.
   */
  stoppedAt: "leaven.dev/stopped-at",
  /** On a failure record: when the bake was found failed (ISO 8601). */
  failedAt: "leaven.dev/failed-at",
  /** On a failure record: the bake instance that failed, so a record of this attempt is told from an older one's. */
  failedInstance: "leaven.dev/failed-instance",
  /** On a freshly created home image: the bake instance still to be terminated; removed once it is. */
  bakeInstance: "leaven.dev/bake-instance",
  /** On a home image: its package manifest is in the manifests bucket (`stored`), or could not be (`none`). */
  manifest: "leaven.dev/manifest",
  /**
   * On images (and bake instances) of a rebake: the home image or bake instance it replaces, which was observed
   * gone (deregistered behind Leaven's back); its launch token derives from it.
   */
  rebakeOf: "leaven.dev/rebake-of",
  /** Hash of the share settings applied to an image, so sharing is level-based. */
  shared: "leaven.dev/shared",
  /**
   * The installation that owns the resource. Absent on resources made before installations existed: the
   * default installation adopts those.
   */
  installation: "leaven.dev/installation",
  /** On every image of a revoked build: the reason (spec.revoked). */
  revoked: "leaven.dev/revoked",
  /** On every image of a build baked (directly or further up) on a revoked build: `spec/build` of that build. */
  revokedParent: "leaven.dev/revoked-parent",
  /** Retirement: when the build stopped being used (ISO 8601); every stage's clock starts here. */
  unusedSince: "leaven.dev/unused-since",
  /** Retirement: when the image was deprecated (ISO 8601). */
  deprecatedAt: "leaven.dev/deprecated-at",
  /** Retirement: when the image was disabled by retirement (ISO 8601). */
  disabledAt: "leaven.dev/disabled-at",
  /** The spec's retention.onDelete when the image was made or last reconciled: "retire" (absent: retain). */
  onDelete: "leaven.dev/on-delete",
  /** With on-delete=retire: the schedule that retires the image once its spec is gone, e.g. "keep=3 deprecate=14d deregister=30d". */
  retention: "leaven.dev/retention",
  /** On a build's images: which bake method made it, "instance" or "volume" (spec.bake.method). */
  bakeMethod: "leaven.dev/bake-method",
  /**
   * Volume bakes: on a freshly registered home image, the volume still to be deleted (removed once it is
   * gone); on the bake's snapshot, the volume it was taken of.
   */
  bakeVolume: "leaven.dev/bake-volume",
  /**
   * On a volume bake's volume: when the executor asked for its snapshot (ISO 8601). CreateSnapshot takes no
   * ClientToken and a new snapshot may be invisible for a few seconds: the planner waits rather than snapshot
   * twice.
   */
  snapshotRequestedAt: "leaven.dev/snapshot-requested-at",
  /**
   * On a volume bake's volume: when the executor sent its bake command (ISO 8601). SendCommand takes no
   * ClientToken and a new command may be missing from ListCommands for a few seconds: after a lost answer
   * the planner waits rather than run the chroot bake twice on one volume.
   */
  commandRequestedAt: "leaven.dev/command-requested-at",
  /**
   * On a volume bake's volume once its chroot bake succeeded, and then on its home image: how long the bake
   * command ran (seconds, as seen by the controller). The spec's next bake looks for its end about then.
   */
  provisionSeconds: "leaven.dev/provision-seconds",
  /** On a bakery host Leaven stopped because it was idle (ISO 8601): a stop Leaven expects. */
  idleStoppedAt: "leaven.dev/idle-stopped-at",
  /**
   * On a stopped bakery host Leaven started again (ISO 8601): one still stopped this long after it (and not
   * stopped again since) will not start, and is replaced.
   */
  startRequestedAt: "leaven.dev/start-requested-at",
  /** On a bakery host found unhealthy (e.g. SSM cannot reach it): why. It is replaced. */
  unhealthy: "leaven.dev/unhealthy",
  /** On an SSM parameter Leaven publishes (spec.publish): the channel it points at (with leaven.dev/spec). */
  channel: "leaven.dev/channel",
} as const;

export const MANAGED_BY_VALUE = "leaven";

/** One tag per channel the build is in: leaven.dev/channel/<name> = "true". */
export const CHANNEL_TAG_PREFIX = "leaven.dev/channel/";

export function channelTag(channel: string): string {
  return CHANNEL_TAG_PREFIX + channel;
}

/** When the build entered a channel (ISO 8601), beside the channel tag: what `follow` with `minAge` reads. */
export const CHANNEL_SINCE_TAG_PREFIX = "leaven.dev/channel-since/";

export function channelSinceTag(channel: string): string {
  return CHANNEL_SINCE_TAG_PREFIX + channel;
}

/** A check's result on a build's images: leaven.dev/check/<name> = passed | failed, with -at and -reason. */
export const CHECK_TAG_PREFIX = "leaven.dev/check/";

export function checkTags(check: string): { result: string; at: string; reason: string } {
  const key = CHECK_TAG_PREFIX + check;
  return { result: key, at: `${key}-at`, reason: `${key}-reason` };
}

/**
 * On a home image, one per copy: leaven.dev/copy/<region> = the copy's image id, recorded once the copy is
 * observed. A copy that later disappears is known by this id, and its replacement's token derives from it.
 */
export const COPY_TAG_PREFIX = "leaven.dev/copy/";

export function copyTag(region: string): string {
  return COPY_TAG_PREFIX + region;
}

export function channelsFromTags(tags: Readonly<Record<string, string>>): string[] {
  return hasChannelTag(tags) ? channelsIn(tags) : [];
}

/**
 * Whether the tags hold any leaven.dev/channel/* tag. Asked of every image on every plan, and most images are
 * in no channel: a loop that allocates nothing.
 */
export function hasChannelTag(tags: Readonly<Record<string, string>>): boolean {
  for (const key in tags) if (key.startsWith(CHANNEL_TAG_PREFIX)) return true;
  return false;
}

function channelsIn(tags: Readonly<Record<string, string>>): string[] {
  const channels: string[] = [];
  for (const key in tags) {
    if (key.startsWith(CHANNEL_TAG_PREFIX)) channels.push(key.slice(CHANNEL_TAG_PREFIX.length));
  }
  return channels.length > 1 ? channels.sort() : channels;
}

export const DEFAULT_INSTALLATION = "default";

/** Tags that say who owns a resource: Leaven never sets or removes them on an existing resource. */
export const OWNERSHIP_TAGS: readonly string[] = [Tag.managedBy, Tag.installation];

/**
 * Why a resource with these tags is not this installation's to change, or undefined when it is. This is
 * the one ownership rule: the planner, the executor and the observer all ask it.
 */
export function ownershipProblem(
  tags: Readonly<Record<string, string>>,
  installation: string = DEFAULT_INSTALLATION,
): string | undefined {
  const owner = tags[Tag.managedBy];
  if (owner === undefined) return `it has no ${Tag.managedBy} tag`;
  if (owner !== MANAGED_BY_VALUE) return `its ${Tag.managedBy} tag is "${owner}", not "${MANAGED_BY_VALUE}"`;
  const owningInstallation = tags[Tag.installation] ?? DEFAULT_INSTALLATION;
  if (owningInstallation !== installation)
    return `it belongs to installation "${owningInstallation}", not "${installation}"`;
  return undefined;
}

export function isLeavenOwned(
  tags: Readonly<Record<string, string>>,
  installation: string = DEFAULT_INSTALLATION,
): boolean {
  return ownershipProblem(tags, installation) === undefined;
}
