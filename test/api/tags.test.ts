import { describe, expect, it } from "vitest";
import {
  channelsFromTags,
  channelTag,
  copyTag,
  DEFAULT_INSTALLATION,
  isLeavenOwned,
  OWNERSHIP_TAGS,
  ownershipProblem,
  Tag,
} from "../../controller/api/tags.ts";

describe("ownership: the one rule for what Leaven may change", () => {
  it.each([
    [
      "owner tag, no installation tag (adopted by the default)",
      { "leaven.dev/managed-by": "leaven" },
      "default",
      undefined,
    ],
    [
      "owner tag and the default installation",
      { "leaven.dev/managed-by": "leaven", "leaven.dev/installation": "default" },
      "default",
      undefined,
    ],
    [
      "owner tag and this installation",
      { "leaven.dev/managed-by": "leaven", "leaven.dev/installation": "team-a" },
      "team-a",
      undefined,
    ],
    ["no tags at all", {}, "default", "it has no leaven.dev/managed-by tag"],
    [
      "spec and build but no owner",
      { "leaven.dev/spec": "base", "leaven.dev/build": "1.0.0+aa" },
      "default",
      "it has no leaven.dev/managed-by tag",
    ],
    [
      "another owner",
      { "leaven.dev/managed-by": "packer" },
      "default",
      'its leaven.dev/managed-by tag is "packer", not "leaven"',
    ],
    [
      "owner in another case",
      { "leaven.dev/managed-by": "Leaven" },
      "default",
      'its leaven.dev/managed-by tag is "Leaven", not "leaven"',
    ],
    [
      "empty owner",
      { "leaven.dev/managed-by": "" },
      "default",
      'its leaven.dev/managed-by tag is "", not "leaven"',
    ],
    [
      "owner key in another case",
      { "Leaven.dev/managed-by": "leaven" },
      "default",
      "it has no leaven.dev/managed-by tag",
    ],
    [
      "another installation",
      { "leaven.dev/managed-by": "leaven", "leaven.dev/installation": "team-b" },
      "default",
      'it belongs to installation "team-b", not "default"',
    ],
    [
      "an untagged (default) resource seen by a named installation",
      { "leaven.dev/managed-by": "leaven" },
      "team-a",
      'it belongs to installation "default", not "team-a"',
    ],
  ])("%s", (_name, tags, installation, problem) => {
    expect(ownershipProblem(tags, installation)).toBe(problem);
    expect(isLeavenOwned(tags, installation)).toBe(problem === undefined);
  });

  it("defaults to the default installation", () => {
    expect(DEFAULT_INSTALLATION).toBe("default");
    expect(isLeavenOwned({ "leaven.dev/managed-by": "leaven" })).toBe(true);
    expect(isLeavenOwned({ "leaven.dev/managed-by": "leaven", "leaven.dev/installation": "x" })).toBe(false);
    expect(ownershipProblem({})).toBe("it has no leaven.dev/managed-by tag");
  });

  it("names the ownership tags, which no action may change", () => {
    expect(OWNERSHIP_TAGS).toEqual(["leaven.dev/managed-by", "leaven.dev/installation"]);
  });
});

describe("tag keys are a contract with consumers' tag filters", () => {
  it("keeps every key literal", () => {
    expect(Tag).toEqual({
      managedBy: "leaven.dev/managed-by",
      spec: "leaven.dev/spec",
      layer: "leaven.dev/layer",
      version: "leaven.dev/version",
      build: "leaven.dev/build",
      recipe: "leaven.dev/recipe",
      rebuildEpoch: "leaven.dev/rebuild-epoch",
      parentSpec: "leaven.dev/parent-spec",
      rebakeOf: "leaven.dev/rebake-of",
      parentChannel: "leaven.dev/parent-channel",
      parentBuild: "leaven.dev/parent-build",
      parentImage: "leaven.dev/parent-image",
      homeRegion: "leaven.dev/home-region",
      homeImage: "leaven.dev/home-image",
      commit: "leaven.dev/commit",
      role: "leaven.dev/role",
      bakeResult: "leaven.dev/bake-result",
      bakeReason: "leaven.dev/bake-reason",
      stoppedAt: "leaven.dev/stopped-at",
      failedAt: "leaven.dev/failed-at",
      failedInstance: "leaven.dev/failed-instance",
      bakeInstance: "leaven.dev/bake-instance",
      manifest: "leaven.dev/manifest",
      shared: "leaven.dev/shared",
      installation: "leaven.dev/installation",
      revoked: "leaven.dev/revoked",
      revokedParent: "leaven.dev/revoked-parent",
      unusedSince: "leaven.dev/unused-since",
      deprecatedAt: "leaven.dev/deprecated-at",
      disabledAt: "leaven.dev/disabled-at",
      onDelete: "leaven.dev/on-delete",
      retention: "leaven.dev/retention",
      bakeMethod: "leaven.dev/bake-method",
      bakeVolume: "leaven.dev/bake-volume",
      snapshotRequestedAt: "leaven.dev/snapshot-requested-at",
      commandRequestedAt: "leaven.dev/command-requested-at",
      provisionSeconds: "leaven.dev/provision-seconds",
      startRequestedAt: "leaven.dev/start-requested-at",
      idleStoppedAt: "leaven.dev/idle-stopped-at",
      unhealthy: "leaven.dev/unhealthy",
      channel: "leaven.dev/channel",
    });
  });

  it("names one tag per channel and reads them back sorted", () => {
    expect(channelTag("release")).toBe("leaven.dev/channel/release");
    expect(copyTag("eu-west-1")).toBe("leaven.dev/copy/eu-west-1");
    expect(
      channelsFromTags({
        "leaven.dev/channel/release": "true",
        "leaven.dev/channel/candidate": "true",
        "leaven.dev/channelx": "true",
        "leaven.dev/spec": "base",
      }),
    ).toEqual(["candidate", "release"]);
    expect(channelsFromTags({})).toEqual([]);
  });
});
