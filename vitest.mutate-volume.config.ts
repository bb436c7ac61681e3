// A focused suite for mutating the volume bake's planner (plan/volume-bake.ts, volume-pool.ts, bakery.ts):
// the pure planner tables and the volume bake's reconcile tests, without the random histories that make
// each mutant of these modules take minutes under the whole in-process suite.
import { defineConfig } from "vitest/config";
import base from "./vitest.config.ts";

export default defineConfig({
  test: {
    ...base.test,
    include: ["test/plan/**/*.test.ts", "test/execute/**/*.test.ts"],
  },
});
