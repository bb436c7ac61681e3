import { join } from "node:path";
import {
  GetConsoleOutputCommand,
  RunInstancesCommand,
  type RunInstancesCommandInput,
  TerminateInstancesCommand,
} from "@aws-sdk/client-ec2";
import { describe, expect, it } from "vitest";
import { formatBakeMarker } from "../../controller/api/bake-protocol.ts";
import { AWKWARD_NONE } from "../../controller/sim/awkward.ts";
import {
  CONSOLE_OUTPUT_LIMIT,
  capConsoleOutput,
  isNitroInstanceType,
} from "../../controller/sim/console-buffer.ts";
import { ManualClock } from "../../controller/sim/manual-clock.ts";
import type { SimInstance } from "../../controller/sim/world.ts";
import { tempDir } from "../support/temp-dir.ts";
import { awkwardSims, ec2Error, MINUTE, nobleImage, START, type TestSim, userData } from "./helpers.ts";

const BUILD = "2.3.0+5f2c91ab";
const MARKER = formatBakeMarker({ build: BUILD, result: "success" });
const HOUR = 60 * MINUTE;

const sim = awkwardSims({ console: true });
const ubuntu = nobleImage;

async function bake(t: TestSim, instanceType = "t3.medium"): Promise<string> {
  const input: RunInstancesCommandInput = {
    ImageId: await ubuntu(t),
    InstanceType: instanceType as RunInstancesCommandInput["InstanceType"],
    MinCount: 1,
    MaxCount: 1,
    UserData: userData(`#!/bin/bash\nLEAVEN_BUILD_ID=${BUILD}\npoweroff\n`),
  };
  return (await t.client.send(new RunInstancesCommand(input))).Instances![0]!.InstanceId!;
}

function instance(t: TestSim, id: string): SimInstance {
  return t.sim.world.region("eu-west-1").instances.get(id)!;
}

/** When EC2 posts after the instance's transition to `state`. */
function postOf(t: TestSim, id: string, state: string): number {
  const entry = instance(t, id).timeline.find((e) => e.state === state)!;
  return entry.at + entry.postLag!;
}

async function consoleOf(t: TestSim, id: string, latest?: boolean) {
  const out = await t.client.send(
    new GetConsoleOutputCommand({ InstanceId: id, ...(latest !== undefined ? { Latest: latest } : {}) }),
  );
  return {
    timestamp: out.Timestamp?.getTime(),
    text: out.Output === undefined ? undefined : Buffer.from(out.Output, "base64").toString("utf8"),
  };
}

describe("GetConsoleOutput answers what EC2 last posted", () => {
  it("posts a random lag after running and after stopped, and keeps the last post an hour", async () => {
    const t = await sim();
    const id = await bake(t);
    const running = START + 15_000;
    const stopped = running + 4 * MINUTE + 20_000;
    const runningPost = postOf(t, id, "running");
    const stoppedPost = postOf(t, id, "stopped");
    for (const [post, transition] of [
      [runningPost, running],
      [stoppedPost, stopped],
    ] as const) {
      expect(post).toBeGreaterThanOrEqual(transition);
      expect(post).toBeLessThanOrEqual(transition + 3 * MINUTE);
    }
    // Nothing is posted until the first post, even though the instance is running by then.
    t.clock.set(runningPost - 1);
    expect(await consoleOf(t, id)).toEqual({ timestamp: undefined, text: undefined });
    t.clock.set(runningPost);
    const first = await consoleOf(t, id);
    expect(first.timestamp).toBe(runningPost);
    expect(first.text).toContain(`cloud-init[731]: leaven: baking build ${BUILD}`);
    expect(first.text).not.toContain(MARKER);
    // Stopped, the marker printed: the console still answers the running post until the next one.
    t.clock.set(stoppedPost - 1);
    expect(t.clock.now()).toBeGreaterThanOrEqual(stopped - 1);
    expect(await consoleOf(t, id)).toEqual(first);
    t.clock.set(stoppedPost);
    const second = await consoleOf(t, id);
    expect(second.timestamp).toBe(stoppedPost);
    expect(second.text).toContain(MARKER);
    expect(second.text).toMatch(/reboot: Power down\r\n$/);
    // Kept an hour after the most recent post, then the call answers no Output at all.
    t.clock.set(stoppedPost + HOUR - 1);
    expect(await consoleOf(t, id)).toEqual(second);
    t.clock.set(stoppedPost + HOUR);
    expect(await consoleOf(t, id)).toEqual({ timestamp: stoppedPost, text: undefined });
  });

  it.each([
    [3 * MINUTE, undefined],
    [20 * MINUTE, { consoleLagMs: 20 * MINUTE }],
    [0, { consoleLagMs: 0 }],
  ])("draws every lag between 0 and %i ms", async (limit, override) => {
    const t = await sim({ awkward: { ...AWKWARD_NONE, console: true, ...override }, faults: { seed: 7 } });
    const lags: number[] = [];
    for (let n = 0; n < 10; n++) {
      const id = await bake(t);
      lags.push(...instance(t, id).timeline.flatMap((e) => (e.postLag === undefined ? [] : [e.postLag])));
    }
    expect(lags).toHaveLength(20);
    for (const lag of lags) {
      expect(Number.isInteger(lag)).toBe(true);
      expect(lag).toBeGreaterThanOrEqual(0);
      expect(lag).toBeLessThanOrEqual(limit);
    }
    if (limit > 0) expect(new Set(lags).size).toBeGreaterThan(10);
  });

  it("keeps the output consoleRetentionMs after the last post when configured", async () => {
    const t = await sim({ awkward: { ...AWKWARD_NONE, console: true, consoleRetentionMs: 10 * MINUTE } });
    const id = await bake(t);
    const stoppedPost = postOf(t, id, "stopped");
    t.clock.set(stoppedPost + 10 * MINUTE - 1);
    expect((await consoleOf(t, id)).text).toContain(MARKER);
    t.clock.advance(1);
    expect((await consoleOf(t, id)).text).toBeUndefined();
  });

  it("posts again after StopInstances and TerminateInstances, each with its own lag", async () => {
    const t = await sim();
    const id = (
      await t.client.send(
        new RunInstancesCommand({
          ImageId: await ubuntu(t),
          InstanceType: "t3.micro",
          MinCount: 1,
          MaxCount: 1,
        }),
      )
    ).Instances![0]!.InstanceId!;
    t.clock.set(postOf(t, id, "running"));
    expect((await consoleOf(t, id)).text).not.toContain("reboot: Power down");
    await t.client.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
    const terminatedPost = postOf(t, id, "terminated");
    t.clock.set(terminatedPost - 1);
    expect((await consoleOf(t, id)).text).not.toContain("reboot: Power down");
    t.clock.set(terminatedPost);
    expect(await consoleOf(t, id)).toMatchObject({
      timestamp: terminatedPost,
      text: expect.stringContaining("reboot: Power down"),
    });
  });

  it("is the live console in the exact mode (awkward off)", async () => {
    const t = await sim({ awkward: false });
    const id = await bake(t);
    t.clock.advance(15_000 + 4 * MINUTE);
    expect((await consoleOf(t, id)).text).toContain(MARKER);
    expect(instance(t, id).timeline.every((e) => e.postLag === undefined)).toBe(true);
  });
});

describe("Latest=true", () => {
  it("answers the live console at once on a Nitro instance type", async () => {
    const t = await sim();
    const id = await bake(t, "t3.medium");
    t.clock.set(START + 15_000 + 4 * MINUTE);
    // The marker is printed; nothing has been posted since the running post.
    expect((await consoleOf(t, id)).text ?? "").not.toContain(MARKER);
    const latest = await consoleOf(t, id, true);
    expect(latest.timestamp).toBe(t.clock.now());
    expect(latest.text).toContain(MARKER);
  });

  it("is refused on a Xen instance type with UnsupportedOperation", async () => {
    const t = await sim();
    const id = await bake(t, "t2.micro");
    t.clock.advance(MINUTE);
    expect(
      await ec2Error(t.client.send(new GetConsoleOutputCommand({ InstanceId: id, Latest: true }))),
    ).toEqual({
      code: "UnsupportedOperation",
      status: 400,
      message:
        "The instance type t2.micro does not support retrieving the latest console output. Latest console output is supported on instance types built on the Nitro System.",
    });
    // Without Latest the buffered output is still there.
    t.clock.set(postOf(t, id, "stopped"));
    expect((await consoleOf(t, id, false)).text).toContain(MARKER);
  });

  it.each([
    ["t3.medium", true],
    ["t3a.large", true],
    ["t4g.small", true],
    ["m5.xlarge", true],
    ["c5.large", true],
    ["r5.2xlarge", true],
    ["m6i.large", true],
    ["m7g.medium", true],
    ["c7gn.large", true],
    ["i3.metal", true],
    ["t2.micro", false],
    ["m4.large", false],
    ["c4.xlarge", false],
    ["r4.large", false],
    ["i3.large", false],
    ["x1e.xlarge", false],
    ["p3.2xlarge", false],
    ["p3dn.24xlarge", true],
    ["m3.medium", false],
  ])("%s is on Nitro: %s", (instanceType, nitro) => {
    expect(isNitroInstanceType(instanceType)).toBe(nitro);
  });
});

describe("the 64 KB cap", () => {
  it("keeps only the most recent 64 KB of a chatty bake, marker and power-down included", async () => {
    const t = await sim({ faults: { scriptOutputBytes: 100_000 } });
    const id = await bake(t);
    t.clock.set(postOf(t, id, "stopped"));
    const { text } = await consoleOf(t, id);
    expect(Buffer.byteLength(text!)).toBe(CONSOLE_OUTPUT_LIMIT);
    expect(text).not.toContain("Linux version");
    expect(text).toContain(MARKER);
    expect(text).toMatch(/reboot: Power down\r\n$/);
  });

  it("cuts bytes, not characters", () => {
    expect(capConsoleOutput("abc").toString()).toBe("abc");
    const long = `${"x".repeat(CONSOLE_OUTPUT_LIMIT)}tail`;
    const capped = capConsoleOutput(long);
    expect(capped.length).toBe(CONSOLE_OUTPUT_LIMIT);
    expect(capped.toString().endsWith("xtail")).toBe(true);
  });
});

describe("across a restart", () => {
  it("keeps the post times with the world, so the same post is answered after a restart", async () => {
    const dir = tempDir("leaven-sim-console-");
    const statePath = join(dir, "state.json");
    const clock = new ManualClock(START);
    const first = await sim({ statePath, clock });
    const id = await bake(first);
    const stoppedPost = postOf(first, id, "stopped");
    clock.set(stoppedPost - 1);
    const before = await consoleOf(first, id);
    expect(before.text).not.toContain(MARKER);
    await sim.close(first);

    const second = await sim({ statePath, clock });
    expect(postOf(second, id, "stopped")).toBe(stoppedPost);
    expect(await consoleOf(second, id)).toEqual(before);
    clock.set(stoppedPost);
    expect((await consoleOf(second, id)).text).toContain(MARKER);
  });
});
