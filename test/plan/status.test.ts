import { describe, expect, it } from "vitest";
import { isProgressing, type Phase } from "../../controller/plan/status.ts";

describe("isProgressing: the phases in which the world changes without the user", () => {
  it.each<[Phase, boolean]>([
    ["Baking", true],
    ["Copying", true],
    ["Verifying", true],
    ["Promoting", true],
    ["Ready", false],
    ["Waiting", false],
    ["Stalled", false],
    ["Failed", false],
    ["Suspended", false],
    ["Blocked", false],
  ])("%s: %s", (phase, expected) => {
    expect(isProgressing(phase)).toBe(expected);
  });
});
