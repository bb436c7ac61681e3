// The contract between a verification check's script (the user data of a check instance launched from a
// new image) and the controller: the script prints exactly one marker line to the console before powering
// off, and the controller reads it back with GetConsoleOutput — the bake marker protocol, for checks.
import { type BakeOutcome, consoleTail } from "./bake-protocol.ts";

export const CHECK_MARKER = "LEAVEN-CHECK-RESULT";

/** The user data declares the check it runs on a line `LEAVEN_CHECK=<name>`. */
export const CHECK_ASSIGNMENT = "LEAVEN_CHECK=";

/** The checks Leaven can run on a new image. */
export const CHECKS = ["smoke"] as const;
export type CheckName = (typeof CHECKS)[number];

export interface CheckOutcome {
  check: string;
  build: string;
  result: "passed" | "failed";
  reason?: string;
  /** The last console lines before a failure marker. */
  tail?: string[];
}

export function formatCheckMarker(outcome: Omit<CheckOutcome, "tail">): string {
  const reason = outcome.reason ? ` reason=${JSON.stringify(outcome.reason)}` : "";
  return `${CHECK_MARKER} check=${outcome.check} build=${outcome.build} result=${outcome.result}${reason}`;
}

const markerPattern =
  /LEAVEN-CHECK-RESULT check=(\S+) build=(\S+) result=(passed|failed)(?: reason=("(?:[^"\\]|\\.)*"))?/g;

/** The last marker of this check and build in the console output, if any. */
export function parseCheckMarker(
  consoleOutput: string,
  check: string,
  build: string,
): CheckOutcome | undefined {
  let found: CheckOutcome | undefined;
  for (const match of consoleOutput.matchAll(markerPattern)) {
    if (match[1] !== check || match[2] !== build) continue;
    const reason = match[4] ? (JSON.parse(match[4]) as string) : undefined;
    const result = match[3] as "passed" | "failed";
    const tail = result === "failed" ? consoleTail(consoleOutput, match.index) : [];
    found = { check, build, result, ...(reason ? { reason } : {}), ...(tail.length > 0 ? { tail } : {}) };
  }
  return found;
}

/** A check's outcome in the shape the inventory keeps console outcomes in. */
export function asConsoleOutcome(outcome: CheckOutcome): BakeOutcome {
  return {
    build: outcome.build,
    result: outcome.result === "passed" ? "success" : "failure",
    ...(outcome.reason ? { reason: outcome.reason } : {}),
    ...(outcome.tail ? { tail: outcome.tail } : {}),
  };
}

export function checkFromUserData(userData: string): string | undefined {
  for (const line of userData.split("\n")) {
    const trimmed = line.trim();
    if (trimmed.startsWith(CHECK_ASSIGNMENT))
      return trimmed.slice(CHECK_ASSIGNMENT.length).replace(/^["']|["']$/g, "");
  }
  return undefined;
}
