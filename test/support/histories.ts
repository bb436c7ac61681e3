// Random histories against the simulator, for the property test (test/reconcile/histories.test.ts) and the
// soak (scripts/soak.ts). A history is a list of steps — version bumps (promotions), new vendor AMIs,
// revocations, a spec deleted and brought back, a spec switched between the instance and the volume bake
// method (with a warm pool of one), somebody's instances and launch templates on Leaven's images, look-alike
// foreign images and volumes (one attached to the bakery host), injected 5xx storms, lost responses (the
// change made, a 5xx answered), kill -9 between and
// inside passes, days passing — with a few reconcile passes after each. Then the controller converges, and
// the invariants are checked: channels resolve everywhere, nothing used was ever deregistered, nothing
// unowned was touched (checked at the call, against the simulator's own state), no build has two images in
// a region, no bake volume or unregistered bake snapshot is left, no bakery host idles running, no action
// was repeated past the no-progress limit, and one more pass is a no-op.
import fc from "fast-check";
import { channelsFromTags, isLeavenOwned, MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import type { ImageSpecSpec } from "../../controller/api/types.generated.ts";
import type { CloudPort } from "../../controller/cloud/port.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { actionKey } from "../../controller/plan/actions.ts";
import { fingerprintOf, MAX_REPEATS } from "../../controller/reconcile/progress.ts";
import { type PassResult, Reconciler, settled } from "../../controller/reconcile/reconciler.ts";
import { imageState } from "../../controller/sim/images.ts";
import { instanceState } from "../../controller/sim/instances.ts";
import type { SimImage } from "../../controller/sim/world.ts";
import type { ValidationResult, ValidSpec } from "../../controller/validation/result.ts";
import { spec } from "../plan/builders.ts";
import { advanceOnSleep, FAST_TIMINGS, type SimCloud, startSimCloud } from "./sim-cloud.ts";

const REGIONS: [string, ...string[]] = ["us-east-1", "eu-west-1"];
const HOUR = 3_600_000;
const PASS_STEP = 20_000;
const FOREIGN_PARAMETER = "/leaven/legacy/release";

export type Step =
  | { kind: "bump"; spec: "base" | "app" }
  | { kind: "vendor" }
  | { kind: "revoke"; pick: number }
  | { kind: "delete-app" }
  | { kind: "restore-app" }
  | { kind: "use-instance"; pick: number; region: number }
  | { kind: "use-template"; pick: number; region: number }
  | { kind: "free"; pick: number }
  | { kind: "wait"; hours: number }
  | { kind: "lookalike"; pick: number }
  | { kind: "storm"; passes: number; seed: number }
  | { kind: "lost"; passes: number; seed: number }
  | { kind: "kill"; afterWrites: number }
  | { kind: "restart" }
  | { kind: "method"; spec: "base" | "app" }
  | { kind: "foreign-volume"; attach: boolean; installation: boolean }
  | { kind: "passes"; count: number };

export const stepArb: fc.Arbitrary<Step> = fc.oneof(
  fc.record({ kind: fc.constant("bump" as const), spec: fc.constantFrom("base" as const, "app" as const) }),
  fc.record({ kind: fc.constant("vendor" as const) }),
  fc.record({ kind: fc.constant("revoke" as const), pick: fc.nat(20) }),
  fc.record({ kind: fc.constant("delete-app" as const) }),
  fc.record({ kind: fc.constant("restore-app" as const) }),
  fc.record({ kind: fc.constant("use-instance" as const), pick: fc.nat(20), region: fc.nat(1) }),
  fc.record({ kind: fc.constant("use-template" as const), pick: fc.nat(20), region: fc.nat(1) }),
  fc.record({ kind: fc.constant("free" as const), pick: fc.nat(20) }),
  fc.record({ kind: fc.constant("wait" as const), hours: fc.constantFrom(1, 7, 30, 30) }),
  fc.record({ kind: fc.constant("lookalike" as const), pick: fc.nat(20) }),
  fc.record({ kind: fc.constant("storm" as const), passes: fc.integer({ min: 1, max: 4 }), seed: fc.nat() }),
  fc.record({ kind: fc.constant("lost" as const), passes: fc.integer({ min: 1, max: 4 }), seed: fc.nat() }),
  fc.record({ kind: fc.constant("kill" as const), afterWrites: fc.integer({ min: 0, max: 6 }) }),
  fc.record({ kind: fc.constant("restart" as const) }),
  fc.record({ kind: fc.constant("method" as const), spec: fc.constantFrom("base" as const, "app" as const) }),
  fc.record({
    kind: fc.constant("foreign-volume" as const),
    attach: fc.boolean(),
    installation: fc.boolean(),
  }),
  fc.record({ kind: fc.constant("passes" as const), count: fc.integer({ min: 1, max: 6 }) }),
);

export const historyArb = fc.array(stepArb, { minLength: 2, maxLength: 12 });

type Method = "instance" | "volume";

interface Model {
  base: number;
  app: number;
  appPresent: boolean;
  revoked: Map<string, string>;
  /** The bake method of each: switching it changes no build id, only how the next build is baked. */
  methods: { base: Method; app: Method };
}

/** The volume bake's transitions in seconds too, as FAST_TIMINGS makes the instance bake's. */
const HISTORY_TIMINGS = {
  ...FAST_TIMINGS,
  instanceStarting: 1_000,
  volumeCreating: 2_000,
  volumeAttaching: 1_000,
  volumeDetaching: 1_000,
  snapshotPerChangedGiB: 10_000,
  registerPending: 2_000,
  commandPickup: 1_000,
  volumeBakeScript: 10_000,
};
const BAKERY = { poolSize: 1, idleStop: "30m" };

function specsOf(model: Model): ValidationResult {
  const foundation = spec("ubuntu", {
    layer: "foundation",
    source: {
      owners: ["099720109477"],
      name: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*",
      architecture: "x86_64",
    },
    regions: REGIONS,
    channels: { release: { latest: true } },
  });
  const layer = (name: string, body: Partial<ImageSpecSpec>): ValidSpec =>
    spec(name, {
      regions: REGIONS,
      provision: { packages: ["curl"] },
      channels: { candidate: { latest: true }, release: { latest: true } },
      ...body,
    } as ImageSpecSpec & Pick<ImageSpecSpec, "layer">);
  const base = layer("base", {
    layer: "base",
    parent: { spec: "ubuntu", channel: "release" },
    version: `1.0.${model.base}`,
    bake: { method: model.methods.base },
    retention: { keepBuilds: 1, deprecateAfter: "1h", deregisterAfter: "1d" },
    ...(model.revoked.size > 0
      ? { revoked: [...model.revoked].map(([build, reason]) => ({ build, reason })) }
      : {}),
  });
  const app = layer("app", {
    layer: "app",
    parent: { spec: "base", channel: "release" },
    version: `2.0.${model.app}`,
    // A Xen type: EC2 answers Latest with UnsupportedOperation, so its console comes late, as buffered.
    bake: { instanceType: "t2.medium", method: model.methods.app },
    retention: {
      keepBuilds: 0,
      deprecateAfter: "1h",
      disableAfter: "6h",
      deregisterAfter: "1d",
      onDelete: "retire",
    },
  });
  const specs = model.appPresent ? [foundation, base, app] : [foundation, base];
  return { specs, diagnostics: [], blocked: new Map() };
}

export interface HistoryReport {
  passes: number;
  writes: number;
  deregistered: number;
  /** RegisterImage calls: the volume bakes that reached their image. */
  registered: number;
}

/** Why the history broke an invariant; thrown so fast-check shrinks it. */
export class InvariantViolation extends Error {}

const MUTATING =
  /^(run|stop|start|terminate|create|copy|delete|deregister|register|disable|enable|modify|add|put|remove|attach|detach|send)/;

/** Runs one history and checks every invariant; resolves with a few counts, rejects on a violation. */
export async function runHistory(steps: readonly Step[]): Promise<HistoryReport> {
  const t: SimCloud = await startSimCloud({
    // As awkward as EC2: late consoles, eventual consistency, expiring tokens, default encryption.
    awkward: true,
    timings: HISTORY_TIMINGS,
  });
  advanceOnSleep(t.clock);
  const world = t.sim.world;
  const violations: string[] = [];
  const model: Model = {
    base: 0,
    app: 0,
    appPresent: true,
    revoked: new Map(),
    methods: { base: "instance", app: "volume" },
  };
  const foreignVolumes: { region: string; id: string; tags: string; attachedTo?: string }[] = [];
  const foreignInstances: { region: string; id: string }[] = [];
  const foreignTemplates: { region: string; id: string }[] = [];
  const lookalikes: { region: string; id: string; tags: string }[] = [];
  let made = 0;
  let writes = 0;
  let deregistered = 0;
  let registered = 0;
  let passes = 0;
  let dieAfter: number | undefined;
  let dead = false;

  /** Ground truth, read from the simulator itself: what uses an image right now. */
  const usersOf = (region: string, imageId: string): string[] => {
    const now = t.clock.now();
    const users: string[] = [];
    const state = world.region(region);
    for (const instance of state.instances.values())
      if (instance.imageId === imageId && instanceState(instance, now) !== "terminated")
        users.push(`instance ${instance.instanceId}`);
    for (const template of state.launchTemplates.values()) {
      const versions = [
        { n: 1, data: template.data },
        ...(template.laterVersions ?? []).map((v) => ({ n: v.versionNumber, data: v.data })),
      ];
      const latest = versions.at(-1)!.n;
      for (const v of versions)
        if ((v.n === latest || v.n === (template.defaultVersion ?? 1)) && v.data.ImageId === imageId)
          users.push(`launch template ${template.launchTemplateId}`);
    }
    const image = state.images.get(imageId);
    // A deleted spec's channels are gone with it: its images' channel tags protect nothing.
    const specGone = image?.tags[Tag.spec] === "app" && !model.appPresent;
    if (image && !specGone && channelsFromTags(image.tags).length > 0)
      users.push(`channel ${channelsFromTags(image.tags).join(",")}`);
    if (image) {
      for (const r of REGIONS)
        for (const child of world.region(r).images.values())
          if (
            imageState(child, now) !== "failed" &&
            // Only Leaven's own children count: a look-alike's tags say nothing Leaven can trust.
            child.tags[Tag.managedBy] === MANAGED_BY_VALUE &&
            child.tags[Tag.parentSpec] === image.tags[Tag.spec] &&
            child.tags[Tag.parentBuild] === image.tags[Tag.build]
          )
            users.push(`child ${child.imageId}`);
    }
    return users;
  };

  /** Ground truth: the resource's tags in the simulator, whichever kind it is (undefined: no such resource). */
  const tagsInWorld = (region: string, id: string): Record<string, string> | undefined => {
    const state = world.region(region);
    return (
      state.volumes.get(id)?.tags ??
      state.instances.get(id)?.tags ??
      state.snapshots.get(id)?.tags ??
      state.images.get(id)?.tags
    );
  };
  /** The resources each call changes, for the ownership check: volume, instance and snapshot calls. */
  const targetsOf = (property: string, args: unknown[]): string[] => {
    switch (property) {
      case "deleteVolume":
      case "detachVolume":
      case "deleteSnapshot":
        return [args[1] as string];
      case "attachVolume":
        return [args[1] as string, args[2] as string];
      case "stopInstances":
      case "startInstances":
      case "terminateInstances":
        return args[1] as string[];
      case "sendCommand":
        return (args[1] as { instanceIds: string[] }).instanceIds;
      default:
        return [];
    }
  };

  // The controller's port, watched: a dead process makes no call; a deregistration is checked against
  // the ground truth right before it is sent, and so is every change to a volume, instance or snapshot.
  const watched: CloudPort = new Proxy(t.cloud, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver) as unknown;
      if (typeof value !== "function" || typeof property !== "string") return value;
      return async (...args: unknown[]) => {
        const mutating = MUTATING.test(property);
        if (dead) throw new Error("killed: the process is gone");
        if (mutating) {
          writes++;
          if (property === "deregisterImage") {
            const [region, imageId] = args as [string, string];
            const image = world.region(region).images.get(imageId);
            const users = usersOf(region, imageId);
            if (users.length > 0)
              violations.push(`deregistered ${imageId} in ${region} while used by ${users.join(", ")}`);
            if (image?.tags[Tag.managedBy] !== MANAGED_BY_VALUE)
              violations.push(`deregistered unowned image ${imageId}`);
            deregistered++;
          }
          if (property === "registerImage") registered++;
          const region = args[0] as string;
          for (const id of targetsOf(property, args)) {
            const tags = tagsInWorld(region, id);
            if (tags && !isLeavenOwned(tags))
              violations.push(`${property} on ${id} in ${region}, which is not this installation's`);
          }
        }
        const result = await (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
        if (property === "createSnapshot") {
          // CreateSnapshot takes no ClientToken: retried or resumed, a volume still gets one snapshot a build.
          const [region, input] = args as [string, { volumeId: string; tags: Record<string, string> }];
          const build = input.tags[Tag.build];
          const same = [...world.region(region).snapshots.values()].filter(
            (snapshot) => snapshot.volumeId === input.volumeId && snapshot.tags[Tag.build] === build,
          );
          if (same.length > 1)
            violations.push(`${input.volumeId} has ${same.length} snapshots of ${build} in ${region}`);
        }
        if (mutating && dieAfter !== undefined && --dieAfter < 0) {
          // kill -9 right after this call went through: its response is lost, and nothing else runs.
          dead = true;
          throw new Error("killed: the process is gone");
        }
        return result;
      };
    },
  });

  let repeats = new Map<string, number>();
  /** The base build the controller wants now: revoking it would (rightly) stall the spec. */
  let desiredBase: string | undefined;
  const newReconciler = () => {
    repeats = new Map();
    return new Reconciler({
      cloud: watched,
      clock: t.clock,
      logger: silentLogger,
      pollIntervalMs: PASS_STEP,
      bakery: BAKERY,
      onActionResult: (result) => {
        if (!result.ok) return;
        for (const action of result.actions) {
          const key = `${actionKey(action)} ${fingerprintOf(action)}`;
          const count = (repeats.get(key) ?? 0) + 1;
          repeats.set(key, count);
          if (count > MAX_REPEATS + 1) violations.push(`${actionKey(action)} succeeded ${count} times`);
        }
      },
    });
  };
  let reconciler = newReconciler();
  const pass = async (): Promise<PassResult | undefined> => {
    t.clock.advance(PASS_STEP);
    passes++;
    try {
      const result = await reconciler.pass(specsOf(model));
      desiredBase = result.statuses.find((s) => s.name === "base")?.desiredBuild;
      return result;
    } finally {
      if (dead) {
        dead = false;
        dieAfter = undefined;
        reconciler = newReconciler();
      }
    }
  };

  const leavenImages = (): SimImage[] =>
    REGIONS.flatMap((r) =>
      [...world.region(r).images.values()].filter((i) => i.tags[Tag.managedBy] === MANAGED_BY_VALUE),
    );
  const regionOf = (imageId: string) => REGIONS.find((r) => world.region(r).images.has(imageId))!;

  // Somebody else's parameter under Leaven's prefix, for a spec that does not exist: never Leaven's to change.
  world.region("us-east-1").parameters.set(FOREIGN_PARAMETER, {
    name: FOREIGN_PARAMETER,
    value: "ami-0123456789abcdef0",
    type: "String",
    dataType: "aws:ec2:image",
    version: 1,
    lastModified: t.clock.now(),
    tags: { [Tag.spec]: "legacy", [Tag.channel]: "release" },
  });
  try {
    for (const step of steps) {
      switch (step.kind) {
        case "bump":
          model[step.spec]++;
          break;
        case "vendor": {
          for (const region of REGIONS) {
            const newest = [...world.region(region).images.values()]
              .filter((i) => i.name.startsWith("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-"))
              .sort((a, b) => b.creationDate - a.creationDate)[0]!;
            const stamp = new Date(t.clock.now()).toISOString().slice(0, 16).replace(/\D/g, "");
            world.addImage(region, {
              ...structuredClone(newest),
              imageId: world.newId("ami"),
              name: `ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-${stamp}`,
              creationDate: t.clock.now(),
              timeline: [{ at: t.clock.now(), state: "available" }],
            });
          }
          break;
        }
        case "revoke": {
          // Only a base build no channel is on: revoking the current one would (rightly) stall the spec.
          const candidates = [
            ...new Set(
              leavenImages()
                .filter(
                  (i) =>
                    i.tags[Tag.spec] === "base" &&
                    channelsFromTags(i.tags).length === 0 &&
                    i.tags[Tag.build] !== desiredBase,
                )
                .map((i) => i.tags[Tag.build]!),
            ),
          ].sort();
          const build = candidates[step.pick % Math.max(1, candidates.length)];
          if (build && !model.revoked.has(build)) model.revoked.set(build, "CVE-2026-0001 in the history");
          break;
        }
        case "delete-app":
          model.appPresent = false;
          break;
        case "restore-app":
          // A deleted spec comes back with a new version: its old builds may be gone with their tokens.
          if (!model.appPresent) model.app++;
          model.appPresent = true;
          break;
        case "use-instance":
        case "use-template": {
          // Adversarial: somebody's fleet prefers an image retirement is after (no channel on it).
          const available = leavenImages().filter((i) => imageState(i, t.clock.now()) === "available");
          const unused = available.filter((i) => channelsFromTags(i.tags).length === 0);
          const images = unused.length > 0 ? unused : available;
          const image = images[step.pick % Math.max(1, images.length)];
          if (!image) break;
          const region = regionOf(image.imageId);
          if (step.kind === "use-instance") {
            const { instanceId } = await t.cloud.runInstance(region, {
              imageId: image.imageId,
              instanceType: "t3.micro",
              userData: "",
              clientToken: `fleet-${++made}`,
              tags: {},
            });
            foreignInstances.push({ region, id: instanceId });
          } else {
            const { launchTemplateId } = await t.cloud.createLaunchTemplate(region, {
              name: `asg-${++made}`,
              clientToken: `asg-${made}`,
              launch: { imageId: image.imageId, instanceType: "t3.micro", userData: "" },
              tags: {},
            });
            foreignTemplates.push({ region, id: launchTemplateId });
          }
          break;
        }
        case "free": {
          const instance = foreignInstances.splice(step.pick % Math.max(1, foreignInstances.length), 1)[0];
          if (instance) await t.cloud.terminateInstances(instance.region, [instance.id]);
          const template = foreignTemplates.splice(step.pick % Math.max(1, foreignTemplates.length), 1)[0];
          if (template) await t.cloud.deleteLaunchTemplate(template.region, template.id);
          break;
        }
        case "wait":
          t.clock.advance(step.hours * HOUR);
          break;
        case "lookalike": {
          // Same name scheme and leaven.dev tags as a build of Leaven's, but no owner tag.
          const images = leavenImages();
          const model_ = images[step.pick % Math.max(1, images.length)];
          if (!model_) break;
          const region = regionOf(model_.imageId);
          const tags = { ...model_.tags };
          delete tags[Tag.managedBy];
          const [id] = t.sim.seedImages([{ region, name: `${model_.name}-copy`, tags }]);
          lookalikes.push({ region, id: id!, tags: JSON.stringify(tags) });
          break;
        }
        case "storm":
          t.sim.setFaults({ serverErrorRate: 0.3, seed: step.seed });
          for (let i = 0; i < step.passes; i++) await pass();
          t.sim.setFaults({});
          break;
        case "lost":
          // Changes that went through, answered with a 5xx: every retry must find what the first did.
          t.sim.setFaults({ lostResponseRate: 0.3, seed: step.seed });
          for (let i = 0; i < step.passes; i++) await pass();
          t.sim.setFaults({});
          break;
        case "kill":
          dieAfter = step.afterWrites;
          await pass();
          dieAfter = undefined;
          break;
        case "restart":
          reconciler = newReconciler();
          break;
        case "method":
          model.methods[step.spec] = model.methods[step.spec] === "instance" ? "volume" : "instance";
          break;
        case "foreign-volume": {
          // A look-alike of a bake volume: Leaven's tags without the owner tag, or another installation's.
          const region = REGIONS[0];
          const state = world.region(region);
          // The vendor image's snapshot: there from the start, visible to every call.
          const vendor = [...state.images.values()].find((i) =>
            i.name.startsWith("ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-"),
          );
          const snapshotId = vendor?.snapshotIds[0];
          if (!snapshotId) break;
          const tags: Record<string, string> = {
            [Tag.role]: "volume-bake",
            [Tag.spec]: "app",
            [Tag.build]: `2.0.${model.app}+00000000`,
            ...(step.installation
              ? { [Tag.managedBy]: MANAGED_BY_VALUE, [Tag.installation]: "other-team" }
              : { [Tag.installation]: "default" }),
          };
          const { volumeId } = await t.cloud.createVolume(region, {
            snapshotId,
            availabilityZone: `${region}a`,
            clientToken: `foreign-volume-${++made}`,
            tags,
          });
          const entry: (typeof foreignVolumes)[number] = { region, id: volumeId, tags: JSON.stringify(tags) };
          const host = [...state.instances.values()].find(
            (i) =>
              i.tags[Tag.role] === "bakery" &&
              isLeavenOwned(i.tags) &&
              instanceState(i, t.clock.now()) === "running",
          );
          if (step.attach && host) {
            // Under a bake device name: the host must bake on another, and never idle-stop with it there.
            t.clock.advance(HISTORY_TIMINGS.volumeCreating);
            try {
              await t.cloud.attachVolume(region, volumeId, host.instanceId, "/dev/sdp");
              entry.attachedTo = host.instanceId;
            } catch {
              // The device is taken: the volume stays detached.
            }
          }
          foreignVolumes.push(entry);
          break;
        }
        case "passes":
          for (let i = 0; i < step.count; i++) await pass();
          break;
      }
      await pass();
    }

    // Converge, then let a day and a half pass (every retirement stage comes due) and converge again.
    let last: PassResult | undefined;
    for (const wait of [0, 36 * HOUR]) {
      t.clock.advance(wait);
      for (let i = 0; i < 200; i++) {
        last = await pass();
        if (last && settled(last) === "converged") break;
      }
      if (!last || settled(last) !== "converged")
        throw new InvariantViolation(
          `did not converge: ${last?.statuses.map((s) => `${s.name} ${s.phase}: ${s.message}`).join(" | ")}`,
        );
    }
    if (!last) throw new InvariantViolation("no pass ran");
    const now = t.clock.now();
    for (const status of last.statuses) {
      for (const [channel, resolved] of Object.entries(status.channels)) {
        for (const region of REGIONS) {
          const id = resolved.images[region];
          const image = id ? world.region(region).images.get(id) : undefined;
          if (!image || imageState(image, now) !== "available")
            violations.push(`${status.name}/${channel} has no available image in ${region}`);
        }
      }
    }
    // Every SSM pointer equals its channel, in every region of the spec; the foreign one is untouched.
    for (const status of last.statuses) {
      for (const [channel, resolved] of Object.entries(status.channels)) {
        for (const region of REGIONS) {
          const parameter = world.region(region).parameters.get(`/leaven/${status.name}/${channel}`);
          if (parameter?.value !== resolved.images[region])
            violations.push(
              `SSM /leaven/${status.name}/${channel} in ${region} is ${parameter?.value ?? "missing"}, the channel ${resolved.images[region]}`,
            );
        }
      }
    }
    const foreign = world.region("us-east-1").parameters.get(FOREIGN_PARAMETER);
    if (foreign?.value !== "ami-0123456789abcdef0" || foreign.version !== 1)
      violations.push(`foreign parameter ${FOREIGN_PARAMETER} was touched`);
    for (const lookalike of lookalikes) {
      const image = world.region(lookalike.region).images.get(lookalike.id);
      if (!image || JSON.stringify(image.tags) !== lookalike.tags || imageState(image, now) !== "available")
        violations.push(`look-alike ${lookalike.id} was touched`);
    }
    // SendCommand takes no idempotency token: a bake's command is sent once, whatever was lost or killed.
    for (const region of REGIONS) {
      const sent = new Map<string, number>();
      for (const command of world.region(region).commands.values())
        if (command.comment?.startsWith("leaven-bake "))
          sent.set(command.comment, (sent.get(command.comment) ?? 0) + 1);
      for (const [comment, count] of sent)
        if (count > 1) violations.push(`"${comment}" was sent ${count} times in ${region}`);
    }
    for (const volume of foreignVolumes) {
      const found = world.region(volume.region).volumes.get(volume.id);
      if (!found || JSON.stringify(found.tags) !== volume.tags)
        violations.push(`foreign volume ${volume.id} was touched`);
    }
    for (const region of REGIONS) {
      const state = world.region(region);
      const images = [...state.images.values()].filter(
        (i) => isLeavenOwned(i.tags) && imageState(i, now) !== "failed",
      );
      const perBuild = new Map<string, string[]>();
      for (const image of images) {
        const key = `${image.tags[Tag.spec]} ${image.tags[Tag.build]}`;
        perBuild.set(key, [...(perBuild.get(key) ?? []), image.imageId]);
      }
      for (const [build, ids] of perBuild)
        if (ids.length > 1)
          violations.push(`${build} has ${ids.length} images in ${region}: ${ids.join(" ")}`);
      const volumeSpecs =
        model.methods.base === "volume" || (model.appPresent && model.methods.app === "volume");
      const pools = new Map<string, number>();
      for (const volume of state.volumes.values()) {
        if (!isLeavenOwned(volume.tags)) continue;
        const role = volume.tags[Tag.role];
        if (role === "volume-bake") violations.push(`bake volume ${volume.volumeId} is left in ${region}`);
        if (role === "volume-pool") {
          const key = `${volume.tags[Tag.parentBuild]} ${volume.availabilityZone}`;
          pools.set(key, (pools.get(key) ?? 0) + 1);
          if (!volumeSpecs) violations.push(`pool volume ${volume.volumeId} is left with no volume spec`);
        }
      }
      for (const [key, count] of pools)
        if (count > BAKERY.poolSize) violations.push(`the pool of ${key} has ${count} volumes`);
      for (const snapshot of state.snapshots.values())
        if (
          isLeavenOwned(snapshot.tags) &&
          snapshot.tags[Tag.role] === "volume-bake" &&
          !images.some((i) => i.snapshotIds.includes(snapshot.snapshotId))
        )
          violations.push(`bake snapshot ${snapshot.snapshotId} in ${region} backs no image`);
    }
    for (const instance of foreignInstances) {
      const found = world.region(instance.region).instances.get(instance.id);
      if (!found || instanceState(found, now) !== "running")
        violations.push(`instance ${instance.id} was touched`);
    }
    // One more pass, at the same time: nothing to do.
    const again = await reconciler.pass(specsOf(model));
    if (again.executed.length > 0)
      violations.push(`one more pass is not a no-op: ${again.executed.map(actionKey).join(", ")}`);
    // Past bakery.idleStop (and a sweep, which observes the hosts), no host idles running: a bake in the
    // last half hour (a rebake after the wait) may have started one.
    t.clock.advance(40 * 60_000);
    for (let i = 0; i < 10; i++) await pass();
    for (const instance of world.region(REGIONS[0]).instances.values()) {
      if (instance.tags[Tag.role] !== "bakery" || instanceState(instance, t.clock.now()) !== "running")
        continue;
      if (!foreignVolumes.some((v) => v.attachedTo === instance.instanceId))
        violations.push(`bakery host ${instance.instanceId} idles running past bakery.idleStop`);
    }
    if (violations.length > 0) throw new InvariantViolation(violations.join("\n"));
    return { passes, writes, deregistered, registered };
  } finally {
    await t.close();
  }
}
