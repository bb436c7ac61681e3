// Deleted specs end to end: the CLI against the simulator. A spec file removed from the sources leaves
// orphans that plan and status report; they are retired only when the spec said `onDelete: retire`.
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { runCli, scratchEstate } from "../support/cli-process.ts";
import { readWorld } from "../support/sim-world.ts";

const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const fast = (dir: string) => ["--sim-state", join(dir, "sim.json"), "--sim-speed", "600"];
const ledgerPath = (dir: string) => join(dir, "specs/apps/ledger.yaml");

describe("deleted specs on the simulator", () => {
  it("reports the images of a deleted spec as orphans in plan and status, and keeps them", async () => {
    const dir = scratchEstate();
    expect((await runCli(["apply", "specs", ...fast(dir)], dir)).code).toBe(0);
    rmSync(ledgerPath(dir));

    const orphans =
      /Orphans \(images of specs no longer in the sources\):\n {2}ledger 2\.0\.3\+[0-9a-f]{8} in eu-west-1, us-east-1, \d+m old, unused: retained \(onDelete: retain\)\n/;
    expect((await runCli(["plan", "specs", ...fast(dir)], dir)).stdout).toMatch(orphans);
    // Apply does what else a deleted spec asks (its SSM pointers go) and keeps the images.
    expect((await runCli(["apply", "specs", ...fast(dir)], dir)).code).toBe(0);
    const plan = await runCli(["plan", "specs", ...fast(dir)], dir);
    expect(plan.stdout).toMatch(
      new RegExp(
        `^${orphans.source}\nNo changes\\. The images match the specs; on the embedded simulator — not AWS\\.\n$`,
      ),
    );
    expect(plan.code).toBe(0);
    const status = await runCli(["status", "specs", ...fast(dir)], dir);
    expect(status.stdout).toMatch(
      /\nOrphans \(images of specs no longer in the sources\):\n {2}ledger 2\.0\.3\+[0-9a-f]{8} in eu-west-1, us-east-1, \d+m old, unused: retained \(onDelete: retain\)\n$/,
    );

    const ledger = (await readWorld(join(dir, "sim.json"), REGIONS)).images.filter(
      (i) => i.spec === "ledger",
    );
    expect(ledger.map((i) => `${i.region} ${i.state}`).sort()).toEqual([
      "eu-west-1 available",
      "us-east-1 available",
    ]);
  });

  it("retires them on their recorded schedule when the spec said onDelete: retire", async () => {
    const dir = scratchEstate();
    writeFileSync(
      ledgerPath(dir),
      readFileSync(ledgerPath(dir), "utf8").replace(
        "  channels:\n",
        "  retention: { onDelete: retire, deregisterAfter: 1s }\n  channels:\n",
      ),
    );
    expect((await runCli(["apply", "specs", ...fast(dir)], dir)).code).toBe(0);
    const before = (await readWorld(join(dir, "sim.json"), REGIONS)).images.filter(
      (i) => i.spec === "ledger",
    );
    expect(before.map((i) => i.tags["leaven.dev/on-delete"])).toEqual(["retire", "retire"]);
    rmSync(ledgerPath(dir));

    const plan = await runCli(["plan", "specs", ...fast(dir)], dir);
    expect(plan.stdout).toContain("retired on its schedule (onDelete: retire)");
    expect(plan.stdout).toMatch(
      /~ tag {10}us-east-1 {6}ami-[0-9a-f]{17} \(2\.0\.3\+[0-9a-f]{8}\) \+leaven\.dev\/unused-since\n {6}because spec ledger was deleted \(onDelete: retire\): its retirement clock starts\n/,
    );

    const applied = await runCli(["apply", "specs", ...fast(dir)], dir);
    expect(applied.code).toBe(0);
    const world = await readWorld(join(dir, "sim.json"), REGIONS);
    expect(world.images.filter((i) => i.spec === "ledger")).toEqual([]);
    // Everything else is as it was: only the orphans went.
    expect(world.images.filter((i) => i.spec === "payments").length).toBeGreaterThan(0);
  });
});
