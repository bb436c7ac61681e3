// `leaven plan examples` on an 80-column terminal: every line of the plan fits (long reasons wrap at words
// under their column); piped, each action and reason stays one line, for grep.
import { describe, expect, it } from "vitest";
import { runCli } from "../../controller/cli/run-cli.ts";
import { scratchEstate } from "../support/cli-process.ts";
import { sink } from "../support/in-process-cli.ts";
import { Terminal } from "../support/terminal.ts";

describe("plan on an 80-column terminal", () => {
  it("fits every line, the cloud named at the end of the last", async () => {
    const dir = scratchEstate();
    const terminal = new Terminal(80, 200);
    const stderr = sink();
    const code = await runCli(["plan", "specs"], {
      stdout: terminal.stream(),
      stderr: stderr.stream,
      cwd: dir,
      env: {},
    });
    expect(code, stderr.text()).toBe(0);
    const rows = terminal.text();
    for (const row of rows) expect(row.length, row).toBeLessThan(80);
    expect(rows.at(-1)).toBe("Plan: 2 to bake, 10 to publish; on the embedded simulator — not AWS.");
    const at = rows.findIndex((row) => row.startsWith("  + bake         us-east-1      1.8.1+"));
    expect(rows.slice(at, at + 4)).toEqual([
      expect.stringMatching(/^ {2}\+ bake {9}us-east-1 {6}1\.8\.1\+[0-9a-f]{8} on ami-[0-9a-f]{17}$/),
      "                                (t3.medium)",
      expect.stringMatching(
        /^ {6}because no image of build 1\.8\.1\+[0-9a-f]{8} exists \(recipe [0-9a-f]{8} on$/,
      ),
      // The simulator dates its vendor images back from the day it starts.
      expect.stringMatching(/^ {8}al2023\/release = al2023-ami-2023\.6\.\d{8}\.0-kernel-6\.1-x86_64\)$/),
    ]);
  });

  it("keeps each line whole when piped", async () => {
    const dir = scratchEstate();
    const stdout = sink();
    expect(
      await runCli(["plan", "specs"], { stdout: stdout.stream, stderr: sink().stream, cwd: dir, env: {} }),
    ).toBe(0);
    expect(stdout.text()).toMatch(
      /^ {6}because no image of build 1\.8\.1\+[0-9a-f]{8} exists \(recipe [0-9a-f]{8} on al2023\/release = al2023-ami-2023\.6\.\d{8}\.0-kernel-6\.1-x86_64\)$/m,
    );
  });
});
