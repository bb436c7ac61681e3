// Renders a verification check's user data: cloud-init runs it once on a check instance launched from a
// new image. It runs the spec's check script as its own bash process, prints the check marker
// (check-protocol.ts) — passed on exit 0, failed with the exit status otherwise — and powers off, so the
// controller reads the verdict back with GetConsoleOutput. Paths are prefixed with $LEAVEN_ROOT (empty on
// a real instance) so tests can run the exact bytes in a sandbox.
import { CHECK_ASSIGNMENT, formatCheckMarker } from "../api/check-protocol.ts";
import { heredocDelimiter, shellQuote, USER_DATA_LIMIT_BYTES, UserDataError } from "./user-data.ts";

export interface CheckUserDataInput {
  check: string;
  buildId: string;
  spec: string;
  script: string;
}

/** The check script for one build. Same input, same bytes. */
export function renderCheckUserData(input: CheckUserDataInput): string {
  const sentinel = "LEAVEN_REASON_SENTINEL";
  const failure = formatCheckMarker({
    check: input.check,
    build: input.buildId,
    result: "failed",
    reason: sentinel,
  });
  const [failurePrefix, failureSuffix] = failure.split(sentinel) as [string, string];
  const passed = formatCheckMarker({ check: input.check, build: input.buildId, result: "passed" });
  const delimiter = heredocDelimiter(input.script);
  const lines = [
    "#!/bin/bash",
    `# Leaven ${input.check} check, rendered from the ImageSpec; cloud-init runs it once on the check instance.`,
    `${CHECK_ASSIGNMENT}${shellQuote(input.check)}`,
    `LEAVEN_CHECK_BUILD=${shellQuote(input.buildId)}`,
    `LEAVEN_SPEC=${shellQuote(input.spec)}`,
    'LEAVEN_ROOT="${LEAVEN_ROOT:-}"',
    "export LEAVEN_CHECK LEAVEN_CHECK_BUILD LEAVEN_SPEC",
    "",
    "leaven_report() {",
    "  printf '%s\\n' \"$1\"",
    '  { printf \'%s\\n\' "$1" >"$LEAVEN_ROOT/dev/console"; } 2>/dev/null || true',
    "}",
    "",
    'leaven_check="$LEAVEN_ROOT/run/leaven/check.sh"',
    'mkdir -p "$(dirname "$leaven_check")"',
    `cat >"$leaven_check" <<'${delimiter}'`,
    input.script.endsWith("\n") ? input.script.slice(0, -1) : input.script,
    delimiter,
    "# The check's exit status is its verdict; the instance powers off either way.",
    'bash "$leaven_check" </dev/null',
    "leaven_status=$?",
    'if [ "$leaven_status" -eq 0 ]; then',
    `  leaven_report ${shellQuote(passed)}`,
    "else",
    `  leaven_report ${shellQuote(failurePrefix)}"the check script exited with status $leaven_status"${shellQuote(failureSuffix)}`,
    "fi",
    "sync",
    "shutdown -h now || poweroff",
    "",
  ];
  const script = lines.join("\n");
  const bytes = Buffer.byteLength(script, "utf8");
  if (bytes > USER_DATA_LIMIT_BYTES) {
    throw new UserDataError(
      `spec ${JSON.stringify(input.spec)}: the ${input.check} check script is ${bytes} bytes, over EC2's ${USER_DATA_LIMIT_BYTES}-byte user-data limit`,
    );
  }
  return script;
}
