import {
  CopyImageCommand,
  CreateImageCommand,
  DeregisterImageCommand,
  DescribeImageAttributeCommand,
  DescribeImagesCommand,
  DescribeSnapshotsCommand,
  DisableImageCommand,
  EnableImageDeprecationCommand,
  ModifyImageAttributeCommand,
  paginateDescribeImages,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { AMAZON_OWNER_ID, CANONICAL_OWNER_ID } from "../../controller/sim/vendor-images.ts";
import { DEFAULT_TIMINGS } from "../../controller/sim/world.ts";
import { ec2Error, MINUTE, START, startTestSim, type TestSim } from "./helpers.ts";

let t: TestSim;
beforeEach(async () => {
  t = await startTestSim();
});
afterEach(async () => {
  await t.sim.close();
});

const JAMMY = "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*";

async function jammyImageId(): Promise<string> {
  const out = await t.client.send(
    new DescribeImagesCommand({ Owners: [CANONICAL_OWNER_ID], Filters: [{ Name: "name", Values: [JAMMY] }] }),
  );
  return out.Images![0]!.ImageId!;
}

/** Launches an instance and lets it run, so CreateImage can image it. */
async function runningInstance(): Promise<string> {
  const run = await t.client.send(
    new RunInstancesCommand({
      ImageId: await jammyImageId(),
      InstanceType: "t3.micro",
      MinCount: 1,
      MaxCount: 1,
    }),
  );
  t.clock.advance(MINUTE);
  return run.Instances![0]!.InstanceId!;
}

describe("DescribeImages", () => {
  it("returns the vendor images of an owner, deprecated ones hidden unless asked for", async () => {
    const visible = await t.client.send(
      new DescribeImagesCommand({
        Owners: [CANONICAL_OWNER_ID],
        Filters: [{ Name: "name", Values: [JAMMY] }],
      }),
    );
    expect(visible.Images).toHaveLength(4);
    for (const image of visible.Images!) {
      expect(image.OwnerId).toBe(CANONICAL_OWNER_ID);
      expect(image.Name).toMatch(/^ubuntu\/images\/hvm-ssd\/ubuntu-jammy-22\.04-amd64-server-\d{8}$/);
      expect(image.State).toBe("available");
      expect(image.Architecture).toBe("x86_64");
      expect(Date.parse(image.CreationDate!)).toBeLessThan(START);
      expect(Date.parse(image.DeprecationTime!)).toBeGreaterThan(START);
      expect(image.BlockDeviceMappings![0]!.Ebs!.SnapshotId).toMatch(/^snap-[0-9a-f]{17}$/);
    }
    const all = await t.client.send(
      new DescribeImagesCommand({
        Owners: [CANONICAL_OWNER_ID],
        Filters: [{ Name: "name", Values: [JAMMY] }],
        IncludeDeprecated: true,
      }),
    );
    expect(all.Images).toHaveLength(6);
    const deprecated = all.Images!.filter((i) => Date.parse(i.DeprecationTime!) <= START);
    expect(deprecated).toHaveLength(2);
  });

  it("resolves the amazon alias and filters by architecture, owner-id and ? wildcards", async () => {
    const out = await t.client.send(
      new DescribeImagesCommand({
        Owners: ["amazon"],
        Filters: [
          { Name: "name", Values: ["al2023-ami-2023.?.*-kernel-6.1-*"] },
          { Name: "architecture", Values: ["arm64"] },
          { Name: "owner-id", Values: [AMAZON_OWNER_ID] },
        ],
      }),
    );
    expect(out.Images).toHaveLength(4);
    expect(out.Images!.every((i) => i.ImageOwnerAlias === "amazon" && i.Name!.endsWith("-arm64"))).toBe(true);
  });

  it("gives each region its own deterministic image ids", async () => {
    const names = async (region: string) =>
      (
        await t.clientFor(region).send(new DescribeImagesCommand({ Owners: [CANONICAL_OWNER_ID] }))
      ).Images!.map((i) => `${i.Name}=${i.ImageId}`);
    const west = await names("eu-west-1");
    const east = await names("us-east-1");
    expect(west.length).toBe(east.length);
    expect(west).not.toEqual(east);
    const again = await startTestSim();
    try {
      expect(
        (await again.client.send(new DescribeImagesCommand({ Owners: [CANONICAL_OWNER_ID] }))).Images!.map(
          (i) => `${i.Name}=${i.ImageId}`,
        ),
      ).toEqual(west);
    } finally {
      await again.sim.close();
    }
  });

  it("rejects malformed and unknown image ids with EC2's codes", async () => {
    expect(await ec2Error(t.client.send(new DescribeImagesCommand({ ImageIds: ["ami-nothex"] })))).toEqual({
      code: "InvalidAMIID.Malformed",
      status: 400,
      message: 'Invalid id: "ami-nothex" (expecting "ami-...")',
    });
    expect(
      await ec2Error(t.client.send(new DescribeImagesCommand({ ImageIds: ["ami-0123456789abcdef0"] }))),
    ).toEqual({
      code: "InvalidAMIID.NotFound",
      status: 400,
      message: "The image id '[ami-0123456789abcdef0]' does not exist",
    });
  });

  it("rejects an unknown filter and an out-of-range MaxResults", async () => {
    const bad = await ec2Error(
      t.client.send(new DescribeImagesCommand({ Filters: [{ Name: "colour", Values: ["red"] }] })),
    );
    expect(bad).toMatchObject({ code: "InvalidParameterValue", message: "The filter 'colour' is invalid" });
    const max = await ec2Error(t.client.send(new DescribeImagesCommand({ MaxResults: 2 })));
    expect(max.code).toBe("InvalidParameterValue");
  });

  it("walks every page with MaxResults and NextToken, tag filters included", async () => {
    const ids = t.sim.seedImages(
      Array.from({ length: 23 }, (_, n) => ({
        region: "eu-west-1",
        name: `app-${n}`,
        tags: { "leaven.dev/managed-by": "leaven", "leaven.dev/spec": n % 2 === 0 ? "even" : "odd" },
      })),
    );
    t.sim.seedImages([{ region: "us-east-1", name: "app-0", tags: { "leaven.dev/managed-by": "leaven" } }]);
    const seen: string[] = [];
    let pages = 0;
    for await (const page of paginateDescribeImages(
      { client: t.client, pageSize: 5 },
      { Owners: ["self"], Filters: [{ Name: "tag:leaven.dev/managed-by", Values: ["leaven"] }] },
    )) {
      pages += 1;
      expect(page.Images!.length).toBeLessThanOrEqual(5);
      seen.push(...page.Images!.map((i) => i.ImageId!));
    }
    expect(pages).toBe(5);
    expect(seen.sort()).toEqual([...ids].sort());
    const odd = await t.client.send(
      new DescribeImagesCommand({
        Filters: [
          { Name: "tag:leaven.dev/spec", Values: ["od?"] },
          { Name: "tag-key", Values: ["leaven.dev/*"] },
        ],
      }),
    );
    expect(odd.Images).toHaveLength(11);
  });

  it("rejects a forged NextToken", async () => {
    const err = await ec2Error(
      t.client.send(new DescribeImagesCommand({ MaxResults: 5, NextToken: "garbage" })),
    );
    expect(err.code).toBe("InvalidPaginationToken");
  });
});

describe("CreateImage", () => {
  it("images a running instance: pending as long as CreateImage takes (4 minutes), one snapshot, tags on image and snapshot", async () => {
    const instanceId = await runningInstance();
    const created = await t.client.send(
      new CreateImageCommand({
        InstanceId: instanceId,
        Name: "base-2.3.0-abc",
        Description: "base",
        TagSpecifications: [
          { ResourceType: "image", Tags: [{ Key: "leaven.dev/spec", Value: "base" }] },
          { ResourceType: "snapshot", Tags: [{ Key: "leaven.dev/spec", Value: "base-snap" }] },
        ],
      }),
    );
    const describe = async () =>
      (await t.client.send(new DescribeImagesCommand({ ImageIds: [created.ImageId!] }))).Images![0]!;
    const pending = await describe();
    expect(pending).toMatchObject({
      State: "pending",
      Name: "base-2.3.0-abc",
      Description: "base",
      OwnerId: "123456789012",
      SourceInstanceId: instanceId,
      Tags: [{ Key: "leaven.dev/spec", Value: "base" }],
    });
    const snapshotId = pending.BlockDeviceMappings![0]!.Ebs!.SnapshotId!;
    const snapshots = await t.client.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));
    expect(snapshots.Snapshots![0]).toMatchObject({
      State: "pending",
      Tags: [{ Key: "leaven.dev/spec", Value: "base-snap" }],
    });
    t.clock.advance(DEFAULT_TIMINGS.imagePending - 1);
    expect((await describe()).State).toBe("pending");
    t.clock.advance(1);
    expect((await describe()).State).toBe("available");
    const done = await t.client.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }));
    expect(done.Snapshots![0]!.State).toBe("completed");
  });

  it("keeps AMI names unique per region among the account's images", async () => {
    const instanceId = await runningInstance();
    const first = await t.client.send(new CreateImageCommand({ InstanceId: instanceId, Name: "dup-name" }));
    expect(
      await ec2Error(t.client.send(new CreateImageCommand({ InstanceId: instanceId, Name: "dup-name" }))),
    ).toEqual({
      code: "InvalidAMIName.Duplicate",
      status: 400,
      message: `AMI name dup-name is already in use by AMI ${first.ImageId}`,
    });
    await t.client.send(new DeregisterImageCommand({ ImageId: first.ImageId }));
    await t.client.send(new CreateImageCommand({ InstanceId: instanceId, Name: "dup-name" }));
  });

  it("refuses a pending instance, a bad name and missing parameters", async () => {
    const run = await t.client.send(
      new RunInstancesCommand({
        ImageId: await jammyImageId(),
        InstanceType: "t3.micro",
        MinCount: 1,
        MaxCount: 1,
      }),
    );
    const instanceId = run.Instances![0]!.InstanceId!;
    expect(
      (await ec2Error(t.client.send(new CreateImageCommand({ InstanceId: instanceId, Name: "x-image" }))))
        .code,
    ).toBe("IncorrectInstanceState");
    t.clock.advance(MINUTE);
    expect(
      (await ec2Error(t.client.send(new CreateImageCommand({ InstanceId: instanceId, Name: "a" })))).code,
    ).toBe("InvalidAMIName.Malformed");
    expect(
      await ec2Error(
        t.client.send(
          new CreateImageCommand({ InstanceId: instanceId, Name: undefined as unknown as string }),
        ),
      ),
    ).toEqual({
      code: "MissingParameter",
      status: 400,
      message: "The request must contain the parameter Name",
    });
  });
});

describe("CopyImage", () => {
  async function availableImage(name = "src-image"): Promise<string> {
    const created = await t.client.send(
      new CreateImageCommand({
        InstanceId: await runningInstance(),
        Name: name,
        TagSpecifications: [{ ResourceType: "image", Tags: [{ Key: "leaven.dev/build", Value: "b1" }] }],
      }),
    );
    t.clock.advance(DEFAULT_TIMINGS.imagePending);
    return created.ImageId!;
  }

  it("copies across regions with the source's tags, pending ~8 minutes, idempotent by ClientToken", async () => {
    const source = await availableImage();
    const east = t.clientFor("us-east-1");
    const input = {
      SourceRegion: "eu-west-1",
      SourceImageId: source,
      Name: "src-image",
      Description: "copy",
      ClientToken: "copy-token-1",
      CopyImageTags: true,
      Encrypted: true,
      KmsKeyId: "alias/leaven",
      TagSpecifications: [
        { ResourceType: "image" as const, Tags: [{ Key: "leaven.dev/home-region", Value: "eu-west-1" }] },
      ],
    };
    const copy = await east.send(new CopyImageCommand(input));
    const again = await east.send(new CopyImageCommand(input));
    expect(again.ImageId).toBe(copy.ImageId);
    const image = (await east.send(new DescribeImagesCommand({ ImageIds: [copy.ImageId!] }))).Images![0]!;
    expect(image).toMatchObject({
      State: "pending",
      Name: "src-image",
      SourceImageId: source,
      SourceImageRegion: "eu-west-1",
    });
    expect(Object.fromEntries(image.Tags!.map((tag) => [tag.Key, tag.Value]))).toEqual({
      "leaven.dev/build": "b1",
      "leaven.dev/home-region": "eu-west-1",
    });
    expect(image.BlockDeviceMappings![0]!.Ebs!.Encrypted).toBe(true);
    t.clock.advance(8 * MINUTE - 1);
    expect(
      (await east.send(new DescribeImagesCommand({ ImageIds: [copy.ImageId!] }))).Images![0]!.State,
    ).toBe("pending");
    t.clock.advance(1);
    expect(
      (await east.send(new DescribeImagesCommand({ ImageIds: [copy.ImageId!] }))).Images![0]!.State,
    ).toBe("available");

    const mismatch = await ec2Error(east.send(new CopyImageCommand({ ...input, Description: "different" })));
    expect(mismatch).toEqual({
      code: "IdempotentParameterMismatch",
      status: 400,
      message:
        "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).",
    });
    const duplicate = await ec2Error(
      east.send(new CopyImageCommand({ ...input, ClientToken: "copy-token-2" })),
    );
    expect(duplicate.code).toBe("InvalidAMIName.Duplicate");
  });

  it("refuses a missing source image and a KMS key without encryption", async () => {
    const source = await availableImage();
    const east = t.clientFor("us-east-1");
    expect(
      (
        await ec2Error(
          east.send(
            new CopyImageCommand({
              SourceRegion: "eu-west-1",
              SourceImageId: "ami-0123456789abcdef0",
              Name: "n-1",
            }),
          ),
        )
      ).code,
    ).toBe("InvalidAMIID.NotFound");
    expect(
      (
        await ec2Error(
          east.send(
            new CopyImageCommand({
              SourceRegion: "eu-west-1",
              SourceImageId: source,
              Name: "n-2",
              KmsKeyId: "alias/k",
            }),
          ),
        )
      ).code,
    ).toBe("InvalidParameterCombination");
  });
});

describe("image lifecycle attributes", () => {
  async function ownImage(): Promise<string> {
    const created = await t.client.send(
      new CreateImageCommand({
        InstanceId: await (async () => {
          const run = await t.client.send(
            new RunInstancesCommand({
              ImageId: await jammyImageId(),
              InstanceType: "t3.micro",
              MinCount: 1,
              MaxCount: 1,
            }),
          );
          t.clock.advance(MINUTE);
          return run.Instances![0]!.InstanceId!;
        })(),
        Name: "life-image",
      }),
    );
    t.clock.advance(DEFAULT_TIMINGS.imagePending);
    return created.ImageId!;
  }

  it("shares with accounts, organizations and OUs and reads the permissions back", async () => {
    const imageId = await ownImage();
    await t.client.send(
      new ModifyImageAttributeCommand({
        ImageId: imageId,
        LaunchPermission: {
          Add: [
            { UserId: "111122223333" },
            { OrganizationArn: "arn:aws:organizations::123456789012:organization/o-abc123" },
            { OrganizationalUnitArn: "arn:aws:organizations::123456789012:ou/o-abc123/ou-ab12-cdef" },
          ],
        },
      }),
    );
    const attribute = await t.client.send(
      new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: "launchPermission" }),
    );
    expect(attribute.LaunchPermissions).toEqual([
      { UserId: "111122223333" },
      { OrganizationArn: "arn:aws:organizations::123456789012:organization/o-abc123" },
      { OrganizationalUnitArn: "arn:aws:organizations::123456789012:ou/o-abc123/ou-ab12-cdef" },
    ]);
    await t.client.send(
      new ModifyImageAttributeCommand({
        ImageId: imageId,
        LaunchPermission: { Remove: [{ UserId: "111122223333" }] },
      }),
    );
    const after = await t.client.send(
      new DescribeImageAttributeCommand({ ImageId: imageId, Attribute: "launchPermission" }),
    );
    expect(after.LaunchPermissions).toHaveLength(2);
    const bad = await ec2Error(
      t.client.send(
        new ModifyImageAttributeCommand({ ImageId: imageId, LaunchPermission: { Add: [{ UserId: "12" }] } }),
      ),
    );
    expect(bad.code).toBe("InvalidAMIAttributeItemValue");
  });

  it("deprecates, disables and deregisters; disabled images need IncludeDisabled", async () => {
    const imageId = await ownImage();
    const deprecateAt = new Date(t.clock.now() + 2 * 86_400_000);
    await t.client.send(new EnableImageDeprecationCommand({ ImageId: imageId, DeprecateAt: deprecateAt }));
    const image = (await t.client.send(new DescribeImagesCommand({ ImageIds: [imageId] }))).Images![0]!;
    expect(image.DeprecationTime).toBe(deprecateAt.toISOString());
    t.clock.advance(3 * 86_400_000);
    // The owner still sees its own deprecated images without IncludeDeprecated, as on AWS.
    expect(
      (await t.client.send(new DescribeImagesCommand({ Owners: ["self"] }))).Images!.map((i) => i.ImageId),
    ).toEqual([imageId]);
    const past = await ec2Error(
      t.client.send(
        new EnableImageDeprecationCommand({
          ImageId: imageId,
          DeprecateAt: new Date(t.clock.now() - 86_400_000),
        }),
      ),
    );
    expect(past.code).toBe("InvalidParameterValue");

    await t.client.send(new DisableImageCommand({ ImageId: imageId }));
    expect((await t.client.send(new DescribeImagesCommand({ Owners: ["self"] }))).Images).toEqual([]);
    const disabled = await t.client.send(
      new DescribeImagesCommand({ Owners: ["self"], IncludeDisabled: true }),
    );
    expect(disabled.Images![0]!.State).toBe("disabled");

    const snapshotId = disabled.Images![0]!.BlockDeviceMappings![0]!.Ebs!.SnapshotId!;
    await t.client.send(new DeregisterImageCommand({ ImageId: imageId }));
    expect((await ec2Error(t.client.send(new DescribeImagesCommand({ ImageIds: [imageId] })))).code).toBe(
      "InvalidAMIID.NotFound",
    );
    // Deregistering leaves the snapshot behind, as on AWS.
    expect(
      (await t.client.send(new DescribeSnapshotsCommand({ SnapshotIds: [snapshotId] }))).Snapshots,
    ).toHaveLength(1);
  });

  it("refuses to change a vendor's image", async () => {
    const err = await ec2Error(t.client.send(new DeregisterImageCommand({ ImageId: await jammyImageId() })));
    expect(err.code).toBe("AuthFailure");
  });
});
