import { describe, expect, it } from "vitest";
import type { ChannelSelector } from "../../controller/api/types.generated.ts";
import {
  type Candidate,
  formatAge,
  type SelectionContext,
  selectCandidate,
} from "../../controller/plan/select.ts";

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const now = Date.UTC(2026, 5, 30);
const candidates: Candidate[] = [
  { id: "1.14.0+aaaaaaaa", version: "1.14.0", createdAt: now - 20 * DAY },
  { id: "1.14.2+bbbbbbbb", version: "1.14.2", createdAt: now - 10 * DAY },
  { id: "1.15.0+cccccccc", version: "1.15.0", createdAt: now - 2 * DAY },
  { id: "1.14.2+dddddddd", version: "1.14.2", createdAt: now - 1 * DAY },
];

/** An app's builds: on the base's release (2.3.0+00000001) or candidate (2.4.0+00000002). */
const onParents: Candidate[] = [
  { id: "1.0.0+a0000001", version: "1.0.0", createdAt: now - 9 * DAY, parentBuild: "2.3.0+00000001" },
  {
    id: "1.0.0+a0000002",
    version: "1.0.0",
    createdAt: now - 3 * DAY,
    parentBuild: "2.4.0+00000002",
    inChannels: new Map([["candidate", now - 2 * DAY]]),
  },
  {
    id: "1.1.0+a0000003",
    version: "1.1.0",
    createdAt: now - 1 * DAY,
    parentBuild: "2.4.0+00000002",
    inChannels: new Map([["candidate", now - 5 * HOUR]]),
  },
];
const baseChannels: SelectionContext["parent"] = {
  spec: "base",
  channels: new Map([
    ["release", { build: "2.3.0+00000001" }],
    ["candidate", { build: "2.4.0+00000002" }],
    ["broken", { message: "no ready build yet" }],
  ]),
};

describe("selectCandidate: what each selector picks", () => {
  it.each<[string, ChannelSelector, Candidate[], SelectionContext, string]>([
    ["latest picks the newest", { latest: true }, candidates, {}, "1.14.2+dddddddd"],
    ["latest with minAge skips the young", { latest: true, minAge: "7d" }, candidates, {}, "1.14.2+bbbbbbbb"],
    ["build picks exactly that one", { build: "1.14.0+aaaaaaaa" }, candidates, {}, "1.14.0+aaaaaaaa"],
    ["build ignores minAge", { build: "1.14.2+dddddddd", minAge: "30d" }, candidates, {}, "1.14.2+dddddddd"],
    ["version picks the highest in range", { version: "^1.14.0" }, candidates, {}, "1.15.0+cccccccc"],
    ["version ties go to the newest build", { version: "~1.14.0" }, candidates, {}, "1.14.2+dddddddd"],
    ["version with minAge", { version: "~1.14.0", minAge: "5d" }, candidates, {}, "1.14.2+bbbbbbbb"],
    [
      "latest skips a revoked build",
      { latest: true },
      candidates,
      { revoked: new Map([["1.14.2+dddddddd", "CVE-1"]]) },
      "1.15.0+cccccccc",
    ],
    [
      "version skips a revoked build",
      { version: "^1.14.0" },
      candidates,
      { revoked: new Map([["1.15.0+cccccccc", "CVE-1"]]) },
      "1.14.2+dddddddd",
    ],
    [
      "parentIn admits only builds on the parent's channel",
      { latest: true, parentIn: "release" },
      onParents,
      { parent: baseChannels },
      "1.0.0+a0000001",
    ],
    [
      "parentIn on the candidate parent",
      { version: "^1.0.0", parentIn: "candidate" },
      onParents,
      { parent: baseChannels },
      "1.1.0+a0000003",
    ],
    ["follow takes what is in the channel", { follow: "candidate" }, onParents, {}, "1.1.0+a0000003"],
    [
      "follow with minAge takes what has been there that long",
      { follow: "candidate", minAge: "1d" },
      onParents,
      {},
      "1.0.0+a0000002",
    ],
    [
      "follow with minAge counts time in the channel, not age",
      { follow: "candidate", minAge: "2d" },
      onParents,
      {},
      "1.0.0+a0000002",
    ],
  ])("%s", (_name, selector, list, context, expected) => {
    expect(selectCandidate(selector, list, now, context)).toMatchObject({
      ok: true,
      candidate: { id: expected },
    });
  });
});

describe("selectCandidate: why nothing is selected, as the user reads it", () => {
  it.each<[string, ChannelSelector, Candidate[], SelectionContext, string, boolean]>([
    ["nothing ready", { latest: true }, [], {}, "no ready build yet", false],
    [
      "all too young",
      { latest: true, minAge: "30d" },
      candidates,
      {},
      "no ready build is admitted; the newest, 1.14.2+dddddddd, is 1d old, younger than minAge 30d",
      false,
    ],
    [
      "a build that does not exist",
      { build: "9.9.9+ffffffff" },
      candidates,
      {},
      "build 9.9.9+ffffffff does not exist (builds of this spec, newest first: 1.14.0+aaaaaaaa, 1.14.2+bbbbbbbb, 1.15.0+cccccccc, 1.14.2+dddddddd)",
      true,
    ],
    [
      "a mistyped build",
      { build: "1.15.0+ccccccdc" },
      candidates,
      { known: ["1.15.0+cccccccc", "1.14.0+aaaaaaaa"] },
      'build 1.15.0+ccccccdc does not exist (builds of this spec, newest first: 1.15.0+cccccccc, 1.14.0+aaaaaaaa); did you mean "1.15.0+cccccccc"?',
      true,
    ],
    [
      "a build that exists but is not ready",
      { build: "2.0.0+eeeeeeee" },
      candidates,
      { known: ["2.0.0+eeeeeeee", "1.15.0+cccccccc"] },
      "build 2.0.0+eeeeeeee is not ready yet (baking, copying or failed)",
      false,
    ],
    [
      "a spec with no builds",
      { build: "1.0.0+aaaaaaaa" },
      [],
      { known: [] },
      "build 1.0.0+aaaaaaaa does not exist (builds of this spec, newest first: none yet)",
      true,
    ],
    [
      "more than five builds are cut short",
      { build: "9.9.9+ffffffff" },
      [],
      { known: ["1+1", "2+2", "3+3", "4+4", "5+5", "6+6"] },
      "build 9.9.9+ffffffff does not exist (builds of this spec, newest first: 1+1, 2+2, 3+3, 4+4, 5+5, …)",
      true,
    ],
    [
      "an empty range",
      { version: "^2.0.0" },
      candidates,
      {},
      "no ready build is admitted; the newest, 1.14.2+dddddddd, has version 1.14.2, not in ^2.0.0",
      false,
    ],
    [
      "a pinned build that is revoked",
      { build: "1.15.0+cccccccc" },
      candidates,
      { revoked: new Map([["1.15.0+cccccccc", "CVE-2026-1234 in openssl"]]) },
      "build 1.15.0+cccccccc is revoked (CVE-2026-1234 in openssl); pin another build or remove it from revoked",
      true,
    ],
    [
      "only revoked builds",
      { latest: true },
      candidates.slice(0, 2),
      {
        revoked: new Map([
          ["1.14.0+aaaaaaaa", "CVE-1"],
          ["1.14.2+bbbbbbbb", "CVE-2"],
        ]),
      },
      "no ready build is admitted; the newest, 1.14.2+bbbbbbbb, is revoked (CVE-2); every ready build is revoked, so bake a new one or un-revoke one",
      true,
    ],
    [
      "the lineage gate",
      { version: "^1.1.0", parentIn: "release" },
      onParents,
      { parent: baseChannels },
      "no ready build is admitted; the newest, 1.1.0+a0000003, is baked on base 2.4.0+00000002, not on base/release (2.3.0+00000001)",
      false,
    ],
    [
      "the lineage gate on a pinned build",
      { build: "1.1.0+a0000003", parentIn: "release" },
      onParents,
      { parent: baseChannels },
      "build 1.1.0+a0000003 is baked on base 2.4.0+00000002, not on base/release (2.3.0+00000001)",
      false,
    ],
    [
      "a build with no parent tag under the lineage gate",
      { latest: true, parentIn: "release" },
      [{ id: "1.0.0+a0000009", createdAt: now }],
      { parent: baseChannels },
      "no ready build is admitted; the newest, 1.0.0+a0000009, is baked on base (unknown), not on base/release (2.3.0+00000001)",
      false,
    ],
    [
      "a parent channel that does not resolve",
      { latest: true, parentIn: "broken" },
      onParents,
      { parent: baseChannels },
      "waiting for base/broken (parentIn): no ready build yet",
      false,
    ],
    [
      "a parent channel that does not exist",
      { latest: true, parentIn: "nightly" },
      onParents,
      { parent: baseChannels },
      "waiting for base/nightly (parentIn): not resolved",
      false,
    ],
    [
      "following a channel nothing is in",
      { follow: "beta" },
      onParents,
      {},
      "no ready build is admitted; the newest, 1.1.0+a0000003, is not in beta",
      false,
    ],
    [
      "following with a soak nothing has finished",
      { follow: "candidate", minAge: "3d" },
      onParents,
      {},
      "no ready build is admitted; the newest, 1.1.0+a0000003, has been in candidate for 5h of minAge 3d",
      false,
    ],
    [
      "a selector without a choice",
      {},
      candidates,
      {},
      "the selector sets none of latest, build, version, follow, image",
      true,
    ],
    [
      "an image that is not there",
      { image: "ami-0123456789abcdef0" },
      candidates,
      {},
      "image ami-0123456789abcdef0 does not match the source or is not available in every region",
      true,
    ],
  ])("%s", (_name, selector, list, context, message, stalled) => {
    const soaking = / (old, younger than|for \S+ of) minAge /.test(message) ? { soaking: true } : {};
    expect(selectCandidate(selector, list, now, context)).toEqual({
      ok: false,
      message,
      stalled,
      ...soaking,
    });
  });
});

describe("formatAge", () => {
  it.each([
    [0, "0s"],
    [59_999, "59s"],
    [60_000, "1m"],
    [HOUR - 1, "59m"],
    [HOUR, "1h"],
    [DAY - 1, "23h"],
    [DAY, "1d"],
    [30 * DAY + HOUR, "30d"],
    [-5, "0s"],
  ])("%i ms is %s", (ms, text) => {
    expect(formatAge(ms)).toBe(text);
  });
});
