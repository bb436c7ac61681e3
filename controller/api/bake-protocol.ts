// The contract between the bake script (user data) and the controller: the script prints exactly one of
// these lines to the console before powering off; the controller reads it back with GetConsoleOutput.
// The simulator honours the same contract, so a bake's outcome is observed exactly as on AWS.

export const BAKE_MARKER = "LEAVEN-BAKE-RESULT";

/** The user data declares its build id on a line `LEAVEN_BUILD_ID=<id>` so the console marker can carry it. */
export const BUILD_ID_ASSIGNMENT = "LEAVEN_BUILD_ID=";

export interface BakeOutcome {
  build: string;
  result: "success" | "failure";
  reason?: string;
  /** The last console lines before the marker: what the failure looked like. */
  tail?: string[];
}

/** How many console lines before a failure marker are kept for the status. */
export const CONSOLE_TAIL_LINES = 10;

/** The last non-empty console lines before `end` (a failure marker's offset): what the failure looked like. */
export function consoleTail(consoleOutput: string, end: number): string[] {
  return consoleOutput
    .slice(0, end)
    .split(/\r?\n/)
    .map((line) => line.trimEnd())
    .filter((line) => line.length > 0)
    .slice(-CONSOLE_TAIL_LINES);
}

export function formatBakeMarker(outcome: BakeOutcome): string {
  const reason = outcome.reason ? ` reason=${JSON.stringify(outcome.reason)}` : "";
  return `${BAKE_MARKER} build=${outcome.build} result=${outcome.result}${reason}`;
}

const markerPattern =
  /LEAVEN-BAKE-RESULT build=(\S+) result=(success|failure)(?: reason=("(?:[^"\\]|\\.)*"))?/g;

/** The last marker in the console output for the given build, if any (earlier bakes may share a console). */
export function parseBakeMarker(consoleOutput: string, build: string): BakeOutcome | undefined {
  let found: BakeOutcome | undefined;
  for (const match of consoleOutput.matchAll(markerPattern)) {
    if (match[1] !== build) continue;
    const reason = match[3] ? (JSON.parse(match[3]) as string) : undefined;
    const result = match[2] as "success" | "failure";
    const tail = result === "failure" ? consoleTail(consoleOutput, match.index) : [];
    found = { build, result, ...(reason ? { reason } : {}), ...(tail.length > 0 ? { tail } : {}) };
  }
  return found;
}

export function buildIdFromUserData(userData: string): string | undefined {
  for (const line of userData.split("\n")) {
    const trimmed = line.trim();
    if (trimmed.startsWith(BUILD_ID_ASSIGNMENT)) {
      return trimmed.slice(BUILD_ID_ASSIGNMENT.length).replace(/^["']|["']$/g, "");
    }
  }
  return undefined;
}
