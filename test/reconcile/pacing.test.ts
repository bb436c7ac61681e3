// How soon the loop looks again while something is in flight: a transition of seconds (a volume created,
// attached or detached, a snapshot nearly done, RegisterImage, an instance starting or stopping) is looked at
// again in 5 s; what takes minutes waits for the poll interval. On the simulator, the loop apply runs sleeps
// exactly that between passes of a volume bake.
import { afterEach, describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import type { CloudImage, CloudInstance, CloudSnapshot, CloudVolume } from "../../controller/cloud/port.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { emptyInventory, type Inventory, type ObservedCommand } from "../../controller/observe/inventory.ts";
import { nextLook } from "../../controller/reconcile/pacing.ts";
import { Reconciler } from "../../controller/reconcile/reconciler.ts";
import { type SimCloud, startSimCloud } from "../support/sim-cloud.ts";
import { baseSpec, ubuntuFoundation, validation } from "../support/sim-specs.ts";

const NOW = Date.UTC(2026, 5, 1, 12);
const POLL = 15_000;
const ago = (ms: number) => new Date(NOW - ms).toISOString();

const volume = (state: CloudVolume["state"], attachment?: CloudVolume["attachments"][number]["state"]) =>
  ({
    volumeId: "vol-1",
    region: "us-east-1",
    availabilityZone: "us-east-1a",
    state,
    size: 8,
    attachments: attachment ? [{ instanceId: "i-host", device: "/dev/sdf", state: attachment }] : [],
    tags: {},
  }) satisfies CloudVolume;

const snapshot = (progress: number | undefined, startedMsAgo: number) =>
  ({
    snapshotId: "snap-1",
    region: "us-east-1",
    state: "pending",
    startTime: ago(startedMsAgo),
    ...(progress !== undefined ? { progress } : {}),
    tags: {},
  }) satisfies CloudSnapshot;

const image = (method: string, region = "us-east-1") =>
  ({
    imageId: "ami-1",
    region,
    name: "base",
    ownerId: "111122223333",
    state: "pending",
    creationDate: ago(1_000),
    snapshotIds: [],
    tags: { [Tag.bakeMethod]: method, [Tag.homeRegion]: "us-east-1" },
    ...(region !== "us-east-1" ? { sourceImageId: "ami-0" } : {}),
  }) satisfies CloudImage;

const instance = (state: CloudInstance["state"]) =>
  ({
    instanceId: "i-1",
    region: "us-east-1",
    imageId: "ami-0",
    state,
    launchTime: ago(1_000),
    tags: {},
  }) satisfies CloudInstance;

const command = (status: ObservedCommand["status"], sentMsAgo: number): ObservedCommand => ({
  commandId: "cmd-1",
  instanceId: "i-host",
  volumeId: "vol-1",
  build: "1.0.1+abcdef12",
  status,
  requestedAt: ago(sentMsAgo),
});

/** The spec's last home image, baked on a volume in `seconds`. */
const lastBake = (seconds: number) =>
  ({
    ...image("volume"),
    state: "available",
    imageId: "ami-last",
    tags: {
      [Tag.bakeMethod]: "volume",
      [Tag.homeRegion]: "us-east-1",
      [Tag.spec]: "app",
      [Tag.provisionSeconds]: String(seconds),
    },
  }) satisfies CloudImage;

const bakeVolume = { ...volume("in-use", "attached"), tags: { [Tag.spec]: "app" } };

function inventory(parts: {
  commands?: [string, ObservedCommand][];
  volumes?: CloudVolume[];
  snapshots?: CloudSnapshot[];
  images?: CloudImage[];
  instances?: CloudInstance[];
}): Inventory {
  return {
    ...emptyInventory(),
    images: parts.images ?? [],
    instances: parts.instances ?? [],
    volumeBakes: {
      regions: ["us-east-1"],
      hosts: [],
      volumes: parts.volumes ?? [],
      devices: new Map(),
      snapshots: parts.snapshots ?? [],
      commands: new Map(parts.commands ?? []),
      lastCommandAt: new Map(),
      hostImages: new Map(),
    },
  };
}

describe("nextLook", () => {
  const cases: [string, Inventory, number, { ms: number; why: string } | undefined][] = [
    ["nothing in flight", emptyInventory(), POLL, undefined],
    ["a volume ready and unattached", inventory({ volumes: [volume("available")] }), POLL, undefined],
    [
      "a volume being created",
      inventory({ volumes: [volume("creating")] }),
      POLL,
      { ms: 5_000, why: "volume vol-1 being created" },
    ],
    [
      "a volume attaching",
      inventory({ volumes: [volume("in-use", "attaching")] }),
      POLL,
      { ms: 5_000, why: "volume vol-1 attaching" },
    ],
    [
      "a volume detaching",
      inventory({ volumes: [volume("in-use", "detaching")] }),
      POLL,
      { ms: 5_000, why: "volume vol-1 detaching" },
    ],
    [
      "a volume attached (the chroot bake runs)",
      inventory({ volumes: [volume("in-use", "attached")] }),
      POLL,
      undefined,
    ],
    [
      "a snapshot just started (no progress yet)",
      inventory({ snapshots: [snapshot(0, 1_000)] }),
      POLL,
      { ms: 5_000, why: "snapshot snap-1 0% done" },
    ],
    [
      "a snapshot half done after 30 s: 30 s more, past the poll",
      inventory({ snapshots: [snapshot(50, 30_000)] }),
      POLL,
      undefined,
    ],
    [
      "a snapshot 80% done after 40 s: 10 s more",
      inventory({ snapshots: [snapshot(80, 40_000)] }),
      POLL,
      { ms: 10_000, why: "snapshot snap-1 80% done" },
    ],
    [
      "a snapshot 95% done: no sooner than 5 s",
      inventory({ snapshots: [snapshot(95, 50_000)] }),
      POLL,
      { ms: 5_000, why: "snapshot snap-1 95% done" },
    ],
    [
      "an image registered from a volume's snapshot",
      inventory({ images: [image("volume")] }),
      POLL,
      { ms: 5_000, why: "image ami-1 being registered" },
    ],
    [
      "a copy of a volume-baked image in another region (minutes)",
      inventory({ images: [image("volume", "eu-west-1")] }),
      POLL,
      undefined,
    ],
    [
      "an image CreateImage makes of an instance (minutes)",
      inventory({ images: [image("instance")] }),
      POLL,
      undefined,
    ],
    [
      "an instance stopping",
      inventory({ instances: [instance("stopping")] }),
      POLL,
      { ms: 5_000, why: "instance i-1 stopping" },
    ],
    [
      "a chroot bake with no earlier bake to go by",
      inventory({ volumes: [bakeVolume], commands: [["vol-1", command("InProgress", 60_000)]] }),
      POLL,
      undefined,
    ],
    [
      "a chroot bake whose last one took 2 minutes, sent 1 minute ago: a poll",
      inventory({
        volumes: [bakeVolume],
        images: [lastBake(120)],
        commands: [["vol-1", command("InProgress", 60_000)]],
      }),
      POLL,
      undefined,
    ],
    [
      "… sent 1m45s ago: 5 s before it is expected to end",
      inventory({
        volumes: [bakeVolume],
        images: [lastBake(120)],
        commands: [["vol-1", command("InProgress", 105_000)]],
      }),
      POLL,
      { ms: 10_000, why: "command cmd-1 expected to end (last bake 120s)" },
    ],
    [
      "… sent 2m10s ago: overdue, looked for every 5 s",
      inventory({
        volumes: [bakeVolume],
        images: [lastBake(120)],
        commands: [["vol-1", command("InProgress", 130_000)]],
      }),
      POLL,
      { ms: 5_000, why: "command cmd-1 expected to end (last bake 120s)" },
    ],
    [
      "… sent 3m30s ago: more than a minute late, back to the poll",
      inventory({
        volumes: [bakeVolume],
        images: [lastBake(120)],
        commands: [["vol-1", command("InProgress", 210_000)]],
      }),
      POLL,
      undefined,
    ],
    [
      "… ended: nothing to wait for",
      inventory({
        volumes: [bakeVolume],
        images: [lastBake(120)],
        commands: [["vol-1", command("Success", 125_000)]],
      }),
      POLL,
      undefined,
    ],
    [
      "a bakery host starting",
      { ...inventory({}), volumeBakes: { ...inventory({}).volumeBakes!, hosts: [instance("pending")] } },
      POLL,
      { ms: 5_000, why: "instance i-1 pending" },
    ],
    ["an instance running its bake", inventory({ instances: [instance("running")] }), POLL, undefined],
    ["a poll interval as short as the look", inventory({ volumes: [volume("creating")] }), 5_000, undefined],
    [
      "the soonest of several",
      inventory({ snapshots: [snapshot(80, 40_000)], volumes: [volume("creating")] }),
      POLL,
      { ms: 5_000, why: "volume vol-1 being created" },
    ],
  ];
  it.each(cases)("%s", (_name, observed, poll, expected) => {
    expect(nextLook(observed, NOW, poll)).toEqual(expected);
  });
});

describe("the loop's pace on the simulator", () => {
  let t: SimCloud | undefined;
  afterEach(async () => {
    await t?.close();
    t = undefined;
  });

  it("looks again in 5 s while a volume is created, attached or detached and the image registered, else a poll later", async () => {
    t = await startSimCloud();
    const clock = t.clock;
    const waits: { ms: number; saw: string }[] = [];
    let last = "";
    const sleep = clock.sleep.bind(clock);
    // The loop's own sleeps move the clock (as time passing) and are recorded with what the pass saw.
    clock.sleep = async (ms: number) => {
      waits.push({ ms, saw: last });
      clock.advance(ms);
      await sleep(0);
    };
    const reconciler = new Reconciler({
      cloud: t.cloud,
      clock,
      logger: silentLogger,
      pollIntervalMs: 15_000,
      onPass: (pass) => {
        last = pass.nextLook?.why.replace(/(vol|snap|ami|i)-[0-9a-f]+/g, "$1-…") ?? "poll";
      },
    });
    const estate = validation(
      ubuntuFoundation(["us-east-1"]),
      baseSpec("base", { version: "1.0.0", regions: ["us-east-1"], bake: { method: "volume" } }),
    );
    const { outcome } = await reconciler.run(() => estate, { maxPasses: 300 });
    expect(outcome).toBe("converged");
    const seen = new Map<string, Set<number>>();
    for (const w of waits.filter((w) => w.ms > 0)) seen.set(w.saw, (seen.get(w.saw) ?? new Set()).add(w.ms));
    expect(Object.fromEntries([...seen].map(([saw, ms]) => [saw, [...ms].sort((a, b) => a - b)]))).toEqual({
      // The bakery host launching (the first bake's).
      "instance i-… pending": [5_000],
      "volume vol-… being created": [5_000],
      "volume vol-… attaching": [5_000],
      "volume vol-… detaching": [5_000],
      // Detached while the snapshot runs, which is then 74 % done: the rest in 14 s, within the poll.
      "snapshot snap-… 74% done": [14_054],
      "image ami-… being registered": [5_000],
      // The chroot bake's command, and most of the snapshot, take minutes: a poll.
      poll: [15_000],
    });
  });
});
