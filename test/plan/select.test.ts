import { describe, expect, it } from "vitest";
import type { ChannelSelector } from "../../controller/api/types.generated.ts";
import { type Candidate, selectCandidate } from "../../controller/plan/select.ts";

const DAY = 24 * 3600_000;
const now = Date.UTC(2026, 5, 30);
const candidates: Candidate[] = [
  { id: "1.14.0+aaaaaaaa", version: "1.14.0", createdAt: now - 20 * DAY },
  { id: "1.14.2+bbbbbbbb", version: "1.14.2", createdAt: now - 10 * DAY },
  { id: "1.15.0+cccccccc", version: "1.15.0", createdAt: now - 2 * DAY },
  { id: "1.14.2+dddddddd", version: "1.14.2", createdAt: now - 1 * DAY },
];

describe("selectCandidate", () => {
  it.each<[string, ChannelSelector, string]>([
    ["latest picks the newest", { latest: true }, "1.14.2+dddddddd"],
    ["latest with minAge skips the young", { latest: true, minAge: "7d" }, "1.14.2+bbbbbbbb"],
    ["build picks exactly that one", { build: "1.14.0+aaaaaaaa" }, "1.14.0+aaaaaaaa"],
    ["version picks the highest in range", { version: "^1.14.0" }, "1.15.0+cccccccc"],
    ["version ties go to the newest build", { version: "~1.14.0" }, "1.14.2+dddddddd"],
    ["version with minAge", { version: "~1.14.0", minAge: "5d" }, "1.14.2+bbbbbbbb"],
  ])("%s", (_name, selector, expected) => {
    const result = selectCandidate(selector, candidates, now);
    expect(result).toMatchObject({ ok: true, candidate: { id: expected } });
  });

  it.each<[string, ChannelSelector, Candidate[], string]>([
    ["nothing ready", { latest: true }, [], "no ready build yet"],
    [
      "all too young",
      { latest: true, minAge: "30d" },
      candidates,
      "no candidate is old enough; 4 younger than minAge 30d",
    ],
    [
      "unknown build",
      { build: "9.9.9+ffffffff" },
      candidates,
      "build 9.9.9+ffffffff is not ready (not baked, still copying, or failed)",
    ],
    ["empty range", { version: "^2.0.0" }, candidates, "no ready build has a version in ^2.0.0"],
  ])("reports why: %s", (_name, selector, list, message) => {
    expect(selectCandidate(selector, list, now)).toEqual({ ok: false, message });
  });
});
