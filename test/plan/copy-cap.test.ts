// EC2 runs a limited number of AMI copies into one destination region at once. The planner starts at most
// that many minus those pending there, and the rest wait for a later pass with a status that says so.
import { describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import type { CloudImage, Tags } from "../../controller/cloud/port.ts";
import type { Action } from "../../controller/plan/actions.ts";
import { capCopies } from "../../controller/plan/distribute.ts";
import { plan } from "../../controller/plan/plan.ts";
import { buildIdFor, recipeHash } from "../../controller/plan/recipe.ts";
import { inventory, leavenImage, spec, T0, ubuntu } from "./builders.ts";

const PARENT = "ubuntu/images/jammy-20260301";
const apps = Array.from({ length: 50 }, (_, i) =>
  spec(`app-${String(i).padStart(2, "0")}`, {
    layer: "base",
    parent: { spec: "ubuntu", channel: "release" },
    version: "1.0.0",
    regions: ["us-east-1", "eu-west-1"],
    channels: { release: { latest: true } },
  }),
);
const buildOf = (app: (typeof apps)[number]) =>
  buildIdFor(app.name, "1.0.0", recipeHash(app.document.spec), PARENT);
const homeImages = apps.map((app) =>
  leavenImage("us-east-1", app.name, buildOf(app), {
    id: `ami-home-${app.name}`,
    tags: { [Tag.homeRegion]: "us-east-1" },
  }),
);
const copyOf = (app: (typeof apps)[number], state: CloudImage["state"]) =>
  leavenImage("eu-west-1", app.name, buildOf(app), {
    id: `ami-copy-${app.name}`,
    state,
    tags: { [Tag.homeRegion]: "us-east-1", [Tag.homeImage]: `ami-home-${app.name}` },
  });

describe("concurrent copies into one region are capped", () => {
  it("copies 50 builds into one region in waves of the cap, never more in flight", () => {
    const copies = new Map<string, CloudImage["state"]>();
    const waves: number[] = [];
    for (let pass = 0; pass < 10; pass++) {
      const images = [
        ...homeImages,
        ...apps.flatMap((a) => (copies.has(a.name) ? [copyOf(a, copies.get(a.name)!)] : [])),
      ];
      const result = plan({
        specs: [ubuntu, ...apps],
        inventory: inventory({ images }),
        now: T0,
        maxConcurrentCopies: 20,
      });
      const started = result.actions.filter((a) => a.kind === "copy-image");
      waves.push(started.length);
      const inFlight = [...copies.values()].filter((s) => s === "pending").length;
      expect(inFlight + started.length).toBeLessThanOrEqual(20);
      // This pass's copies are pending on the next; the ones pending now complete by then.
      for (const [name, state] of copies) if (state === "pending") copies.set(name, "available");
      for (const action of started) copies.set(action.spec, "pending");
      if ([...copies.values()].filter((s) => s === "available").length === 50) break;
    }
    // A copy takes longer than a pass here: a wave starts, waits a pass with the region full, completes.
    expect(waves).toEqual([20, 0, 20, 0, 10, 0]);
  });

  it("starts nothing while the region is full, and says how many wait", () => {
    const pending = apps.slice(0, 20);
    const images = [...homeImages, ...pending.map((a) => copyOf(a, "pending"))];
    const result = plan({
      specs: [ubuntu, ...apps],
      inventory: inventory({ images }),
      now: T0,
      maxConcurrentCopies: 20,
    });
    expect(result.actions.filter((a) => a.kind === "copy-image")).toEqual([]);
    const waiting = result.statuses.find((s) => s.name === "app-30")!;
    expect(waiting.phase).toBe("Copying");
    expect(waiting.message).toBe(
      `${buildOf(apps[30]!)}: copying to eu-west-1; channel release: no ready build yet; 1 copy to eu-west-1 queued: EC2 runs at most 20 AMI copies into a region at once and 20 are in progress`,
    );
    const copying = result.statuses.find((s) => s.name === "app-00")!;
    expect(copying.message).toBe(
      `${buildOf(apps[0]!)}: copying to eu-west-1; channel release: no ready build yet`,
    );
  });

  it("uses EC2's limit, 300, by default", () => {
    const result = plan({ specs: [ubuntu, ...apps], inventory: inventory({ images: homeImages }), now: T0 });
    expect(result.actions.filter((a) => a.kind === "copy-image")).toHaveLength(50);
  });
});

describe("capCopies", () => {
  const copy = (spec: string, region: string): Action => ({
    kind: "copy-image",
    spec,
    build: "1.0.0+aa",
    region,
    copy: { sourceRegion: "us-east-1", sourceImageId: "ami-h", name: "n", clientToken: "t", tags: {} },
    reason: "r",
  });
  const other: Action = {
    kind: "set-tags",
    spec: "x",
    build: "b",
    region: "eu-west-1",
    imageId: "ami-x",
    tags: {},
    reason: "r",
  };
  const pendingCopy = (region: string, id: string, tags: Tags = { [Tag.homeRegion]: "us-east-1" }) =>
    leavenImage(region, "s", "1.0.0+aa", { id, state: "pending", tags });

  it("counts pending copies per destination region, not pending home images, and keeps other actions", () => {
    const actions = [
      copy("a", "eu-west-1"),
      other,
      copy("b", "eu-west-1"),
      copy("c", "ap-southeast-2"),
      copy("d", "eu-west-1"),
    ];
    const images = [
      pendingCopy("eu-west-1", "ami-1"),
      // A home image being created is not a copy.
      pendingCopy("us-east-1", "ami-2"),
      // An untagged copy is known by its source.
      { ...pendingCopy("eu-west-1", "ami-3", {}), sourceImageId: "ami-h" },
    ];
    const cap = capCopies(actions, images, 3);
    expect(actions.map((a) => `${a.kind} ${a.spec} ${a.region}`)).toEqual([
      "copy-image a eu-west-1",
      "set-tags x eu-west-1",
      "copy-image c ap-southeast-2",
    ]);
    expect(cap.queued).toEqual(
      new Map([
        ["b", new Map([["eu-west-1", 1]])],
        ["d", new Map([["eu-west-1", 1]])],
      ]),
    );
    expect(cap.copying).toEqual(
      new Map([
        ["eu-west-1", 3],
        ["ap-southeast-2", 1],
      ]),
    );
  });
});
