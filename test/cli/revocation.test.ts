// Revocation end to end: the CLI against the simulator, checked in the world a user would see.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { channelTag, Tag } from "../../controller/api/tags.ts";
import { runCli, scratchEstate } from "../support/cli-process.ts";
import { readWorld, type WorldImage } from "../support/sim-world.ts";

const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"];
const fast = (dir: string) => ["--sim-state", join(dir, "sim.json"), "--sim-speed", "600"];

const inChannel = (images: WorldImage[], spec: string, channel: string) => [
  ...new Set(images.filter((i) => i.spec === spec && i.tags[channelTag(channel)]).map((i) => i.build)),
];

describe("revocation on the simulator", () => {
  it("moves every channel off a revoked base, rebakes what was baked on it, and disables it once unused", async () => {
    const dir = scratchEstate();
    expect((await runCli(["apply", "specs", ...fast(dir)], dir)).code).toBe(0);
    const before = (await readWorld(join(dir, "sim.json"), REGIONS)).images;
    const [revoked] = inChannel(before, "ubuntu-base", "release");
    expect(revoked).toMatch(/^2\.3\.0\+[0-9a-f]{8}$/);
    const children = ["api-server", "web-frontend", "order-worker"];
    const childBuildsBefore = new Map(children.map((c) => [c, inChannel(before, c, "release")[0]!]));

    // Revoke the base's only build, and bump its version so there is a good one to move to.
    const basePath = join(dir, "specs/bases/ubuntu-base.yaml");
    writeFileSync(
      basePath,
      readFileSync(basePath, "utf8")
        .replace("version: 2.3.0", "version: 2.3.1")
        .replace(
          "  channels:\n",
          `  revoked:\n    - { build: "${revoked}", reason: "CVE-2026-1234 in openssl" }\n  channels:\n`,
        ),
    );
    const plan = await runCli(["plan", "specs", "--output", "json", ...fast(dir)], dir);
    const planned = JSON.parse(plan.stdout) as { actions: { kind: string; spec: string; reason: string }[] };
    expect(planned.actions.filter((a) => a.spec === "ubuntu-base").map((a) => a.kind)).toEqual(
      expect.arrayContaining(["launch-bake", "remove-tags", "set-tags"]),
    );

    const applied = await runCli(["apply", "specs", ...fast(dir)], dir);
    expect(applied.code).toBe(0);
    const after = (await readWorld(join(dir, "sim.json"), REGIONS)).images;
    const [good] = inChannel(after, "ubuntu-base", "release");
    expect(good).toMatch(/^2\.3\.1\+[0-9a-f]{8}$/);
    expect(inChannel(after, "ubuntu-base", "candidate")).toEqual([good]);

    // The revoked build: out of every channel, tagged with the reason, disabled in every region.
    const revokedImages = after.filter((i) => i.spec === "ubuntu-base" && i.build === revoked);
    expect(revokedImages.map((i) => [i.region, i.state, i.tags[Tag.revoked]]).sort()).toEqual(
      ["eu-west-1", "us-east-1"].map((r) => [r, "disabled", "CVE-2026-1234 in openssl"]),
    );
    expect(
      revokedImages.every((i) => !Object.keys(i.tags).some((k) => k.startsWith("leaven.dev/channel/"))),
    ).toBe(true);

    for (const child of children) {
      // Its old builds are marked; its release is now a build baked on the good base.
      const old = after.filter((i) => i.spec === child && i.build === childBuildsBefore.get(child));
      expect(old.length, child).toBeGreaterThan(0);
      expect(
        old.every((i) => i.tags[Tag.revokedParent] === `ubuntu-base/${revoked}`),
        child,
      ).toBe(true);
      const release = after.filter((i) => i.spec === child && i.tags[channelTag("release")]);
      expect(new Set(release.map((i) => i.tags[Tag.parentBuild])), child).toEqual(new Set([good]));
      // A child image is never disabled: only the revoked build itself is.
      expect(
        old.every((i) => i.state === "available"),
        child,
      ).toBe(true);
    }

    const again = await runCli(["apply", "specs", ...fast(dir)], dir);
    expect(again.stdout).toMatch(/Converged after \d+ pass(?:es)? .*\n\d+ AWS requests \(0 mutating/);
  });
});
