// The smoke check end to end: the CLI against the simulator, which models check instances and their
// console verdicts (--fault smoke-fail=SPEC makes them fail).
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { channelTag, checkTags } from "../../controller/api/tags.ts";
import { runCli, scratchEstate } from "../support/cli-process.ts";
import { readWorld, type WorldImage } from "../support/sim-world.ts";

const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const fast = (dir: string) => ["--sim-state", join(dir, "sim.json"), "--sim-speed", "600"];
const inChannel = (images: WorldImage[], spec: string, channel: string) => [
  ...new Set(images.filter((i) => i.spec === spec && i.tags[channelTag(channel)]).map((i) => i.build)),
];

describe("smoke checks on the simulator", () => {
  it("keeps a build that fails its smoke check out of release, and admits it once it passes", async () => {
    const dir = scratchEstate();
    const basePath = join(dir, "specs/bases/ubuntu-base.yaml");
    writeFileSync(
      basePath,
      readFileSync(basePath, "utf8")
        .replace(
          "  channels:\n",
          '  checks:\n    smoke: { script: "systemctl is-active acme-agent", timeout: 10m }\n  channels:\n',
        )
        .replace(
          "release: { latest: true, parentIn: release }",
          "release: { latest: true, parentIn: release, requires: [smoke] }",
        ),
    );

    const failing = await runCli(["apply", "specs", "--fault", "smoke-fail=ubuntu-base", ...fast(dir)], dir);
    expect(failing.code).toBe(1);
    expect(failing.stdout).toMatch(
      /ubuntu-base: Failed — smoke check of 2\.3\.0\+[0-9a-f]{8} failed: the check script exited with status 1/,
    );
    let world = (await readWorld(join(dir, "sim.json"), REGIONS)).images;
    const [build] = inChannel(world, "ubuntu-base", "candidate");
    expect(inChannel(world, "ubuntu-base", "release")).toEqual([]);
    const smoke = checkTags("smoke");
    // Recorded on the home image (a copy still in flight then does not carry it).
    const home = (images: WorldImage[]) => images.find((i) => i.build === build && i.region === "us-east-1");
    expect(home(world)?.tags[smoke.result]).toBe("failed");
    // Nothing baked on base/release: web-frontend waits for it.
    expect(world.some((i) => i.spec === "web-frontend")).toBe(false);

    // A restart does not test again.
    const again = await runCli(["plan", "specs", "--output", "json", ...fast(dir)], dir);
    const planned = JSON.parse(again.stdout) as { actions: { kind: string }[] };
    expect(planned.actions.filter((a) => a.kind === "launch-check")).toEqual([]);

    // The fix is in (no fault); --retry tests the build again, it passes and reaches release.
    const passing = await runCli(["apply", "specs", "--retry", "ubuntu-base", ...fast(dir)], dir);
    expect(passing.code).toBe(0);
    world = (await readWorld(join(dir, "sim.json"), REGIONS)).images;
    expect(inChannel(world, "ubuntu-base", "release")).toEqual([build]);
    expect(home(world)?.tags[smoke.result]).toBe("passed");
    expect(world.some((i) => i.spec === "web-frontend" && i.tags[channelTag("release")])).toBe(true);
  });
});
