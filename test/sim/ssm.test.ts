import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { DescribeImagesCommand, type EC2Client } from "@aws-sdk/client-ec2";
import {
  AddTagsToResourceCommand,
  DeleteParameterCommand,
  DescribeParametersCommand,
  GetParameterCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  ListTagsForResourceCommand,
  PutParameterCommand,
  RemoveTagsFromResourceCommand,
  SSMClient,
} from "@aws-sdk/client-ssm";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../controller/sim/manual-clock.ts";
import type { Simulator } from "../../controller/sim/server.ts";
import { AMAZON_OWNER_ID, CANONICAL_OWNER_ID } from "../../controller/sim/vendor-images.ts";
import { ec2Error, MINUTE, START, startTestSim, type TestSim } from "./helpers.ts";

const open: TestSim[] = [];
const dirs: string[] = [];
async function sim(options: Parameters<typeof startTestSim>[0] = {}): Promise<TestSim> {
  const t = await startTestSim(options);
  open.push(t);
  return t;
}
afterEach(async () => {
  for (const t of open.splice(0)) await t.sim.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** The real SSM client on the simulator's (EC2) endpoint: one attempt, so errors and counters are exact. */
function ssmClient(s: Simulator, region = "eu-west-1"): SSMClient {
  return new SSMClient({
    region,
    endpoint: s.endpoint,
    credentials: { accessKeyId: "AKIDSIM", secretAccessKey: "sim" },
    maxAttempts: 1,
  });
}

/** The newest image of a vendor family in a region, by name prefix, read over EC2. */
async function newestVendorImage(ec2: EC2Client, owner: string, name: string): Promise<string> {
  const out = await ec2.send(
    new DescribeImagesCommand({ Owners: [owner], Filters: [{ Name: "name", Values: [name] }] }),
  );
  const images = [...(out.Images ?? [])].sort((a, b) =>
    (b.CreationDate ?? "").localeCompare(a.CreationDate ?? ""),
  );
  return images[0]!.ImageId!;
}

const UBUNTU_2204 = "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id";
const UBUNTU_JAMMY = "/aws/service/canonical/ubuntu/server/jammy/stable/current/amd64/hvm/ebs-gp2/ami-id";
const AL2023 = "/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-default-x86_64";

describe("SSM public parameters", () => {
  it("point at the newest vendor image of their family, per region; unknown names come back invalid", async () => {
    const t = await sim();
    for (const region of ["eu-west-1", "us-east-1"]) {
      const ssm = ssmClient(t.sim, region);
      const out = await ssm.send(
        new GetParametersCommand({ Names: [UBUNTU_2204, UBUNTU_JAMMY, AL2023, "/aws/service/nope"] }),
      );
      const ubuntu = await newestVendorImage(
        t.clientFor(region),
        CANONICAL_OWNER_ID,
        "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*",
      );
      const amazon = await newestVendorImage(
        t.clientFor(region),
        AMAZON_OWNER_ID,
        "al2023-ami-*-kernel-6.1-x86_64",
      );
      expect(out.Parameters?.map((p) => [p.Name, p.Value, p.DataType, p.Type, p.Version])).toEqual([
        [UBUNTU_2204, ubuntu, "aws:ec2:image", "String", 6],
        [UBUNTU_JAMMY, ubuntu, "aws:ec2:image", "String", 6],
        [AL2023, amazon, "aws:ec2:image", "String", 6],
      ]);
      expect(out.InvalidParameters).toEqual(["/aws/service/nope"]);
    }
  });

  it("list by path", async () => {
    const t = await sim();
    const out = await ssmClient(t.sim).send(
      new GetParametersByPathCommand({ Path: "/aws/service/canonical/ubuntu/server/24.04", Recursive: true }),
    );
    expect(out.Parameters?.map((p) => p.Name)).toEqual([
      "/aws/service/canonical/ubuntu/server/24.04/stable/current/amd64/hvm/ebs-gp3/ami-id",
      "/aws/service/canonical/ubuntu/server/24.04/stable/current/arm64/hvm/ebs-gp3/ami-id",
    ]);
    expect(out.NextToken).toBeUndefined();
  });

  it("cannot be written: names under aws and ssm are reserved", async () => {
    const t = await sim();
    const error = await ec2Error(
      ssmClient(t.sim).send(
        new PutParameterCommand({ Name: UBUNTU_2204, Value: "x", Type: "String", Overwrite: true }),
      ),
    );
    expect(error).toEqual({
      code: "AccessDeniedException",
      status: 400,
      message: `No access to reserved parameter name: ${UBUNTU_2204}. Parameter names can't be prefixed with "aws" or "ssm" (case-insensitive).`,
    });
  });
});

describe("SSM PutParameter and GetParameter", () => {
  it("creates with tags at version 1, refuses to overwrite unless asked, and counts versions", async () => {
    const t = await sim();
    const ssm = ssmClient(t.sim);
    const image = await newestVendorImage(t.client, AMAZON_OWNER_ID, "al2023-ami-*-kernel-6.1-x86_64");
    const created = await ssm.send(
      new PutParameterCommand({
        Name: "/leaven/app/release",
        Value: image,
        Type: "String",
        DataType: "aws:ec2:image",
        Tags: [{ Key: "owner", Value: "me" }],
      }),
    );
    expect(created.Version).toBe(1);
    expect(
      await ec2Error(ssm.send(new PutParameterCommand({ Name: "/leaven/app/release", Value: image }))),
    ).toEqual({
      code: "ParameterAlreadyExists",
      status: 400,
      message:
        "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
    });
    expect(
      await ec2Error(
        ssm.send(
          new PutParameterCommand({
            Name: "/leaven/app/release",
            Value: image,
            Overwrite: true,
            Tags: [{ Key: "owner", Value: "me" }],
          }),
        ),
      ),
    ).toEqual({
      code: "ValidationException",
      status: 400,
      message:
        "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
    });
    t.clock.advance(MINUTE);
    // SSM makes a new version on every PutParameter, even of the same value.
    const updated = await ssm.send(
      new PutParameterCommand({ Name: "/leaven/app/release", Value: image, Overwrite: true }),
    );
    expect(updated.Version).toBe(2);
    const got = await ssm.send(new GetParameterCommand({ Name: "/leaven/app/release" }));
    expect(got.Parameter).toEqual({
      Name: "/leaven/app/release",
      Type: "String",
      Value: image,
      Version: 2,
      LastModifiedDate: new Date(START + MINUTE),
      ARN: "arn:aws:ssm:eu-west-1:123456789012:parameter/leaven/app/release",
      DataType: "aws:ec2:image",
    });
    const tags = await ssm.send(
      new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: "/leaven/app/release" }),
    );
    expect(tags.TagList).toEqual([{ Key: "owner", Value: "me" }]);
  });

  it("checks an aws:ec2:image value is an image id that exists in the region", async () => {
    const t = await sim();
    const ssm = ssmClient(t.sim);
    const elsewhere = await newestVendorImage(
      t.clientFor("us-east-1"),
      AMAZON_OWNER_ID,
      "al2023-ami-*-kernel-6.1-x86_64",
    );
    const put = (Value: string) =>
      ec2Error(
        ssm.send(new PutParameterCommand({ Name: "/img", Value, Type: "String", DataType: "aws:ec2:image" })),
      );
    expect(await put("ubuntu")).toEqual({
      code: "ValidationException",
      status: 400,
      message:
        "Parameter value, ubuntu, is not a valid AMI id: expected ami- and 8 or 17 hexadecimal digits.",
    });
    expect(await put(elsewhere)).toEqual({
      code: "ValidationException",
      status: 400,
      message: `Parameter value, ${elsewhere}, is not an image that exists in eu-west-1.`,
    });
    expect((await put("ami-0123456789abcdef0")).message).toBe(
      "Parameter value, ami-0123456789abcdef0, is not an image that exists in eu-west-1.",
    );
    expect((await ssm.send(new GetParametersCommand({ Names: ["/img"] }))).InvalidParameters).toEqual([
      "/img",
    ]);
  });

  it("answers ParameterNotFound for a missing parameter, on get and on delete", async () => {
    const t = await sim();
    const ssm = ssmClient(t.sim);
    await ssm.send(new PutParameterCommand({ Name: "/gone", Value: "v", Type: "String" }));
    await ssm.send(new DeleteParameterCommand({ Name: "/gone" }));
    expect(await ec2Error(ssm.send(new GetParameterCommand({ Name: "/gone" })))).toEqual({
      code: "ParameterNotFound",
      status: 400,
      message: "Parameter /gone not found.",
    });
    expect((await ec2Error(ssm.send(new DeleteParameterCommand({ Name: "/gone" })))).code).toBe(
      "ParameterNotFound",
    );
  });

  it("refuses more than 10 names in one GetParameters", async () => {
    const t = await sim();
    const names = Array.from({ length: 11 }, (_, i) => `/p${i}`);
    const error = await ec2Error(ssmClient(t.sim).send(new GetParametersCommand({ Names: names })));
    expect(error.code).toBe("ValidationException");
    expect(error.message).toContain("Member must have length less than or equal to 10");
  });
});

describe("SSM listings", () => {
  async function seeded(): Promise<{ t: TestSim; ssm: SSMClient }> {
    const t = await sim();
    const ssm = ssmClient(t.sim);
    for (let i = 0; i < 23; i++) {
      const name = `/estate/${String(i).padStart(2, "0")}/release`;
      const Tags = [{ Key: "team", Value: i % 2 === 0 ? "even" : "odd" }];
      await ssm.send(new PutParameterCommand({ Name: name, Value: `v${i}`, Type: "String", Tags }));
    }
    await ssm.send(new PutParameterCommand({ Name: "/estate/top", Value: "t", Type: "String" }));
    await ssm.send(new PutParameterCommand({ Name: "/other/x", Value: "o", Type: "String" }));
    return { t, ssm };
  }

  it("GetParametersByPath pages 10 at a time in name order; OneLevel sees only direct children", async () => {
    const { ssm } = await seeded();
    const pages: string[][] = [];
    let NextToken: string | undefined;
    do {
      const out = await ssm.send(
        new GetParametersByPathCommand({ Path: "/estate", Recursive: true, MaxResults: 10, NextToken }),
      );
      pages.push((out.Parameters ?? []).map((p) => p.Name!));
      NextToken = out.NextToken;
    } while (NextToken);
    expect(pages.map((p) => p.length)).toEqual([10, 10, 4]);
    expect(pages.flat()).toEqual([
      ...Array.from({ length: 23 }, (_, i) => `/estate/${String(i).padStart(2, "0")}/release`),
      "/estate/top",
    ]);
    const oneLevel = await ssm.send(new GetParametersByPathCommand({ Path: "/estate/" }));
    expect(oneLevel.Parameters?.map((p) => p.Name)).toEqual(["/estate/top"]);
    expect(
      (await ec2Error(ssm.send(new GetParametersByPathCommand({ Path: "/estate", MaxResults: 11 })))).code,
    ).toBe("ValidationException");
  });

  it("DescribeParameters filters on a tag, a path and a name prefix, 50 a page", async () => {
    const { ssm } = await seeded();
    const odd = await ssm.send(
      new DescribeParametersCommand({
        ParameterFilters: [
          { Key: "tag:team", Values: ["odd"] },
          { Key: "Path", Option: "Recursive", Values: ["/estate"] },
        ],
      }),
    );
    expect(odd.Parameters?.map((p) => [p.Name, p.Version, p.Type])).toEqual(
      Array.from({ length: 11 }, (_, i) => [
        `/estate/${String(2 * i + 1).padStart(2, "0")}/release`,
        1,
        "String",
      ]),
    );
    const tagged = await ssm.send(
      new DescribeParametersCommand({ ParameterFilters: [{ Key: "tag:team" }], MaxResults: 20 }),
    );
    expect(tagged.Parameters).toHaveLength(20);
    expect(tagged.NextToken).toBeDefined();
    const rest = await ssm.send(
      new DescribeParametersCommand({
        ParameterFilters: [{ Key: "tag:team" }],
        MaxResults: 20,
        NextToken: tagged.NextToken,
      }),
    );
    expect(rest.Parameters?.map((p) => p.Name)).toEqual([
      "/estate/20/release",
      "/estate/21/release",
      "/estate/22/release",
    ]);
    expect(rest.NextToken).toBeUndefined();
    const named = await ssm.send(
      new DescribeParametersCommand({
        ParameterFilters: [{ Key: "Name", Option: "BeginsWith", Values: ["/estate/1"] }],
      }),
    );
    expect(named.Parameters).toHaveLength(10);
    const oneLevel = await ssm.send(
      new DescribeParametersCommand({ ParameterFilters: [{ Key: "Path", Values: ["/estate"] }] }),
    );
    expect(oneLevel.Parameters?.map((p) => p.Name)).toEqual(["/estate/top"]);
    expect(
      await ec2Error(
        ssm.send(
          new DescribeParametersCommand({
            ParameterFilters: [{ Key: "Path", Option: "Equals", Values: ["/estate"] }],
          }),
        ),
      ),
    ).toEqual({
      code: "InvalidFilterOption",
      status: 400,
      message:
        "The following filter option is not valid: Equals. Valid options include: [OneLevel, Recursive].",
    });
    expect((await ec2Error(ssm.send(new DescribeParametersCommand({ MaxResults: 51 })))).code).toBe(
      "ValidationException",
    );
  });
});

describe("SSM tags", () => {
  it("adds, lists and removes a parameter's tags; unknown parameters and resource types are refused", async () => {
    const t = await sim();
    const ssm = ssmClient(t.sim);
    await ssm.send(new PutParameterCommand({ Name: "/t", Value: "v", Type: "String" }));
    await ssm.send(
      new AddTagsToResourceCommand({
        ResourceType: "Parameter",
        ResourceId: "/t",
        Tags: [
          { Key: "a", Value: "1" },
          { Key: "b", Value: "2" },
        ],
      }),
    );
    await ssm.send(
      new RemoveTagsFromResourceCommand({ ResourceType: "Parameter", ResourceId: "/t", TagKeys: ["a"] }),
    );
    const out = await ssm.send(
      new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: "/t" }),
    );
    expect(out.TagList).toEqual([{ Key: "b", Value: "2" }]);
    expect(
      await ec2Error(
        ssm.send(new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: "/none" })),
      ),
    ).toEqual({
      code: "InvalidResourceId",
      status: 400,
      message: 'The resource ID "/none" is not valid. Verify the ID and try again.',
    });
    expect(
      (
        await ec2Error(
          ssm.send(new ListTagsForResourceCommand({ ResourceType: "Document", ResourceId: "/t" })),
        )
      ).code,
    ).toBe("InvalidResourceType");
  });
});

describe("SSM on the simulator", () => {
  it("persists parameters with the world and keeps serving the public ones after a restart", async () => {
    const dir = mkdtempSync(join(tmpdir(), "leaven-ssm-"));
    dirs.push(dir);
    const statePath = join(dir, "state.json");
    const clock = new ManualClock(START);
    const first = await startTestSim({ statePath, clock });
    const ssm1 = ssmClient(first.sim);
    await ssm1.send(
      new PutParameterCommand({
        Name: "/keep",
        Value: "one",
        Type: "String",
        Tags: [{ Key: "k", Value: "v" }],
      }),
    );
    await ssm1.send(new PutParameterCommand({ Name: "/keep", Value: "two", Overwrite: true }));
    const before = await ssm1.send(new GetParametersCommand({ Names: [UBUNTU_2204] }));
    await first.sim.close();
    const second = await sim({ statePath, clock });
    const ssm2 = ssmClient(second.sim);
    const got = await ssm2.send(new GetParametersCommand({ Names: ["/keep", UBUNTU_2204] }));
    expect(got.Parameters?.map((p) => [p.Name, p.Value, p.Version])).toEqual([
      ["/keep", "two", 2],
      [UBUNTU_2204, before.Parameters?.[0]?.Value, 6],
    ]);
    const tags = await ssm2.send(
      new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: "/keep" }),
    );
    expect(tags.TagList).toEqual([{ Key: "k", Value: "v" }]);
  });

  it("counts SSM requests in the stats and throttles them with SSM's own buckets, apart from EC2's", async () => {
    const t = await sim({ throttle: true });
    const ssm = ssmClient(t.sim);
    const puts: string[] = [];
    for (let i = 0; i < 4; i++) {
      try {
        await ssm.send(new PutParameterCommand({ Name: `/r${i}`, Value: "v", Type: "String" }));
        puts.push("ok");
      } catch (error) {
        puts.push((error as Error).name);
      }
    }
    // PutParameter runs at 3 per second; the clock has not moved.
    expect(puts).toEqual(["ok", "ok", "ok", "ThrottlingException"]);
    await t.client.send(new DescribeImagesCommand({ Owners: ["self"] }));
    await ssm.send(new GetParametersCommand({ Names: ["/r0"] }));
    const stats = t.sim.stats();
    expect(stats.byAction).toEqual({ PutParameter: 4, DescribeImages: 1, GetParameters: 1 });
    expect(stats.mutating).toBe(4);
    expect(stats.throttled).toBe(1);
    expect(stats.errors).toEqual({ ThrottlingException: 1 });
    t.clock.advance(1_000);
    await ssm.send(new PutParameterCommand({ Name: "/r3", Value: "v", Type: "String" }));
  });

  it("answers injected 5xx as SSM's InternalServerError", async () => {
    const t = await sim({ faults: { serverErrorRate: 1 } });
    expect(await ec2Error(ssmClient(t.sim).send(new GetParametersCommand({ Names: ["/x"] })))).toEqual({
      code: "InternalServerError",
      status: 500,
      message: "An error occurred on the server side.",
    });
  });

  it("refuses an unknown SSM action with a JSON error", async () => {
    const t = await sim();
    const response = await fetch(t.sim.endpoint, {
      method: "POST",
      headers: {
        "content-type": "application/x-amz-json-1.1",
        "x-amz-target": "AmazonSSM.GetParameterHistory",
        authorization:
          "AWS4-HMAC-SHA256 Credential=AKIDSIM/20261121/eu-west-1/ssm/aws4_request, SignedHeaders=host, Signature=00",
      },
      body: "{}",
    });
    expect(response.status).toBe(400);
    expect(response.headers.get("content-type")).toBe("application/x-amz-json-1.1");
    expect(await response.json()).toEqual({
      __type: "UnknownOperationException",
      message: "Unknown operation AmazonSSM.GetParameterHistory.",
    });
  });
});
