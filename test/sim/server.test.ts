import { mkdtempSync, readdirSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateImageCommand,
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  DescribeRegionsCommand,
  EC2Client,
  RunInstancesCommand,
} from "@aws-sdk/client-ec2";
import { afterEach, describe, expect, it } from "vitest";
import { parseFaultFlag } from "../../controller/sim/faults.ts";
import { ManualClock } from "../../controller/sim/manual-clock.ts";
import { SIM_REGIONS } from "../../controller/sim/regions.ts";
import { CANONICAL_OWNER_ID } from "../../controller/sim/vendor-images.ts";
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

function signedHeaders(region: string): Record<string, string> {
  return {
    "content-type": "application/x-www-form-urlencoded",
    authorization: `AWS4-HMAC-SHA256 Credential=AKIDSIM/20261121/${region}/ec2/aws4_request, SignedHeaders=host, Signature=00`,
  };
}

describe("the wire protocol", () => {
  it("lists the commercial regions", async () => {
    const t = await sim();
    const out = await t.client.send(new DescribeRegionsCommand({}));
    expect(out.Regions!.map((r) => r.RegionName)).toEqual(SIM_REGIONS);
    expect(out.Regions![0]).toEqual({
      RegionName: "us-east-1",
      Endpoint: "ec2.us-east-1.amazonaws.com",
      OptInStatus: "opt-in-not-required",
    });
  });

  it("answers an unknown action with InvalidAction in EC2's error envelope", async () => {
    const t = await sim();
    const response = await fetch(t.sim.endpoint, {
      method: "POST",
      headers: signedHeaders("eu-west-1"),
      body: "Action=LaunchRocket&Version=2016-11-15",
    });
    expect(response.status).toBe(400);
    const body = await response.text();
    expect(body).toMatch(
      /^<\?xml version="1.0" encoding="UTF-8"\?>\n<Response><Errors><Error><Code>InvalidAction<\/Code><Message>The action LaunchRocket is not valid for this web service.<\/Message><\/Error><\/Errors><RequestID>[0-9a-f-]{36}<\/RequestID><\/Response>$/,
    );
  });

  it("refuses a region that is not enabled, as AWS does", async () => {
    const t = await sim();
    const err = await ec2Error(t.clientFor("me-central-1").send(new DescribeImagesCommand({})));
    expect(err).toEqual({
      code: "AuthFailure",
      status: 401,
      message: "AWS was not able to validate the provided access credentials",
    });
  });
});

describe("throttling", () => {
  it("trips RunInstances after its bucket of 5 and refills at 2 per second of simulated time", async () => {
    const t = await sim({ throttle: true });
    const image = (
      await t.client.send(
        new DescribeImagesCommand({
          Owners: [CANONICAL_OWNER_ID],
          Filters: [{ Name: "architecture", Values: ["x86_64"] }],
        }),
      )
    ).Images![0]!;
    const launch = () =>
      t.client.send(
        new RunInstancesCommand({
          ImageId: image.ImageId,
          InstanceType: "t3.micro",
          MinCount: 1,
          MaxCount: 1,
        }),
      );
    for (let n = 0; n < 5; n++) await launch();
    expect(await ec2Error(launch())).toEqual({
      code: "RequestLimitExceeded",
      status: 503,
      message: "Request limit exceeded.",
    });
    // Other regions have their own buckets.
    const east = await t.clientFor("us-east-1").send(new DescribeInstancesCommand({}));
    expect(east.Reservations).toEqual([]);
    t.clock.advance(500);
    await launch();
    expect(t.sim.stats().throttled).toBe(1);
  });

  it("never throttles with throttling off", async () => {
    const t = await sim({ throttle: false });
    for (let n = 0; n < 150; n++) await t.client.send(new DescribeRegionsCommand({}));
    expect(t.sim.stats()).toMatchObject({ requests: 150, throttled: 0 });
  });

  it("trips describe calls after 100 with throttling on", async () => {
    const t = await sim({ throttle: true });
    for (let n = 0; n < 100; n++) await t.client.send(new DescribeRegionsCommand({}));
    expect((await ec2Error(t.client.send(new DescribeRegionsCommand({})))).code).toBe("RequestLimitExceeded");
  });
});

describe("faults and counters", () => {
  it("fails a seeded fraction of requests with InternalError or Unavailable", async () => {
    const t = await sim({ faults: { serverErrorRate: 0.3, seed: 42 } });
    const codes: string[] = [];
    for (let n = 0; n < 200; n++) {
      try {
        await t.client.send(new DescribeRegionsCommand({}));
        codes.push("ok");
      } catch (error) {
        const e = error as { name: string; $metadata: { httpStatusCode: number } };
        codes.push(`${e.name}/${e.$metadata.httpStatusCode}`);
      }
    }
    const failures = codes.filter((c) => c !== "ok");
    expect(failures.length).toBeGreaterThan(35);
    expect(failures.length).toBeLessThan(85);
    expect(new Set(failures)).toEqual(new Set(["InternalError/500", "Unavailable/503"]));
    // Same seed, same failing requests.
    const again = await sim({ faults: { serverErrorRate: 0.3, seed: 42 } });
    const replay: string[] = [];
    for (let n = 0; n < 200; n++) {
      replay.push(
        await again.client.send(new DescribeRegionsCommand({})).then(
          () => "ok",
          (e: { name: string; $metadata: { httpStatusCode: number } }) =>
            `${e.name}/${e.$metadata.httpStatusCode}`,
        ),
      );
    }
    expect(replay).toEqual(codes);
  });

  it("counts requests per action and region, and mutating requests", async () => {
    const t = await sim();
    await t.client.send(new DescribeRegionsCommand({}));
    await t.clientFor("us-west-2").send(new DescribeImagesCommand({ Owners: ["self"] }));
    await ec2Error(
      t.client.send(
        new CreateTagsCommand({ Resources: ["ami-0123456789abcdef0"], Tags: [{ Key: "k", Value: "v" }] }),
      ),
    );
    expect(t.sim.stats()).toEqual({
      requests: 3,
      byAction: { DescribeRegions: 1, DescribeImages: 1, CreateTags: 1 },
      byRegion: { "eu-west-1": 2, "us-west-2": 1 },
      throttled: 0,
      throttledByNeighbour: 0,
      throttledByAction: {},
      mutating: 1,
      errors: { "InvalidAMIID.NotFound": 1 },
    });
    t.sim.resetStats();
    expect(t.sim.stats().requests).toBe(0);
  });

  it("adds latency and parses CLI fault flags", async () => {
    const t = await sim({ faults: { latencyMs: 60 } });
    const started = Date.now();
    await t.client.send(new DescribeRegionsCommand({}));
    expect(Date.now() - started).toBeGreaterThanOrEqual(55);
    expect(
      ["bake-fail=api", "bake-hang=base", "5xx=0.1", "throttle=0.05", "latency=50ms"].reduce(
        (f, flag) => parseFaultFlag(flag, f),
        {},
      ),
    ).toEqual({
      bakeFailure: { specs: ["api"], builds: ["api"] },
      bakeHang: { specs: ["base"], builds: ["base"] },
      serverErrorRate: 0.1,
      throttleRate: 0.05,
      latencyMs: 50,
    });
    expect(() => parseFaultFlag("5xx=2")).toThrow(
      "--fault 5xx=2: expected a rate between 0 and 1, e.g. 5xx=0.1.",
    );
  });

  it("throttles an injected fraction of requests on top of the buckets", async () => {
    const t = await sim({ faults: { throttleRate: 1 } });
    expect((await ec2Error(t.client.send(new DescribeRegionsCommand({})))).code).toBe("RequestLimitExceeded");
  });
});

describe("persistence", () => {
  it("restarts into the same world, with time that does not go backwards", async () => {
    const dir = mkdtempSync(join(tmpdir(), "leaven-sim-"));
    dirs.push(dir);
    const statePath = join(dir, "nested", "state.json");
    const clock = new ManualClock(START);
    const first = await startTestSim({ clock, statePath });
    const image = (
      await first.client.send(
        new DescribeImagesCommand({
          Owners: [CANONICAL_OWNER_ID],
          Filters: [{ Name: "architecture", Values: ["x86_64"] }],
        }),
      )
    ).Images![0]!;
    const run = await first.client.send(
      new RunInstancesCommand({
        ImageId: image.ImageId,
        InstanceType: "t3.micro",
        MinCount: 1,
        MaxCount: 1,
        ClientToken: "tok",
      }),
    );
    clock.advance(MINUTE);
    const created = await first.client.send(
      new CreateImageCommand({ InstanceId: run.Instances![0]!.InstanceId, Name: "persisted" }),
    );
    // No close(): the state file must already hold every acknowledged change, as after a kill -9.
    expect(readdirSync(join(dir, "nested"))).toEqual(["state.json"]);
    const second = await sim({ clock, statePath });
    await first.sim.close();
    const again = await second.client.send(new DescribeImagesCommand({ ImageIds: [created.ImageId!] }));
    expect(again.Images![0]).toMatchObject({ Name: "persisted", State: "pending" });
    clock.advance(4 * MINUTE);
    expect(
      (await second.client.send(new DescribeImagesCommand({ ImageIds: [created.ImageId!] }))).Images![0]!
        .State,
    ).toBe("available");
    const replay = await second.client.send(
      new RunInstancesCommand({
        ImageId: image.ImageId,
        InstanceType: "t3.micro",
        MinCount: 1,
        MaxCount: 1,
        ClientToken: "tok",
      }),
    );
    expect(replay.ReservationId).toBe(run.ReservationId);
    expect(
      (
        await ec2Error(
          second.client.send(
            new CreateImageCommand({ InstanceId: run.Instances![0]!.InstanceId, Name: "persisted" }),
          ),
        )
      ).code,
    ).toBe("InvalidAMIName.Duplicate");
  });

  it("resumes an accelerated clock from the persisted time", async () => {
    const dir = mkdtempSync(join(tmpdir(), "leaven-sim-"));
    dirs.push(dir);
    const statePath = join(dir, "state.json");
    const { startSimulator } = await import("../../controller/sim/server.ts");
    const first = await startSimulator({ statePath, speed: 3600 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    // Read before close: close persists a time at least this late, and the clock keeps running after.
    const stopped = first.clock.now();
    await first.close();
    const second = await startSimulator({ statePath, speed: 3600 });
    try {
      expect(second.clock.now()).toBeGreaterThanOrEqual(stopped);
      expect(second.clock.now() - stopped).toBeLessThan(3600 * 1000);
      const client = new EC2Client({
        region: "eu-west-1",
        endpoint: second.endpoint,
        credentials: { accessKeyId: "AKIDSIM", secretAccessKey: "sim" },
      });
      // Amazon's non-deprecated images: 4 releases each of AL2023 x86_64 and arm64, and of Windows Server 2022.
      expect((await client.send(new DescribeImagesCommand({ Owners: ["amazon"] }))).Images!.length).toBe(12);
    } finally {
      await second.close();
    }
  });
});
