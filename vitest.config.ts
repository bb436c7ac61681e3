import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    // fast-check seeds (LEAVEN_FC_SEED) and removal of temporary folders; see the file.
    setupFiles: ["test/support/vitest-setup.ts"],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    pool: "forks",
  },
});
