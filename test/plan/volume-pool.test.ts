// The warm pool's planner on its own: what it counts, claims, refills, detaches and discards — and what it
// never touches (bake volumes, volumes on their way out, regions not observed).
import { describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import type { CloudVolume } from "../../controller/cloud/port.ts";
import type { Action } from "../../controller/plan/actions.ts";
import { volumeToken } from "../../controller/plan/recipe.ts";
import { createPool } from "../../controller/plan/volume-pool.ts";
import { T0 } from "./builders.ts";
import { HOST, host, observation, owner, REGION, volume } from "./volume-builders.ts";

const PARENT = "ami-0000000000parent";
const ZONE = `${REGION}a`;

function pooled(id: string, fields: Partial<CloudVolume> = {}, parent = PARENT): CloudVolume {
  return {
    ...volume(id),
    ...fields,
    tags: { ...owner, [Tag.role]: "volume-pool", [Tag.parentImage]: parent, [Tag.parentBuild]: "jammy" },
  };
}

function finish(pool: ReturnType<typeof createPool>, sweep = true): Action[] {
  const actions: Action[] = [];
  pool.finish(actions, T0, sweep);
  return actions;
}

const ids = (actions: Action[]) =>
  actions.map((a) => `${a.kind} ${"volumeId" in a ? a.volumeId : ""}`.trim());

describe("the warm pool", () => {
  it("refills to its size with a token per minute and slot, counting only its parent's volumes in the zone", () => {
    const volumes = [
      pooled("vol-00000000000pool1"),
      pooled("vol-00000000000zoneb", { availabilityZone: `${REGION}b` }),
      pooled("vol-0000000000parent2", {}, "ami-000000000parent2"),
      { ...pooled("vol-00000000000west1"), region: "eu-west-1" },
      pooled("vol-000000000deleting", { state: "deleting" }),
      pooled("vol-0000000000deleted", { state: "deleted" }),
      // A bake volume is not the pool's, whatever its parent.
      volume("vol-0000000000000bake"),
    ];
    const pool = createPool(observation({ volumes }), 3, "blue");
    pool.want(REGION, PARENT, "jammy", ZONE);
    const creates = finish(pool, false);
    const minute = Math.floor(T0 / 60_000);
    expect(creates).toEqual(
      [1, 2].map((slot) =>
        expect.objectContaining({
          kind: "create-volume",
          spec: "(pool)",
          build: "jammy",
          region: REGION,
          parentImageId: PARENT,
          volume: {
            availabilityZone: ZONE,
            volumeType: "gp3",
            clientToken: volumeToken(`pool/${PARENT}`, `${minute}-${slot}`, ZONE),
            tags: {
              [Tag.managedBy]: "leaven",
              [Tag.installation]: "blue",
              [Tag.role]: "volume-pool",
              [Tag.parentImage]: PARENT,
              [Tag.parentBuild]: "jammy",
              Name: "leaven pool jammy",
            },
          },
          reason: `the warm pool of jammy (${PARENT}) in ${ZONE} has 1 of bakery.poolSize 3 volumes`,
        }),
      ),
    );
  });

  it("is off at size 0: no claim, no refill, and what is left of a pool is discarded on a sweep", () => {
    const pool = createPool(observation({ volumes: [pooled("vol-00000000000pool1")] }), 0);
    pool.want(REGION, PARENT, "jammy", ZONE);
    expect(pool.claim(REGION, PARENT, ZONE)).toBeUndefined();
    expect(finish(pool)).toEqual([
      expect.objectContaining({
        kind: "delete-volume",
        volumeId: "vol-00000000000pool1",
        reason: `no volume bake is on ${PARENT} in ${ZONE} any more: deleting pool volume vol-00000000000pool1`,
      }),
    ]);
  });

  it("neither claims, detaches again nor discards a volume on its way on or off a host", () => {
    const moving = (state: "attaching" | "detaching") =>
      pooled(`vol-0000000${state}`, { attachments: [{ instanceId: HOST, device: "/dev/sdf", state }] });
    const volumes = [moving("attaching"), moving("detaching")];
    const pool = createPool(observation({ volumes }), 2);
    expect(pool.claim(REGION, PARENT, ZONE)).toBeUndefined();
    // Their parent is wanted by no bake: on a sweep they would go, but not while an attachment is in flight.
    expect(finish(pool)).toEqual([]);
  });

  it("discards nothing on a sweep in a region whose volumes were not observed, whatever their parent", () => {
    const west = { ...pooled("vol-00000000000west1"), region: "eu-west-1" };
    expect(finish(createPool(observation({ volumes: [west] }), 1))).toEqual([]);
  });

  it("says why it trims a pool over its size", () => {
    const volumes = [pooled("vol-00000000000pool1"), pooled("vol-00000000000pool2")];
    const pool = createPool(observation({ volumes }), 1);
    pool.want(REGION, PARENT, "jammy", ZONE);
    expect(finish(pool, false)).toEqual([
      expect.objectContaining({
        volumeId: "vol-00000000000pool2",
        reason: `the warm pool of ${PARENT} in ${ZONE} has 2 volumes, more than bakery.poolSize 1: deleting pool volume vol-00000000000pool2`,
      }),
    ]);
  });

  it("claims an available, unattached volume of the parent in the zone, each once; a claim is refilled", () => {
    const volumes = [
      pooled("vol-000000000creating", { state: "creating" }),
      pooled("vol-00000000attached", {
        state: "in-use",
        attachments: [{ instanceId: HOST, device: "/dev/sdf", state: "attached" }],
      }),
      pooled("vol-00000000000pool1"),
    ];
    const pool = createPool(observation({ volumes }), 3);
    pool.want(REGION, PARENT, "jammy", ZONE);
    expect(pool.claim(REGION, PARENT, `${REGION}b`)).toBeUndefined();
    expect(pool.claim(REGION, "ami-000000000parent2", ZONE)).toBeUndefined();
    expect(pool.claim(REGION, PARENT, ZONE)?.volumeId).toBe("vol-00000000000pool1");
    expect(pool.claim(REGION, PARENT, ZONE)).toBeUndefined();
    // The claimed one is a bake's now: two left (one being made, one attached), one made.
    const actions = finish(pool, false);
    expect(actions.filter((a) => a.kind === "create-volume")).toHaveLength(1);
    // The attached one was claimed by no bake: a claim whose retag failed after its attach went through.
    expect(actions.filter((a) => a.kind === "detach-volume")).toEqual([
      {
        kind: "detach-volume",
        spec: "(pool)",
        build: "jammy",
        region: REGION,
        volumeId: "vol-00000000attached",
        instanceId: HOST,
        reason: "pool volume vol-00000000attached is attached but was not taken by a bake: detaching it",
      },
    ]);
  });

  it("trims a pool over its size, but only volumes that are available", () => {
    const volumes = [
      pooled("vol-00000000000pool1"),
      pooled("vol-00000000000pool2"),
      pooled("vol-000000000creating", { state: "creating" }),
      pooled("vol-00000000000pool3"),
    ];
    const pool = createPool(observation({ volumes }), 2);
    pool.want(REGION, PARENT, "jammy", ZONE);
    expect(ids(finish(pool, false))).toEqual(["delete-volume vol-00000000000pool3"]);
    const creatingLast = createPool(observation({ volumes: [...volumes.slice(0, 2), volumes[2]!] }), 2);
    creatingLast.want(REGION, PARENT, "jammy", ZONE);
    expect(finish(creatingLast, false)).toEqual([]);
  });

  it("refills and discards nothing in a region whose volumes were not observed", () => {
    const pool = createPool(observation({ regions: [], volumes: [pooled("vol-00000000000pool1")] }), 2);
    pool.want(REGION, PARENT, "jammy", ZONE);
    pool.want(REGION, "ami-000000000parent2", "noble", ZONE);
    expect(finish(pool)).toEqual([]);
  });

  it("discards on a sweep only the available, unclaimed volumes of a parent no bake wants in that zone", () => {
    const stale = pooled("vol-0000000000000old", {}, "ami-0000000000000old");
    const volumes = [
      stale,
      pooled("vol-000000000creating", { state: "creating" }, "ami-0000000000000old"),
      pooled("vol-00000000000pool1"),
    ];
    const pool = createPool(observation({ volumes }), 1);
    pool.want(REGION, PARENT, "jammy", ZONE);
    expect(finish(pool, false)).toEqual([]);
    const swept = createPool(observation({ volumes }), 1);
    swept.want(REGION, PARENT, "jammy", ZONE);
    expect(finish(swept)).toEqual([
      {
        kind: "delete-volume",
        spec: "(pool)",
        region: REGION,
        volumeId: "vol-0000000000000old",
        build: "jammy",
        reason: `no volume bake is on ami-0000000000000old in ${ZONE} any more: deleting pool volume vol-0000000000000old`,
      },
    ]);
    // A claimed volume is a bake's, never discarded.
    const claimed = createPool(observation({ volumes: [pooled("vol-00000000000pool1")] }), 1);
    claimed.claim(REGION, PARENT, ZONE);
    expect(finish(claimed).filter((a) => a.kind === "delete-volume")).toEqual([]);
  });

  it("keeps a wanted parent's volumes in another zone while no host is up to say the zone, not after", () => {
    const elsewhere = pooled("vol-00000000000zoneb", { availabilityZone: `${REGION}b` });
    const noHost = createPool(observation({ hosts: [], volumes: [elsewhere] }), 1);
    noHost.want(REGION, PARENT, "jammy", undefined);
    expect(finish(noHost)).toEqual([]);
    const stopped = createPool(
      observation({
        hosts: [host(HOST, { ...owner, [Tag.role]: "bakery" }, "stopped")],
        volumes: [elsewhere],
      }),
      1,
    );
    stopped.want(REGION, PARENT, "jammy", undefined);
    expect(finish(stopped)).toEqual([]);
    // A host running in eu-west-1 says nothing of us-east-1's zones.
    const west = createPool(
      observation({ hosts: [{ ...host(), region: "eu-west-1" }], volumes: [elsewhere] }),
      1,
    );
    west.want(REGION, PARENT, "jammy", undefined);
    expect(finish(west)).toEqual([]);
    const up = createPool(observation({ volumes: [elsewhere] }), 1);
    up.want(REGION, PARENT, "jammy", ZONE);
    expect(ids(finish(up))).toEqual(["create-volume", "delete-volume vol-00000000000zoneb"]);
  });

  it("discards a pool volume without a parent build tag with no build, and never one still attached", () => {
    const bare = { ...pooled("vol-0000000000000bare"), tags: { ...owner, [Tag.role]: "volume-pool" } };
    const actions = finish(createPool(observation({ volumes: [bare] }), 1));
    expect(actions).toEqual([expect.objectContaining({ kind: "delete-volume", volumeId: bare.volumeId })]);
    expect("build" in actions[0]!).toBe(false);
    const attached = pooled("vol-00000000attached", {
      state: "in-use",
      attachments: [{ instanceId: HOST, device: "/dev/sdf", state: "attached" }],
    });
    expect(ids(finish(createPool(observation({ volumes: [attached] }), 1)))).toEqual([
      "detach-volume vol-00000000attached",
    ]);
  });
});
