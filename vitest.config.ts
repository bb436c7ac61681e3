import { availableParallelism } from "node:os";
import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // fast-check seeds (LEAVEN_FC_SEED) and removal of temporary folders; see the file.
    setupFiles: ["test/support/vitest-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
    // Vitest leaves a core to itself by default: on a 2-core machine that ran the files one at a time
    // (~600 s). Many tests wait on child processes, servers and apt rather than compute: two at once ~315 s.
    maxWorkers: Math.max(2, availableParallelism() - 1),
  },
});
