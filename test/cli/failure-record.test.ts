// A failed bake outlives its instance: after EC2 has forgotten the terminated bake instance (an hour
// after termination), plan still reports the build Failed with its reason, from the failure record (a
// launch template), and bakes nothing; apply --retry bakes it again and deletes the record.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DescribeLaunchTemplatesCommand, EC2Client, type LaunchTemplate } from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import { startSimulator } from "../../controller/sim/server.ts";
import { runCli, scratchEstate } from "../support/cli-process.ts";
import { readWorld } from "../support/sim-world.ts";

const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const HOUR = 60 * 60_000;

/** Leaven's failure records in a simulator state file, read back through the simulator and the SDK. */
async function failureRecords(statePath: string): Promise<LaunchTemplate[]> {
  const sim = await startSimulator({ statePath, speed: 1, throttle: false });
  const found: LaunchTemplate[] = [];
  try {
    for (const region of REGIONS) {
      const client = new EC2Client({
        region,
        endpoint: sim.endpoint,
        credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test" },
      });
      try {
        const out = await client.send(
          new DescribeLaunchTemplatesCommand({
            Filters: [{ Name: `tag:${Tag.role}`, Values: ["failure"] }],
          }),
        );
        found.push(...(out.LaunchTemplates ?? []));
      } finally {
        client.destroy();
      }
    }
  } finally {
    await sim.close();
  }
  return found;
}

/** Moves the simulated world's clock forward: a restarted simulator resumes from the time in its state. */
function advance(statePath: string, ms: number): void {
  const state = JSON.parse(readFileSync(statePath, "utf8")) as { clockNow: number };
  state.clockNow += ms;
  writeFileSync(statePath, JSON.stringify(state));
}

const tagOf = (template: LaunchTemplate, key: string) => template.Tags?.find((t) => t.Key === key)?.Value;

describe("a failed build's record", () => {
  it("keeps the build Failed after its instance is gone, until apply --retry bakes it again", async () => {
    const dir = scratchEstate();
    const statePath = join(dir, "sim.json");
    const sim = ["--sim-state", statePath, "--sim-speed", "600"];
    const failed = await runCli(["apply", "specs", ...sim, "--fault", "bake-fail=ledger"], dir);
    expect(failed.code, failed.stdout).toBe(1);

    const [record, ...others] = await failureRecords(statePath);
    expect(others).toEqual([]);
    const build = tagOf(record!, Tag.build)!;
    expect(build).toMatch(/^2\.0\.3\+[0-9a-f]{8}$/);
    expect(record!.LaunchTemplateName).toBe(`leaven-failed-ledger-${build.replace("+", "_")}`);
    const reason = "bake script failed: provision script exited with status 1";
    expect(tagOf(record!, Tag.bakeReason)).toBe(reason);
    expect(tagOf(record!, Tag.spec)).toBe("ledger");
    expect(tagOf(record!, "leaven.dev/console/01")).toBeDefined();

    // Two hours later EC2 no longer lists the terminated bake instance.
    advance(statePath, 2 * HOUR);
    const plan = await runCli(["plan", "specs", "--sim-state", statePath], dir);
    expect(plan.code, plan.stdout).toBe(1);
    expect(plan.stdout).toMatch(
      new RegExp(`^ {2}ledger +Failed +build ${build.replace("+", "\\+")} failed: ${reason}`, "m"),
    );
    expect(plan.stdout).not.toMatch(/^ {2}\+ bake/m);
    expect(plan.stdout.trimEnd().split("\n").at(-1)).toBe(
      "1 spec failed: ledger; on the embedded simulator — not AWS.",
    );
    const world = await readWorld(statePath, REGIONS);
    expect(world.instances.filter((i) => i.spec === "ledger")).toEqual([]);

    const json = await runCli(["plan", "specs", "--sim-state", statePath, "--output", "json"], dir);
    const statuses = (JSON.parse(json.stdout) as { statuses: { name: string; failure?: unknown }[] })
      .statuses;
    expect(statuses.find((s) => s.name === "ledger")?.failure).toEqual({
      build,
      reason,
      console: expect.arrayContaining([`cloud-init[731]: leaven: baking build ${build}`]),
    });

    const retried = await runCli(["apply", "specs", ...sim, "--retry", "ledger"], dir);
    expect(retried.code, retried.stdout).toBe(0);
    expect(retried.stdout.trimEnd().split("\n").at(-1)).toBe(
      "The images match the specs; on the embedded simulator — not AWS.",
    );
    expect(await failureRecords(statePath)).toEqual([]);
  }, 180_000);
});
