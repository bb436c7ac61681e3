import { VOLUME_BAKE_ROLE } from "../api/bakery-roles.ts";
import { channelTag, Tag } from "../api/tags.ts";
import type { ImageSpec } from "../api/types.generated.ts";
import { AWS_CONCURRENT_COPY_LIMIT } from "../cloud/ec2-limits.ts";
import type { CloudVolume } from "../cloud/port.ts";
import { UserDataError } from "../execute/user-data.ts";
import { type PlatformNode, platformOf } from "../lineage/platform.ts";
import type { Inventory } from "../observe/inventory.ts";
import { type RebuildSchedule, type RebuildWindow, rebuildWindow } from "../schedule/rebuild-window.ts";
import type { BakeryConfig } from "../validation/leaven-config.ts";
import type { ValidSpec } from "../validation/result.ts";
import type { Action } from "./actions.ts";
import { type BakeState, deleteFailureRecord, planBake } from "./bake.ts";
import { type BakeryPlanner, createBakery } from "./bakery.ts";
import { resolveChannels, revokedBuilds } from "./channels.ts";
import { capCopies, planChannelTags, planCopies, planSharing, queuedCopiesNote } from "./distribute.ts";
import { type ChannelResolution, resolveFoundation } from "./foundation.ts";
import { type IndexedInventory, indexInventory, type ObservedBuild } from "./index-inventory.ts";
import { planPublishing } from "./publish.ts";
import { buildIdFor, recipeHash } from "./recipe.ts";
import { planRetention, type RetentionResult } from "./retention.ts";
import { planRevocations } from "./revocation.ts";
import { mergeScoped, type PlanScope } from "./scope.ts";
import { planSnapshotSweep } from "./snapshots.ts";
import type { Phase, SpecStatus } from "./status.ts";
import { planCheck } from "./verify.ts";
import { cleanUp as cleanUpVolume, planVolumeBake } from "./volume-bake.ts";
import { createPool, type PoolPlanner } from "./volume-pool.ts";

export interface PlanInput {
  /** Valid specs in topological order (parents first). */
  specs: readonly ValidSpec[];
  /** Invalid specs and their descendants: reported, never touched. */
  blocked?: ReadonlyMap<string, string>;
  inventory: Inventory;
  now: number;
  /** Specs whose failed build may be tried again (`leaven apply --retry SPEC`). */
  retry?: ReadonlySet<string>;
  /** Git commit of the specs, recorded in the leaven.dev/commit tag. */
  commit?: string;
  /**
   * Some document was too broken to tell which spec it is (e.g. unparseable YAML). Then a bake instance
   * whose spec is not among the known ones may belong to it, so deleted-spec clean-up waits.
   */
  unattributedErrors?: boolean;
  /** This controller's installation: resources of any other are foreign (default: "default"). */
  installation?: string;
  /** A manifests bucket is configured (leaven.yaml manifests): bakes store their package manifests. */
  manifests?: boolean;
  /** Retirement never deregisters or deletes (`--no-delete`), whatever retention.delete says. */
  noDelete?: boolean;
  /**
   * AMI copies that may be in flight into one destination region (default: EC2's limit, 300); the copies
   * beyond it wait for a later pass.
   */
  maxConcurrentCopies?: number;
  /**
   * Plan only these specs (a lineage-closed set, plan/scope.ts); every other spec keeps its part of the
   * base plan. The caller vouches that nothing else changed since the base was planned.
   */
  scope?: PlanScope;
  /** leaven.yaml bakery: the host of volume bakes. */
  bakery?: BakeryConfig;
}

export interface Plan {
  actions: Action[];
  statuses: SpecStatus[];
  /** Home regions with a desired build that has no available image: where bake instances must be observed. */
  bakeRegions: string[];
  /** Home regions of specs baking on a volume (bake.method: volume) with a bake needed or in flight. */
  volumeBakeRegions?: string[];
  /**
   * Regions holding a bake volume of a build no spec bakes any more, being detached and deleted: the pass is
   * not settled until it is gone (a leak being swept is work in flight; reconcile/reconciler.ts settled).
   */
  volumeCleanupRegions?: string[];
  /** Retirement: what is kept past its age and why, the orphans, and whose use must be observed first. */
  retention?: RetentionResult;
}

interface SpecOutcome {
  channels: Map<string, ChannelResolution>;
}

/**
 * The one planner: a pure function from specs, what is observed and the time to the actions that move
 * the world one step closer to the specs, each with its reason, and every spec's status.
 */
export function plan(input: PlanInput, previous?: IndexedInventory): Plan {
  // A second plan in the same pass (after bake instances or images' use were observed) reuses the images'
  // index: only instances and failure records are indexed again. The planner never changes an index.
  const index = indexInventory(input.inventory, input.installation, previous);
  const actions: Action[] = [];
  const statuses: SpecStatus[] = [];
  const outcomes = new Map<string, SpecOutcome>();
  const bakeRegions = new Set<string>();
  const volumeRegions = new Set<string>();
  const vb = input.inventory.volumeBakes;
  const bakery = vb ? createBakery(vb, input.bakery, input.installation) : undefined;
  const pool = vb ? createPool(vb, input.bakery?.poolSize ?? 0, input.installation) : undefined;
  const known = new Set(input.specs.map((s) => s.name));
  const scope = input.scope?.specs;
  const planned = scope ? input.specs.filter((s) => scope.has(s.name)) : input.specs;

  for (const { name, document: doc } of planned) {
    // What could not be observed is not known to be missing: plan nothing for a spec with a blind region.
    const blind = doc.spec.regions.filter((region) => input.inventory.regionErrors.has(region));
    if (blind.length > 0) {
      const message = `cannot observe ${blind.map((r) => `${r} (${input.inventory.regionErrors.get(r)})`).join(", ")}; nothing is changed for this spec until it can`;
      outcomes.set(name, {
        channels: new Map(
          Object.keys(doc.spec.channels ?? {}).map((c) => [c, { ok: false as const, message }]),
        ),
      });
      statuses.push({ name, layer: doc.spec.layer, phase: "Waiting", message, channels: {}, builds: [] });
      continue;
    }
    if (doc.spec.layer === "foundation") {
      const vendor = input.inventory.vendorImages.get(name) ?? [];
      const result = resolveFoundation(doc, vendor, input.now, input.inventory.vendorProblems?.get(name));
      outcomes.set(name, { channels: result.channels });
      const unresolved = Object.entries(result.status).filter(([, c]) => c.message);
      statuses.push({
        name,
        layer: "foundation",
        phase:
          result.problem || result.stalled.length > 0
            ? "Stalled"
            : unresolved.length > 0
              ? "Waiting"
              : "Ready",
        message:
          result.problem ??
          (unresolved.length > 0
            ? unresolved.map(([c, s]) => `${c}: ${s.message}`).join("; ")
            : `${result.names.length} vendor images match`),
        channels: result.status,
        builds: result.names,
      });
      continue;
    }
    const scoped: Action[] = [];
    const status = planLayer(doc, index, outcomes, input, scoped, bakeRegions, {
      regions: volumeRegions,
      ...(bakery ? { bakery } : {}),
      ...(pool ? { pool } : {}),
    });
    statuses.push(status.status);
    outcomes.set(name, { channels: status.channels });
    if (doc.spec.suspend) continue;
    actions.push(...scoped);
  }

  // EC2 refuses copies beyond its per-region limit: start what fits, the rest waits for a later pass.
  const copyLimit = input.maxConcurrentCopies ?? AWS_CONCURRENT_COPY_LIMIT;
  const copyCap = capCopies(actions, input.inventory.images, copyLimit, input.inventory.untaggedCopies);
  for (const status of statuses) {
    const queued = copyCap.queued.get(status.name);
    if (queued) status.message = `${status.message}; ${queuedCopiesNote(queued, copyCap, copyLimit)}`;
  }

  const revocation = planRevocations(
    planned,
    index,
    input.inventory.vendorImages,
    input.inventory.instances,
    actions,
  );
  for (const status of statuses) {
    const notes = revocation.notes.get(status.name);
    if (notes) status.message = [status.message, ...notes].join("; ");
  }

  // Publishing: every resolved channel as an SSM parameter per region (plan/publish.ts).
  const publishing = planPublishing({
    specs: input.specs,
    channels: new Map([...outcomes].map(([spec, outcome]) => [spec, outcome.channels])),
    inventory: input.inventory,
    ...(input.blocked ? { blocked: input.blocked } : {}),
    ...(input.unattributedErrors ? { unattributedErrors: true } : {}),
    ...(input.installation ? { installation: input.installation } : {}),
    ...(scope ? { scope } : {}),
  });
  actions.push(...publishing.actions);
  for (const status of statuses) {
    const notes = publishing.notes.get(status.name);
    if (notes) status.message = [status.message, ...notes].join("; ");
    if (status.phase === "Failed" || status.phase === "Suspended") continue;
    if (publishing.stalled.has(status.name)) status.phase = "Stalled";
    else if (publishing.waiting.has(status.name) && status.phase === "Ready") status.phase = "Waiting";
  }

  for (const [name, why] of scope ? [] : (input.blocked ?? [])) {
    statuses.push({ name, layer: "unknown", phase: "Blocked", message: why, channels: {}, builds: [] });
  }

  // Bake instances of specs that no longer exist cost money and serve nobody: terminate them.
  // Specs that are merely invalid right now are left alone, with everything they own.
  const leftovers = [...index.instancesBySpec, ...index.checksBySpec];
  for (const [spec, instances] of input.unattributedErrors ? [] : leftovers) {
    if (known.has(spec) || input.blocked?.has(spec)) continue;
    for (const instance of instances) {
      if (instance.state === "terminated" || instance.state === "shutting-down") continue;
      actions.push({
        kind: "terminate-instance",
        spec,
        ...(instance.tags[Tag.build] ? { build: instance.tags[Tag.build] } : {}),
        region: instance.region,
        instanceId: instance.instanceId,
        reason: spec ? `spec ${spec} no longer exists` : "bake instance has no leaven.dev/spec tag",
      });
    }
  }
  for (const [spec, records] of input.unattributedErrors ? [] : index.failuresBySpec) {
    if (known.has(spec) || input.blocked?.has(spec)) continue;
    for (const record of records) actions.push(deleteFailureRecord(record, `spec ${spec} no longer exists`));
  }
  // Retirement last: it sees every other action, and never stages an image another rule acts on.
  const acted = new Set(actions.flatMap((a) => ("imageId" in a ? [`${a.region} ${a.imageId}`] : [])));
  const staged: Action[] = [];
  const retention = planRetention(
    {
      specs: input.specs,
      ...(input.blocked ? { blocked: input.blocked } : {}),
      index,
      inventory: input.inventory,
      now: input.now,
      desired: new Map(statuses.map((s) => [s.name, s.desiredBuild])),
      unattributedErrors: input.unattributedErrors === true,
      noDelete: input.noDelete === true,
      ...(scope ? { scope } : {}),
    },
    staged,
  );
  for (const action of staged)
    if (!("imageId" in action) || !acted.has(`${action.region} ${action.imageId}`)) actions.push(action);
  // Snapshots no image references, on the sweep schedule (plan/snapshots.ts).
  planSnapshotSweep(
    {
      specs: input.specs,
      ...(input.blocked ? { blocked: input.blocked } : {}),
      inventory: input.inventory,
      now: input.now,
      unattributedErrors: input.unattributedErrors === true,
      noDelete: input.noDelete === true,
      ...(input.installation ? { installation: input.installation } : {}),
    },
    actions,
  );
  const cleanups = new Set<string>();
  if (vb && bakery) {
    if (!scope) sweepVolumes(input, statuses, actions, cleanups);
    pool?.finish(actions, input.now, !scope);
    // A host in a region where no spec bakes on a volume any more is terminated, once the whole estate is
    // known: no scoped plan, no document that failed to load, no invalid spec (any might be a volume spec there).
    const settled = !scope && !input.unattributedErrors && (input.blocked?.size ?? 0) === 0;
    bakery.finish(actions, input.now, {
      idleStops: !scope,
      ...(settled ? { volumeHomes: volumeHomesOf(input.specs) } : {}),
    });
  }
  const result: Plan = {
    actions,
    statuses,
    bakeRegions: [...bakeRegions].sort(),
    ...(volumeRegions.size > 0 ? { volumeBakeRegions: [...volumeRegions].sort() } : {}),
    ...(cleanups.size > 0 ? { volumeCleanupRegions: [...cleanups].sort() } : {}),
    retention,
  };
  return input.scope ? mergeScoped(input.scope, result) : result;
}

/** Home regions of the specs that bake on a volume. */
export function volumeHomesOf(specs: readonly ValidSpec[]): Set<string> {
  return new Set(
    specs.filter((s) => s.document.spec.bake?.method === "volume").map((s) => s.document.spec.regions[0]!),
  );
}

/** Specs by name, built once per spec list: platformOf walks the parents of every bake. */
const specsByName = new WeakMap<readonly ValidSpec[], Map<string, ImageSpec>>();

function specNamed(specs: readonly ValidSpec[], name: string): ImageSpec | undefined {
  let byName = specsByName.get(specs);
  if (byName === undefined) {
    byName = new Map(specs.map((s) => [s.name, s.document]));
    specsByName.set(specs, byName);
  }
  return byName.get(name);
}

function platformNode(specs: readonly ValidSpec[], name: string): PlatformNode | undefined {
  const spec = specNamed(specs, name)?.spec;
  return spec && { layer: spec.layer, parent: spec.parent?.spec, platform: spec.source?.platform };
}

/**
 * The leak sweep of volume bakes: a volume of a build no spec is baking (the spec wants another build, or is
 * gone) is detached and deleted. Its snapshots, if any, go with the orphaned-snapshot sweep (plan/snapshots.ts).
 */
function sweepVolumes(
  input: PlanInput,
  statuses: readonly SpecStatus[],
  actions: Action[],
  cleanups: Set<string>,
): void {
  const vb = input.inventory.volumeBakes;
  if (!vb || input.noDelete) return;
  const wanted = new Map(statuses.map((s) => [s.name, s.desiredBuild]));
  const cleanUp = (spec: string, volume: CloudVolume, reason: string): Action[] => {
    cleanups.add(volume.region);
    return cleanUpVolume(spec, volume, reason);
  };
  for (const volume of vb.volumes) {
    if (volume.tags[Tag.role] !== VOLUME_BAKE_ROLE) continue;
    const spec = volume.tags[Tag.spec] ?? "";
    const build = volume.tags[Tag.build];
    if (input.blocked?.has(spec)) continue;
    if (wanted.has(spec)) {
      const desired = wanted.get(spec);
      const doc = specNamed(input.specs, spec);
      if (doc?.spec.bake?.method !== "volume") {
        actions.push(
          ...cleanUp(spec, volume, `spec ${spec} no longer bakes on a volume (bake.method: instance)`),
        );
        continue;
      }
      if (doc.spec.regions[0] !== volume.region) {
        actions.push(
          ...cleanUp(spec, volume, `spec ${spec} bakes in ${doc.spec.regions[0]} now, not ${volume.region}`),
        );
        continue;
      }
      if (desired === undefined || desired === build) continue;
      actions.push(
        ...cleanUp(spec, volume, `build ${build} is no longer being baked (${spec} now wants ${desired})`),
      );
    } else if (!input.unattributedErrors) {
      actions.push(...cleanUp(spec, volume, `spec ${spec} no longer exists`));
    }
  }
}

function planLayer(
  doc: ImageSpec,
  index: IndexedInventory,
  outcomes: ReadonlyMap<string, SpecOutcome>,
  input: PlanInput,
  actions: Action[],
  bakeRegions: Set<string>,
  volume: { regions: Set<string>; bakery?: BakeryPlanner; pool?: PoolPlanner },
): { status: SpecStatus; channels: Map<string, ChannelResolution> } {
  const name = doc.metadata.name;
  const spec = doc.spec;
  const home = spec.regions[0];
  const builds: ReadonlyMap<string, ObservedBuild> =
    index.builds.get(name) ?? new Map<string, ObservedBuild>();
  const parentRef = spec.parent!;
  const parentChannel = outcomes.get(parentRef.spec)?.channels.get(parentRef.channel);
  const problems: { phase: Phase; message: string }[] = [];
  const revoked = revokedBuilds(doc);
  let desiredBuild: string | undefined;
  let parentBuild: string | undefined;
  let failure: SpecStatus["failure"];
  let rebuild: RebuildWindow | undefined;

  if (!parentChannel || !parentChannel.ok) {
    problems.push({
      phase: "Waiting",
      message: `waiting for ${parentRef.spec}/${parentRef.channel}: ${parentChannel?.ok === false ? parentChannel.message : "not resolved"}`,
    });
  } else {
    parentBuild = parentChannel.value.build;
    const parentImageId = parentChannel.value.images.get(home);
    if (!parentImageId) {
      problems.push({
        phase: "Stalled",
        message: `${parentRef.spec}/${parentRef.channel} (${parentBuild}) has no image in ${home}, this spec's home region; add ${home} to ${parentRef.spec}'s regions`,
      });
    } else {
      const recipe = recipeHash(spec);
      rebuild = spec.rebuild ? rebuildWindow(spec.rebuild as RebuildSchedule, input.now) : undefined;
      desiredBuild = buildIdFor(name, spec.version ?? "0.0.0", recipe, parentBuild, rebuild?.epoch);
      const revokedReason = revoked.get(desiredBuild);
      if (revokedReason !== undefined)
        problems.push({
          phase: "Stalled",
          message: `the build this recipe and parent make, ${desiredBuild}, is revoked (${revokedReason}); change the recipe (e.g. bump version) to bake a new one`,
        });
      const observed = builds.get(desiredBuild);
      const homeImage = observed?.images.get(home);
      const byVolume = spec.bake?.method === "volume";
      if (
        !homeImage ||
        homeImage.state !== "available" ||
        homeImage.tags[Tag.bakeInstance] ||
        (byVolume && homeImage.tags[Tag.bakeVolume])
      ) {
        bakeRegions.add(home);
        if (byVolume) volume.regions.add(home);
      }
      // The warm pool keeps volumes of the parent every volume spec bakes on now, in its host's zone (not for a
      // spec with a key of its own: pool volumes are made without one, and such a bake never takes them).
      if (byVolume && !spec.suspend && !spec.bake?.kmsKeyId)
        volume.pool?.want(home, parentImageId, parentBuild, volume.bakery?.zone(home));
      // The parent's image in the home region: its build's image there, or a foundation's vendor image.
      const parentImage =
        index.builds.get(parentRef.spec)?.get(parentBuild)?.images.get(home) ??
        input.inventory.vendorImages.get(parentRef.spec)?.find((i) => i.imageId === parentImageId);
      const rootDeviceName = (
        parentImage?.imageId === parentImageId ? parentImage : index.imagesById.get(parentImageId)
      )?.rootDeviceName;
      const deadHomeImages = homeImage ? [] : deadHomeImagesOf(name, desiredBuild, home, observed, index);
      let bake: BakeState | undefined;
      try {
        const bakeContext = {
          doc,
          build: desiredBuild,
          recipe,
          ...(rebuild ? { rebuildEpoch: rebuild.epoch } : {}),
          homeRegion: home,
          ...(platformOf(name, (n) => platformNode(input.specs, n)) === "windows"
            ? { platform: "windows" as const }
            : {}),
          parent: {
            spec: parentRef.spec,
            channel: parentRef.channel,
            build: parentBuild,
            imageId: parentImageId,
            ...(rootDeviceName ? { rootDeviceName } : {}),
          },
          ...(homeImage ? { homeImage } : {}),
          ...(deadHomeImages.length > 0 ? { deadHomeImages } : {}),
          instances: index.instancesByBuild.get(`${name}/${desiredBuild}`) ?? [],
          failureRecords: (index.failuresByBuild.get(`${name}/${desiredBuild}`) ?? []).filter(
            (r) => r.region === home,
          ),
          inventory: input.inventory,
          now: input.now,
          retry: input.retry?.has(name) === true,
          ...(input.manifests ? { manifests: true } : {}),
          ...(input.commit ? { commit: input.commit } : {}),
          ...(input.installation ? { installation: input.installation } : {}),
        };
        const vb = input.inventory.volumeBakes;
        bake = spec.suspend
          ? undefined
          : !byVolume
            ? planBake(bakeContext, actions)
            : vb && volume.bakery
              ? planVolumeBake(
                  {
                    ...bakeContext,
                    volumes: vb,
                    bakery: volume.bakery,
                    ...(volume.pool ? { pool: volume.pool } : {}),
                  },
                  actions,
                )
              : homeImage?.state === "available" && !homeImage.tags[Tag.bakeVolume]
                ? { step: "done", image: homeImage }
                : { step: "blind", message: `volume bakes in ${home} were not observed this pass` };
      } catch (error) {
        // A recipe that cannot be rendered (e.g. user data over EC2's 16 KB) waits for the user to fix it.
        if (!(error instanceof UserDataError)) throw error;
        problems.push({ phase: "Stalled", message: error.message });
      }
      if (bake?.step === "in-progress")
        problems.push({ phase: "Baking", message: `${desiredBuild}: ${bake.message}` });
      if (bake?.step === "failed") {
        problems.push({ phase: "Failed", message: `build ${desiredBuild} failed: ${bake.message}` });
        failure = {
          build: desiredBuild,
          reason: bake.message,
          ...(bake.console ? { console: bake.console } : {}),
        };
      }
      if (bake?.step === "blind") problems.push({ phase: "Baking", message: bake.message });
    }
  }

  // Instances of builds this spec no longer wants (recipe or parent changed mid-bake).
  if (desiredBuild && !spec.suspend) {
    for (const instance of index.instancesBySpec.get(name) ?? []) {
      if (instance.tags[Tag.build] === desiredBuild) continue;
      if (instance.state === "terminated" || instance.state === "shutting-down") continue;
      actions.push({
        kind: "terminate-instance",
        spec: name,
        build: instance.tags[Tag.build] ?? "",
        region: instance.region,
        instanceId: instance.instanceId,
        reason: `build ${instance.tags[Tag.build]} is no longer wanted (${name} now wants ${desiredBuild})`,
      });
    }
    // Failure records of builds it no longer wants: that failure is no longer what the spec asks for.
    for (const record of index.failuresBySpec.get(name) ?? []) {
      if (record.build === desiredBuild && record.region === home) continue;
      actions.push(
        deleteFailureRecord(
          record,
          `build ${record.build} is no longer wanted (${name} now wants ${desiredBuild} in ${home})`,
        ),
      );
    }
  }

  const parentOutcome = outcomes.get(parentRef.spec);
  const {
    channels,
    resolved,
    status: channelStatus,
    problems: channelProblems,
    newestFirst,
  } = resolveChannels(doc, builds, input.now, {
    spec: parentRef.spec,
    channels: new Map(
      [...(parentOutcome?.channels ?? [])].map(([channel, r]) => [
        channel,
        r.ok ? { build: r.value.build } : { message: r.message },
      ]),
    ),
  });
  problems.push(...channelProblems);
  // Distribution: the desired build, builds named exactly by a selector, and — for a channel that cannot
  // resolve because no build is in every region (a region was added) — the build the channel is on now.
  const toDistribute = new Set<string>();
  if (desiredBuild) toDistribute.add(desiredBuild);
  for (const [channel, selector] of Object.entries(spec.channels ?? {})) {
    if (selector.build) toDistribute.add(selector.build);
    if (channels.get(channel)?.ok !== false) continue;
    const key = channelTag(channel);
    for (const build of builds.values()) {
      if ([...build.images.values()].some((image) => image.tags[key])) toDistribute.add(build.build);
    }
  }
  for (const buildId of revoked.keys()) toDistribute.delete(buildId);
  if (!spec.suspend) {
    for (const buildId of toDistribute) {
      const build = builds.get(buildId);
      if (!build || build.images.get(home)?.state !== "available") continue;
      const copies = planCopies(
        doc,
        build,
        home,
        actions,
        input.inventory.untaggedCopies,
        index.parentImages.get(`${name}/${buildId}`),
      );
      if (copies.step === "in-progress" && buildId === desiredBuild)
        problems.push({ phase: "Copying", message: `${buildId}: ${copies.message}` });
      if (copies.step === "failed")
        problems.push({ phase: "Failed", message: `build ${buildId}: ${copies.message}` });
    }
  }

  if (!spec.suspend && spec.checks?.smoke) {
    for (const buildId of toDistribute) {
      const build = builds.get(buildId);
      if (!build || build.images.get(home)?.state !== "available") continue;
      const check = planCheck(
        {
          doc,
          check: "smoke",
          build,
          homeRegion: home,
          instances: index.checksByBuild.get(`${name}/${buildId}`) ?? [],
          inventory: input.inventory,
          now: input.now,
          retry: input.retry?.has(name) === true,
          ...(input.installation ? { installation: input.installation } : {}),
        },
        actions,
      );
      if ((check.step === "running" || check.step === "blind") && buildId === desiredBuild)
        problems.push({ phase: "Verifying", message: check.message });
      if (check.step === "failed" && buildId === desiredBuild) {
        problems.push({ phase: "Failed", message: check.message });
        failure = {
          build: buildId,
          reason: check.message,
          ...(check.console ? { console: check.console } : {}),
        };
      }
    }
  }
  // Check instances of builds no longer checked (the spec moved on, or dropped its checks).
  if (!spec.suspend) {
    for (const instance of index.checksBySpec.get(name) ?? []) {
      const buildId = instance.tags[Tag.build] ?? "";
      if (spec.checks?.smoke && toDistribute.has(buildId)) continue;
      if (instance.state === "terminated" || instance.state === "shutting-down") continue;
      actions.push({
        kind: "terminate-instance",
        spec: name,
        build: buildId,
        region: instance.region,
        instanceId: instance.instanceId,
        reason: `the check of build ${buildId} is no longer wanted`,
      });
    }
  }

  if (!spec.suspend) {
    const moves = planChannelTags(doc, builds, resolved, actions, input.now, revoked);
    planSharing(doc, builds, actions, input.inventory.launchPermissions);
    if (moves > 0) problems.push({ phase: "Promoting", message: `moving ${moves} channel tag(s)` });
  }

  const order: Phase[] = ["Failed", "Stalled", "Baking", "Copying", "Verifying", "Promoting", "Waiting"];
  problems.sort((a, b) => order.indexOf(a.phase) - order.indexOf(b.phase));
  const phase: Phase = spec.suspend ? "Suspended" : (problems[0]?.phase ?? "Ready");
  const message = spec.suspend
    ? "suspended: observed, not changed"
    : problems.length > 0
      ? problems.map((p) => p.message).join("; ")
      : `${desiredBuild} is ready in ${spec.regions.length} region(s)`;
  return {
    status: {
      name,
      layer: spec.layer,
      phase,
      message,
      ...(desiredBuild ? { desiredBuild } : {}),
      parent: {
        spec: parentRef.spec,
        channel: parentRef.channel,
        ...(parentBuild ? { build: parentBuild } : {}),
      },
      channels: channelStatus,
      ...(failure ? { failure } : {}),
      ...(rebuild
        ? {
            rebuild: {
              schedule: rebuild.schedule,
              epoch: rebuild.epoch,
              next: new Date(rebuild.nextAt).toISOString(),
            },
          }
        : {}),
      builds: newestFirst,
    },
    channels,
  };
}

/**
 * The ids this build's home image is known to have had that are gone now: what its copies record as their
 * home image, and what the children baked in the home region record as their parent image. Empty for a build
 * that was never baked (or whose every trace is gone: then EC2's answer to the launch token tells).
 */
function deadHomeImagesOf(
  spec: string,
  build: string,
  home: string,
  observed: ObservedBuild | undefined,
  index: IndexedInventory,
): string[] {
  const dead = new Set<string>();
  for (const [region, image] of observed?.images ?? []) {
    const recorded = image.tags[Tag.homeImage];
    if (region !== home && recorded && image.tags[Tag.homeRegion] === home) dead.add(recorded);
  }
  for (const id of index.parentImages.get(`${spec}/${build}`)?.get(home) ?? []) dead.add(id);
  return [...dead].sort();
}
