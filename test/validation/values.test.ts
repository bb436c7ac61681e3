import { describe, expect, it } from "vitest";
import { isBuildId, parseBuildId } from "../../controller/validation/build-id.ts";
import { parseDuration } from "../../controller/validation/durations.ts";
import { AWS_REGIONS, closestRegion, isAwsRegion } from "../../controller/validation/regions.ts";

describe("parseDuration", () => {
  it.each([
    ["30s", 30_000],
    ["30m", 1_800_000],
    ["12h", 43_200_000],
    ["7d", 604_800_000],
    ["2w", 1_209_600_000],
    ["0m", 0],
  ])("%s is %d ms", (text, ms) => expect(parseDuration(text)).toBe(ms));

  it.each(["7 days", "1.5h", "-1d", "", "10y", "d"])("rejects %j", (text) => {
    expect(() => parseDuration(text)).toThrow(
      `"${text}" is not a duration (expected a whole number followed by s, m, h, d or w, e.g. 30m, 7d)`,
    );
  });
});

describe("build ids", () => {
  it.each([
    ["2.3.0+5f2c91ab", { version: "2.3.0", hash: "5f2c91ab" }],
    ["1.0.0-rc.1+00000000", { version: "1.0.0-rc.1", hash: "00000000" }],
    ["2.3+5f2c91ab", undefined],
    ["v2.3.0+5f2c91ab", undefined],
    ["2.3.0+5F2C91AB", undefined],
    ["2.3.0+5f2c91a", undefined],
    ["2.3.0", undefined],
  ])("%s → %j", (text, parsed) => {
    expect(parseBuildId(text)).toEqual(parsed);
    expect(isBuildId(text)).toBe(parsed !== undefined);
  });
});

describe("regions", () => {
  it("knows the common regions and suggests the closest", () => {
    expect(AWS_REGIONS).toContain("ap-southeast-2");
    expect(isAwsRegion("eu-west-1")).toBe(true);
    expect(isAwsRegion("eu-west-9")).toBe(false);
    expect(closestRegion("us-est-1")).toBe("us-east-1");
    expect(closestRegion("eu-wets-1")).toBe("eu-west-1");
  });
});
