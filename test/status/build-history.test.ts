import { describe, expect, it } from "vitest";
import { channelTag, Tag } from "../../controller/api/tags.ts";
import type { CloudImage, CloudInstance, Tags } from "../../controller/cloud/port.ts";
import type { SpecStatus } from "../../controller/plan/status.ts";
import { type BuildRecord, buildHistory } from "../../controller/status/build-history.ts";
import { bakeInstance, DAY, inventory, leavenImage, MIN, T0, vendorImage } from "../plan/builders.ts";

const REGIONS = ["us-east-1", "eu-west-1"];
const JAMMY_OLD = "ubuntu/images/jammy-20260101";
const JAMMY_NEW = "ubuntu/images/jammy-20260301";
const B1 = "1.0.0+bbbbbbb1";
const B2 = "2.0.0+bbbbbbb2";

/** Tags an image or bake instance of `build` carries about what it was baked on. */
function bakedOn(parentSpec: string, parentChannel: string, parentBuild: string, home = "us-east-1"): Tags {
  return {
    [Tag.parentSpec]: parentSpec,
    [Tag.parentChannel]: parentChannel,
    [Tag.parentBuild]: parentBuild,
    [Tag.homeRegion]: home,
  };
}

/** A build's image in every region, the home one first, each created `createdAt`. */
function images(
  spec: string,
  build: string,
  tags: Tags,
  createdAt: number,
  perRegion: Record<string, Partial<CloudImage> & { channels?: string[] }> = {},
): CloudImage[] {
  return REGIONS.map((region, i) => {
    const { channels = [], ...fields } = perRegion[region] ?? {};
    const image = leavenImage(region, spec, build, {
      createdAt: createdAt + i * MIN,
      id: `ami-${spec}-${build.slice(-1)}-${region}`,
      tags: { ...tags, ...Object.fromEntries(channels.map((c) => [channelTag(c), "true"])) },
    });
    return { ...image, ...fields };
  });
}

function status(
  name: string,
  layer: SpecStatus["layer"],
  channels: Record<string, string>,
  parent?: SpecStatus["parent"],
): SpecStatus {
  return {
    name,
    layer,
    phase: "Ready",
    message: "",
    ...(parent ? { parent } : {}),
    channels: Object.fromEntries(
      Object.entries(channels).map(([c, build]) => [c, { build, images: { "us-east-1": `ami-${c}` } }]),
    ),
    builds: [],
  };
}

const statuses: SpecStatus[] = [
  {
    ...status("ubuntu", "foundation", {}),
    channels: {
      candidate: { build: JAMMY_NEW, images: { "us-east-1": "ami-0e2", "eu-west-1": "ami-0w2" } },
      release: { build: JAMMY_OLD, images: { "us-east-1": "ami-0e1", "eu-west-1": "ami-0w1" } },
    },
  },
  status(
    "base",
    "base",
    { candidate: B2, release: B2 },
    { spec: "ubuntu", channel: "release", build: JAMMY_OLD },
  ),
  status("app", "app", { release: "1.2.0+aaaaaaa3" }, { spec: "base", channel: "release", build: B2 }),
];

const baseImages = [
  ...images("base", B2, bakedOn("ubuntu", "release", JAMMY_OLD), T0 - 5 * DAY, {
    "us-east-1": { channels: ["candidate", "release"] },
    "eu-west-1": { channels: ["candidate", "release"] },
  }),
  ...images("base", B1, bakedOn("ubuntu", "release", "ubuntu/images/jammy-20251101"), T0 - 40 * DAY, {
    "us-east-1": { deprecationTime: new Date(T0 - DAY).toISOString() },
    "eu-west-1": { state: "disabled" },
  }),
];

function history(
  parts: { images?: CloudImage[]; instances?: CloudInstance[]; region?: string },
  spec = "app",
) {
  return buildHistory({
    spec,
    inventory: inventory({
      images: [...baseImages, ...(parts.images ?? [])],
      instances: parts.instances ?? [],
    }),
    statuses,
    regions: REGIONS,
    ...(parts.region ? { region: parts.region } : {}),
    now: T0,
  });
}

function summary(record: BuildRecord) {
  return {
    build: record.build,
    regions: record.regions.map((r) => `${r.region}=${r.state}`).join(" "),
    channels: record.channels.join(","),
    chain: record.chain
      .map((l) => `${l.spec} ${l.build}${l.foundation ? " (vendor)" : ""}${l.observed ? "" : " (gone)"}`)
      .join(" ← "),
    outdated: record.outdated,
    failure: record.failure,
    bake: record.bake?.state,
  };
}

describe("buildHistory", () => {
  it("lists a base's builds newest first with region states, channels and the chain to the vendor image", () => {
    const result = history({}, "base");
    expect(result.layer).toBe("base");
    expect(result.regions).toEqual(REGIONS);
    expect(result.builds.map(summary)).toEqual([
      {
        build: B2,
        regions: "us-east-1=available eu-west-1=available",
        channels: "candidate,release",
        chain: `base ${B2} ← ubuntu ${JAMMY_OLD} (vendor)`,
        outdated: false,
        failure: undefined,
        bake: undefined,
      },
      {
        build: B1,
        regions: "us-east-1=deprecated eu-west-1=disabled",
        channels: "",
        chain: `base ${B1} ← ubuntu ubuntu/images/jammy-20251101 (vendor)`,
        outdated: true,
        failure: undefined,
        bake: undefined,
      },
    ]);
    expect(result.builds[1]).toMatchObject({
      version: "1.0.0",
      created: new Date(T0 - 40 * DAY).toISOString(),
      homeRegion: "us-east-1",
      parent: { spec: "ubuntu", channel: "release", build: "ubuntu/images/jammy-20251101" },
      parentChannelNow: JAMMY_OLD,
    });
  });

  // One row per situation an app build can be in: what it was baked on decides outdated and the chain.
  const cases: {
    name: string;
    images?: CloudImage[];
    instances?: CloudInstance[];
    expected: Partial<ReturnType<typeof summary>>;
  }[] = [
    {
      name: "current: baked on what base/release is now",
      images: images("app", "1.2.0+aaaaaaa3", bakedOn("base", "release", B2), T0 - DAY, {
        "us-east-1": { channels: ["release"] },
      }),
      expected: {
        build: "1.2.0+aaaaaaa3",
        channels: "release",
        chain: `app 1.2.0+aaaaaaa3 ← base ${B2} ← ubuntu ${JAMMY_OLD} (vendor)`,
        outdated: false,
      },
    },
    {
      name: "outdated: base/release has moved on from its parent build",
      images: images("app", "1.1.0+aaaaaaa2", bakedOn("base", "release", B1), T0 - 30 * DAY),
      expected: {
        chain: `app 1.1.0+aaaaaaa2 ← base ${B1} ← ubuntu ubuntu/images/jammy-20251101 (vendor)`,
        outdated: true,
      },
    },
    {
      name: "outdated against the channel it was baked from, not the spec's parent channel today",
      images: images("app", "1.1.0+aaaaaaa6", bakedOn("base", "candidate", B2), T0 - 30 * DAY),
      expected: { outdated: false },
    },
    {
      name: "a parent build with no image left ends the chain, still outdated",
      images: images("app", "1.0.0+aaaaaaa0", bakedOn("base", "release", "0.9.0+bbbbbbb0"), T0 - 90 * DAY),
      expected: { chain: "app 1.0.0+aaaaaaa0 ← base 0.9.0+bbbbbbb0 (gone)", outdated: true },
    },
    {
      name: "a parent channel that no longer exists: outdated unknown",
      images: images("app", "1.0.0+aaaaaaa7", bakedOn("base", "beta", B2), T0 - 9 * DAY),
      expected: { outdated: undefined },
    },
    {
      name: "mixed regions: pending copy",
      images: images("app", "1.2.1+aaaaaaa8", bakedOn("base", "release", B2), T0, {
        "eu-west-1": { state: "pending" },
      }),
      expected: { regions: "us-east-1=available eu-west-1=pending" },
    },
    {
      name: "a copy not started yet is missing",
      images: images("app", "1.2.1+aaaaaaa8", bakedOn("base", "release", B2), T0).slice(0, 1),
      expected: { regions: "us-east-1=available eu-west-1=missing" },
    },
    {
      name: "a failed home image fails the build",
      images: images("app", "1.2.2+aaaaaaa9", bakedOn("base", "release", B2), T0, {
        "us-east-1": { state: "failed", stateReason: "snapshot error" },
      }).slice(0, 1),
      expected: {
        regions: "us-east-1=failed eu-west-1=missing",
        failure: "image ami-app-9-us-east-1 is failed: snapshot error",
      },
    },
    {
      name: "a failed bake: its instance's recorded reason",
      instances: [
        bakeInstance("us-east-1", "app", "1.3.0+aaaaaaa4", "terminated", {
          launchedAt: T0,
          id: "i-failed",
          tags: {
            ...bakedOn("base", "release", B2),
            [Tag.version]: "1.3.0",
            [Tag.bakeResult]: "failed",
            [Tag.bakeReason]: "bake script failed: apt-get exited with status 100",
          },
        }),
      ],
      expected: {
        build: "1.3.0+aaaaaaa4",
        regions: "us-east-1=missing eu-west-1=missing",
        chain: `app 1.3.0+aaaaaaa4 ← base ${B2} ← ubuntu ${JAMMY_OLD} (vendor)`,
        failure: "bake script failed: apt-get exited with status 100",
        bake: "failed",
        outdated: false,
      },
    },
    {
      name: "a failed bake retried: the live retry is baking",
      instances: [
        bakeInstance("us-east-1", "app", "1.3.0+aaaaaaa4", "terminated", {
          launchedAt: T0 - 60 * MIN,
          tags: { [Tag.bakeResult]: "failed", [Tag.bakeReason]: "timed out" },
        }),
        bakeInstance("us-east-1", "app", "1.3.0+aaaaaaa4", "running", { launchedAt: T0 }),
      ],
      expected: { bake: "baking", failure: undefined },
    },
    {
      name: "terminated without a result and without an image: abandoned",
      instances: [bakeInstance("us-east-1", "app", "1.3.0+aaaaaaa4", "terminated", { launchedAt: T0 })],
      expected: { bake: "abandoned", failure: undefined },
    },
    {
      name: "a build with an image is listed from its image, whatever its bake instances say",
      images: images("app", "1.2.0+aaaaaaa3", bakedOn("base", "release", B2), T0),
      instances: [
        bakeInstance("us-east-1", "app", "1.2.0+aaaaaaa3", "terminated", {
          tags: { [Tag.bakeResult]: "failed", [Tag.bakeReason]: "an earlier attempt" },
        }),
      ],
      expected: { build: "1.2.0+aaaaaaa3", bake: undefined, failure: undefined },
    },
  ];

  it.each(cases)("$name", ({ images: extra, instances, expected }) => {
    const result = history({ ...(extra ? { images: extra } : {}), ...(instances ? { instances } : {}) });
    expect(result.builds).toHaveLength(1);
    expect(summary(result.builds[0]!)).toMatchObject(expected);
  });

  it("takes a failed bake's console lines from the plan, which read them, and calls a stopped bake failed", () => {
    const result = buildHistory({
      spec: "app",
      inventory: inventory({
        images: baseImages,
        instances: [
          bakeInstance("us-east-1", "app", "1.3.0+aaaaaaa4", "stopped", {
            launchedAt: T0,
            id: "i-stopped",
            tags: bakedOn("base", "release", B2),
          }),
        ],
      }),
      statuses: statuses.map((s) =>
        s.name === "app"
          ? {
              ...s,
              failure: {
                build: "1.3.0+aaaaaaa4",
                reason: "bake script failed: exit 100",
                console: ["E: Unable to locate package acme-agent", "LEAVEN-BAKE-RESULT failure"],
              },
            }
          : s,
      ),
      regions: REGIONS,
      now: T0,
    });
    expect(result.builds[0]).toMatchObject({
      bake: { state: "failed", instanceId: "i-stopped", reason: "bake script failed: exit 100" },
      failure: "bake script failed: exit 100",
      console: ["E: Unable to locate package acme-agent", "LEAVEN-BAKE-RESULT failure"],
    });
  });

  it("lists a failed bake from its failure record once EC2 has forgotten the instance", () => {
    const result = buildHistory({
      spec: "app",
      inventory: inventory({
        images: baseImages,
        failures: [
          {
            spec: "app",
            build: "1.3.0+aaaaaaa5",
            region: "us-east-1",
            launchTemplateId: "lt-0123456789abcdef0",
            name: "leaven-failed-app-1.3.0_aaaaaaa5",
            reason: "bake script failed: exit 100",
            at: new Date(T0).toISOString(),
            instanceId: "i-gone",
            console: ["E: Unable to locate package acme-agent"],
            tags: { [Tag.version]: "1.3.0" },
          },
        ],
      }),
      statuses,
      regions: REGIONS,
      now: T0 + DAY,
    });
    expect(result.builds[0]).toMatchObject({
      build: "1.3.0+aaaaaaa5",
      version: "1.3.0",
      created: new Date(T0).toISOString(),
      bake: { state: "failed", instanceId: "i-gone", reason: "bake script failed: exit 100" },
      failure: "bake script failed: exit 100",
      console: ["E: Unable to locate package acme-agent"],
    });
  });

  it("orders builds newest first: image creation, or a bake's launch", () => {
    const result = history({
      images: [
        ...images("app", "1.1.0+aaaaaaa2", bakedOn("base", "release", B1), T0 - 30 * DAY),
        ...images("app", "1.2.0+aaaaaaa3", bakedOn("base", "release", B2), T0 - DAY),
      ],
      instances: [bakeInstance("us-east-1", "app", "1.3.0+aaaaaaa4", "running", { launchedAt: T0 })],
    });
    expect(result.builds.map((b) => b.build)).toEqual(["1.3.0+aaaaaaa4", "1.2.0+aaaaaaa3", "1.1.0+aaaaaaa2"]);
  });

  it("ignores deregistered images, other installations' and instances of other specs; keeps the available duplicate", () => {
    const [home, copy] = images("app", "1.2.0+aaaaaaa3", bakedOn("base", "release", B2), T0);
    const result = history({
      images: [
        home!,
        copy!,
        {
          ...copy!,
          imageId: "ami-duplicate",
          state: "pending",
          creationDate: new Date(T0 - DAY).toISOString(),
        },
        {
          ...home!,
          imageId: "ami-gone",
          tags: { ...home!.tags, [Tag.build]: "0.1.0+deadbeef" },
          state: "deregistered",
        },
        {
          ...home!,
          imageId: "ami-foreign",
          tags: { ...home!.tags, [Tag.build]: "0.2.0+deadbeef", [Tag.installation]: "other" },
        },
      ],
      instances: [
        bakeInstance("us-east-1", "other-app", "9.9.9+00000000", "running"),
        bakeInstance("us-east-1", "app", "0.3.0+deadbeef", "running", { tags: { [Tag.role]: "smoke" } }),
      ],
    });
    expect(result.builds.map((b) => b.build)).toEqual(["1.2.0+aaaaaaa3"]);
    expect(result.builds[0]!.regions.map((r) => r.imageId)).toEqual([home!.imageId, copy!.imageId]);
  });

  it("shows only the region asked for, and regions outside the spec's after its own", () => {
    const extra = images("app", "1.2.0+aaaaaaa3", bakedOn("base", "release", B2), T0);
    const stray = { ...extra[1]!, imageId: "ami-stray", region: "ap-southeast-2" };
    expect(history({ images: [...extra, stray] }).regions).toEqual([...REGIONS, "ap-southeast-2"]);
    const only = history({ images: extra, region: "eu-west-1" });
    expect(only.regions).toEqual(["eu-west-1"]);
    expect(only.builds[0]!.regions).toEqual([
      { region: "eu-west-1", state: "available", imageId: extra[1]!.imageId, channels: [] },
    ]);
  });

  it("records revocation from the tags", () => {
    const result = history({
      images: images(
        "app",
        "1.2.0+aaaaaaa3",
        {
          ...bakedOn("base", "release", B2),
          [Tag.revoked]: "CVE-2026-1234",
          [Tag.revokedParent]: `base/${B1}`,
        },
        T0,
      ),
    });
    expect(result.builds[0]).toMatchObject({ revoked: "CVE-2026-1234", revokedParent: `base/${B1}` });
  });

  it("follows a parent the specs no longer name by its tags; a non-build-id parent is a vendor image", () => {
    const result = history({
      images: [
        ...images("app", "1.2.0+aaaaaaa3", bakedOn("old-base", "release", "3.0.0+cccccccc"), T0),
        ...images(
          "old-base",
          "3.0.0+cccccccc",
          bakedOn("debian", "release", "debian-12-amd64-20260101-1"),
          T0 - DAY,
        ),
      ],
    });
    expect(summary(result.builds[0]!).chain).toBe(
      "app 1.2.0+aaaaaaa3 ← old-base 3.0.0+cccccccc ← debian debian-12-amd64-20260101-1 (vendor)",
    );
    expect(result.builds[0]!.outdated).toBeUndefined();
  });

  it("lists a foundation's vendor images with the channels that resolve to them", () => {
    const result = buildHistory({
      spec: "ubuntu",
      inventory: inventory({
        vendorImages: new Map([
          [
            "ubuntu",
            [
              vendorImage("us-east-1", JAMMY_OLD, "ami-0e1", T0 - 30 * DAY),
              vendorImage("eu-west-1", JAMMY_OLD, "ami-0w1", T0 - 30 * DAY),
              vendorImage("us-east-1", JAMMY_NEW, "ami-0e2", T0 - 10 * DAY),
              {
                ...vendorImage("eu-west-1", JAMMY_NEW, "ami-0w2", T0 - 10 * DAY),
                deprecationTime: new Date(T0 - DAY).toISOString(),
              },
            ],
          ],
        ]),
      }),
      statuses,
      regions: REGIONS,
      now: T0,
    });
    expect(result.layer).toBe("foundation");
    expect(result.builds.map(summary)).toEqual([
      {
        build: JAMMY_NEW,
        regions: "us-east-1=available eu-west-1=deprecated",
        channels: "candidate",
        chain: `ubuntu ${JAMMY_NEW} (vendor)`,
        outdated: undefined,
        failure: undefined,
        bake: undefined,
      },
      {
        build: JAMMY_OLD,
        regions: "us-east-1=available eu-west-1=available",
        channels: "release",
        chain: `ubuntu ${JAMMY_OLD} (vendor)`,
        outdated: undefined,
        failure: undefined,
        bake: undefined,
      },
    ]);
    expect(result.builds[1]!.regions[1]).toEqual({
      region: "eu-west-1",
      state: "available",
      imageId: "ami-0w1",
      channels: ["release"],
    });
  });

  it("has no builds for a spec with no images or instances", () => {
    expect(history({}, "app")).toEqual({ spec: "app", layer: "app", regions: REGIONS, builds: [] });
  });
});
