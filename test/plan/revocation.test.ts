// Revocation on its own (planRevocations called directly) over small inventories: which images are
// tagged revoked or revoked-parent, which are disabled, and the exact notes a status shows.
import { describe, expect, it } from "vitest";
import { channelTag, Tag } from "../../controller/api/tags.ts";
import type { ImageSpecSpec } from "../../controller/api/types.generated.ts";
import type { CloudImage, CloudInstance, Tags } from "../../controller/cloud/port.ts";
import type { Action } from "../../controller/plan/actions.ts";
import { indexInventory } from "../../controller/plan/index-inventory.ts";
import { planRevocations } from "../../controller/plan/revocation.ts";
import type { ValidSpec } from "../../controller/validation/result.ts";
import { bakeInstance, inventory, leavenImage, spec, ubuntu } from "./builders.ts";

const B1 = "2.3.0+00000001";
const B2 = "2.4.0+00000002";
const A1 = "1.0.0+a0000001";
const W1 = "3.0.0+w0000001";
const JAMMY = "ubuntu/images/jammy-20260301";
const REGIONS: [string, ...string[]] = ["us-east-1", "eu-west-1"];
const CVE = "CVE-2026-1234 in openssl";

const layer = (name: string, parent: string, extra: Partial<ImageSpecSpec> = {}): ValidSpec =>
  spec(name, {
    layer: name === "base" ? "base" : "app",
    parent: { spec: parent, channel: "release" },
    version: "1.0.0",
    regions: REGIONS,
    ...extra,
  });
const foundation = (extra: Partial<ImageSpecSpec>) =>
  spec("ubuntu", { ...ubuntu.document.spec, ...extra } as ImageSpecSpec);
const base = (extra: Partial<ImageSpecSpec> = {}) => layer("base", "ubuntu", extra);
const api = (extra: Partial<ImageSpecSpec> = {}) => layer("api", "base", extra);
const web = (extra: Partial<ImageSpecSpec> = {}) => layer("web", "api", extra);

/** A build's image in one region, baked on parentSpec/parentBuild; id ami-<spec>-<last char>-<region>. */
function img(
  region: string,
  name: string,
  build: string,
  parent: [string, string],
  tags: Tags = {},
  state: CloudImage["state"] = "available",
): CloudImage {
  return leavenImage(region, name, build, {
    id: `ami-${name}-${build.slice(-1)}-${region.slice(0, 2)}`,
    state,
    tags: { [Tag.parentSpec]: parent[0], [Tag.parentBuild]: parent[1], ...tags },
  });
}
const both = (name: string, build: string, parent: [string, string], tags: Tags = {}) =>
  REGIONS.map((r) => img(r, name, build, parent, tags));
const launchingFrom = (imageId: string, state: CloudInstance["state"]): CloudInstance => ({
  ...bakeInstance("us-east-1", "api", A1, state),
  imageId,
});

function run(specs: ValidSpec[], images: CloudImage[], instances: CloudInstance[] = []) {
  const inv = inventory({ images, instances });
  const actions: Action[] = [];
  const result = planRevocations(specs, indexInventory(inv), inv.vendorImages, inv.instances, actions);
  return {
    actions: actions.map((a) =>
      a.kind === "set-tags"
        ? `tag ${a.imageId} ${Object.entries(a.tags)
            .map(([k, v]) => `${k.replace("leaven.dev/", "")}=${v}`)
            .join(" ")}: ${a.reason}`
        : a.kind === "disable-image"
          ? `disable ${a.imageId}: ${a.reason}`
          : a.kind,
    ),
    notes: Object.fromEntries(result.notes),
    tainted: Object.fromEntries(result.tainted),
  };
}

describe("planRevocations: a revoked build", () => {
  const revoked = (extra: Partial<ImageSpecSpec> = {}) =>
    base({ revoked: [{ build: B1, reason: CVE }], ...extra });

  it("is tagged with the reason in every region and disabled where nothing uses it", () => {
    expect(run([ubuntu, revoked()], both("base", B1, ["ubuntu", JAMMY]))).toEqual({
      actions: [
        `tag ami-base-1-us revoked=${CVE}: build ${B1} is revoked: ${CVE}`,
        `disable ami-base-1-us: build ${B1} is revoked (${CVE}) and no channel or bake uses ami-base-1-us`,
        `tag ami-base-1-eu revoked=${CVE}: build ${B1} is revoked: ${CVE}`,
        `disable ami-base-1-eu: build ${B1} is revoked (${CVE}) and no channel or bake uses ami-base-1-eu`,
      ],
      notes: { base: [`build ${B1} is revoked (${CVE})`] },
      tainted: {},
    });
  });

  it("is not disabled while any of its images is in a channel, even in one region only", () => {
    const images = [
      img("us-east-1", "base", B1, ["ubuntu", JAMMY], { [channelTag("release")]: "true" }),
      img("eu-west-1", "base", B1, ["ubuntu", JAMMY]),
    ];
    expect(run([ubuntu, revoked()], images).actions).toEqual([
      `tag ami-base-1-us revoked=${CVE}: build ${B1} is revoked: ${CVE}`,
      `tag ami-base-1-eu revoked=${CVE}: build ${B1} is revoked: ${CVE}`,
    ]);
  });

  it("is not disabled where a bake is launching from it; a terminated or shutting-down one does not count", () => {
    const images = both("base", B1, ["ubuntu", JAMMY], { [Tag.revoked]: CVE });
    const instances = [
      launchingFrom("ami-base-1-us", "pending"),
      launchingFrom("ami-base-1-eu", "terminated"),
      launchingFrom("ami-base-1-eu", "shutting-down"),
    ];
    expect(run([ubuntu, revoked()], images, instances).actions).toEqual([
      `disable ami-base-1-eu: build ${B1} is revoked (${CVE}) and no channel or bake uses ami-base-1-eu`,
    ]);
  });

  it("is not tagged again once tagged, and an image that is not available is not disabled", () => {
    const images = [
      img("us-east-1", "base", B1, ["ubuntu", JAMMY], { [Tag.revoked]: CVE }, "disabled"),
      img("eu-west-1", "base", B1, ["ubuntu", JAMMY], { [Tag.revoked]: "an older reason" }, "pending"),
    ];
    expect(run([ubuntu, revoked()], images).actions).toEqual([
      `tag ami-base-1-eu revoked=${CVE}: build ${B1} is revoked: ${CVE}`,
    ]);
  });

  it("carries a long reason cut to the 256-character tag limit, and is not re-tagged with it", () => {
    const reason = `CVE-2026-1234: ${"a".repeat(300)}`;
    const cut = reason.slice(0, 256);
    const images = [
      img("us-east-1", "base", B1, ["ubuntu", JAMMY], { [channelTag("release")]: "true" }),
      img("eu-west-1", "base", B1, ["ubuntu", JAMMY], { [Tag.revoked]: cut }),
    ];
    const result = run([ubuntu, revoked({ revoked: [{ build: B1, reason }] })], images);
    expect(result.actions).toEqual([`tag ami-base-1-us revoked=${cut}: build ${B1} is revoked: ${reason}`]);
    expect(result.notes).toEqual({ base: [`build ${B1} is revoked (${reason})`] });
  });

  it("lists every revoked build of a spec in the notes, in the order of the builds", () => {
    const specs = [
      ubuntu,
      base({
        revoked: [
          { build: B2, reason: "bad" },
          { build: B1, reason: CVE },
        ],
      }),
    ];
    const images = [
      ...both("base", B1, ["ubuntu", JAMMY], { [Tag.revoked]: CVE, [channelTag("release")]: "true" }),
      ...both("base", B2, ["ubuntu", JAMMY], { [Tag.revoked]: "bad", [channelTag("candidate")]: "true" }),
    ];
    expect(run(specs, images)).toEqual({
      actions: [],
      notes: { base: [`build ${B1} is revoked (${CVE})`, `build ${B2} is revoked (bad)`] },
      tainted: {},
    });
  });

  it("of a suspended spec is left alone but noted, and its descendants are still marked", () => {
    const specs = [ubuntu, revoked({ suspend: true }), api()];
    const images = [...both("base", B1, ["ubuntu", JAMMY]), ...both("api", A1, ["base", B1])];
    expect(run(specs, images)).toEqual({
      actions: [
        `tag ami-api-1-us revoked-parent=base/${B1}: build ${A1} descends from revoked base/${B1}`,
        `tag ami-api-1-eu revoked-parent=base/${B1}: build ${A1} descends from revoked base/${B1}`,
      ],
      // The status still says what is revoked; only the changes wait for the suspend to lift.
      notes: { base: [`build ${B1} is revoked (CVE-2026-1234 in openssl)`] },
      tainted: { [`api/${A1}`]: `base/${B1}` },
    });
  });
});

describe("planRevocations: descendants of a revoked build", () => {
  it("are marked over three layers from a vendor image revoked by its AMI id, naming the vendor image", () => {
    const specs = [
      foundation({ revoked: [{ build: "ami-0e2", reason: "broken kernel" }] }),
      base(),
      api(),
      web(),
    ];
    const images = [
      ...both("base", B1, ["ubuntu", JAMMY]),
      ...both("base", B2, ["ubuntu", "ubuntu/images/jammy-20260101"]),
      ...both("api", A1, ["base", B1]),
      ...both("web", W1, ["api", A1]),
    ];
    const root = `ubuntu/${JAMMY}`;
    expect(run(specs, images)).toEqual({
      actions: [
        `tag ami-base-1-us revoked-parent=${root}: build ${B1} descends from revoked ${root}`,
        `tag ami-base-1-eu revoked-parent=${root}: build ${B1} descends from revoked ${root}`,
        `tag ami-api-1-us revoked-parent=${root}: build ${A1} descends from revoked ${root}`,
        `tag ami-api-1-eu revoked-parent=${root}: build ${A1} descends from revoked ${root}`,
        `tag ami-web-1-us revoked-parent=${root}: build ${W1} descends from revoked ${root}`,
        `tag ami-web-1-eu revoked-parent=${root}: build ${W1} descends from revoked ${root}`,
      ],
      notes: {},
      tainted: { [`base/${B1}`]: root, [`api/${A1}`]: root, [`web/${W1}`]: root },
    });
  });

  it("are marked from a vendor image revoked by its name; its images are not Leaven's to tag", () => {
    const specs = [foundation({ revoked: [{ build: JAMMY, reason: "broken kernel" }] }), base()];
    const result = run(
      specs,
      both("base", B1, ["ubuntu", JAMMY], { [Tag.revokedParent]: `ubuntu/${JAMMY}` }),
    );
    expect(result).toEqual({ actions: [], notes: {}, tainted: { [`base/${B1}`]: `ubuntu/${JAMMY}` } });
  });

  it("are noted with every channel they are in, sorted, across regions; no note when in none", () => {
    const specs = [ubuntu, base({ revoked: [{ build: B1, reason: CVE }] }), api(), web()];
    const images = [
      ...both("base", B1, ["ubuntu", JAMMY], { [Tag.revoked]: CVE, [channelTag("release")]: "true" }),
      img("us-east-1", "api", A1, ["base", B1], {
        [Tag.revokedParent]: `base/${B1}`,
        [channelTag("release")]: "true",
      }),
      img("eu-west-1", "api", A1, ["base", B1], {
        [Tag.revokedParent]: `base/${B1}`,
        [channelTag("candidate")]: "true",
      }),
      ...both("web", W1, ["api", A1], { [Tag.revokedParent]: `base/${B1}` }),
    ];
    expect(run(specs, images)).toEqual({
      actions: [],
      notes: {
        base: [`build ${B1} is revoked (${CVE})`],
        api: [
          `channel candidate, release is on ${A1}, baked on revoked base/${B1}; it moves when a build on a good parent is ready`,
        ],
      },
      tainted: { [`api/${A1}`]: `base/${B1}`, [`web/${W1}`]: `base/${B1}` },
    });
  });

  it("of a suspended spec are noted but not tagged; a stale revoked-parent is replaced", () => {
    const specs = [ubuntu, base({ revoked: [{ build: B1, reason: CVE }] }), api({ suspend: true }), web()];
    const images = [
      ...both("base", B1, ["ubuntu", JAMMY], { [Tag.revoked]: CVE, [channelTag("release")]: "true" }),
      ...both("api", A1, ["base", B1], { [channelTag("release")]: "true" }),
      ...both("web", W1, ["api", A1], { [Tag.revokedParent]: "base/older" }),
    ];
    expect(run(specs, images)).toEqual({
      actions: [
        `tag ami-web-1-us revoked-parent=base/${B1}: build ${W1} descends from revoked base/${B1}`,
        `tag ami-web-1-eu revoked-parent=base/${B1}: build ${W1} descends from revoked base/${B1}`,
      ],
      notes: {
        base: [`build ${B1} is revoked (${CVE})`],
        api: [
          `channel release is on ${A1}, baked on revoked base/${B1}; it moves when a build on a good parent is ready`,
        ],
      },
      tainted: { [`api/${A1}`]: `base/${B1}`, [`web/${W1}`]: `base/${B1}` },
    });
  });

  it("leave builds on a good parent alone", () => {
    const specs = [ubuntu, base({ revoked: [{ build: B1, reason: CVE }] }), api()];
    const images = [
      ...both("base", B1, ["ubuntu", JAMMY], { [Tag.revoked]: CVE, [channelTag("release")]: "true" }),
      ...both("base", B2, ["ubuntu", JAMMY]),
      ...both("api", A1, ["base", B2]),
    ];
    expect(run(specs, images)).toEqual({
      actions: [],
      notes: { base: [`build ${B1} is revoked (${CVE})`] },
      tainted: {},
    });
  });
});
