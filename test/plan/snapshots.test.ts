// The orphaned-snapshot sweep, one situation at a time: which of Leaven's snapshots are deleted, with the
// exact reason, and every rule that keeps one.
import { describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import type { ImageSpecSpec } from "../../controller/api/types.generated.ts";
import type { CloudSnapshot, Tags } from "../../controller/cloud/port.ts";
import type { Inventory } from "../../controller/observe/inventory.ts";
import type { Action } from "../../controller/plan/actions.ts";
import { plan } from "../../controller/plan/plan.ts";
import { planSnapshotSweep, type SnapshotSweepInput, sweepPaused } from "../../controller/plan/snapshots.ts";
import { DAY, inventory, leavenImage, MIN, spec, T0, ubuntu } from "./builders.ts";

const NOW = T0 + 3 * DAY;
const HOUR = 60 * MIN;
const BUILD = "1.0.0+aaaaaaaa";

const base = (extra: Partial<ImageSpecSpec> = {}) =>
  spec("base", {
    layer: "base",
    parent: { spec: "ubuntu", channel: "release" },
    version: "1.0.0",
    regions: ["us-east-1", "eu-west-1"],
    ...extra,
  });

function snapshot(
  id: string,
  options: { region?: string; age?: number; tags?: Tags; state?: string; description?: string } = {},
): CloudSnapshot {
  return {
    snapshotId: id,
    region: options.region ?? "us-east-1",
    state: options.state ?? "completed",
    startTime: new Date(NOW - (options.age ?? 2 * HOUR)).toISOString(),
    ...(options.description ? { description: options.description } : {}),
    tags: { [Tag.managedBy]: "leaven", [Tag.spec]: "base", [Tag.build]: BUILD, ...options.tags },
  };
}

function world(snapshots: CloudSnapshot[], parts: Partial<Inventory> = {}): Inventory {
  return inventory({ snapshots, snapshotRegions: ["us-east-1", "eu-west-1"], ...parts });
}

function sweep(input: Partial<SnapshotSweepInput> & { inventory: Inventory }): string[] {
  const actions: Action[] = [];
  planSnapshotSweep(
    { specs: [ubuntu, base()], now: NOW, unattributedErrors: false, noDelete: false, ...input },
    actions,
  );
  return actions.map((a) =>
    a.kind === "delete-snapshot"
      ? `${a.spec} ${a.region} ${a.snapshotId}${a.build ? ` ${a.build}` : ""}: ${a.reason}`
      : a.kind,
  );
}

describe("planSnapshotSweep", () => {
  const inUse = leavenImage("us-east-1", "base", BUILD, { id: "ami-live" });
  it.each<[string, Partial<SnapshotSweepInput> & { inventory: Inventory }, string[]]>([
    [
      "an orphan of a spec that exists",
      { inventory: world([snapshot("snap-orphan")]) },
      [`base us-east-1 snap-orphan ${BUILD}: no image in us-east-1 uses it (2h old)`],
    ],
    [
      "an orphan whose description names the image it was made for",
      {
        inventory: world([
          snapshot("snap-orphan", {
            age: 3 * DAY,
            description: "Created by CreateImage(i-0abc) for ami-0gone from vol-1",
          }),
        ]),
      },
      [
        `base us-east-1 snap-orphan ${BUILD}: no image in us-east-1 uses it (3d old, made for ami-0gone, which is gone)`,
      ],
    ],
    [
      "a snapshot an image lists",
      { inventory: world([snapshot(inUse.snapshotIds[0]!)], { images: [inUse] }) },
      [],
    ],
    [
      "a volume bake's snapshot 15 minutes old, its spec baking on a volume still: kept an hour",
      {
        specs: [ubuntu, base({ bake: { method: "volume" } })],
        inventory: world([snapshot("snap-vb", { age: 15 * MIN, tags: { [Tag.role]: "volume-bake" } })]),
      },
      [],
    ],
    [
      "a volume bake's snapshot 15 minutes old, its spec baking on an instance now",
      {
        inventory: world([snapshot("snap-vb", { age: 15 * MIN, tags: { [Tag.role]: "volume-bake" } })]),
      },
      [`base us-east-1 snap-vb ${BUILD}: no image in us-east-1 uses it (15m old)`],
    ],
    [
      "a volume bake's snapshot of a deleted spec, whatever its retention.onDelete",
      {
        specs: [ubuntu],
        inventory: world([
          snapshot("snap-vb", { age: 15 * MIN, tags: { [Tag.role]: "volume-bake" } }),
          snapshot("snap-kept", { age: 15 * MIN }),
        ]),
      },
      [`base us-east-1 snap-vb ${BUILD}: no image in us-east-1 uses it (15m old)`],
    ],
    [
      "a volume bake's snapshot 5 minutes old, its spec gone",
      {
        specs: [ubuntu],
        inventory: world([snapshot("snap-vb", { age: 5 * MIN, tags: { [Tag.role]: "volume-bake" } })]),
      },
      [],
    ],
    [
      "the same id listed by an image in another region is no reference",
      { inventory: world([snapshot(inUse.snapshotIds[0]!, { region: "eu-west-1" })], { images: [inUse] }) },
      [`base eu-west-1 ${inUse.snapshotIds[0]} ${BUILD}: no image in eu-west-1 uses it (2h old)`],
    ],
    [
      "a snapshot whose description names an observed image",
      {
        inventory: world(
          [
            snapshot("snap-x", {
              description: `Copied for DestinationAmi ${inUse.imageId} from SourceAmi ami-1`,
            }),
          ],
          {
            images: [inUse],
          },
        ),
      },
      [],
    ],
    [
      "a snapshot of a build with a pending image in the region (a copy not listing it yet)",
      {
        inventory: world([snapshot("snap-copying", { age: 5 * HOUR })], {
          images: [leavenImage("us-east-1", "base", BUILD, { id: "ami-pending", state: "pending" })],
        }),
      },
      [],
    ],
    ["younger than the safety age", { inventory: world([snapshot("snap-new", { age: 59 * MIN })]) }, []],
    [
      "exactly the safety age",
      { inventory: world([snapshot("snap-hour", { age: HOUR })]) },
      [`base us-east-1 snap-hour ${BUILD}: no image in us-east-1 uses it (1h old)`],
    ],
    ["still pending", { inventory: world([snapshot("snap-p", { state: "pending" })]) }, []],
    [
      "in error",
      { inventory: world([snapshot("snap-e", { state: "error" })]) },
      [`base us-east-1 snap-e ${BUILD}: no image in us-east-1 uses it (2h old)`],
    ],
    [
      "without a start time",
      { inventory: world([{ ...snapshot("snap-t"), startTime: undefined } as CloudSnapshot]) },
      [],
    ],
    [
      "of another tool",
      { inventory: world([snapshot("snap-f", { tags: { [Tag.managedBy]: "packer" } })]) },
      [],
    ],
    [
      "of another installation",
      { inventory: world([snapshot("snap-i", { tags: { [Tag.installation]: "team-b" } })]) },
      [],
    ],
    [
      "of this installation, when it is not the default",
      {
        inventory: world([snapshot("snap-i", { tags: { [Tag.installation]: "team-b" } })]),
        installation: "team-b",
      },
      [`base us-east-1 snap-i ${BUILD}: no image in us-east-1 uses it (2h old)`],
    ],
    ["without a spec tag", { inventory: world([snapshot("snap-s", { tags: { [Tag.spec]: "" } })]) }, []],
    [
      "of a spec whose retention.delete is false",
      { inventory: world([snapshot("snap-k")]), specs: [ubuntu, base({ retention: { delete: false } })] },
      [],
    ],
    [
      "of a suspended spec",
      { inventory: world([snapshot("snap-k")]), specs: [ubuntu, base({ suspend: true })] },
      [],
    ],
    [
      "of a blocked spec",
      { inventory: world([snapshot("snap-b")]), specs: [ubuntu], blocked: new Map([["base", "invalid"]]) },
      [],
    ],
    ["of a deleted spec that retains", { inventory: world([snapshot("snap-d")]), specs: [ubuntu] }, []],
    [
      "of a deleted spec that retires",
      {
        inventory: world([
          snapshot("snap-d", { tags: { [Tag.onDelete]: "retire", [Tag.retention]: "deregister=30d" } }),
        ]),
        specs: [ubuntu],
      },
      [`base us-east-1 snap-d ${BUILD}: no image in us-east-1 uses it (2h old)`],
    ],
    [
      "of a deleted spec that retires without deleting",
      {
        inventory: world([
          snapshot("snap-d", {
            tags: { [Tag.onDelete]: "retire", [Tag.retention]: "deregister=30d delete=false" },
          }),
        ]),
        specs: [ubuntu],
      },
      [],
    ],
    [
      "in a region whose snapshots were not listed",
      { inventory: world([snapshot("snap-w", { region: "eu-west-1" })], { snapshotRegions: ["us-east-1"] }) },
      [],
    ],
  ])("%s", (_name, input, expected) => {
    expect(sweep(input)).toEqual(expected);
  });

  it.each<[string, Partial<SnapshotSweepInput> & { inventory: Inventory }, string]>([
    ["not listed this pass", { inventory: inventory() }, "snapshots were not listed this pass"],
    ["--no-delete", { inventory: world([snapshot("snap-1")]), noDelete: true }, "--no-delete"],
    [
      "a blind region",
      { inventory: world([snapshot("snap-1")], { regionErrors: new Map([["eu-west-1", "throttled"]]) }) },
      "eu-west-1 could not be observed: an image there might use any snapshot",
    ],
    [
      "a document that failed to load",
      { inventory: world([snapshot("snap-1")]), unattributedErrors: true },
      "a document failed to load: it might be any spec",
    ],
  ])("sweeps nothing when %s", (_name, input, why) => {
    expect(sweep(input)).toEqual([]);
    expect(
      sweepPaused({
        specs: [ubuntu, base()],
        now: NOW,
        unattributedErrors: false,
        noDelete: false,
        ...input,
      }),
    ).toBe(why);
  });

  it("runs inside plan(), after retirement, with the plan's --no-delete", () => {
    const input = { specs: [ubuntu, base()], inventory: world([snapshot("snap-orphan")]), now: NOW };
    expect(plan(input).actions.filter((a) => a.kind === "delete-snapshot")).toEqual([
      {
        kind: "delete-snapshot",
        spec: "base",
        build: BUILD,
        region: "us-east-1",
        snapshotId: "snap-orphan",
        reason: "no image in us-east-1 uses it (2h old)",
      },
    ]);
    expect(plan({ ...input, noDelete: true }).actions.filter((a) => a.kind === "delete-snapshot")).toEqual(
      [],
    );
  });
});
