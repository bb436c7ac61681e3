// Runs before every test file (vitest.config.ts `setupFiles`).
//
// fast-check: a failing property names its seed and the command that replays it; LEAVEN_FC_SEED=<seed>
// makes every property in the run use that seed, so the same values are generated and shrunk again.
//
// Temporary folders: removes what test/support/temp-dir.ts made outside a test, after the file.
import { relative } from "node:path";
import fc from "fast-check";
import { afterAll, expect } from "vitest";
import { removeTempDirs } from "./temp-dir.ts";

const SEED_VARIABLE = "LEAVEN_FC_SEED";

function seedFromEnvironment(): number | undefined {
  const raw = process.env[SEED_VARIABLE]?.trim();
  if (!raw) return undefined;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed)) throw new Error(`${SEED_VARIABLE} must be an integer seed, not "${raw}".`);
  return seed;
}

function replayCommand(seed: number): string {
  const { testPath, currentTestName } = expect.getState();
  const file = testPath ? relative(process.cwd(), testPath) : "<test file>";
  // -t takes a pattern matched against the test's name: the innermost title, regex-escaped and quoted.
  const title = currentTestName?.split(" > ").at(-1);
  const pattern = title?.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replaceAll("'", "'\\''");
  const name = pattern ? ` -t '${pattern}'` : "";
  return `${SEED_VARIABLE}=${seed} npx vitest run ${file}${name}`;
}

const seed = seedFromEnvironment();
fc.configureGlobal({
  ...fc.readConfigureGlobal(),
  ...(seed === undefined ? {} : { seed }),
  // Replaces fast-check's default reporter (which throws its report) with one that throws the same report
  // plus how to replay it. Used for async properties too, as no asyncReporter is set.
  reporter(details) {
    if (!details.failed) return;
    const report = fc.defaultReportMessage(details) ?? `Property failed (seed ${details.seed})`;
    throw new Error(`${report}\n\nReplay with: ${replayCommand(details.seed)}`, {
      cause: details.errorInstance,
    });
  },
});

afterAll(removeTempDirs);
