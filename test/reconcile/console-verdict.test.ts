// Bake verdicts that survive EC2's console, against the simulator through the real SDK: the verdict is
// written on the instance the moment it is read, so a controller that restarts after the console is gone
// still creates the image; and a stopped instance whose console shows no marker yet is given
// bake.consoleGrace from its stop, not from its launch.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import { CloudError, type CloudPort } from "../../controller/cloud/port.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { type PassResult, Reconciler } from "../../controller/reconcile/reconciler.ts";
import { MINUTE, type SimCloud, startSimCloud } from "../support/sim-cloud.ts";
import { baseSpec, ubuntuFoundation, validation } from "../support/sim-specs.ts";

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

const statusOf = (pass: PassResult, spec: string) => pass.statuses.find((s) => s.name === spec)!;
const kinds = (pass: PassResult) => pass.executed.map((a) => a.kind).sort();

/** The cloud as seen by a controller, with its console reads counted and, when `expired`, empty. */
function consoleSpy(
  cloud: CloudPort,
  options: { expired?: boolean; noMarker?: boolean; failCreateImage?: boolean } = {},
) {
  const reads: string[] = [];
  const port: CloudPort = {
    ...cloud,
    getConsoleOutput: async (region, instanceId, consoleOptions) => {
      reads.push(instanceId);
      // EC2 keeps the console for about an hour after the last post; afterwards there is nothing to read.
      if (options.expired) return "";
      // The script died before printing its marker: the console shows the boot, and nothing more.
      if (options.noMarker)
        return "[    0.000000] Linux version 6.8.0-1015-aws\r\ncloud-init[731]: leaven: baking\r\n";
      return cloud.getConsoleOutput(region, instanceId, consoleOptions);
    },
    createImage: async (region, input) => {
      if (options.failCreateImage)
        throw new CloudError("InsufficientInstanceCapacity", "the controller was killed here", 400, false);
      return cloud.createImage(region, input);
    },
  };
  return { port, reads };
}

const reconciler = (cloud: CloudPort) => new Reconciler({ cloud, clock: t.clock, logger: silentLogger });

async function bakeInstanceTags(): Promise<Record<string, string>> {
  const [instance] = await t.adapter.describeInstances("us-east-1", [
    { name: `tag:${Tag.role}`, values: ["bake"] },
  ]);
  return instance!.tags;
}

describe("bake verdicts on the instance", () => {
  const estate = validation(ubuntuFoundation(), baseSpec("base"));

  it("records the verdict the moment it is read, and a controller restarted an hour later creates the image from it", async () => {
    const first = consoleSpy(t.cloud, { failCreateImage: true });
    const before = reconciler(first.port);
    await before.pass(estate);
    t.clock.advance(MINUTE);
    await before.pass(estate);
    // The bake script printed its marker and powered off.
    t.clock.advance(5 * MINUTE);
    const read = await before.pass(estate);
    expect(kinds(read)).toEqual(["create-image", "tag-instance"]);
    const tagging = read.executed.find((a) => a.kind === "tag-instance")!;
    expect(tagging.reason).toBe(
      `the console of ${first.reads[0]} says the bake of ${statusOf(read, "base").desiredBuild} succeeded`,
    );
    expect(read.results.find((r) => r.actions[0]!.kind === "create-image")?.ok).toBe(false);
    expect((await bakeInstanceTags())[Tag.bakeResult]).toBe("success");

    // The controller dies; an hour later the console has expired. A new one trusts the tag.
    t.clock.advance(60 * MINUTE);
    const second = consoleSpy(t.cloud, { expired: true });
    const after = await reconciler(second.port).pass(estate);
    expect(second.reads).toEqual([]);
    expect(kinds(after)).toEqual(["create-image"]);
    expect(after.results.every((r) => r.ok)).toBe(true);
    expect(statusOf(after, "base").message).toMatch(
      /^1\.0\.0\+[0-9a-f]{8}: creating the image from i-[0-9a-f]{17}; /,
    );
  });

  it("waits bake.consoleGrace from the stop (not bake.timeout from the launch), across a restart, then fails", async () => {
    const quiet = validation(ubuntuFoundation(), baseSpec("base", { bake: { timeout: "5m" } }));
    const silent = consoleSpy(t.cloud, { noMarker: true });
    const before = reconciler(silent.port);
    await before.pass(quiet);
    t.clock.advance(6 * MINUTE);
    // Stopped 6 minutes after launch, past bake.timeout: only the running phase is bounded by it.
    const stopped = await before.pass(quiet);
    const instanceId = silent.reads[0]!;
    expect(kinds(stopped)).toEqual(["tag-instance"]);
    expect(statusOf(stopped, "base").message).toMatch(
      new RegExp(
        `: waiting for the console output of ${instanceId} \\(stopped just now; waiting up to 20m\\)`,
      ),
    );
    expect((await bakeInstanceTags())[Tag.stoppedAt]).toBe(new Date(t.clock.now()).toISOString());

    // A restart keeps counting from the recorded stop.
    t.clock.advance(15 * MINUTE);
    const restarted = reconciler(silent.port);
    const waiting = await restarted.pass(quiet);
    expect(waiting.executed).toEqual([]);
    expect(statusOf(waiting, "base")).toMatchObject({
      phase: "Baking",
      message: expect.stringContaining(
        `: waiting for the console output of ${instanceId} (stopped 15m ago; waiting up to 20m)`,
      ),
    });

    t.clock.advance(5 * MINUTE + 1_000);
    const failed = await restarted.pass(quiet);
    expect(kinds(failed)).toEqual(["record-failure", "terminate-instance"]);
    expect(statusOf(failed, "base").phase).toBe("Failed");
    expect(statusOf(failed, "base").message).toMatch(
      new RegExp(
        `^build 1\\.0\\.0\\+[0-9a-f]{8} failed: bake instance ${instanceId} stopped without a result marker on its console within bake\\.consoleGrace \\(20m\\) of the stop`,
      ),
    );
  });

  it("bakes again, rather than fail, when the console stays empty past the grace (it expired unread)", async () => {
    const quiet = validation(ubuntuFoundation(), baseSpec("base"));
    const silent = consoleSpy(t.cloud, { expired: true });
    const r = reconciler(silent.port);
    await r.pass(quiet);
    t.clock.advance(6 * MINUTE);
    await r.pass(quiet);
    const instanceId = silent.reads[0]!;
    t.clock.advance(21 * MINUTE);
    const unknown = await r.pass(quiet);
    expect(kinds(unknown)).toEqual(["terminate-instance"]);
    expect(statusOf(unknown, "base").phase).toBe("Baking");
    expect(statusOf(unknown, "base").message).toContain(
      `the console of ${instanceId} shows nothing stopped 21m ago, past bake.consoleGrace 20m (EC2 keeps it about an hour after its last post): the outcome of the bake is unknown; baking again`,
    );
    t.clock.advance(MINUTE);
    const again = await r.pass(quiet);
    expect(kinds(again)).toContain("launch-bake");
    expect(statusOf(again, "base").phase).toBe("Baking");
  });
});
