// The reconcile loop against the simulator over HTTP. One ManualClock drives the simulator and the
// controller: each test advances it between passes, so every bake, image and copy transition happens
// exactly when the test says and no test waits on wall time.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { channelTag, MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { type PassResult, Reconciler, settled } from "../../controller/reconcile/reconciler.ts";
import type { ValidationResult } from "../../controller/validation/result.ts";
import { MINUTE, requestsOf, requestTable, type SimCloud, startSimCloud } from "../support/sim-cloud.ts";
import { baseSpec, ubuntuFoundation, validation } from "../support/sim-specs.ts";

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

function reconciler(options: { sweepIntervalMs?: number } = {}): Reconciler {
  return new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger, ...options });
}

const kinds = (pass: PassResult) => pass.executed.map((a) => a.kind).sort();
const statusOf = (pass: PassResult, spec: string) => pass.statuses.find((s) => s.name === spec)!;

/** Advances the clock, then runs one pass. */
async function passAfter(ms: number, r: Reconciler, specs: ValidationResult): Promise<PassResult> {
  t.clock.advance(ms);
  return r.pass(specs);
}

/** Passes a minute apart until the loop settles; fails the test if it does not within `maxPasses`. */
async function untilSettled(r: Reconciler, specs: ValidationResult, maxPasses = 40): Promise<PassResult> {
  for (let i = 0; i < maxPasses; i++) {
    const pass = await passAfter(MINUTE, r, specs);
    if (settled(pass)) return pass;
  }
  throw new Error(`not settled after ${maxPasses} passes`);
}

const estate = validation(ubuntuFoundation(), baseSpec("base"));

describe("Reconciler", () => {
  it("walks a bake through its state machine, one step per pass, to Ready", async () => {
    const r = reconciler();
    const steps: [string[], string][] = [];
    const record = (pass: PassResult) => {
      const base = statusOf(pass, "base");
      steps.push([kinds(pass), base.phase]);
      return base;
    };

    let base = record(await r.pass(estate));
    expect(base.message).toMatch(/^1\.0\.0\+[0-9a-f]{8}: launching the bake instance; /);
    const build = base.desiredBuild!;
    // Pending 15 s, then the bake script runs for 4 minutes.
    base = record(await passAfter(1 * MINUTE, r, estate));
    expect(base.message).toMatch(
      new RegExp(`^${build.replace("+", "\\+")}: baking on i-[0-9a-f]{17} \\(1m of 45m\\)`),
    );
    // The script printed its marker and powered off (20 s stopping).
    base = record(await passAfter(4 * MINUTE, r, estate));
    expect(base.message).toMatch(/: creating the image from i-[0-9a-f]{17}/);
    base = record(await passAfter(1 * MINUTE, r, estate));
    expect(base.message).toMatch(/: image ami-[0-9a-f]{17} is pending/);
    // The image is available after 4 minutes: copy it, and terminate the bake instance.
    base = record(await passAfter(3 * MINUTE, r, estate));
    expect(base.message).toMatch(/: copying to eu-west-1/);
    // The instance is gone: its id comes off the image.
    base = record(await r.pass(estate));
    // The copy is available after 8 minutes: both channels move onto the build in both regions.
    base = record(await passAfter(8 * MINUTE, r, estate));
    const last = await passAfter(MINUTE, r, estate);
    base = record(last);

    // Publishing: the foundation's release is published on the first pass (its channel resolves at
    // once); the base's two channels, in both regions, in the pass that moves their tags onto the build.
    expect(steps).toEqual([
      [["launch-bake", "put-parameter"], "Baking"],
      [[], "Baking"],
      // The verdict goes onto the instance in the pass that reads it.
      [["create-image", "tag-instance"], "Baking"],
      [[], "Baking"],
      [["copy-image", "terminate-instance"], "Copying"],
      // The pending copy is recorded on the home image (drift repair knows it by id should it vanish).
      [["remove-tags", "set-tags"], "Copying"],
      [
        ["put-parameter", "put-parameter", "put-parameter", "put-parameter", "set-tags", "set-tags"],
        "Promoting",
      ],
      [[], "Ready"],
    ]);
    expect(settled(last)).toBe("converged");
    expect(base.message).toBe(`${build} is ready in 2 region(s)`);
    const images = Object.fromEntries(
      await Promise.all(
        ["us-east-1", "eu-west-1"].map(
          async (region) =>
            [region, (await t.adapter.describeImages(region, { owners: ["self"] }))[0]!] as const,
        ),
      ),
    );
    for (const channel of ["candidate", "release"]) {
      expect(base.channels[channel]).toEqual({
        build,
        images: { "us-east-1": images["us-east-1"]!.imageId, "eu-west-1": images["eu-west-1"]!.imageId },
      });
    }
    expect(images["eu-west-1"]!.tags).toMatchObject({
      [Tag.build]: build,
      [Tag.homeImage]: images["us-east-1"]!.imageId,
      [channelTag("release")]: "true",
    });
    expect(images["us-east-1"]!.tags[Tag.bakeInstance]).toBeUndefined();
    // Every channel's parameter holds its image in each region, at version 1: nothing was put twice.
    for (const region of ["us-east-1", "eu-west-1"]) {
      const published = await t.adapter.getParametersByPath(region, "/leaven/base");
      expect(published.map((p) => [p.name, p.value, p.version])).toEqual([
        ["/leaven/base/candidate", images[region]!.imageId, 1],
        ["/leaven/base/release", images[region]!.imageId, 1],
      ]);
    }
    const instances = [...t.sim.world.region("us-east-1").instances.values()];
    // One bake instance, and it is gone.
    expect(instances.map((i) => [i.tags[Tag.build], i.timeline.at(-1)?.state])).toEqual([
      [build, "terminated"],
    ]);
  });

  it("makes no mutating request and lists no instances in steady state until a sweep is due", async () => {
    const r = reconciler({ sweepIntervalMs: 60 * MINUTE });
    await r.pass(estate);
    expect(settled(await untilSettled(r, estate))).toBe("converged");

    t.adapter.resetStats();
    const quiet = await passAfter(MINUTE, r, estate);
    expect(quiet.executed).toEqual([]);
    expect(t.adapter.stats().mutating).toBe(0);
    expect(requestsOf(t.adapter, "us-east-1", "DescribeInstances")).toBe(0);
    // Within the full-walk interval, one DescribeImages per region for images created since the last
    // refresh (the vendor lookup is cached for ten minutes); parameters nobody touched are not listed.
    expect(requestTable(t.adapter)).toEqual({
      "eu-west-1 DescribeImages": 1,
      "us-east-1 DescribeImages": 1,
    });
    expect(quiet.observation).toMatchObject({ fullWalks: new Map(), reusedPlan: true });

    // An hour after the first pass's sweep: a sweep again.
    t.adapter.resetStats();
    const sweep = await passAfter(60 * MINUTE, r, estate);
    expect(sweep.executed).toEqual([]);
    // Past the full-walk interval: every region is walked in full, parameters listed again.
    expect(sweep.observation.fullWalks).toEqual(
      new Map([
        ["eu-west-1", "scheduled"],
        ["us-east-1", "scheduled"],
      ]),
    );
    expect(requestsOf(t.adapter, "us-east-1", "GetParametersByPath")).toBe(1);
    // The home region's bake instances, and in every region one filtered look for what a volume spec might
    // have left (this installation's volumes, its bakery hosts): nothing, so nothing more is read.
    expect(requestsOf(t.adapter, "us-east-1", "DescribeInstances")).toBe(2);
    expect(requestsOf(t.adapter, "eu-west-1", "DescribeInstances")).toBe(1);
    for (const region of ["us-east-1", "eu-west-1"])
      expect(requestsOf(t.adapter, region, "DescribeVolumes")).toBe(1);
    expect(requestsOf(t.adapter, "us-east-1", "ListCommands")).toBe(0);
    expect(t.adapter.stats().mutating).toBe(0);
  });

  it("shares the copy in a region added later, whose source image is already shared", async () => {
    const share = { accounts: ["111122223333"] };
    const r = reconciler();
    const homeOnly = validation(ubuntuFoundation(), baseSpec("base", { regions: ["us-east-1"], share }));
    await r.pass(homeOnly);
    expect(settled(await untilSettled(r, homeOnly))).toBe("converged");

    const widened = validation(
      ubuntuFoundation(),
      baseSpec("base", { regions: ["us-east-1", "eu-west-1"], share }),
    );
    const last = await untilSettled(r, widened);
    expect(settled(last)).toBe("converged");
    const copies = [...t.sim.world.region("eu-west-1").images.values()].filter(
      (i) => i.tags[Tag.managedBy] === MANAGED_BY_VALUE,
    );
    expect(copies).toHaveLength(1);
    // The copy earned its own share tag and launch permission; none of the source's leaked onto it.
    expect(copies[0]!.launchPermissions).toEqual([{ userId: "111122223333" }]);
    expect(copies[0]!.tags[Tag.bakeInstance]).toBeUndefined();
  });

  it("stalls a spec on an error retrying cannot fix, does not repeat it, and converges the others", async () => {
    // A Graviton instance type cannot boot the x86_64 Ubuntu image: RunInstances answers 400.
    const armSpec = baseSpec("arm", { bake: { instanceType: "t4g.micro" } });
    const specs = validation(ubuntuFoundation(), baseSpec("base"), armSpec);
    const r = reconciler();

    const first = await r.pass(specs);
    expect(kinds(first)).toEqual(["launch-bake", "launch-bake", "put-parameter"]);
    const failed = first.results.find((res) => !res.ok);
    expect(failed).toMatchObject({ ok: false, retryable: false });
    expect(failed?.actions.map((a) => a.spec)).toEqual(["arm"]);
    const arm = statusOf(first, "arm");
    expect(arm.phase).toBe("Stalled");
    expect(arm.message).toMatch(
      /^InvalidParameterValue: The architecture 'arm64' of the specified instance type does not match the architecture 'x86_64' of the specified AMI\. .* — fix the cause and run apply again; /,
    );

    const second = await passAfter(MINUTE, r, specs);
    expect(second.executed.filter((a) => a.spec === "arm")).toEqual([]);
    expect(statusOf(second, "arm")).toMatchObject({ phase: "Stalled", message: arm.message });
    expect(t.sim.stats().byAction.RunInstances).toBe(2);

    const last = await untilSettled(r, specs);
    expect(settled(last)).toBe("stalled");
    expect(statusOf(last, "base").phase).toBe("Ready");
    expect(statusOf(last, "arm").phase).toBe("Stalled");
    expect(t.sim.stats().byAction.RunInstances).toBe(2);

    // Fixing the instance type (not part of the build id) makes the launch worth trying again.
    const fixed = validation(
      ubuntuFoundation(),
      baseSpec("base"),
      baseSpec("arm", { bake: { instanceType: "t3.micro" } }),
    );
    const retried = await passAfter(MINUTE, r, fixed);
    expect(retried.executed.map((a) => [a.kind, a.spec])).toEqual([["launch-bake", "arm"]]);
    expect(retried.results).toEqual([expect.objectContaining({ ok: true })]);
    expect(statusOf(retried, "arm").phase).toBe("Baking");
  });

  it("terminates a hung bake after the spec's timeout and reports it Failed without relaunching", async () => {
    t.sim.setFaults({ bakeHang: { specs: ["base"] } });
    const specs = validation(ubuntuFoundation(), baseSpec("base", { bake: { timeout: "20m" } }));
    const r = reconciler();
    const launched = await r.pass(specs);
    expect(kinds(launched)).toEqual(["launch-bake", "put-parameter"]);
    const instanceId = launched.results.find((res) => res.actions[0]?.kind === "launch-bake")!.created!;

    const waiting = await passAfter(19 * MINUTE, r, specs);
    expect(waiting.executed).toEqual([]);
    expect(statusOf(waiting, "base").message).toContain(`baking on ${instanceId} (19m of 20m)`);

    const timedOut = await passAfter(2 * MINUTE, r, specs);
    // The failure is recorded (a launch template) in the same pass as the instance is terminated.
    expect(kinds(timedOut)).toEqual(["record-failure", "terminate-instance"]);
    const reason = `bake timed out after 20m (instance ${instanceId} still running)`;
    const build = statusOf(timedOut, "base").desiredBuild!;
    expect(statusOf(timedOut, "base")).toMatchObject({ phase: "Failed" });
    expect(statusOf(timedOut, "base").message).toMatch(
      new RegExp(`^build ${build.replace("+", "\\+")} failed: ${reason.replace(/[()]/g, "\\$&")}`),
    );

    const later = await passAfter(MINUTE, r, specs);
    expect(later.executed).toEqual([]);
    expect(statusOf(later, "base").message).toContain(`failed: ${reason}`);
    expect(settled(later)).toBe("stalled");
    const instance = t.sim.world.region("us-east-1").instances.get(instanceId)!;
    expect(instance.tags).toMatchObject({ [Tag.bakeResult]: "failed", [Tag.bakeReason]: reason });
    expect(instance.timeline.at(-1)?.state).toBe("terminated");
    expect(t.sim.stats().byAction.RunInstances).toBe(1);

    // Two hours on, EC2 has forgotten the terminated instance; the failure record has not.
    const forgotten = await passAfter(120 * MINUTE, r, specs);
    expect(t.sim.world.region("us-east-1").instances.size).toBe(0);
    expect(forgotten.executed).toEqual([]);
    expect(statusOf(forgotten, "base")).toMatchObject({ phase: "Failed", failure: { build, reason } });
    expect(settled(forgotten)).toBe("stalled");
    expect(t.sim.stats().byAction.RunInstances).toBe(1);
  });
});
