// A foundation's channels resolve among the vendor's AMIs: which images count, and what the user reads
// when none does.
import { describe, expect, it } from "vitest";
import type { ImageSpecSpec } from "../../controller/api/types.generated.ts";
import type { CloudImage } from "../../controller/cloud/port.ts";
import { describeSource, resolveFoundation } from "../../controller/plan/foundation.ts";
import { DAY, spec, T0, vendorImage } from "./builders.ts";

const REGIONS: [string, ...string[]] = ["us-east-1", "eu-west-1"];
const foundation = (extra: Partial<ImageSpecSpec> = {}) =>
  spec("ubuntu", {
    layer: "foundation",
    source: { owners: ["099720109477"], name: "ubuntu/images/*" },
    regions: REGIONS,
    channels: { release: { latest: true } },
    ...extra,
  }).document;

/** One vendor image name published in the given regions (ids ami-<tag>-<region initial>). */
function published(
  name: string,
  tag: string,
  createdAt: number,
  extra: Partial<CloudImage> = {},
  regions = REGIONS,
) {
  return regions.map((region) => ({
    ...vendorImage(region, name, `ami-${tag}-${region[0]}`, createdAt),
    ...extra,
  }));
}

const older = published("ubuntu/images/jammy-1", "old", T0 - 10 * DAY);
const newer = published("ubuntu/images/jammy-2", "new", T0 - DAY);

describe("resolveFoundation", () => {
  it("lists the names available in every region, newest first, and picks the newest for latest", () => {
    const result = resolveFoundation(foundation(), [...older, ...newer], T0);
    expect(result.names).toEqual(["ubuntu/images/jammy-2", "ubuntu/images/jammy-1"]);
    expect(result.channels.get("release")).toEqual({
      ok: true,
      value: {
        build: "ubuntu/images/jammy-2",
        images: new Map([
          ["us-east-1", "ami-new-u"],
          ["eu-west-1", "ami-new-e"],
        ]),
      },
    });
    expect(result.status).toEqual({
      release: {
        build: "ubuntu/images/jammy-2",
        images: { "us-east-1": "ami-new-u", "eu-west-1": "ami-new-e" },
      },
    });
    expect(result.stalled).toEqual([]);
    expect(result.problem).toBeUndefined();
  });

  it.each<[string, CloudImage[], string[]]>([
    [
      "an image that is not available",
      published("ubuntu/images/jammy-3", "pend", T0, { state: "pending" }),
      [],
    ],
    ["an image in one region only", published("ubuntu/images/jammy-3", "half", T0, {}, ["us-east-1"]), []],
    [
      "a deprecated image",
      published("ubuntu/images/jammy-3", "dep", T0, { deprecationTime: new Date(T0).toISOString() }),
      [],
    ],
    [
      "an image deprecated only later",
      published("ubuntu/images/jammy-3", "later", T0, { deprecationTime: new Date(T0 + 1).toISOString() }),
      ["ubuntu/images/jammy-3"],
    ],
    [
      "an image of another architecture",
      published("ubuntu/images/jammy-3", "arm", T0, { architecture: "arm64" }),
      [],
    ],
    [
      "an image of the right architecture",
      published("ubuntu/images/jammy-3", "x86", T0, { architecture: "x86_64" }),
      ["ubuntu/images/jammy-3"],
    ],
  ])("counts %s accordingly", (_name, images, expected) => {
    const doc = foundation({
      source: { owners: ["099720109477"], name: "ubuntu/images/*", architecture: "x86_64" },
    });
    const result = resolveFoundation(doc, [...older, ...images], T0);
    expect(result.names).toEqual([...expected, "ubuntu/images/jammy-1"]);
  });

  it("counts deprecated images when the source includes them", () => {
    const deprecated = published("ubuntu/images/jammy-3", "dep", T0, {
      deprecationTime: new Date(T0 - DAY).toISOString(),
    });
    const doc = foundation({
      source: { owners: ["099720109477"], name: "ubuntu/images/*", includeDeprecated: true },
    });
    expect(resolveFoundation(doc, deprecated, T0).names).toEqual(["ubuntu/images/jammy-3"]);
  });

  it("stalls with the source and regions when nothing matches", () => {
    const result = resolveFoundation(foundation(), [], T0);
    const problem =
      'no available vendor image matches "ubuntu/images/*" owned by 099720109477 in all of us-east-1, eu-west-1';
    expect(result).toEqual({
      channels: new Map([["release", { ok: false, message: problem }]]),
      status: { release: { images: {}, message: problem } },
      names: [],
      // The spec stalls on the problem; the channel itself is only waiting for an image.
      stalled: [],
      problem,
    });
  });

  it("selects an exact image by its id in any region", () => {
    const doc = foundation({ channels: { pinned: { image: "ami-old-e" } } });
    expect(resolveFoundation(doc, [...older, ...newer], T0).status.pinned?.build).toBe(
      "ubuntu/images/jammy-1",
    );
    const missing = resolveFoundation(foundation({ channels: { pinned: { image: "ami-0000" } } }), older, T0);
    expect(missing.status.pinned).toEqual({
      images: {},
      message: "image ami-0000 does not match the source or is not available in every region",
    });
    expect(missing.stalled).toEqual(["pinned"]);
  });

  it("never selects a revoked image, named by its name or by an id in any region", () => {
    for (const build of ["ubuntu/images/jammy-2", "ami-new-e"]) {
      const doc = foundation({ revoked: [{ build, reason: "broken kernel" }] });
      expect(resolveFoundation(doc, [...older, ...newer], T0).status.release?.build).toBe(
        "ubuntu/images/jammy-1",
      );
    }
    const pinned = foundation({
      channels: { release: { image: "ami-new-u" } },
      revoked: [{ build: "ami-new-u", reason: "broken kernel" }],
    });
    expect(resolveFoundation(pinned, [...older, ...newer], T0).status.release).toEqual({
      images: {},
      message: "image ami-new-u is revoked (broken kernel)",
    });
    const all = foundation({ revoked: [{ build: "ubuntu/images/jammy-1", reason: "old" }] });
    const result = resolveFoundation(all, older, T0);
    expect(result.status.release?.message).toBe(
      "no ready build is admitted; the newest, ubuntu/images/jammy-1, is revoked (old); every ready build is revoked, so bake a new one or un-revoke one",
    );
    expect(result.stalled).toEqual(["release"]);
  });

  it("waits, not stalls, for an image that is merely too young", () => {
    const doc = foundation({ channels: { release: { latest: true, minAge: "7d" } } });
    const result = resolveFoundation(doc, newer, T0);
    expect(result.stalled).toEqual([]);
    expect(result.status.release?.message).toBe(
      "no ready build is admitted; the newest, ubuntu/images/jammy-2, is 1d old, younger than minAge 7d",
    );
  });
});

describe("describeSource", () => {
  it.each<[Partial<ImageSpecSpec>, string]>([
    [{ source: { owners: ["amazon", "self"], name: "al2023-*" } }, '"al2023-*" owned by amazon, self'],
    [
      { source: { owners: ["amazon"], name: "al2023-*", architecture: "arm64" } },
      '"al2023-*" owned by amazon (arm64)',
    ],
    [{ source: { name: "al2023-*" } }, '"al2023-*" owned by '],
    [{ source: { ssmParameter: "/aws/service/x" } }, "SSM parameter /aws/service/x"],
    [{ source: undefined }, "(no source)"],
  ])("%j", (extra, text) => {
    expect(describeSource(foundation(extra))).toBe(text);
  });
});
