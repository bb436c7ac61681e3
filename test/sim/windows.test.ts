// Windows in the simulator: Amazon's Windows Server images, and bake instances that run Leaven's EC2Launch
// v2 user data, print the verdict on the console and shut down after Sysprep — bake faults included.
import { DescribeImagesCommand, GetConsoleOutputCommand, RunInstancesCommand } from "@aws-sdk/client-ec2";
import { afterEach, describe, expect, it } from "vitest";
import { parseBakeMarker } from "../../controller/api/bake-protocol.ts";
import { renderWindowsUserData } from "../../controller/execute/windows-user-data.ts";
import { AMAZON_WINDOWS_OWNER_ID } from "../../controller/sim/vendor-images.ts";
import { MINUTE, startTestSim, type TestSim } from "./helpers.ts";

let t: TestSim | undefined;
afterEach(async () => {
  await t?.sim.close();
});

const NAME = "Windows_Server-2022-English-Full-Base-*";
const BUILD = "1.0.0+0badcafe";

async function bake(sim: TestSim): Promise<string> {
  const images = await sim.client.send(
    new DescribeImagesCommand({ Owners: ["amazon"], Filters: [{ Name: "name", Values: [NAME] }] }),
  );
  const run = await sim.client.send(
    new RunInstancesCommand({
      ImageId: images.Images![0]!.ImageId!,
      InstanceType: "m5.large",
      MinCount: 1,
      MaxCount: 1,
      UserData: Buffer.from(
        renderWindowsUserData({ buildId: BUILD, spec: "win", provision: { packages: ["7zip"] } }),
      ).toString("base64"),
      TagSpecifications: [{ ResourceType: "instance", Tags: [{ Key: "leaven.dev/spec", Value: "win" }] }],
    }),
  );
  sim.clock.advance(60 * MINUTE);
  const console = await sim.client.send(
    new GetConsoleOutputCommand({ InstanceId: run.Instances![0]!.InstanceId!, Latest: true }),
  );
  return Buffer.from(console.Output ?? "", "base64").toString("utf8");
}

describe("Windows in the simulator", () => {
  it("serves Amazon's Windows Server 2022 images under the amazon alias, as Windows", async () => {
    t = await startTestSim();
    const { Images } = await t.client.send(
      new DescribeImagesCommand({ Owners: ["amazon"], Filters: [{ Name: "name", Values: [NAME] }] }),
    );
    expect(Images).toHaveLength(4);
    for (const image of Images!) {
      expect(image.Name).toMatch(/^Windows_Server-2022-English-Full-Base-\d{4}\.\d{2}\.\d{2}$/);
      expect(image.OwnerId).toBe(AMAZON_WINDOWS_OWNER_ID);
      expect(image.Platform).toBe("windows");
      expect(image.PlatformDetails).toBe("Windows");
    }
    const filtered = await t.client.send(
      new DescribeImagesCommand({ Owners: ["amazon"], Filters: [{ Name: "platform", Values: ["windows"] }] }),
    );
    expect(filtered.Images).toHaveLength(4);
  });

  it("runs the EC2Launch user data: success marker, then Sysprep and shutdown", async () => {
    t = await startTestSim();
    const output = await bake(t);
    expect(output).toContain("EC2Launch: leaven: baking build 1.0.0+0badcafe");
    expect(parseBakeMarker(output, BUILD)).toEqual({ build: BUILD, result: "success" });
    expect(output).toContain("EC2Launch: Info: Running sysprep with --clean --shutdown\r\n");
    expect(output).not.toContain("cloud-init");
  });

  it("honours a bake-fail fault: the failure marker, and no Sysprep", async () => {
    t = await startTestSim({
      faults: { bakeFailure: { specs: ["win"], reason: "choco install exited with status 1" } },
    });
    const output = await bake(t);
    expect(parseBakeMarker(output, BUILD)).toMatchObject({
      result: "failure",
      reason: "choco install exited with status 1",
    });
    expect(output).not.toContain("sysprep");
  });
});
