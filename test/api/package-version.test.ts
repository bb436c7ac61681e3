// dpkg's version order (the pairs are dpkg's own test cases and distribution versions) and the ranges of
// `leaven contains`.
import { describe, expect, it } from "vitest";
import { compareVersions, inRange, parseVersionRange } from "../../controller/api/package-version.ts";

describe("compareVersions", () => {
  it.each([
    ["1.0", "1.0", 0],
    ["1.0", "1.1", -1],
    ["1.10", "1.9", 1],
    ["1.0~rc1", "1.0", -1],
    ["1:0.1", "2.0", 1],
    ["3.0.2-0ubuntu1.15", "3.0.2-0ubuntu1.9", 1],
    ["3.0.2-0ubuntu1.15", "3.0.13-0ubuntu3", -1],
    ["1.0-1", "1.0-1+b1", -1],
    ["2.39-0ubuntu8", "2.39-0ubuntu8.1", -1],
    ["1.0a", "1.0+", -1],
  ])("%s vs %s", (a, b, sign) => {
    expect(Math.sign(compareVersions(a, b)) + 0).toBe(sign);
    expect(Math.sign(compareVersions(b, a)) + 0).toBe(-sign + 0);
  });
});

describe("ranges", () => {
  it.each([
    ["3.0.2-0ubuntu1.15", "3.0.2-0ubuntu1.15", true],
    ["3.0.2-0ubuntu1.15", "3.0.2-0ubuntu1.16", false],
    ["<3.0.13", "3.0.2-0ubuntu1.15", true],
    [">=3.0 <3.1", "3.0.13-0ubuntu3.1", true],
    [">=3.0,<3.0.13", "3.0.13-0ubuntu3.1", false],
  ])("%s holds %s: %s", (range, version, holds) => {
    const parsed = parseVersionRange(range);
    if (typeof parsed === "string") throw new Error(parsed);
    expect(inRange(version, parsed)).toBe(holds);
  });

  it("says what a range looks like", () => {
    expect(parseVersionRange("about 3")).toMatch(/"about" is not a version or a comparison; write e\.g\./);
  });
});
