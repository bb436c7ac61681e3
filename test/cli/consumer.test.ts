// The consumer's view: the examples' payments images are shared with the payments production account
// (777788889999, the awkward simulator's second account). From there they are launchable and found through
// the pointers Leaven publishes — not through tags, which EC2 never shows to another account.
import { join } from "node:path";
import {
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import { GetParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { describe, expect, it } from "vitest";
import { channelTag, Tag } from "../../controller/api/tags.ts";
import { SIM_CONSUMER_ACCOUNT_ID } from "../../controller/sim/regions.ts";
import { startSimulator } from "../../controller/sim/server.ts";
import { runCli, scratchEstate } from "../support/cli-process.ts";

const REGIONS = ["us-east-1", "eu-west-1", "ap-southeast-2"];

describe("the consumer account's view of the examples", () => {
  it("launches the shared release images by the published pointer, and cannot find them by tag", async () => {
    const dir = scratchEstate();
    const statePath = join(dir, "sim.json");
    const applied = await runCli(["apply", "specs", "--sim-state", statePath, "--sim-speed", "600"], dir);
    expect(applied.code, applied.stdout.slice(-2000)).toBe(0);

    const sim = await startSimulator({ statePath, speed: 1, throttle: false, awkward: true });
    const clients: { destroy(): void }[] = [];
    const client = <T extends { destroy(): void }>(made: T) => {
      clients.push(made);
      return made;
    };
    try {
      for (const region of REGIONS) {
        // The owner account publishes the pointer (a standard parameter: readable in the owner's account,
        // by the pipelines and Terraform that hand the id on; across accounts only through RAM sharing).
        const owner = client(
          new SSMClient({
            region,
            endpoint: sim.endpoint,
            credentials: { accessKeyId: "AKIDOWNER", secretAccessKey: "owner" },
          }),
        );
        const pointer = await owner.send(new GetParameterCommand({ Name: "/leaven/payments/release" }));
        const imageId = pointer.Parameter?.Value;
        expect(pointer.Parameter?.DataType).toBe("aws:ec2:image");
        expect(imageId).toMatch(/^ami-[0-9a-f]{17}$/);

        const consumer = client(
          new EC2Client({
            region,
            endpoint: sim.endpoint,
            credentials: { accessKeyId: "AKIDCONSUMERPAYMENTS", secretAccessKey: "consumer" },
          }),
        );
        // Found by the pointer's id: shared with this account, owned by the other, no tags of the owner.
        const byId = await consumer.send(new DescribeImagesCommand({ ImageIds: [imageId!] }));
        expect(byId.Images?.map((i) => [i.ImageId, i.OwnerId, i.State, i.Tags ?? []])).toEqual([
          [imageId, "123456789012", "available", []],
        ]);
        const executable = await consumer.send(new DescribeImagesCommand({ ExecutableUsers: ["self"] }));
        expect(executable.Images?.map((i) => i.ImageId)).toContain(imageId);
        // Not by tag: EC2 never shows one account's tags to another.
        const byTag = await consumer.send(
          new DescribeImagesCommand({
            ExecutableUsers: ["self"],
            Filters: [
              { Name: `tag:${Tag.spec}`, Values: ["payments"] },
              { Name: `tag:${channelTag("release")}`, Values: ["true"] },
            ],
          }),
        );
        expect(byTag.Images ?? []).toEqual([]);

        // Launchable from the consumer account.
        const launched = await consumer.send(
          new RunInstancesCommand({ ImageId: imageId, InstanceType: "m6i.large", MinCount: 1, MaxCount: 1 }),
        );
        const instanceId = launched.Instances?.[0]?.InstanceId;
        expect(instanceId).toMatch(/^i-[0-9a-f]{17}$/);
        expect(launched.Instances?.[0]?.ImageId).toBe(imageId);
        // The owner does not see the consumer's instance: each account has its own.
        const ownerEc2 = client(
          new EC2Client({
            region,
            endpoint: sim.endpoint,
            credentials: { accessKeyId: "AKIDOWNER", secretAccessKey: "owner" },
          }),
        );
        const ownerView = await ownerEc2.send(
          new DescribeInstancesCommand({ Filters: [{ Name: "image-id", Values: [imageId!] }] }),
        );
        expect(ownerView.Reservations?.flatMap((r) => r.Instances ?? []) ?? []).toEqual([]);
      }
      expect(SIM_CONSUMER_ACCOUNT_ID).toBe("777788889999");
    } finally {
      for (const made of clients) made.destroy();
      await sim.close();
    }
  }, 60_000);
});
