// A Windows lineage end to end: `leaven apply` in-process on the embedded simulator finds Amazon's Windows
// Server image, bakes the base and the app through EC2Launch v2 user data and Sysprep, and converges.
import { join } from "node:path";
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import { startSimulator } from "../../controller/sim/server.ts";
import { scratchEstate } from "../support/cli-process.ts";
import { root, run } from "../support/in-process-cli.ts";

const fast = (dir: string) => ["--sim-state", join(dir, "sim.json"), "--sim-speed", "600"];
const WINDOWS = join(root, "test/fixtures/windows");

function row(stdout: string, spec: string, region: string): string[] | undefined {
  return stdout
    .split("\n")
    .map((line) => line.trim().split(/\s+/))
    .find((cells) => cells[0] === spec && cells[2] === "release" && cells[4] === region);
}

describe("a Windows lineage on the simulator", () => {
  it("validates", async () => {
    expect(await run(["validate", "test/fixtures/windows"])).toEqual({
      code: 0,
      stdout: "ok: 3 specs valid (1 file, 3 documents)\n",
      stderr: "",
    });
  });

  it("converges: the base and the app are baked as Windows images", async () => {
    const dir = scratchEstate(WINDOWS);
    const result = await run(["apply", "specs", "--wide", ...fast(dir)], dir);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stdout).toMatch(/^Converged after \d+ pass(?:es)? in /m);
    expect(row(result.stdout, "windows-2022", "us-east-1")?.[3]).toMatch(
      /^Windows_Server-2022-English-Full-Base-\d{4}\.\d{2}\.\d{2}$/,
    );
    for (const [spec, region] of [
      ["windows-base", "us-east-1"],
      ["windows-base", "eu-west-1"],
      ["iis-site", "us-east-1"],
    ] as const)
      expect(row(result.stdout, spec, region)?.[6], `${spec} in ${region}`).toBe("Ready");

    const sim = await startSimulator({ statePath: join(dir, "sim.json"), speed: 1, throttle: false });
    try {
      const client = new EC2Client({
        region: "us-east-1",
        endpoint: sim.endpoint,
        credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test" },
      });
      const images = (await client.send(new DescribeImagesCommand({ Owners: ["self"] }))).Images ?? [];
      expect(images.length).toBeGreaterThanOrEqual(2);
      for (const image of images) {
        expect(image.Platform, image.Name).toBe("windows");
        expect(image.PlatformDetails, image.Name).toBe("Windows");
      }
      const instances = (await client.send(new DescribeInstancesCommand({}))).Reservations?.flatMap(
        (r) => r.Instances ?? [],
      );
      // The bake instances ran the EC2Launch v2 user data: the simulator ran them as Windows.
      expect(instances?.length).toBeGreaterThanOrEqual(2);
      for (const instance of instances ?? []) expect(instance.PlatformDetails).toBe("Windows");
    } finally {
      await sim.close();
    }
  });
});
