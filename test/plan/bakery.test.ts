// The bakery host planner on its own: which host serves a region, device names and the bake limit, and what
// it stops, starts, terminates or launches — never an instance that is not its own bakery host.
import { describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import type { CloudInstance, Tags } from "../../controller/cloud/port.ts";
import type { Action } from "../../controller/plan/actions.ts";
import { BAKE_DEVICES, createBakery, START_TIMEOUT_MS } from "../../controller/plan/bakery.ts";
import { bakeryHostToken } from "../../controller/plan/recipe.ts";
import type { BakeryConfig } from "../../controller/validation/leaven-config.ts";
import { MIN, T0 } from "./builders.ts";
import { attached, HOST, host, observation, owner, REGION, volume } from "./volume-builders.ts";

const bakeryTags: Tags = { ...owner, [Tag.role]: "bakery" };
const at = (ms: number) => new Date(ms).toISOString();

function launched(
  id: string,
  launchTime: number,
  state: CloudInstance["state"] = "running",
  tags = bakeryTags,
) {
  return { ...host(id, tags, state), launchTime: at(launchTime) };
}

function finish(
  vb: ReturnType<typeof observation>,
  config: BakeryConfig = {},
  need?: string,
  options?: Parameters<ReturnType<typeof createBakery>["finish"]>[2],
  now = T0,
): Action[] {
  const bakery = createBakery(vb, config);
  if (need) bakery.host(REGION, need);
  const actions: Action[] = [];
  bakery.finish(actions, now, options);
  return actions;
}

const summary = (actions: Action[]) =>
  actions.map((a) => `${a.kind}${"instanceId" in a ? ` ${a.instanceId}` : ""}`);

describe("the bakery host planner", () => {
  it("never acts on an instance that is not its bakery host, in the region or not", () => {
    const foreign = launched("i-00000000000foreign", T0 - 90 * MIN, "running", { team: "web" });
    const lookalike = launched("i-0000000000lookalike", T0 - 90 * MIN, "running", {
      ...owner,
      [Tag.role]: "bake",
    });
    const stoppedForeign = launched("i-0000000000stopped", T0 - 90 * MIN, "stopped", { team: "web" });
    const vb = observation({ hosts: [foreign, lookalike, stoppedForeign] });
    // Not hosts: a bake waits for one of Leaven's, and one is launched.
    expect(createBakery(vb).host(REGION, "base")).toEqual({
      ok: false,
      message: `waiting for a bakery host in ${REGION}`,
    });
    expect(summary(finish(vb, {}, "base"))).toEqual(["launch-bakery-host"]);
    // No spec bakes on a volume here any more: still nothing of theirs is terminated.
    expect(finish(vb, {}, undefined, { volumeHomes: new Set() })).toEqual([]);
    // A host of another region serves none here and is not this region's to stop.
    const west = { ...host(), region: "eu-west-1" };
    expect(createBakery(observation({ hosts: [west] })).host(REGION).ok).toBe(false);
    expect(finish(observation({ hosts: [west] }), {}, undefined, { volumeHomes: new Set([REGION]) })).toEqual(
      [],
    );
  });

  it("serves from the oldest healthy host; a pending one is waited for, a marked one is not used", () => {
    const older = launched("i-00000000000000old", T0 - 90 * MIN);
    const newer = launched("i-00000000000000new", T0 - 30 * MIN);
    for (const hosts of [
      [older, newer],
      [newer, older],
    ])
      expect(createBakery(observation({ hosts })).host(REGION)).toMatchObject({ ok: true, host: older });
    const twinA = launched("i-0000000000000000a", T0 - 90 * MIN);
    const twinB = launched("i-0000000000000000b", T0 - 90 * MIN);
    expect(createBakery(observation({ hosts: [twinB, twinA] })).host(REGION)).toMatchObject({ host: twinA });
    const pending = launched(HOST, T0 - MIN, "pending");
    expect(createBakery(observation({ hosts: [pending] })).host(REGION)).toEqual({
      ok: false,
      message: `waiting for bakery host ${HOST} (pending)`,
    });
    const marked = launched(HOST, T0 - 90 * MIN, "running", { ...bakeryTags, [Tag.unhealthy]: "no SSM" });
    expect(createBakery(observation({ hosts: [marked, newer] })).host(REGION)).toMatchObject({ host: newer });
    expect(createBakery(observation({ hosts: [newer] })).zone(REGION)).toBe(`${REGION}a`);
  });

  it("terminates a duplicate host without bakes, keeping the oldest, never one with a volume on it", () => {
    const older = launched("i-00000000000000old", T0 - 90 * MIN);
    const newer = launched("i-00000000000000new", T0 - 30 * MIN);
    const actions = finish(observation({ hosts: [newer, older] }), {}, "base");
    expect(actions).toEqual([
      expect.objectContaining({
        kind: "terminate-instance",
        instanceId: "i-00000000000000new",
        reason: `duplicate bakery host in ${REGION} (keeping i-00000000000000old)`,
      }),
    ]);
    const busy = observation({
      hosts: [newer, older],
      devices: new Map([["i-00000000000000new", ["/dev/xvda", "/dev/sdf"]]]),
    });
    expect(finish(busy, {}, "base")).toEqual([]);
    // Its root device alone does not make it busy.
    const rootOnly = observation({
      hosts: [newer, older],
      devices: new Map([["i-00000000000000new", ["/dev/xvda"]]]),
    });
    expect(summary(finish(rootOnly, {}, "base"))).toEqual(["terminate-instance i-00000000000000new"]);
  });

  it("leaves a duplicate that is still pending, and stops no host that is not running yet", () => {
    const older = launched("i-00000000000000old", T0 - 90 * MIN);
    const pending = launched("i-00000000000000new", T0 - MIN, "pending");
    expect(finish(observation({ hosts: [older, pending] }), {}, "base")).toEqual([]);
    // Launched long ago and still pending (EC2 is slow to report): not idle-stopped while it is.
    const slow = launched(HOST, T0 - 90 * MIN, "pending");
    expect(finish(observation({ hosts: [slow] }), { idleStop: "30m" })).toEqual([]);
  });

  it("does not terminate again a marked host already on its way out", () => {
    const marked = { ...bakeryTags, [Tag.unhealthy]: "no SSM" };
    for (const state of ["terminated", "shutting-down"] as const)
      expect(
        summary(finish(observation({ hosts: [launched(HOST, T0 - 90 * MIN, state, marked)] }), {}, "base")),
      ).toEqual(["launch-bakery-host"]);
  });

  it("launches a replacement named after the newest dead host, and none without an AMI to launch from", () => {
    const first = launched("i-0000000000000dead1", T0 - 90 * MIN, "terminated");
    const second = launched("i-0000000000000dead2", T0 - 30 * MIN, "terminated");
    const [launch] = finish(observation({ hosts: [second, first] }), {}, "base");
    expect(launch).toMatchObject({
      kind: "launch-bakery-host",
      spec: "base",
      launch: { clientToken: bakeryHostToken("default", REGION, "after-i-0000000000000dead2") },
      reason: `a volume bake needs a bakery host in ${REGION} (i-0000000000000dead2 is terminated)`,
    });
    expect(finish(observation({ hosts: [], hostImages: new Map() }), {}, "base")).toEqual([]);
    expect(
      finish(
        observation({ hosts: [], hostImages: new Map() }),
        { imageId: "ami-0000000000000mine" },
        "base",
      )[0],
    ).toMatchObject({
      launch: { imageId: "ami-0000000000000mine" },
      // No host before it: the reason names none.
      reason: `a volume bake needs a bakery host in ${REGION}`,
    });
  });

  it("gives the launch to the first spec that needed the host", () => {
    const bakery = createBakery(observation({ hosts: [] }));
    bakery.host(REGION);
    bakery.host(REGION, "first");
    bakery.host(REGION, "second");
    const actions: Action[] = [];
    bakery.finish(actions, T0);
    expect(actions).toMatchObject([{ kind: "launch-bakery-host", spec: "first" }]);
  });

  it("counts only bake and pool volumes on this host against bakery.maxConcurrentBakes, with what is claimed this pass", () => {
    const other = "i-000000000000other";
    const vb = observation({
      volumes: [
        attached("vol-0000000000000001"),
        {
          ...attached("vol-0000000000000002"),
          attachments: [{ instanceId: other, device: "/dev/sdf", state: "attached" }],
        },
        // Someone's data volume on the host: no bake of Leaven's.
        {
          ...attached("vol-0000000000000003"),
          attachments: [{ instanceId: HOST, device: "/dev/sdh", state: "attached" }],
          tags: { team: "web" },
        },
      ],
      devices: new Map([[HOST, ["/dev/xvda", "/dev/sdf", "/dev/sdh"]]]),
    });
    const bakery = createBakery(vb, { maxConcurrentBakes: 3 });
    expect(bakery.claimDevice(host())).toEqual({ device: "/dev/sdg" });
    expect(bakery.claimDevice(host())).toEqual({ device: "/dev/sdi" });
    expect(bakery.claimDevice(host())).toEqual({
      message: `bakery host ${HOST} has 3 bakes attached, bakery.maxConcurrentBakes is 3: waiting for one to finish`,
    });
  });

  it("waits when every bake device name is taken", () => {
    const vb = observation({ devices: new Map([[HOST, [...BAKE_DEVICES]]]) });
    expect(createBakery(vb, { maxConcurrentBakes: 20 }).claimDevice(host())).toEqual({
      message: `bakery host ${HOST} has no free device name (${BAKE_DEVICES.join(" ")}): waiting`,
    });
  });

  it("uses a user-named host only in its region, only while running, and never stops or replaces it", () => {
    const theirs = launched("i-0000000000000their", T0 - 90 * MIN, "running", { team: "platform" });
    const config = { hostInstanceId: theirs.instanceId };
    expect(createBakery(observation({ hosts: [theirs] }), config).host(REGION)).toEqual({
      ok: true,
      host: theirs,
      userNamed: true,
    });
    expect(
      createBakery(observation({ hosts: [{ ...theirs, region: "eu-west-1" }] }), config).host(REGION),
    ).toEqual({
      ok: false,
      message: `bakery.hostInstanceId ${theirs.instanceId} is not an instance in ${REGION}; name a host in the home region of every spec that bakes on a volume`,
    });
    expect(
      createBakery(observation({ hosts: [{ ...theirs, state: "stopped" }] }), config).host(REGION),
    ).toEqual({
      ok: false,
      message: `bakery host ${theirs.instanceId} (bakery.hostInstanceId) is stopped; start it: Leaven never starts or stops a host it does not own`,
    });
    expect(createBakery(observation({ hosts: [theirs] }), config).zone(REGION)).toBe(`${REGION}a`);
    expect(
      createBakery(observation({ hosts: [{ ...theirs, region: "eu-west-1" }] }), config).zone(REGION),
    ).toBeUndefined();
    // Leaven's own bakery host beside it is not used while one is named.
    const both = observation({ hosts: [host(), theirs] });
    expect(createBakery(both, config).host(REGION)).toMatchObject({ host: theirs });
    expect(finish(both, config, "base", { volumeHomes: new Set() }, T0 + 48 * 60 * MIN)).toEqual([]);
  });

  it("stops its idle host exactly at bakery.idleStop after its last command, and not with a bake needing it", () => {
    const last = (ago: number) => observation({ lastCommandAt: new Map([[HOST, at(T0 - ago)]]) });
    expect(summary(finish(last(30 * MIN), { idleStop: "30m" }))).toEqual([`stop-instance ${HOST}`]);
    expect(finish(last(30 * MIN - 1), { idleStop: "30m" })).toEqual([]);
    expect(finish(last(60 * MIN), { idleStop: "30m" }, "base")).toEqual([]);
    expect(finish(last(60 * MIN), { idleStop: "30m" }, undefined, { idleStops: false })).toEqual([]);
    // Launched recently and never sent a command: idle since its launch.
    const fresh = observation({ hosts: [launched(HOST, T0 - 10 * MIN)] });
    expect(finish(fresh, { idleStop: "30m" })).toEqual([]);
    expect(finish(observation(), {})[0]?.reason).toBe(
      `bakery host ${HOST} has been idle for bakery.idleStop (30m)`,
    );
  });

  it("starts a stopped host once, waits START_TIMEOUT_MS for it, then replaces it", () => {
    const stopped = (tags: Tags = {}, extra: Partial<CloudInstance> = {}) =>
      observation({
        hosts: [{ ...launched(HOST, T0 - 90 * MIN, "stopped", { ...bakeryTags, ...tags }), ...extra }],
      });
    expect(finish(stopped(), {}, "base")).toEqual([
      expect.objectContaining({
        kind: "start-instance",
        spec: "base",
        instanceId: HOST,
        tags: { [Tag.startRequestedAt]: at(T0) },
      }),
    ]);
    // Not needed: left stopped.
    expect(finish(stopped())).toEqual([]);
    const asked = (ago: number) => stopped({ [Tag.startRequestedAt]: at(T0 - ago) });
    expect(finish(asked(START_TIMEOUT_MS - 1), {}, "base")).toEqual([]);
    expect(summary(finish(asked(START_TIMEOUT_MS), {}, "base"))).toEqual([
      `terminate-instance ${HOST}`,
      "launch-bakery-host",
    ]);
    // Stopped again (idle) after the start it was asked for: that request is over, it is started again.
    const restopped = stopped({
      [Tag.startRequestedAt]: at(T0 - 60 * MIN),
      [Tag.idleStoppedAt]: at(T0 - 20 * MIN),
    });
    expect(summary(finish(restopped, {}, "base"))).toEqual([`start-instance ${HOST}`]);
    const stoppedByHand = stopped(
      { [Tag.startRequestedAt]: at(T0 - 60 * MIN) },
      { stoppedAt: at(T0 - 20 * MIN) },
    );
    expect(summary(finish(stoppedByHand, {}, "base"))).toEqual([`start-instance ${HOST}`]);
    // Asked and stopped at the same moment: the request stands (and has timed out).
    const same = stopped({
      [Tag.startRequestedAt]: at(T0 - 60 * MIN),
      [Tag.idleStoppedAt]: at(T0 - 60 * MIN),
    });
    expect(summary(finish(same, {}, "base"))[0]).toBe(`terminate-instance ${HOST}`);
    // A garbled request tag is none.
    expect(summary(finish(stopped({ [Tag.startRequestedAt]: "soon" }), {}, "base"))).toEqual([
      `start-instance ${HOST}`,
    ]);
    // A host that is stopping is waited for, not started.
    expect(finish(observation({ hosts: [launched(HOST, T0 - 90 * MIN, "stopping")] }), {}, "base")).toEqual(
      [],
    );
  });

  it("starts the newest of its stopped hosts", () => {
    const older = launched("i-00000000000000old", T0 - 90 * MIN, "stopped");
    const newer = launched("i-00000000000000new", T0 - 30 * MIN, "stopped");
    for (const hosts of [
      [older, newer],
      [newer, older],
    ])
      expect(summary(finish(observation({ hosts }), {}, "base"))).toEqual([
        "start-instance i-00000000000000new",
      ]);
  });

  it("terminates a stopped spare while another host serves, unless a volume of Leaven's is on it", () => {
    const spare = launched("i-00000000000spare", T0 - 120 * MIN, "stopped");
    const serving = launched(HOST, T0 - 30 * MIN);
    expect(summary(finish(observation({ hosts: [spare, serving] }), {}, "base"))).toEqual([
      "terminate-instance i-00000000000spare",
    ]);
    const withVolume = observation({
      hosts: [spare, serving],
      volumes: [
        {
          ...volume(),
          state: "in-use",
          attachments: [{ instanceId: spare.instanceId, device: "/dev/sdf", state: "attached" }],
        },
      ],
    });
    expect(finish(withVolume, {}, "base")).toEqual([]);
  });

  it("starts no stopped host marked unhealthy: it is terminated and a replacement launched after it", () => {
    const marked = launched("i-0000000000000sick", T0 - 90 * MIN, "stopped", {
      ...bakeryTags,
      [Tag.unhealthy]: "agent not registered",
    });
    const vb = observation({ hosts: [marked], hostImages: new Map([[REGION, "ami-al2023"]]) });
    expect(createBakery(vb).host(REGION, "base")).toEqual({
      ok: false,
      message: `waiting for a bakery host in ${REGION}`,
    });
    const actions = finish(vb, {}, "base");
    expect(summary(actions)).toEqual(["terminate-instance i-0000000000000sick", "launch-bakery-host"]);
    expect(actions[1]).toMatchObject({
      launch: {
        clientToken: bakeryHostToken("default", REGION, "after-i-0000000000000sick"),
        tags: { Name: "leaven bakery default" },
      },
      reason: `a volume bake needs a bakery host in ${REGION} (i-0000000000000sick is stopped)`,
    });
  });

  it("gives the zone of the host the user named, not of Leaven's own host beside it", () => {
    const theirs = { ...launched("i-0000000000000their", T0 - 90 * MIN, "running", { team: "platform" }) };
    const zoned = { ...theirs, availabilityZone: `${REGION}c` };
    const bakery = createBakery(observation({ hosts: [host(), zoned] }), {
      hostInstanceId: theirs.instanceId,
    });
    expect(bakery.zone(REGION)).toBe(`${REGION}c`);
  });

  it("counts no bake volume that is attached nowhere against a host, nor as keeping it", () => {
    const loose = [volume("vol-0000000000000001"), volume("vol-0000000000000002")];
    const vb = observation({ volumes: loose });
    expect(createBakery(vb, { maxConcurrentBakes: 1 }).claimDevice(host())).toEqual({ device: "/dev/sdf" });
    // No spec bakes on a volume here any more: the host goes, whatever volumes are left unattached.
    expect(summary(finish(vb, {}, undefined, { volumeHomes: new Set() }))).toEqual([
      `terminate-instance ${HOST}`,
    ]);
  });
});
