// How the planner groups what was observed: builds per spec from Leaven's images, duplicates reported
// and resolved the way EC2's ClientToken would, bake and check instances apart.
import { describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import { indexInventory } from "../../controller/plan/index-inventory.ts";
import { bakeInstance, inventory, leavenImage, T0, vendorImage } from "./builders.ts";

describe("indexInventory", () => {
  it("groups images into builds per spec and region, and indexes every image by id", () => {
    const home = leavenImage("us-east-1", "base", "1.0.0+aa", {
      id: "ami-home",
      tags: { [Tag.parentSpec]: "ubuntu", [Tag.parentBuild]: "p1", [Tag.homeRegion]: "us-east-1" },
    });
    const copy = leavenImage("eu-west-1", "base", "1.0.0+aa", { id: "ami-copy" });
    const vendor = vendorImage("us-east-1", "ubuntu/x", "ami-vendor", T0);
    const index = indexInventory(
      inventory({ images: [home, copy], vendorImages: new Map([["ubuntu", [vendor]]]) }),
    );
    const build = index.builds.get("base")?.get("1.0.0+aa");
    expect(build).toEqual({
      channels: new Map(),
      spec: "base",
      build: "1.0.0+aa",
      version: "1.0.0",
      parentSpec: "ubuntu",
      parentBuild: "p1",
      homeRegion: "us-east-1",
      images: new Map([
        ["us-east-1", home],
        ["eu-west-1", copy],
      ]),
    });
    expect([...index.imagesById.keys()].sort()).toEqual(["ami-copy", "ami-home", "ami-vendor"]);
    expect(index.duplicates).toEqual([]);
  });

  it("leaves deregistered images and images without spec or build tags out of the builds", () => {
    const gone = leavenImage("us-east-1", "base", "1.0.0+aa", { id: "ami-gone", state: "deregistered" });
    const noBuild = { ...leavenImage("us-east-1", "base", "2.0.0+bb", { id: "ami-nobuild" }) };
    delete noBuild.tags[Tag.build];
    const noSpec = { ...leavenImage("us-east-1", "base", "3.0.0+cc", { id: "ami-nospec" }) };
    delete noSpec.tags[Tag.spec];
    const index = indexInventory(inventory({ images: [gone, noBuild, noSpec] }));
    expect(index.builds).toEqual(new Map());
    // Still known by id (e.g. a parent image lookup), just not a build.
    expect(index.imagesById.has("ami-gone")).toBe(true);
  });

  it.each([
    ["the available one over a pending older one", "pending", T0 - 1000, "available", T0, "ami-b"],
    ["the available one over a failed newer one", "available", T0, "failed", T0 + 1000, "ami-a"],
    ["the older one when neither is available", "pending", T0 + 1000, "pending", T0, "ami-b"],
    ["the older one when both are available", "available", T0, "available", T0 + 1000, "ami-a"],
    ["the first one on a tie", "available", T0, "available", T0, "ami-a"],
  ] as const)(
    "keeps %s as the build's image and reports the other as a duplicate",
    (_n, sa, ta, sb, tb, kept) => {
      const a = leavenImage("us-east-1", "base", "1.0.0+aa", { id: "ami-a", state: sa, createdAt: ta });
      const b = leavenImage("us-east-1", "base", "1.0.0+aa", { id: "ami-b", state: sb, createdAt: tb });
      const index = indexInventory(inventory({ images: [a, b] }));
      expect(index.builds.get("base")?.get("1.0.0+aa")?.images.get("us-east-1")?.imageId).toBe(kept);
      expect(index.duplicates.map((i) => i.imageId)).toEqual(["ami-b"]);
    },
  );

  it("keys instances by spec and build, and keeps check instances apart from bake instances", () => {
    const bake = bakeInstance("us-east-1", "base", "1.0.0+aa", "running", { id: "i-bake" });
    const check = bakeInstance("us-east-1", "base", "1.0.0+aa", "running", {
      id: "i-check",
      tags: { [Tag.role]: "smoke" },
    });
    const untagged = {
      ...bakeInstance("us-east-1", "x", "y", "running", { id: "i-bare" }),
      tags: { [Tag.managedBy]: "leaven" },
    };
    const index = indexInventory(inventory({ instances: [bake, check, untagged] }));
    expect([...index.instancesByBuild].map(([k, v]) => [k, v.map((i) => i.instanceId)])).toEqual([
      ["base/1.0.0+aa", ["i-bake"]],
      ["/", ["i-bare"]],
    ]);
    expect([...index.instancesBySpec.keys()]).toEqual(["base", ""]);
    expect([...index.checksByBuild].map(([k, v]) => [k, v.map((i) => i.instanceId)])).toEqual([
      ["base/1.0.0+aa", ["i-check"]],
    ]);
    expect([...index.checksBySpec.keys()]).toEqual(["base"]);
  });
});
