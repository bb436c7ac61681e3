// selectCandidate's edges: ties, the `image` selector, gates without their context, the exact messages and
// flags (stalled, soaking) a channel status is built from.
import { describe, expect, it } from "vitest";
import type { ChannelSelector } from "../../controller/api/types.generated.ts";
import { type Candidate, type SelectionContext, selectCandidate } from "../../controller/plan/select.ts";

const HOUR = 3600_000;
const DAY = 24 * HOUR;
const now = Date.UTC(2026, 5, 30);

const pick = (selector: ChannelSelector, candidates: Candidate[], context: SelectionContext = {}) =>
  selectCandidate(selector, candidates, now, context);

describe("selectCandidate: ties", () => {
  const same = (id: string): Candidate => ({ id, version: "1.0.0", createdAt: now - DAY });
  const orders = [
    ["1.0.0+aaaaaaaa", "1.0.0+bbbbbbbb", "1.0.0+cccccccc"],
    ["1.0.0+cccccccc", "1.0.0+bbbbbbbb", "1.0.0+aaaaaaaa"],
    ["1.0.0+bbbbbbbb", "1.0.0+aaaaaaaa", "1.0.0+cccccccc"],
    ["1.0.0+bbbbbbbb", "1.0.0+cccccccc", "1.0.0+aaaaaaaa"],
    ["1.0.0+aaaaaaaa", "1.0.0+cccccccc", "1.0.0+bbbbbbbb"],
    ["1.0.0+cccccccc", "1.0.0+aaaaaaaa", "1.0.0+bbbbbbbb"],
  ];

  it.each(orders)("builds created at the same time go by id, the highest first (%s, %s, %s)", (...ids) => {
    const candidates = ids.map(same);
    expect(pick({ latest: true }, candidates)).toEqual({ ok: true, candidate: same("1.0.0+cccccccc") });
    expect(pick({ version: "^1.0.0" }, candidates)).toEqual({ ok: true, candidate: same("1.0.0+cccccccc") });
    // The newest named when nothing is admitted is the same one.
    expect(pick({ latest: true, minAge: "2d" }, candidates)).toMatchObject({
      message: "no ready build is admitted; the newest, 1.0.0+cccccccc, is 1d old, younger than minAge 2d",
    });
  });

  it("the newer of two builds wins over a higher id", () => {
    const candidates = [
      { id: "1.0.0+ffffffff", createdAt: now - 2 * DAY },
      { id: "1.0.0+00000000", createdAt: now - DAY },
    ];
    expect(pick({ latest: true }, candidates)).toEqual({ ok: true, candidate: candidates[1] });
  });
});

describe("selectCandidate: the image selector", () => {
  const vendor: Candidate[] = [
    { id: "ubuntu/images/jammy-20260101", imageId: "ami-0e1", createdAt: now - 30 * DAY },
    { id: "ubuntu/images/jammy-20260301", imageId: "ami-0e2", createdAt: now - HOUR },
  ];

  it.each([
    ["its AMI id", "ami-0e1", vendor[0]],
    ["its name", "ubuntu/images/jammy-20260101", vendor[0]],
    ["the AMI id of the newer one", "ami-0e2", vendor[1]],
  ])("picks a vendor image by %s", (_how, image, expected) => {
    expect(pick({ image }, vendor)).toEqual({ ok: true, candidate: expected });
  });

  it("ignores minAge: a pinned image is wanted whatever its age", () => {
    expect(pick({ image: "ami-0e2", minAge: "7d" }, vendor)).toEqual({ ok: true, candidate: vendor[1] });
  });

  it("stalls on an image that is not among the candidates", () => {
    expect(pick({ image: "ami-0zz" }, vendor)).toEqual({
      ok: false,
      stalled: true,
      message: "image ami-0zz does not match the source or is not available in every region",
    });
  });

  it("stalls on a revoked image, naming why", () => {
    const revoked = new Map([["ubuntu/images/jammy-20260101", "broken kernel"]]);
    expect(pick({ image: "ami-0e1" }, vendor, { revoked })).toEqual({
      ok: false,
      stalled: true,
      message: "image ami-0e1 is revoked (broken kernel)",
    });
  });
});

describe("selectCandidate: gates and their messages", () => {
  const built: Candidate[] = [
    { id: "1.0.0+aaaaaaaa", version: "1.0.0", createdAt: now - 10 * DAY },
    { id: "1.1.0+bbbbbbbb", version: "1.1.0", createdAt: now - 2 * DAY },
  ];

  it.each<[string, ChannelSelector, Candidate[], SelectionContext, unknown]>([
    [
      "parentIn without the parent's channels",
      { latest: true, parentIn: "release" },
      built,
      {},
      { ok: false, stalled: false, message: "waiting for the parent/release (parentIn): not resolved" },
    ],
    [
      "requires a check a build has no record of",
      { latest: true, requires: ["smoke"] },
      built,
      {},
      {
        ok: false,
        stalled: false,
        message:
          "no ready build is admitted; the newest, 1.1.0+bbbbbbbb, has not been through its smoke check yet",
      },
    ],
    [
      "requires a check that failed without a reason",
      { latest: true, requires: ["smoke"] },
      built.map((c) => ({ ...c, checks: new Map([["smoke", { result: "failed" }]]) })),
      {},
      {
        ok: false,
        stalled: false,
        message:
          "no ready build is admitted; the newest, 1.1.0+bbbbbbbb, failed its smoke check (no reason recorded)",
      },
    ],
    [
      "a version range and a build without a version",
      { version: "^1.0.0" },
      [{ id: "jammy-20260301", createdAt: now - DAY }],
      {},
      {
        ok: false,
        stalled: false,
        message: "no ready build is admitted; the newest, jammy-20260301, has version (none), not in ^1.0.0",
      },
    ],
    [
      "a version range no build is in",
      { version: "^2.0.0" },
      built,
      {},
      {
        ok: false,
        stalled: false,
        message: "no ready build is admitted; the newest, 1.1.0+bbbbbbbb, has version 1.1.0, not in ^2.0.0",
      },
    ],
    [
      "minAge and a failed check: not soaking, since time alone will not admit it",
      { latest: true, minAge: "7d", requires: ["smoke"] },
      built,
      {},
      {
        ok: false,
        stalled: false,
        message:
          "no ready build is admitted; the newest, 1.1.0+bbbbbbbb, has not been through its smoke check yet",
      },
    ],
    [
      "minAge alone: soaking",
      { latest: true, minAge: "30d" },
      built,
      {},
      {
        ok: false,
        stalled: false,
        soaking: true,
        message: "no ready build is admitted; the newest, 1.1.0+bbbbbbbb, is 2d old, younger than minAge 30d",
      },
    ],
    [
      "the newest revoked, the older one not passed: a wait, not a stall",
      { latest: true, requires: ["smoke"] },
      built,
      { revoked: new Map([["1.1.0+bbbbbbbb", "CVE-1"]]) },
      {
        ok: false,
        stalled: false,
        message: "no ready build is admitted; the newest, 1.1.0+bbbbbbbb, is revoked (CVE-1)",
      },
    ],
  ])("%s", (_name, selector, candidates, context, expected) => {
    expect(pick(selector, candidates, context)).toEqual(expected);
  });

  it("lists all five known builds of a missing pin without an ellipsis, and cuts the sixth", () => {
    const five = ["5+5", "4+4", "3+3", "2+2", "1+1"];
    expect(pick({ build: "9.9.9+ffffffff" }, [], { known: five })).toEqual({
      ok: false,
      stalled: true,
      message:
        "build 9.9.9+ffffffff does not exist (builds of this spec, newest first: 5+5, 4+4, 3+3, 2+2, 1+1)",
    });
    expect(pick({ build: "9.9.9+ffffffff" }, [], { known: ["6+6", ...five] })).toMatchObject({
      message:
        "build 9.9.9+ffffffff does not exist (builds of this spec, newest first: 6+6, 5+5, 4+4, 3+3, 2+2, …)",
    });
  });
});
