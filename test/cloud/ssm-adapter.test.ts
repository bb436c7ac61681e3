// The ParameterPort half of the AWS adapter against the embedded simulator, through the real
// @aws-sdk/client-ssm and the JSON protocol on the EC2 endpoint: batching, paging, errors, retries and
// the request counts a pass is budgeted on.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { type AwsCloud, createAwsCloud } from "../../controller/cloud/aws-adapter.ts";
import { IMAGE_DATA_TYPE } from "../../controller/cloud/parameter-port.ts";
import { CloudError } from "../../controller/cloud/port.ts";
import { RegionRateLimiter } from "../../controller/cloud/region-rate-limiter.ts";
import { ManualClock } from "../../controller/sim/manual-clock.ts";
import { type Simulator, startSimulator } from "../../controller/sim/server.ts";

const REGION = "eu-west-1";
const UBUNTU = "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id";

let sim: Simulator;
let cloud: AwsCloud;

beforeEach(async () => {
  sim = await startSimulator({ clock: new ManualClock(), throttle: false });
  cloud = createAwsCloud({
    endpoint: sim.endpoint,
    credentials: { accessKeyId: "AKIDLEAVENSIM", secretAccessKey: "leaven-sim" },
    baseDelayMs: 5,
  });
});

afterEach(async () => {
  cloud.close();
  await sim.close();
});

function ssmRequests(): Record<string, number> {
  const byAction = cloud.stats().byRegion[REGION]?.byAction ?? {};
  return Object.fromEntries(Object.entries(byAction).map(([action, counts]) => [action, counts.requests]));
}

async function anImage(): Promise<string> {
  const { parameters } = await cloud.getParameters(REGION, [UBUNTU]);
  return parameters[0]!.value;
}

describe("the parameter port on the AWS adapter", () => {
  it("creates with tags, updates without, reads back, lists and deletes; one request per call", async () => {
    const image = await anImage();
    cloud.resetStats();
    const tags = { "leaven.dev/managed-by": "leaven", "leaven.dev/spec": "app" };
    expect(
      await cloud.putParameter(REGION, {
        name: "/leaven/app/release",
        value: image,
        dataType: IMAGE_DATA_TYPE,
        overwrite: false,
        tags,
      }),
    ).toEqual({ version: 1 });
    expect(
      await cloud.putParameter(REGION, {
        name: "/leaven/app/release",
        value: image,
        dataType: IMAGE_DATA_TYPE,
        overwrite: true,
      }),
    ).toEqual({ version: 2 });
    expect(await cloud.listTagsForResource(REGION, "/leaven/app/release")).toEqual(tags);
    const listed = await cloud.getParametersByPath(REGION, "/leaven");
    expect(listed.map(({ lastModified: _, ...p }) => p)).toEqual([
      { name: "/leaven/app/release", region: REGION, value: image, version: 2, dataType: IMAGE_DATA_TYPE },
    ]);
    const described = await cloud.describeParameters(REGION, [
      { key: "Path", option: "Recursive", values: ["/leaven"] },
      { key: "tag:leaven.dev/managed-by", values: ["leaven"] },
    ]);
    expect(described.map((p) => [p.name, p.version, p.dataType])).toEqual([
      ["/leaven/app/release", 2, IMAGE_DATA_TYPE],
    ]);
    await cloud.deleteParameter(REGION, "/leaven/app/release");
    expect(ssmRequests()).toEqual({
      PutParameter: 2,
      ListTagsForResource: 1,
      GetParametersByPath: 1,
      DescribeParameters: 1,
      DeleteParameter: 1,
    });
    expect(cloud.stats().mutating).toBe(3);
  });

  it("surfaces SSM's errors as CloudError with the AWS code, not retried", async () => {
    const image = await anImage();
    await cloud.putParameter(REGION, {
      name: "/p",
      value: image,
      dataType: IMAGE_DATA_TYPE,
      overwrite: false,
      tags: { a: "b" },
    });
    cloud.resetStats();
    const error = await cloud
      .putParameter(REGION, {
        name: "/p",
        value: image,
        dataType: IMAGE_DATA_TYPE,
        overwrite: false,
        tags: { a: "b" },
      })
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(CloudError);
    expect(error).toMatchObject({ code: "ParameterAlreadyExists", statusCode: 400, retryable: false });
    const missing = await cloud.deleteParameter(REGION, "/none").catch((e: unknown) => e);
    expect(missing).toMatchObject({
      code: "ParameterNotFound",
      message: "ParameterNotFound: Parameter /none not found.",
    });
    expect(cloud.stats().retried).toBe(0);
  });

  it("asks GetParameters 10 names at a time and walks GetParametersByPath 10 a page", async () => {
    const image = await anImage();
    for (let i = 0; i < 23; i++)
      await cloud.putParameter(REGION, {
        name: `/many/${i}`,
        value: image,
        dataType: IMAGE_DATA_TYPE,
        overwrite: false,
      });
    cloud.resetStats();
    const names = [...Array.from({ length: 23 }, (_, i) => `/many/${i}`), "/many/none"];
    const { parameters, invalid } = await cloud.getParameters(REGION, names);
    expect(parameters).toHaveLength(23);
    expect(invalid).toEqual(["/many/none"]);
    expect(await cloud.getParametersByPath(REGION, "/many")).toHaveLength(23);
    expect(ssmRequests()).toEqual({ GetParameters: 3, GetParametersByPath: 3 });
  });

  it("retries ThrottlingException and 5xx with backoff, counting them", async () => {
    sim.setFaults({ throttleRate: 0.5, serverErrorRate: 0.3, seed: 7 });
    const { invalid } = await cloud.getParameters(REGION, ["/x"]);
    expect(invalid).toEqual(["/x"]);
    const stats = cloud.stats();
    expect(stats.retried).toBeGreaterThan(0);
    expect(stats.requests).toBe(stats.retried + 1);
    expect(stats.throttled).toBe(sim.stats().throttled);
  });
});

describe("SSM's buckets in the client-side limiter", () => {
  it.each([
    ["GetParameters", 39],
    ["GetParametersByPath", 39],
    ["PutParameter", 2],
    ["DescribeParameters", 9],
    ["ListTagsForResource", 9],
    ["DeleteParameter", 2],
  ])("%s bursts %i (SSM's rate less one token of headroom)", (action, burst) => {
    const limiter = new RegionRateLimiter(new ManualClock());
    const bucket = limiter.bucket(REGION, action);
    let taken = 0;
    while (taken < 1000 && bucket.tryTake()) taken++;
    expect(taken).toBe(burst);
    // EC2's buckets are apart: draining SSM's leaves DescribeImages' full.
    expect(limiter.bucket(REGION, "DescribeImages").waitTime()).toBe(0);
  });
});
