// The suite Stryker runs for each mutant (npm run mutate): the tests that run in-process, against the
// modules under mutation. Tests that spawn the CLI as a child process are left out: a mutant is switched on
// inside the test process only, so a child would run the unmutated code and could not kill it.
import { defineConfig } from "vitest/config";
import base from "./vitest.config.ts";

export default defineConfig({
  test: {
    ...base.test,
    include: [
      "test/api/**/*.test.ts",
      "test/plan/**/*.test.ts",
      "test/execute/**/*.test.ts",
      "test/cloud/**/*.test.ts",
      "test/validation/**/*.test.ts",
      "test/observe/**/*.test.ts",
      "test/reconcile/**/*.test.ts",
    ],
    // The random-history property covers nearly every mutant: a few histories per mutant, not 200.
    env: { ...base.test?.env, LEAVEN_HISTORIES: "20" },
  },
});
