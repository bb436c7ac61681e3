// The cloud banner on an 80-column terminal: each line wrapped at words in the banner's indent, not cut by
// the terminal mid-word or mid-path; piped, one line per fact as before.
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli } from "../../controller/cli/run-cli.ts";
import { scratchEstate } from "../support/cli-process.ts";
import { sink } from "../support/in-process-cli.ts";
import { Terminal } from "../support/terminal.ts";

describe("the simulator's banner", () => {
  it("wraps at words within 80 columns on a terminal", async () => {
    const dir = scratchEstate();
    const terminal = new Terminal(80, 30);
    const stdout = sink();
    const code = await runCli(["plan", "specs"], {
      stdout: stdout.stream,
      stderr: terminal.stream(),
      cwd: dir,
      env: {},
    });
    expect(code).toBe(0);
    const rows = terminal.text();
    for (const row of rows) expect(row.length, row).toBeLessThan(80);
    const text = rows.join("\n").replace(/127\.0\.0\.1:\d+/, "127.0.0.1:PORT");
    const state = join(dir, "specs/.leaven/sim-state.json");
    // The state path is one word: it moves to the next line whole when it fits there.
    expect(text).toBe(
      [
        ...(`Cloud: embedded EC2 simulator at http://127.0.0.1:PORT — not AWS. State: ${state}.`.length < 80
          ? [`Cloud: embedded EC2 simulator at http://127.0.0.1:PORT — not AWS. State: ${state}.`]
          : ["Cloud: embedded EC2 simulator at http://127.0.0.1:PORT — not AWS. State:", `       ${state}.`]),
        "       Its clock runs 60x faster than AWS's (a 5-minute bake takes 5 s);",
        "       --cloud aws targets AWS.",
        "       Awkward like EC2: consoles posted late, new ids visible after a while,",
        "       tokens that expire, EBS encrypted by default; --no-sim-awkward for a",
        "       kinder one.",
      ].join("\n"),
    );
  });

  it("stays one line per fact when piped", async () => {
    const dir = scratchEstate();
    const stderr = sink();
    const stdout = sink();
    expect(
      await runCli(["plan", "specs"], { stdout: stdout.stream, stderr: stderr.stream, cwd: dir, env: {} }),
    ).toBe(0);
    expect(stderr.text().split("\n")[1]).toBe(
      "       Its clock runs 60x faster than AWS's (a 5-minute bake takes 5 s); --cloud aws targets AWS.",
    );
  });
});
