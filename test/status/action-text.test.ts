import { describe, expect, it } from "vitest";
import type { CloudImage } from "../../controller/cloud/port.ts";
import type { Action } from "../../controller/plan/actions.ts";
import { actionEvent, describeActions } from "../../controller/status/action-text.ts";
import { summarize } from "../../controller/status/render-plan.ts";

function image(region: string, imageId: string, build: string, channels: string[]): CloudImage {
  return {
    imageId,
    region,
    name: `web-${build}`,
    ownerId: "123456789012",
    state: "available",
    creationDate: "2026-11-01T00:00:00.000Z",
    snapshotIds: [],
    tags: {
      "leaven.dev/spec": "web",
      "leaven.dev/build": build,
      ...Object.fromEntries(channels.map((c) => [`leaven.dev/channel/${c}`, "true"])),
    },
  };
}

const put = (region: string, imageId: string, channels: string[]): Action => ({
  kind: "set-tags",
  spec: "web",
  build: "3.2.1+bbbbbbbb",
  region,
  imageId,
  reason: "selected",
  tags: Object.fromEntries(
    channels.flatMap((c) => [
      [`leaven.dev/channel/${c}`, "true"],
      [`leaven.dev/channel-since/${c}`, "2026-11-02T00:00:00.000Z"],
    ]),
  ),
});

const takeOff = (region: string, imageId: string, channels: string[], revoked = false): Action => ({
  kind: "remove-tags",
  spec: "web",
  build: "3.2.0+aaaaaaaa",
  region,
  imageId,
  reason: "moved",
  keys: channels.map((c) => `leaven.dev/channel/${c}`),
  ...(revoked ? { revoked: true as const } : {}),
});

const copy = (region: string): Action => ({
  kind: "copy-image",
  spec: "web",
  build: "3.2.1+bbbbbbbb",
  region,
  reason: "missing",
  copy: {
    sourceRegion: "us-east-1",
    sourceImageId: "ami-0000000000000000a",
    name: "web",
    clientToken: "t",
    tags: {},
  },
});

// Before the pass: release on 3.2.0 in both regions; candidate nowhere yet in eu-west-1.
const images = [
  image("us-east-1", "ami-00000000000000001", "3.2.0+aaaaaaaa", ["release"]),
  image("eu-west-1", "ami-00000000000000002", "3.2.0+aaaaaaaa", ["release"]),
];

describe("actionEvent: one log line per action", () => {
  it.each([
    {
      name: "a channel moved: which channel, from which build to which",
      action: put("us-east-1", "ami-0000000000000000b", ["release"]),
      result: { ok: true },
      msg: "moved release of web from 3.2.0+aaaaaaaa to 3.2.1+bbbbbbbb in us-east-1",
      fields: {
        kind: "set-tags",
        spec: "web",
        region: "us-east-1",
        build: "3.2.1+bbbbbbbb",
        channels: ["release"],
        from: "3.2.0+aaaaaaaa",
        to: "3.2.1+bbbbbbbb",
      },
    },
    {
      name: "a channel put where the region had none",
      action: put("eu-west-1", "ami-0000000000000000c", ["candidate"]),
      result: { ok: true },
      msg: "put candidate of web on 3.2.1+bbbbbbbb in eu-west-1",
      fields: {
        kind: "set-tags",
        spec: "web",
        region: "eu-west-1",
        build: "3.2.1+bbbbbbbb",
        channels: ["candidate"],
        to: "3.2.1+bbbbbbbb",
      },
    },
    {
      name: "the old build leaves the channel",
      action: takeOff("us-east-1", "ami-00000000000000001", ["release"]),
      result: { ok: true },
      msg: "took release of web off 3.2.0+aaaaaaaa in us-east-1",
      fields: {
        kind: "remove-tags",
        spec: "web",
        region: "us-east-1",
        build: "3.2.0+aaaaaaaa",
        channels: ["release"],
      },
    },
    {
      name: "a copy started, with the id it got",
      action: copy("eu-west-1"),
      result: { ok: true, created: "ami-0000000000000000d" },
      msg: "started copying web 3.2.1+bbbbbbbb to eu-west-1 as ami-0000000000000000d",
      fields: {
        kind: "copy-image",
        spec: "web",
        region: "eu-west-1",
        build: "3.2.1+bbbbbbbb",
        created: "ami-0000000000000000d",
      },
    },
    {
      name: "a failure says what failed and why",
      action: copy("eu-west-1"),
      result: { ok: false, error: "ResourceLimitExceeded: too many copies in flight" },
      msg: "copy-image of web 3.2.1+bbbbbbbb in eu-west-1 failed: ResourceLimitExceeded: too many copies in flight",
      fields: {
        kind: "copy-image",
        spec: "web",
        region: "eu-west-1",
        build: "3.2.1+bbbbbbbb",
        error: "ResourceLimitExceeded: too many copies in flight",
      },
    },
  ])("$name", ({ action, result, msg, fields }) => {
    expect(actionEvent(action, result, images)).toEqual({ msg, fields });
  });
});

describe("describeActions: a pass's actions grouped across regions", () => {
  it("says a move once for all its regions, and leaves bookkeeping out when asked", () => {
    const actions: Action[] = [
      put("us-east-1", "ami-0000000000000000b", ["release"]),
      put("eu-west-1", "ami-0000000000000000c", ["release"]),
      takeOff("us-east-1", "ami-00000000000000001", ["release"]),
      takeOff("eu-west-1", "ami-00000000000000002", ["release"]),
      copy("eu-west-1"),
      copy("ap-southeast-2"),
      {
        kind: "tag-instance",
        spec: "web",
        build: "3.2.1+bbbbbbbb",
        region: "us-east-1",
        instanceId: "i-00000000000000001",
        tags: { "leaven.dev/bake-result": "success" },
        reason: "the console says so",
      },
    ];
    const results = actions.map((action) => ({ actions: [action], ok: true }));
    expect(describeActions(actions, results, images, { bookkeeping: false })).toEqual([
      "moved release of web from 3.2.0+aaaaaaaa to 3.2.1+bbbbbbbb in us-east-1, eu-west-1",
      "started copying web 3.2.1+bbbbbbbb to eu-west-1, ap-southeast-2",
    ]);
    expect(describeActions(actions, results, images)).toEqual([
      "moved release of web from 3.2.0+aaaaaaaa to 3.2.1+bbbbbbbb in us-east-1, eu-west-1",
      "took release of web off 3.2.0+aaaaaaaa in us-east-1, eu-west-1",
      "started copying web 3.2.1+bbbbbbbb to eu-west-1, ap-southeast-2",
      "recorded bake-result on instance i-00000000000000001 of web 3.2.1+bbbbbbbb in us-east-1",
    ]);
    // A revoked build's channel comes off with no move to replace it: that is news.
    const revoked = [takeOff("us-east-1", "ami-00000000000000001", ["release"], true)];
    expect(
      describeActions(revoked, [{ actions: revoked, ok: true }], images, { bookkeeping: false }),
    ).toEqual(["took release of web off 3.2.0+aaaaaaaa in us-east-1 (revoked)"]);
  });
});

describe("summarize: the counts on a plan's last line", () => {
  it.each([
    {
      name: "a move in two regions is two channel moves; its removals go with it",
      actions: [
        put("us-east-1", "ami-0000000000000000b", ["release"]),
        put("eu-west-1", "ami-0000000000000000c", ["release"]),
        takeOff("us-east-1", "ami-00000000000000001", ["release"]),
        takeOff("eu-west-1", "ami-00000000000000002", ["release"]),
      ],
      text: "2 channel moves",
    },
    {
      name: "a revoked build leaving its channel is a removal; one copy, singular",
      actions: [takeOff("us-east-1", "ami-00000000000000001", ["release"], true), copy("eu-west-1")],
      text: "1 to copy, 1 channel removal",
    },
  ])("$name", ({ actions, text }) => {
    expect(summarize(actions)).toBe(text);
  });
});
