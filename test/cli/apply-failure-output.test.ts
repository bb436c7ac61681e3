// A failed action on a terminal is said once, by the live view (stamped, above its block), not again by
// the log line the reconciler writes for it.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../controller/cli/run-cli.ts";
import { scratchEstate } from "../support/cli-process.ts";
import { Terminal } from "../support/terminal.ts";

describe("apply on a terminal with failing actions", () => {
  it("says each failure once", async () => {
    const dir = scratchEstate();
    // An Arm instance type for an x86_64 image: EC2 refuses the launch, the same way every pass.
    const base = join(dir, "specs/bases/al2023-base.yaml");
    writeFileSync(
      base,
      readFileSync(base, "utf8").replace("instanceType: t3.medium", "instanceType: t4g.medium"),
    );
    const terminal = new Terminal(80, 60);
    const stream = terminal.stream();
    const code = await runCli(
      [
        "apply",
        "specs",
        "--once",
        "--sim-state",
        join(dir, "sim.json"),
        "--sim-speed",
        "600",
        "--no-sim-awkward",
      ],
      { stdout: stream, stderr: stream, cwd: dir, env: {} },
    );
    const shown = terminal.text().join("\n");
    const failures = terminal.text().filter((row) => row.includes("failed"));
    expect(failures, shown).toEqual([
      expect.stringMatching(/^t\+\S+ +launch-bake of al2023-base 1\.8\.1\+[0-9a-f]{8} in us-east-1 failed:$/),
    ]);
    expect(shown).not.toMatch(/^error: /m);
  });
});
