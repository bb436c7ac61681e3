// Reads a simulator state file back through the simulator itself and the real EC2 client, so tests
// check the world a user would see.
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { Tag } from "../../controller/api/tags.ts";
import { startSimulator } from "../../controller/sim/server.ts";

export interface WorldImage {
  imageId: string;
  region: string;
  spec: string;
  build: string;
  state: string;
  tags: Record<string, string>;
}

export interface WorldInstance {
  instanceId: string;
  region: string;
  spec: string;
  build: string;
  state: string;
  /** Only on the bakery host of volume bakes, which stays up between bakes by design. */
  role?: "bakery";
}

/** Instances still up that are not a bakery host: a bake or check instance left behind. */
export function liveBakeInstances(instances: readonly WorldInstance[]): WorldInstance[] {
  return instances.filter((i) => i.state !== "terminated" && i.role !== "bakery");
}

export async function readWorld(
  statePath: string,
  regions: string[],
): Promise<{ images: WorldImage[]; instances: WorldInstance[] }> {
  const sim = await startSimulator({ statePath, speed: 1, throttle: false });
  const images: WorldImage[] = [];
  const instances: WorldInstance[] = [];
  try {
    for (const region of regions) {
      const client = new EC2Client({
        region,
        endpoint: sim.endpoint,
        credentials: { accessKeyId: "AKIDTEST", secretAccessKey: "test" },
      });
      const found = await client.send(
        new DescribeImagesCommand({ Owners: ["self"], IncludeDeprecated: true, IncludeDisabled: true }),
      );
      for (const image of found.Images ?? []) {
        const tags = Object.fromEntries((image.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
        images.push({
          imageId: image.ImageId ?? "",
          region,
          spec: tags[Tag.spec] ?? "",
          build: tags[Tag.build] ?? "",
          state: image.State ?? "",
          tags,
        });
      }
      const reservations = await client.send(new DescribeInstancesCommand({}));
      for (const reservation of reservations.Reservations ?? []) {
        for (const instance of reservation.Instances ?? []) {
          const tags = Object.fromEntries((instance.Tags ?? []).map((t) => [t.Key ?? "", t.Value ?? ""]));
          instances.push({
            instanceId: instance.InstanceId ?? "",
            region,
            spec: tags[Tag.spec] ?? "",
            build: tags[Tag.build] ?? "",
            ...(tags[Tag.role] === "bakery" ? { role: "bakery" as const } : {}),
            state: instance.State?.Name ?? "",
          });
        }
      }
      client.destroy();
    }
  } finally {
    await sim.close();
  }
  return { images, instances };
}

/** `spec/build/region` keys that occur more than once. */
export function duplicateImages(images: readonly WorldImage[]): string[] {
  const seen = new Map<string, number>();
  for (const image of images) {
    const key = `${image.spec}/${image.build}/${image.region}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([key]) => key);
}
