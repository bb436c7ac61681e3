import { describe, expect, it } from "vitest";
import { INSTALLATION_PATTERN, installationProblem } from "../../controller/api/installation.ts";

describe("installation names", () => {
  it.each(["default", "payments", "a", "team-7", "a".repeat(63)])("accepts %s", (name) => {
    expect(installationProblem(name)).toBeUndefined();
    expect(INSTALLATION_PATTERN.test(name)).toBe(true);
  });

  it.each([
    ["", "it is empty"],
    ["a".repeat(64), "it is 64 characters long"],
    ["Payments", "it has uppercase letters"],
    ["-payments", "it starts or ends with a hyphen"],
    ["payments-", "it starts or ends with a hyphen"],
    ["pay_ments", "it has characters other than lowercase letters, digits and hyphens"],
    ["pay ments", "it has characters other than lowercase letters, digits and hyphens"],
  ])("refuses %j: %s", (name, why) => {
    expect(installationProblem(name)).toBe(
      `"${name}" is not a valid installation name (${why}): use 1 to 63 lowercase letters, digits and hyphens, starting and ending with a letter or digit — it is recorded in the leaven.dev/installation tag`,
    );
  });

  it("refuses what is not a string", () => {
    expect(installationProblem(7)).toBe("expected a string, not number");
    expect(installationProblem(null)).toBe("expected a string, not null");
  });
});
