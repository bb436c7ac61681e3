// Distribution rules one at a time: copies to the other regions, channel tags, launch permissions.
import { describe, expect, it } from "vitest";
import { channelSinceTag, channelTag, copyTag, Tag } from "../../controller/api/tags.ts";
import type { ImageSpecSpec } from "../../controller/api/types.generated.ts";
import type { CloudImage } from "../../controller/cloud/port.ts";
import type { Action } from "../../controller/plan/actions.ts";
import {
  isReady,
  permissionDrift,
  planChannelTags,
  planCopies,
  planSharing,
  resolvedImages,
  shareHash,
} from "../../controller/plan/distribute.ts";
import type { ObservedBuild } from "../../controller/plan/index-inventory.ts";
import { copyToken } from "../../controller/plan/recipe.ts";
import { leavenImage, spec, T0 } from "./builders.ts";

const doc = (extra: Partial<ImageSpecSpec> = {}) =>
  spec("base", {
    layer: "base",
    parent: { spec: "ubuntu", channel: "release" },
    version: "1.0.0",
    regions: ["us-east-1", "eu-west-1", "ap-southeast-2"],
    ...extra,
  }).document;

function observed(build: string, images: CloudImage[]): ObservedBuild {
  return { spec: "base", build, images: new Map(images.map((i) => [i.region, i])) };
}
const img = (region: string, id: string, extra: Partial<CloudImage> = {}, tags = {}) => ({
  ...leavenImage(region, "base", "1.0.0+aa", { id, tags }),
  ...extra,
});

describe("planCopies", () => {
  const home = img(
    "us-east-1",
    "ami-home",
    {},
    {
      [channelTag("release")]: "true",
      [channelSinceTag("release")]: "2026-01-01T00:00:00.000Z",
      [Tag.shared]: "abc",
      [Tag.bakeInstance]: "i-1",
      [Tag.recipe]: "r",
    },
  );

  it("copies the home image to each region without one, with the home's tags but not its per-image ones", () => {
    const actions: Action[] = [];
    const state = planCopies(
      doc({ share: { kmsKeys: { "ap-southeast-2": "arn:aws:kms:ap-southeast-2:1:key/k" } } }),
      observed("1.0.0+aa", [home]),
      "us-east-1",
      actions,
    );
    expect(state).toEqual({ step: "in-progress", message: "copying to eu-west-1, ap-southeast-2" });
    expect(
      actions.map((a) =>
        a.kind === "copy-image" ? [a.region, a.copy.kmsKeyId, a.reason, a.copy.description] : a.kind,
      ),
    ).toEqual([
      [
        "eu-west-1",
        undefined,
        "build 1.0.0+aa has no image in eu-west-1",
        "Leaven base 1.0.0+aa copied from us-east-1 ami-home",
      ],
      [
        "ap-southeast-2",
        "arn:aws:kms:ap-southeast-2:1:key/k",
        "build 1.0.0+aa has no image in ap-southeast-2",
        "Leaven base 1.0.0+aa copied from us-east-1 ami-home",
      ],
    ]);
    const first = actions[0];
    if (first?.kind !== "copy-image") throw new Error("expected a copy");
    expect(first.copy.tags).toEqual({
      [Tag.managedBy]: "leaven",
      [Tag.spec]: "base",
      [Tag.build]: "1.0.0+aa",
      [Tag.version]: "1.0.0",
      [Tag.recipe]: "r",
      [Tag.homeRegion]: "us-east-1",
      [Tag.homeImage]: "ami-home",
    });
    expect(first.copy).toMatchObject({
      sourceRegion: "us-east-1",
      sourceImageId: "ami-home",
      name: "leaven/base/1.0.0_aa",
    });
  });

  it.each<[string, CloudImage[], unknown]>([
    ["the home image is missing", [], { step: "in-progress", message: "home image not available yet" }],
    [
      "the home image is pending",
      [img("us-east-1", "ami-home", { state: "pending" })],
      { step: "in-progress", message: "home image not available yet" },
    ],
    [
      "copies are pending",
      [
        img(
          "us-east-1",
          "ami-home",
          {},
          { [copyTag("eu-west-1")]: "ami-e", [copyTag("ap-southeast-2")]: "ami-a" },
        ),
        img("eu-west-1", "ami-e", { state: "pending" }),
        img("ap-southeast-2", "ami-a"),
      ],
      { step: "in-progress", message: "copying to eu-west-1" },
    ],
    [
      "a copy failed",
      [
        img("us-east-1", "ami-home", {}, { [copyTag("ap-southeast-2")]: "ami-a" }),
        img("eu-west-1", "ami-e", { state: "failed", stateReason: "Client.ImageFailed" }),
        img("ap-southeast-2", "ami-a", { state: "invalid" }),
      ],
      {
        step: "failed",
        message:
          "copy failed in eu-west-1 (ami-e is failed: Client.ImageFailed), ap-southeast-2 (ami-a is invalid)",
      },
    ],
    [
      "every region has an available image",
      [
        img(
          "us-east-1",
          "ami-home",
          {},
          { [copyTag("eu-west-1")]: "ami-e", [copyTag("ap-southeast-2")]: "ami-a" },
        ),
        img("eu-west-1", "ami-e"),
        img("ap-southeast-2", "ami-a"),
      ],
      { step: "done" },
    ],
  ])("plans nothing when %s", (_name, images, state) => {
    const actions: Action[] = [];
    expect(planCopies(doc(), observed("1.0.0+aa", images), "us-east-1", actions)).toEqual(state);
    expect(actions).toEqual([]);
  });
});

describe("planCopies: drift repair", () => {
  const recorded = { [copyTag("eu-west-1")]: "ami-e", [copyTag("ap-southeast-2")]: "ami-a" };
  const copyOf = (actions: Action[], region: string) => {
    const found = actions.find((a) => a.kind === "copy-image" && a.region === region);
    if (found?.kind !== "copy-image") throw new Error(`no copy to ${region}`);
    return found;
  };

  it("records each observed copy on the home image, once, in one call", () => {
    const actions: Action[] = [];
    planCopies(
      doc(),
      observed("1.0.0+aa", [
        img("us-east-1", "ami-home", {}, { [copyTag("eu-west-1")]: "ami-e" }),
        img("eu-west-1", "ami-e"),
        img("ap-southeast-2", "ami-a", { state: "pending" }),
      ]),
      "us-east-1",
      actions,
    );
    expect(actions).toEqual([
      {
        kind: "set-tags",
        spec: "base",
        build: "1.0.0+aa",
        region: "us-east-1",
        imageId: "ami-home",
        tags: { [copyTag("ap-southeast-2")]: "ami-a" },
        reason:
          "record the copies of 1.0.0+aa in ap-southeast-2 on its home image, so a lost copy is repaired",
      },
    ]);
  });

  it("copies a recorded copy that is gone again with a token of a new generation, derived from the dead id", () => {
    const actions: Action[] = [];
    const state = planCopies(
      doc(),
      observed("1.0.0+aa", [img("us-east-1", "ami-home", {}, recorded), img("eu-west-1", "ami-e")]),
      "us-east-1",
      actions,
    );
    expect(state).toEqual({ step: "in-progress", message: "copying to ap-southeast-2" });
    const copy = copyOf(actions, "ap-southeast-2");
    expect(copy.reason).toBe("build 1.0.0+aa's image in ap-southeast-2, ami-a, is gone: copying it again");
    expect(copy.copy.clientToken).toBe(
      copyToken("1.0.0+aa", "base", "ap-southeast-2", { deadCopies: ["ami-a"] }),
    );
    expect(copy.copy.clientToken).not.toBe(copyToken("1.0.0+aa", "base", "ap-southeast-2"));
    expect(actions).toHaveLength(1);
  });

  it("counts the parent images children recorded in the region as dead ids too", () => {
    const actions: Action[] = [];
    planCopies(
      doc(),
      observed("1.0.0+aa", [img("us-east-1", "ami-home", {}, recorded), img("eu-west-1", "ami-e")]),
      "us-east-1",
      actions,
      undefined,
      new Map([["ap-southeast-2", new Set(["ami-older"])]]),
    );
    expect(copyOf(actions, "ap-southeast-2").copy.clientToken).toBe(
      copyToken("1.0.0+aa", "base", "ap-southeast-2", { deadCopies: ["ami-a", "ami-older"] }),
    );
  });

  it("copies a rebaked home image with a token naming the new source, and points the old copies at it", () => {
    const actions: Action[] = [];
    planCopies(
      doc(),
      observed("1.0.0+aa", [
        img("us-east-1", "ami-new", {}, { [Tag.rebakeOf]: "ami-home", [copyTag("eu-west-1")]: "ami-e" }),
        img("eu-west-1", "ami-e", {}, { [Tag.homeImage]: "ami-home" }),
      ]),
      "us-east-1",
      actions,
    );
    expect(actions.map((a) => [a.kind, a.region, a.reason])).toEqual([
      ["set-tags", "eu-west-1", "the home image of 1.0.0+aa is now ami-new (was ami-home)"],
      ["copy-image", "ap-southeast-2", "build 1.0.0+aa has no image in ap-southeast-2"],
    ]);
    expect(copyOf(actions, "ap-southeast-2").copy.clientToken).toBe(
      copyToken("1.0.0+aa", "base", "ap-southeast-2", { rebakedSource: "ami-new" }),
    );
  });

  it.each([
    ["the first generation", {}, "leaven-copy-"],
    ["dead copies in any order", { deadCopies: ["ami-2", "ami-1", "ami-2"] }, "leaven-copy-"],
  ])("derives tokens deterministically: %s", (_name, generation, prefix) => {
    const token = copyToken("1.0.0+aa", "base", "eu-west-1", generation);
    expect(token.startsWith(prefix)).toBe(true);
    expect(token).toHaveLength(prefix.length + 40);
    expect(copyToken("1.0.0+aa", "base", "eu-west-1", generation)).toBe(token);
  });

  it("gives dead copies in any order the same token", () => {
    expect(copyToken("1.0.0+aa", "base", "eu-west-1", { deadCopies: ["ami-2", "ami-1"] })).toBe(
      copyToken("1.0.0+aa", "base", "eu-west-1", { deadCopies: ["ami-1", "ami-2", "ami-1"] }),
    );
  });
});

describe("readiness", () => {
  const build = observed("1.0.0+aa", [
    img("us-east-1", "ami-home"),
    img("eu-west-1", "ami-e", { state: "pending" }),
  ]);
  it("is ready only when available in every region of the spec", () => {
    expect(isReady(doc(), build)).toBe(false);
    expect(isReady(doc({ regions: ["us-east-1"] }), build)).toBe(true);
    expect(resolvedImages(doc(), build)).toEqual(new Map([["us-east-1", "ami-home"]]));
  });
});

describe("planChannelTags", () => {
  const now = T0;
  const since = { [channelSinceTag("release")]: new Date(now).toISOString() };
  const a = observed("1.0.0+aa", [img("us-east-1", "ami-a1", {}, { [channelTag("candidate")]: "true" })]);
  const b = observed("1.0.0+bb", [img("us-east-1", "ami-b1")]);
  const builds = new Map([
    ["1.0.0+aa", a],
    ["1.0.0+bb", b],
  ]);
  const one = doc({
    regions: ["us-east-1"],
    channels: { candidate: { latest: true }, release: { latest: true } },
  });

  it("sets every channel a build gained in one call and removes those it lost, with reasons, and counts images", () => {
    const actions: Action[] = [];
    const resolved = new Map([
      ["candidate", { build: "1.0.0+bb", images: new Map([["us-east-1", "ami-b1"]]) }],
      ["release", { build: "1.0.0+bb", images: new Map([["us-east-1", "ami-b1"]]) }],
    ]);
    expect(planChannelTags(one, builds, resolved, actions, now)).toBe(2);
    expect(actions).toEqual([
      {
        kind: "set-tags",
        spec: "base",
        build: "1.0.0+bb",
        region: "us-east-1",
        imageId: "ami-b1",
        tags: {
          [channelTag("candidate")]: "true",
          [channelSinceTag("candidate")]: new Date(now).toISOString(),
          [channelTag("release")]: "true",
          ...since,
        },
        reason: "channel candidate, release of base selects 1.0.0+bb",
      },
      {
        kind: "remove-tags",
        spec: "base",
        build: "1.0.0+aa",
        region: "us-east-1",
        imageId: "ami-a1",
        keys: [channelTag("candidate")],
        reason: "channel candidate of base no longer selects 1.0.0+aa",
      },
    ]);
  });

  it("removes the since tag with its channel, and every channel of a revoked build", () => {
    const tagged = observed("1.0.0+aa", [
      img(
        "us-east-1",
        "ami-a1",
        {},
        { [channelTag("release")]: "true", ...since, [channelTag("candidate")]: "true" },
      ),
    ]);
    const actions: Action[] = [];
    const count = planChannelTags(
      one,
      new Map([["1.0.0+aa", tagged]]),
      new Map(),
      actions,
      now,
      new Map([["1.0.0+aa", "CVE-1"]]),
    );
    expect(count).toBe(1);
    expect(actions).toMatchObject([
      {
        kind: "remove-tags",
        keys: [channelTag("candidate"), channelTag("release"), channelSinceTag("release")],
        reason: "build 1.0.0+aa is revoked (CVE-1): it leaves channel candidate, release",
      },
    ]);
  });

  it("takes the tag of a channel the spec no longer has off every image", () => {
    const stale = observed("1.0.0+aa", [img("us-east-1", "ami-a1", {}, { [channelTag("beta")]: "true" })]);
    const actions: Action[] = [];
    planChannelTags(one, new Map([["1.0.0+aa", stale]]), new Map(), actions, now);
    expect(actions).toEqual([
      {
        kind: "remove-tags",
        spec: "base",
        build: "1.0.0+aa",
        region: "us-east-1",
        imageId: "ami-a1",
        keys: [channelTag("beta")],
        reason: "base has no channel beta",
      },
    ]);
  });

  it("changes nothing when the tags already match, or for an image outside the spec's regions", () => {
    const stray = observed("1.0.0+aa", [img("sa-east-1", "ami-s", {}, {})]);
    const actions: Action[] = [];
    const resolved = new Map([
      ["candidate", { build: "1.0.0+aa", images: new Map([["us-east-1", "ami-a1"]]) }],
    ]);
    expect(planChannelTags(one, new Map([["1.0.0+aa", a]]), resolved, actions, now)).toBe(0);
    expect(planChannelTags(one, new Map([["1.0.0+aa", stray]]), resolved, actions, now)).toBe(0);
    expect(actions).toEqual([]);
  });
});

describe("sharing", () => {
  it.each<[Partial<ImageSpecSpec>, string | undefined]>([
    // Sharing with nobody has a hash too: sha256 of {"accounts":[],"organizationArns":[],"organizationalUnitArns":[]}.
    [{}, "EMPTY"],
    [{ share: {} }, "EMPTY"],
    [{ share: { accounts: [] } }, "EMPTY"],
    [{ share: { snapshots: false } }, "EMPTY"],
    [{ share: { accounts: ["111122223333"] } }, "3d1f3b8b7e4e"],
    [{ share: { accounts: ["444455556666", "111122223333"] } }, "c1b0d3f7f1b1"],
    [{ share: { accounts: ["111122223333", "444455556666"] } }, "c1b0d3f7f1b1"],
    [
      {
        share: {
          organizationArns: [
            "arn:aws:organizations::111122223333:organization/o-b",
            "arn:aws:organizations::111122223333:organization/o-a",
          ],
        },
      },
      "SORTED-ORGS",
    ],
    [
      {
        share: {
          organizationalUnitArns: [
            "arn:aws:organizations::1:ou/o-a/ou-b-1",
            "arn:aws:organizations::1:ou/o-a/ou-a-1",
          ],
        },
      },
      "SORTED-OUS",
    ],
  ])("hashes %j", (extra, hash) => {
    const value = shareHash(doc(extra));
    if (hash === "SORTED-ORGS" || hash === "SORTED-OUS") {
      // Order does not matter: the same set in another order hashes the same.
      const reversed = JSON.parse(JSON.stringify(extra));
      const key = hash === "SORTED-ORGS" ? "organizationArns" : "organizationalUnitArns";
      reversed.share[key].reverse();
      expect(value).toMatch(/^[0-9a-f]{12}$/);
      expect(shareHash(doc(reversed))).toBe(value);
      expect(value).not.toBe(shareHash(doc({ share: { accounts: ["111122223333"] } })));
    } else if (hash === "EMPTY") expect(value).toBe("29083c46fe4e");
    else expect(value).toMatch(/^[0-9a-f]{12}$/);
  });

  it("hashes accounts, organizations and OUs apart", () => {
    const a = shareHash(doc({ share: { accounts: ["111122223333"] } }));
    const b = shareHash(doc({ share: { accounts: ["111122223333", "444455556666"] } }));
    expect(a).not.toBe(b);
  });

  it("hashes share.snapshots only when true, so older specs keep their hash", () => {
    const accounts = ["111122223333"];
    const plain = shareHash(doc({ share: { accounts } }));
    expect(shareHash(doc({ share: { accounts, snapshots: false } }))).toBe(plain);
    // sha256 of {"accounts":["111122223333"],"organizationArns":[],"organizationalUnitArns":[],"snapshots":true}
    expect(shareHash(doc({ share: { accounts, snapshots: true } }))).toBe("87c8192bb813");
  });

  it("shares every available image whose shared tag is stale, with exactly the spec's grantees", () => {
    const share = {
      accounts: ["111122223333"],
      organizationArns: ["arn:aws:organizations::111122223333:organization/o-abc"],
      organizationalUnitArns: ["arn:aws:organizations::111122223333:ou/o-abc/ou-ab-cdef"],
    };
    const d = doc({ share });
    const hash = shareHash(d)!;
    const build = observed("1.0.0+aa", [
      img("us-east-1", "ami-stale", {}, { [Tag.shared]: "old" }),
      img("eu-west-1", "ami-done", {}, { [Tag.shared]: hash }),
      img("ap-southeast-2", "ami-pending", { state: "pending" }),
    ]);
    const actions: Action[] = [];
    expect(planSharing(d, new Map([["1.0.0+aa", build]]), actions)).toBe(1);
    expect(actions).toEqual([
      {
        kind: "share-image",
        spec: "base",
        build: "1.0.0+aa",
        region: "us-east-1",
        imageId: "ami-stale",
        permissions: share,
        snapshotIds: build.images.get("us-east-1")!.snapshotIds,
        snapshotAccounts: [],
        shareHash: hash,
        reason: "share settings of base are not applied to ami-stale",
      },
    ]);
    const two = observed("1.0.0+aa", [img("us-east-1", "ami-1"), img("eu-west-1", "ami-2")]);
    expect(planSharing(doc({ share: { accounts: ["111122223333"] } }), new Map([["x", two]]), [])).toBe(2);
    expect(planSharing(doc(), new Map([["x", two]]), [])).toBe(0);
  });
});

describe("planSharing: permissions changed behind Leaven's back", () => {
  const A = "111122223333";
  const one = doc({ share: { accounts: [A] } });
  const inSync = new Map([
    ["1.0.0+aa", observed("1.0.0+aa", [img("us-east-1", "ami-home", {}, { [Tag.shared]: shareHash(one) })])],
  ]);
  const read = (accounts: string[], isPublic = false) =>
    new Map([["ami-home", { accounts, organizationArns: [], organizationalUnitArns: [], public: isPublic }]]);

  it.each<[string, ReturnType<typeof read> | undefined, string | undefined]>([
    ["not read back: trusted from the tag", undefined, undefined],
    ["read back and right", read([A]), undefined],
    [
      "an account removed and a stranger added",
      read(["999988887777"]),
      "launch permissions of ami-home were changed behind Leaven's back (111122223333 missing, 999988887777 added): set back to spec.share",
    ],
    [
      "made public",
      read([A], true),
      "launch permissions of ami-home were changed behind Leaven's back (made public): set back to spec.share",
    ],
  ])("%s", (_name, observedPermissions, reason) => {
    const actions: Action[] = [];
    planSharing(one, inSync, actions, observedPermissions);
    expect(actions.map((a) => a.reason)).toEqual(reason ? [reason] : []);
  });
});

describe("planSharing: level-based, both ways", () => {
  const A = "111122223333";
  const B = "444455556666";
  const ORG = "arn:aws:organizations::111122223333:organization/o-abc";
  const two = doc({ share: { accounts: [B, A] } });
  const one = doc({ share: { accounts: [A] } });
  const none = doc();
  const emptyHash = "29083c46fe4e";

  /** One available image per region of the spec, each with its snapshot, tagged as given. */
  const imagesTagged = (shared: string | undefined) =>
    new Map([
      [
        "1.0.0+aa",
        observed("1.0.0+aa", [
          img(
            "us-east-1",
            "ami-home",
            { snapshotIds: ["snap-home"] },
            shared ? { [Tag.shared]: shared } : {},
          ),
          img(
            "eu-west-1",
            "ami-copy",
            { snapshotIds: ["snap-a", "snap-b"] },
            shared ? { [Tag.shared]: shared } : {},
          ),
        ]),
      ],
    ]);
  const planned = (d: ReturnType<typeof doc>, shared: string | undefined) => {
    const actions: Action[] = [];
    planSharing(d, imagesTagged(shared), actions);
    return actions.map((a) =>
      a.kind === "share-image"
        ? [a.imageId, a.permissions, a.snapshotIds, a.snapshotAccounts, a.shareHash, a.reason]
        : a.kind,
    );
  };

  it.each<[string, ReturnType<typeof doc>, string | undefined, unknown[]]>([
    ["never shared, nothing asked: nothing", none, undefined, []],
    ["in sync with two accounts: nothing (no describe either)", two, shareHash(two), []],
    ["unshared already: nothing", none, emptyHash, []],
    [
      "shrunk from two accounts to one: exactly the one remains, per region",
      one,
      shareHash(two),
      [
        [
          "ami-home",
          { accounts: [A] },
          ["snap-home"],
          [],
          shareHash(one),
          "share settings of base are not applied to ami-home",
        ],
        [
          "ami-copy",
          { accounts: [A] },
          ["snap-a", "snap-b"],
          [],
          shareHash(one),
          "share settings of base are not applied to ami-copy",
        ],
      ],
    ],
    [
      "share removed: images Leaven shared are unshared, to the empty hash",
      none,
      shareHash(two),
      [
        [
          "ami-home",
          {},
          ["snap-home"],
          [],
          emptyHash,
          "base shares with nobody now: permissions Leaven granted on ami-home are removed",
        ],
        [
          "ami-copy",
          {},
          ["snap-a", "snap-b"],
          [],
          emptyHash,
          "base shares with nobody now: permissions Leaven granted on ami-copy are removed",
        ],
      ],
    ],
    [
      "an empty share is the same as none",
      doc({ share: { accounts: [], organizationArns: [] } }),
      shareHash(one),
      [
        [
          "ami-home",
          {},
          ["snap-home"],
          [],
          emptyHash,
          "base shares with nobody now: permissions Leaven granted on ami-home are removed",
        ],
        [
          "ami-copy",
          {},
          ["snap-a", "snap-b"],
          [],
          emptyHash,
          "base shares with nobody now: permissions Leaven granted on ami-copy are removed",
        ],
      ],
    ],
  ])("%s", (_name, d, shared, expected) => {
    expect(planned(d, shared)).toEqual(expected);
  });

  it("gives the snapshots to the accounts only when share.snapshots is true, never to organizations", () => {
    const d = doc({ share: { accounts: [B, A, A], organizationArns: [ORG], snapshots: true } });
    const actions: Action[] = [];
    planSharing(
      d,
      imagesTagged(shareHash(doc({ share: { accounts: [B, A], organizationArns: [ORG] } }))),
      actions,
    );
    expect(actions.map((a) => a.kind === "share-image" && [a.permissions, a.snapshotAccounts])).toEqual([
      [{ accounts: [A, B], organizationArns: [ORG] }, [A, B]],
      [{ accounts: [A, B], organizationArns: [ORG] }, [A, B]],
    ]);
  });

  it("leaves pending, failed and disabled images alone", () => {
    const builds = new Map([
      [
        "1.0.0+aa",
        observed("1.0.0+aa", [
          img("us-east-1", "ami-p", { state: "pending" }),
          img("eu-west-1", "ami-f", { state: "failed" }),
          img("ap-southeast-2", "ami-d", { state: "disabled" }, { [Tag.shared]: "old" }),
        ]),
      ],
    ]);
    const actions: Action[] = [];
    expect(planSharing(one, builds, actions)).toBe(0);
    expect(actions).toEqual([]);
  });
});

describe("planCopies: copies point at their home image only after a rebake", () => {
  it("leaves a copy that names another home image alone when the home image is no rebake", () => {
    const actions: Action[] = [];
    planCopies(
      doc({ regions: ["us-east-1", "eu-west-1"] }),
      observed("1.0.0+aa", [
        img("us-east-1", "ami-home", {}, { [copyTag("eu-west-1")]: "ami-e" }),
        img("eu-west-1", "ami-e", {}, { [Tag.homeImage]: "ami-duplicate-home" }),
      ]),
      "us-east-1",
      actions,
    );
    expect(actions).toEqual([]);
  });

  it("sets exactly the home-image tag on a copy of a rebake, and nothing on a copy already pointing at it", () => {
    const actions: Action[] = [];
    planCopies(
      doc({ regions: ["us-east-1", "eu-west-1", "ap-southeast-2"] }),
      observed("1.0.0+aa", [
        img(
          "us-east-1",
          "ami-new",
          {},
          {
            [Tag.rebakeOf]: "ami-home",
            [copyTag("eu-west-1")]: "ami-e",
            [copyTag("ap-southeast-2")]: "ami-a",
          },
        ),
        img("eu-west-1", "ami-e", {}, { [Tag.homeImage]: "ami-home" }),
        img("ap-southeast-2", "ami-a", {}, { [Tag.homeImage]: "ami-new" }),
      ]),
      "us-east-1",
      actions,
    );
    expect(actions.map((a) => (a.kind === "set-tags" ? [a.region, a.imageId, a.tags] : a.kind))).toEqual([
      ["eu-west-1", "ami-e", { [Tag.homeImage]: "ami-new" }],
    ]);
  });

  it("lists dead copies sorted and comma-separated in the reason", () => {
    const actions: Action[] = [];
    planCopies(
      doc({ regions: ["us-east-1", "eu-west-1"] }),
      observed("1.0.0+aa", [img("us-east-1", "ami-home", {}, { [copyTag("eu-west-1")]: "ami-z" })]),
      "us-east-1",
      actions,
      undefined,
      new Map([["eu-west-1", new Set(["ami-b"])]]),
    );
    expect(actions.map((a) => a.reason)).toEqual([
      "build 1.0.0+aa's image in eu-west-1, ami-b, ami-z, is gone: copying it again",
    ]);
  });
});

describe("permissionDrift", () => {
  const wanted = { accounts: ["1"], organizationArns: ["org"], organizationalUnitArns: ["ou"] };
  it.each<
    [
      string,
      { accounts: string[]; organizationArns: string[]; organizationalUnitArns: string[]; public: boolean },
      string | undefined,
    ]
  >([
    ["the same", { ...wanted, public: false }, undefined],
    ["an organization taken away", { ...wanted, organizationArns: [], public: false }, "org missing"],
    ["an OU added", { ...wanted, organizationalUnitArns: ["ou", "ou2"], public: false }, "ou2 added"],
  ])("%s", (_name, read, drift) => {
    expect(permissionDrift(wanted, read)).toBe(drift);
  });
});
