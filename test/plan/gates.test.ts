// Channel gates and revocation through the whole planner: a three-layer lineage (ubuntu → base → api) as
// plain values, and the exact actions and status text each rule produces.
import { describe, expect, it } from "vitest";
import { channelSinceTag, channelTag, copyTag, Tag } from "../../controller/api/tags.ts";
import type { CloudImage, Tags } from "../../controller/cloud/port.ts";
import type { Action } from "../../controller/plan/actions.ts";
import { type PlanInput, plan } from "../../controller/plan/plan.ts";
import { bakeInstance, DAY, inventory, leavenImage, spec, T0, ubuntu } from "./builders.ts";

const B1 = "2.3.0+00000001";
const B2 = "2.4.0+00000002";
const A1 = "1.0.0+a0000001";
const A2 = "1.0.0+a0000002";
const REGIONS: [string, ...string[]] = ["us-east-1", "eu-west-1"];

const base = (extra: Record<string, unknown> = {}) =>
  spec("base", {
    layer: "base",
    parent: { spec: "ubuntu", channel: "release" },
    version: "2.4.0",
    regions: REGIONS,
    channels: { candidate: { latest: true }, release: { build: B1 } },
    ...extra,
  });
const api = (extra: Record<string, unknown> = {}) =>
  spec("api", {
    layer: "app",
    parent: { spec: "base", channel: "candidate" },
    version: "1.0.0",
    regions: REGIONS,
    channels: { candidate: { latest: true }, release: { latest: true, parentIn: "release" } },
    ...extra,
  });

/** A build ready in both regions, in the given channels (entered at `since`), baked on `parentBuild`. */
function ready(
  name: string,
  build: string,
  parentSpec: string,
  parentBuild: string,
  channels: string[],
  createdAt: number,
  extra: Tags = {},
): CloudImage[] {
  return REGIONS.map((region) =>
    leavenImage(region, name, build, {
      id: `ami-${name}-${build.slice(-1)}-${region}`,
      createdAt,
      tags: {
        [Tag.parentSpec]: parentSpec,
        [Tag.parentBuild]: parentBuild,
        ...Object.fromEntries(channels.map((c) => [channelTag(c), "true"])),
        // The home image records its copies (drift repair), as Leaven does once it observes them.
        ...(region === REGIONS[0]
          ? Object.fromEntries(
              REGIONS.slice(1).map((r) => [copyTag(r), `ami-${name}-${build.slice(-1)}-${r}`]),
            )
          : {}),
        ...extra,
      },
    }),
  );
}

const bases = [
  ...ready("base", B1, "ubuntu", "ubuntu/images/jammy-20260101", ["release"], T0 - 10 * DAY),
  ...ready("base", B2, "ubuntu", "ubuntu/images/jammy-20260301", ["candidate"], T0 - 2 * DAY),
];
const apps = [
  ...ready("api", A1, "base", B1, ["release"], T0 - 9 * DAY),
  ...ready("api", A2, "base", B2, ["candidate"], T0 - 1 * DAY),
];

const run = (specs: PlanInput["specs"], images: CloudImage[], extra: Partial<PlanInput> = {}) =>
  plan({ specs, inventory: inventory({ images, ...extra.inventory }), now: T0, ...extra });
const statusOf = (p: ReturnType<typeof plan>, name: string) => p.statuses.find((s) => s.name === name)!;
const of = (p: ReturnType<typeof plan>, name: string) =>
  p.actions.filter((a) => a.spec === name && a.kind !== "launch-bake");
const brief = (a: Action) =>
  a.kind === "set-tags"
    ? `set ${a.imageId} ${Object.entries(a.tags)
        .map(([k, v]) => `${k}=${v}`)
        .join(" ")}`
    : a.kind === "remove-tags"
      ? `remove ${a.imageId} ${a.keys.join(" ")}`
      : a.kind === "disable-image"
        ? `disable ${a.imageId}`
        : a.kind;

describe("the lineage gate (parentIn)", () => {
  it("keeps an app build on the candidate base out of the app's release", () => {
    const p = run([ubuntu, base(), api()], [...bases, ...apps]);
    expect(statusOf(p, "api").channels.release).toEqual({
      build: A1,
      images: { "us-east-1": "ami-api-1-us-east-1", "eu-west-1": "ami-api-1-eu-west-1" },
    });
    expect(of(p, "api")).toEqual([]);
  });

  it("lets the release follow once the base's release is promoted", () => {
    const p = run(
      [ubuntu, base({ channels: { candidate: { latest: true }, release: { build: B2 } } }), api()],
      [...bases, ...apps],
    );
    expect(statusOf(p, "api").channels.release?.build).toBe(A2);
    expect(of(p, "api").map(brief)).toEqual([
      `set ami-api-2-us-east-1 ${channelTag("release")}=true ${channelSinceTag("release")}=2026-06-01T00:00:00.000Z`,
      `set ami-api-2-eu-west-1 ${channelTag("release")}=true ${channelSinceTag("release")}=2026-06-01T00:00:00.000Z`,
      `remove ami-api-1-us-east-1 ${channelTag("release")}`,
      `remove ami-api-1-eu-west-1 ${channelTag("release")}`,
    ]);
  });

  it("keeps the current build and says which build fails which rule when nothing is admitted", () => {
    const onlyCandidate = [...bases, ...ready("api", A2, "base", B2, ["candidate", "release"], T0 - DAY)];
    const p = run([ubuntu, base(), api()], onlyCandidate);
    const message = `stays on ${A2}: no ready build is admitted; the newest, ${A2}, is baked on base ${B2}, not on base/release (${B1})`;
    // (api also bakes: its recipe on base/candidate makes a build other than the made-up A2.)
    expect(statusOf(p, "api")).toMatchObject({ channels: { release: { build: A2, message } } });
    expect(statusOf(p, "api").message).toContain(`; channel release ${message}`);
    expect(of(p, "api")).toEqual([]);
  });
});

describe("follow with minAge", () => {
  const soaked = api({
    channels: { candidate: { latest: true }, release: { follow: "candidate", minAge: "3d" } },
  });
  const inCandidateSince = (since: number) => [
    ...ready("api", A1, "base", B1, ["release"], T0 - 9 * DAY),
    ...ready("api", A2, "base", B2, ["candidate"], T0 - 5 * DAY, {
      [channelSinceTag("candidate")]: new Date(since).toISOString(),
    }),
  ];

  it("waits while the candidate has not soaked, naming how long it has, without calling it a problem", () => {
    const p = run([ubuntu, base(), soaked], [...bases, ...inCandidateSince(T0 - DAY)]);
    // A promotion on its way: the channel is on a good build, so nothing about it holds the spec back.
    expect(statusOf(p, "api").message).not.toContain("channel release");
    expect(statusOf(p, "api").channels.release?.message).toBe(
      `stays on ${A1}: no ready build is admitted; the newest, ${A2}, has been in candidate for 1d of minAge 3d`,
    );
  });

  it("promotes it once it has been in candidate that long", () => {
    const p = run([ubuntu, base(), soaked], [...bases, ...inCandidateSince(T0 - 3 * DAY)]);
    expect(statusOf(p, "api").channels.release?.build).toBe(A2);
  });
});

describe("revocation", () => {
  const revokedBase = (channels = { candidate: { latest: true }, release: { build: B1 } }) =>
    base({ channels, revoked: [{ build: B2, reason: "CVE-2026-1234 in openssl" }] });

  it("takes a revoked build out of every channel at once and tags it and its descendants", () => {
    const p = run([ubuntu, revokedBase(), api()], [...bases, ...apps]);
    const since = `${channelSinceTag("candidate")}=2026-06-01T00:00:00.000Z`;
    expect(of(p, "base").map(brief)).toEqual([
      `set ami-base-1-us-east-1 ${channelTag("candidate")}=true ${since}`,
      `set ami-base-1-eu-west-1 ${channelTag("candidate")}=true ${since}`,
      `remove ami-base-2-us-east-1 ${channelTag("candidate")}`,
      `remove ami-base-2-eu-west-1 ${channelTag("candidate")}`,
      `set ami-base-2-us-east-1 ${Tag.revoked}=CVE-2026-1234 in openssl`,
      `set ami-base-2-eu-west-1 ${Tag.revoked}=CVE-2026-1234 in openssl`,
    ]);
    expect(of(p, "api").map(brief)).toEqual([
      `set ami-api-2-us-east-1 ${Tag.revokedParent}=base/${B2}`,
      `set ami-api-2-eu-west-1 ${Tag.revokedParent}=base/${B2}`,
    ]);
    // base/candidate now selects B1, so api rebakes on it.
    expect(statusOf(p, "base").channels.candidate?.build).toBe(B1);
    expect(
      p.actions.filter((a) => a.kind === "launch-bake").map((a) => [a.spec, a.launch.tags[Tag.parentBuild]]),
    ).toEqual([
      ["base", "ubuntu/images/jammy-20260301"],
      ["api", B1],
    ]);
    expect(statusOf(p, "base").message).toContain(
      "build 2.4.0+00000002 is revoked (CVE-2026-1234 in openssl)",
    );
    expect(statusOf(p, "api").message).toContain(
      `channel candidate is on ${A2}, baked on revoked base/${B2}; it moves when a build on a good parent is ready`,
    );
  });

  it("disables a revoked build's images once no channel has them, but not one a bake is launching from", () => {
    const untagged = [
      ...bases.filter((i) => i.tags[Tag.build] === B1),
      ...ready("base", B2, "ubuntu", "ubuntu/images/jammy-20260301", [], T0 - 2 * DAY, {
        [Tag.revoked]: "CVE-2026-1234 in openssl",
      }),
    ];
    const launching = { ...bakeInstance("us-east-1", "api", A2, "running"), imageId: "ami-base-2-us-east-1" };
    const p = run([ubuntu, revokedBase()], untagged, {
      inventory: inventory({ images: untagged, instances: [launching] }),
    });
    const disables = (q: ReturnType<typeof plan>) =>
      of(q, "base")
        .filter((a) => a.kind === "disable-image")
        .map(brief);
    expect(disables(p)).toEqual(["disable ami-base-2-eu-west-1"]);
    const idle = run([ubuntu, revokedBase()], untagged);
    expect(disables(idle)).toEqual(["disable ami-base-2-us-east-1", "disable ami-base-2-eu-west-1"]);
    const disabled = untagged.map((i) =>
      i.tags[Tag.build] === B2 ? { ...i, state: "disabled" as const } : i,
    );
    expect(disables(run([ubuntu, revokedBase()], disabled))).toEqual([]);
  });

  it("stalls a channel that could only resolve to revoked builds, and a pinned revoked build", () => {
    const both = base({
      channels: { candidate: { latest: true }, release: { build: B1 } },
      revoked: [
        { build: B1, reason: "bad" },
        { build: B2, reason: "worse" },
      ],
    });
    const p = run([ubuntu, both], bases);
    expect(statusOf(p, "base")).toMatchObject({
      phase: "Stalled",
      channels: {
        candidate: {
          message: `no ready build is admitted; the newest, ${B2}, is revoked (worse); every ready build is revoked, so bake a new one or un-revoke one`,
        },
        release: { message: `build ${B1} is revoked (bad); pin another build or remove it from revoked` },
      },
    });
  });

  it("stalls when the recipe and parent make a revoked build", () => {
    const p = run([ubuntu, base({ version: "2.4.0", revoked: [] })], bases);
    const desired = statusOf(p, "base").desiredBuild!;
    const again = run([ubuntu, base({ revoked: [{ build: desired, reason: "bad" }] })], bases);
    expect(statusOf(again, "base").phase).toBe("Stalled");
    expect(statusOf(again, "base").message).toContain(
      `the build this recipe and parent make, ${desired}, is revoked (bad); change the recipe (e.g. bump version) to bake a new one`,
    );
  });

  it("never bakes on a revoked vendor image and marks what was baked on it", () => {
    const foundation = spec("ubuntu", {
      ...ubuntu.document.spec,
      revoked: [{ build: "ubuntu/images/jammy-20260301", reason: "broken kernel" }],
    });
    const p = run([foundation, base()], bases);
    expect(statusOf(p, "ubuntu").channels.release?.build).toBe("ubuntu/images/jammy-20260101");
    expect(of(p, "base").map(brief)).toEqual([
      `set ami-base-2-us-east-1 ${Tag.revokedParent}=ubuntu/ubuntu/images/jammy-20260301`,
      `set ami-base-2-eu-west-1 ${Tag.revokedParent}=ubuntu/ubuntu/images/jammy-20260301`,
    ]);
    expect(p.actions.some((a) => a.kind === "disable-image")).toBe(false);
  });
});
