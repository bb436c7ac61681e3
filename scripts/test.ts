// `npm test`: the typecheck, the lint and the vitest suite, in turn; a failing step does not stop the
// next. Ends with one plain line, "N passed, N failed, N skipped", counting vitest's tests plus the
// typecheck and the lint as one check each, and exits 1 when anything failed.
//
// Arguments go to vitest: `npm test -- test/cli` runs the typecheck, the lint and that folder.
// Under CI (the CI variable set, and not "false" or "0"), a skipped test counts as failed unless
// ALLOWED_SKIPS below names it: CI must not pass by silently not running a test, e.g. for lack of a tool.
// LEAVEN_TEST_SUMMARY=<file> also writes the summary line to that file (.ci/run reads it).
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

/** Tests that may be skipped under CI, with why. Matched against "<file> > <describe> <test>". */
const ALLOWED_SKIPS: { test: RegExp; reason: string }[] = [
  {
    test: /^test\/cli\/node-check\.test\.ts > .* under the system Node/,
    reason:
      "needs a Node older than 22.22 at /usr/bin/node; the same check also runs under a simulated old version",
  },
];

const root = fileURLToPath(new URL("..", import.meta.url));
const ciValue = (process.env.CI ?? "").trim().toLowerCase();
const ci = ciValue !== "" && ciValue !== "false" && ciValue !== "0";

interface Counts {
  passed: number;
  failed: number;
  skipped: number;
}
const total: Counts = { passed: 0, failed: 0, skipped: 0 };
const report: string[] = [];

/** Runs a command with the terminal as its output; returns its exit status (1 when it could not start). */
function run(command: string, args: string[]): number {
  const result = spawnSync(command, args, { cwd: root, stdio: "inherit" });
  if (result.error) console.error(`test: could not run ${command}: ${result.error.message}`);
  return result.status ?? 1;
}

// npm sets npm_execpath when it runs this script; `node scripts/test.ts` falls back to npm on PATH.
function npmRun(script: string): number {
  const npm = process.env.npm_execpath;
  return npm ? run(process.execPath, [npm, "run", script]) : run("npm", ["run", script]);
}

function check(name: string, status: number): void {
  if (status === 0) total.passed += 1;
  else total.failed += 1;
  report.push(`${name}: ${status === 0 ? "passed" : `failed (exit ${status})`}`);
}

check("typecheck", npmRun("typecheck"));
check("lint", npmRun("lint"));

// ---- vitest, with a JSON report beside its usual output ----------------------------------------------

interface VitestReport {
  testResults: {
    name: string;
    status: string;
    message: string;
    assertionResults: { fullName: string; status: string }[];
  }[];
}

const scratch = mkdtempSync(join(tmpdir(), "leaven-npm-test-"));
try {
  const jsonPath = join(scratch, "vitest.json");
  const status = run(process.execPath, [
    join(root, "node_modules/vitest/vitest.mjs"),
    "run",
    "--reporter=default",
    "--reporter=json",
    `--outputFile.json=${jsonPath}`,
    ...process.argv.slice(2),
  ]);
  let parsed: VitestReport | undefined;
  try {
    parsed = JSON.parse(readFileSync(jsonPath, "utf8")) as VitestReport;
  } catch (error) {
    report.push(`vitest: exit ${status}, no JSON report (${(error as Error).message}); counted as 1 failed`);
    total.failed += 1;
  }
  if (parsed) {
    const vitest: Counts = { passed: 0, failed: 0, skipped: 0 };
    const unexpectedSkips: string[] = [];
    const brokenFiles: string[] = [];
    for (const file of parsed.testResults) {
      const path = relative(root, file.name);
      const failedBefore = vitest.failed;
      for (const test of file.assertionResults) {
        if (test.status === "passed") vitest.passed += 1;
        else if (test.status === "failed") vitest.failed += 1;
        else {
          const id = `${path} > ${test.fullName}`;
          if (ci && !ALLOWED_SKIPS.some((allowed) => allowed.test.test(id))) {
            unexpectedSkips.push(id);
            vitest.failed += 1;
          } else vitest.skipped += 1;
        }
      }
      // A file that failed with no failing test (an import error, a failing hook) is one failure.
      if (file.status === "failed" && vitest.failed === failedBefore) {
        brokenFiles.push(`${path}: ${file.message.split("\n")[0]}`);
        vitest.failed += 1;
      }
    }
    // Vitest failing for a reason the report does not show (an unhandled error) is one failure.
    if (status !== 0 && vitest.failed === 0) {
      report.push(`vitest: exit ${status} with no failing test in its report; counted as 1 failed`);
      vitest.failed += 1;
    }
    report.push(`vitest: ${vitest.passed} passed, ${vitest.failed} failed, ${vitest.skipped} skipped`);
    if (brokenFiles.length > 0)
      report.push("test files that failed outside a test:", ...brokenFiles.map((f) => `  ${f}`));
    if (unexpectedSkips.length > 0)
      report.push(
        "skipped under CI and not in ALLOWED_SKIPS (scripts/test.ts), counted as failed:",
        ...unexpectedSkips.map((id) => `  ${id}`),
      );
    total.passed += vitest.passed;
    total.failed += vitest.failed;
    total.skipped += vitest.skipped;
  }
} finally {
  rmSync(scratch, { recursive: true, force: true });
}

const summary = `${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped`;
if (process.env.LEAVEN_TEST_SUMMARY) writeFileSync(process.env.LEAVEN_TEST_SUMMARY, `${summary}\n`);
console.log(`\n${report.join("\n")}\n${summary}`);
process.exitCode = total.failed > 0 ? 1 : 0;
