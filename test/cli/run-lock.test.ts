// `leaven run` and the installation's lock: it holds the lock for its lifetime, a second controller waits,
// and when its lock is taken over it stops acting and exits 1, leaving the other holder's lock alone.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { lockId } from "../../controller/lease/aws-lock.ts";
import { startSimulator } from "../../controller/sim/server.ts";
import { scratchEstate, startCli } from "../support/cli-process.ts";
import { converged, startRun } from "../support/run-process.ts";

const LOCKS = "123456789012/us-east-1/leaven-locks";

describe("leaven run holds the installation's lock", () => {
  it("makes a second controller wait; exits 1 when the lock is taken over", async () => {
    const dir = scratchEstate();
    const sim = await startSimulator({ speed: 600, statePath: join(dir, "sim.json") });
    try {
      const run = await startRun(dir, sim, ["--resync", "1h"]);
      await run.waitStatus(converged, 55_000);
      expect((await fetch(`${run.url}/readyz`)).status).toBe(200);
      const other = startCli(["apply", "specs", "--sim-endpoint", sim.endpoint, "--lock-timeout", "0s"], dir);
      const refused = await other.done;
      expect(refused.code).toBe(1);
      expect(refused.stderr).toMatch(/held by run on host \S+ pid \d+/);

      const table = sim.world.dynamoTables.get(LOCKS)!;
      const key = `S:${lockId("default")}`;
      table.items[key] = {
        ...table.items[key]!,
        Token: { S: "thief" },
        Host: { S: "elsewhere" },
        Pid: { N: "99" },
        ExpiresAt: { N: String(sim.clock.now() + 86_400_000) },
      };
      const ended = await run.child.done;
      expect(ended.code).toBe(1);
      expect(ended.stdout).toContain(
        '"msg":"lost the installation\'s lock: stopping; nothing more is changed"',
      );
      expect(ended.stderr).toMatch(/leaven run: stopped: the lock of installation default was taken over/);
      expect(table.items[key]?.Token).toEqual({ S: "thief" });
    } finally {
      await sim.close();
    }
  });
});
