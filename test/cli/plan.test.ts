import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, scratchEstate } from "../support/cli-process.ts";

describe("leaven plan on the simulator", () => {
  it("renders what apply would do, where and why, and exits 2 with --detailed-exitcode", async () => {
    const dir = scratchEstate();
    const run = await runCli(
      ["plan", "specs", "--detailed-exitcode", "--sim-state", join(dir, "sim.json")],
      dir,
    );
    expect(run.code).toBe(2);
    const lines = run.stdout.split("\n");
    expect(lines[0]).toBe("Leaven will perform the following actions:");
    expect(run.stdout).toMatch(
      /^ {2}# ubuntu-base\n {2}\+ bake {9}us-east-1 {6}2\.3\.0\+[0-9a-f]{8} on ami-[0-9a-f]{17} \(t3\.medium\)\n {6}because no image of build 2\.3\.0\+[0-9a-f]{8} exists \(recipe [0-9a-f]{8} on ubuntu-jammy\/release = ubuntu\/images\/hvm-ssd\/ubuntu-jammy-22\.04-amd64-server-\d{8}\)$/m,
    );
    expect(run.stdout).toContain("Plan: 2 to bake.");
    expect(run.stdout).toMatch(
      /^ {2}order-worker {9}Waiting {3}waiting for ubuntu-base\/release: no ready build yet/m,
    );
    expect(run.stderr).toContain("embedded EC2 simulator");
  });

  it("prints the plan as JSON without the user data", async () => {
    const dir = scratchEstate();
    const run = await runCli(
      ["plan", "specs", "--output", "json", "--sim-state", join(dir, "sim.json")],
      dir,
    );
    expect(run.code).toBe(0);
    const plan = JSON.parse(run.stdout) as { actions: Record<string, unknown>[]; summary: string };
    expect(plan.summary).toBe("2 to bake");
    expect(plan.actions.map((a) => [a.kind, a.spec, a.region])).toEqual([
      ["launch-bake", "al2023-base", "us-east-1"],
      ["launch-bake", "ubuntu-base", "us-east-1"],
    ]);
    expect(plan.actions[0]).toMatchObject({ launch: { userData: expect.stringMatching(/^\(\d+ bytes\)$/) } });
  });

  it("rejects an unknown output format with the exact message", async () => {
    const dir = scratchEstate();
    const run = await runCli(["plan", "specs", "--output", "yaml"], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toBe('leaven plan: --output must be text or json, not "yaml".\n');
  });
});
