// The orphaned-snapshot sweep against the simulator through the real SDK: Leaven's snapshots that no image
// references, older than an hour, are listed on the sweep schedule (one DescribeSnapshots per region),
// shown by `leaven plan` with their reason, and deleted after their ownership is read back.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import type { CloudPort } from "../../controller/cloud/port.ts";
import { execute } from "../../controller/execute/executor.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import type { DeleteSnapshotAction } from "../../controller/plan/actions.ts";
import { Reconciler } from "../../controller/reconcile/reconciler.ts";
import { renderPlan } from "../../controller/status/render-plan.ts";
import { verdictOf } from "../../controller/status/verdict.ts";
import { MINUTE, requestsOf, type SimCloud, startSimCloud, whileTicking } from "../support/sim-cloud.ts";
import { baseSpec, ubuntuFoundation, validation } from "../support/sim-specs.ts";

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

const HOUR = 60 * MINUTE;
const specs = validation(ubuntuFoundation(), baseSpec("base"));
const owned = (build: string) => ({
  [Tag.managedBy]: MANAGED_BY_VALUE,
  [Tag.spec]: "base",
  [Tag.build]: build,
});

/** A snapshot whose image was deregistered without it, made `age` ago; returns its id and its image's. */
async function orphan(
  build: string,
  age: number,
  tags: Record<string, string> = owned(build),
): Promise<{ snapshotId: string; imageId: string }> {
  const [imageId] = t.sim.seedImages([
    {
      region: "us-east-1",
      name: `leaven/base/${build}`,
      tags,
      snapshotTags: tags,
      creationDate: t.clock.now() - age,
    },
  ]);
  const [image] = await t.adapter.describeImages("us-east-1", { imageIds: [imageId!] });
  await t.adapter.deregisterImage("us-east-1", imageId!);
  return { snapshotId: image!.snapshotIds[0]!, imageId: imageId! };
}

const snapshotIds = async () =>
  (await t.adapter.describeSnapshots("us-east-1", [])).map((s) => s.snapshotId).sort();

describe("the orphaned-snapshot sweep", () => {
  it("plans, shows and deletes Leaven's orphaned snapshots older than an hour, on the sweep schedule", async () => {
    const old = await orphan("0.9.0+0ld0ld00", 3 * HOUR);
    const young = await orphan("0.9.1+y0un9000", 10 * MINUTE);
    const foreign = await orphan("0.9.2+f0re1gn0", 3 * HOUR, {
      [Tag.managedBy]: "packer",
      [Tag.spec]: "base",
    });
    const [live] = t.sim.seedImages([
      {
        region: "us-east-1",
        name: "leaven/base/0.8.0",
        tags: owned("0.8.0+11ve0000"),
        snapshotTags: owned("0.8.0+11ve0000"),
        creationDate: t.clock.now() - 3 * HOUR,
      },
    ]);
    const [liveImage] = await t.adapter.describeImages("us-east-1", { imageIds: [live!] });

    const r = new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger });
    const { plan } = await r.plan(specs);
    const text = renderPlan(
      plan,
      verdictOf({ command: "plan", diagnostics: [], ...plan, regionErrors: new Map() }),
    );
    expect(text).toContain(
      [
        `  - delete       us-east-1      snapshot ${old.snapshotId} (0.9.0+0ld0ld00)`,
        `      because no image in us-east-1 uses it (3h old, made for ${old.imageId}, which is gone)`,
      ].join("\n"),
    );
    expect(
      plan.actions
        .filter((a) => a.kind === "delete-snapshot")
        .map((a) => (a as DeleteSnapshotAction).snapshotId),
    ).toEqual([old.snapshotId]);
    expect(text).toMatch(/Plan: .*1 snapshot to delete/);

    t.adapter.resetStats();
    const first = await r.pass(specs);
    expect(first.results.find((res) => res.actions[0]!.kind === "delete-snapshot")).toMatchObject({
      ok: true,
    });
    // One listing per region, plus the executor's ownership read-back in us-east-1.
    expect(requestsOf(t.adapter, "us-east-1", "DescribeSnapshots")).toBe(2);
    expect(requestsOf(t.adapter, "eu-west-1", "DescribeSnapshots")).toBe(1);
    expect(requestsOf(t.adapter, "us-east-1", "DeleteSnapshot")).toBe(1);
    expect(await snapshotIds()).toEqual(
      [young.snapshotId, foreign.snapshotId, liveImage!.snapshotIds[0]!].sort(),
    );

    // Between sweeps, snapshots are not listed at all.
    t.adapter.resetStats();
    t.clock.advance(MINUTE);
    await r.pass(specs);
    expect(requestsOf(t.adapter, "us-east-1", "DescribeSnapshots")).toBe(0);

    // The next sweep (30 minutes on) finds the young one still under an hour old; the one after deletes it.
    t.clock.advance(30 * MINUTE);
    const second = await r.pass(specs);
    expect(second.executed.filter((a) => a.kind === "delete-snapshot")).toEqual([]);
    t.clock.advance(30 * MINUTE);
    const third = await r.pass(specs);
    expect(
      third.executed
        .filter((a) => a.kind === "delete-snapshot")
        .map((a) => (a as DeleteSnapshotAction).snapshotId),
    ).toEqual([young.snapshotId]);
    // What is left: the foreign one, the live image's, and those of the image baked meanwhile.
    const left = await snapshotIds();
    expect(left).not.toContain(young.snapshotId);
    expect(left).toEqual(expect.arrayContaining([foreign.snapshotId, liveImage!.snapshotIds[0]!]));
  });

  it("deletes nothing under --no-delete", async () => {
    await orphan("0.9.0+0ld0ld00", 3 * HOUR);
    const r = new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger, noDelete: true });
    const { plan } = await r.plan(specs);
    expect(plan.actions.filter((a) => a.kind === "delete-snapshot")).toEqual([]);
  });
});

describe("execute: delete-snapshot", () => {
  const action = (snapshotId: string): DeleteSnapshotAction => ({
    kind: "delete-snapshot",
    spec: "base",
    region: "us-east-1",
    snapshotId,
    reason: "test",
  });

  it("retries a snapshot an image still uses, then reports it retryable", async () => {
    const [imageId] = t.sim.seedImages([
      { region: "us-east-1", name: "leaven/base/x", tags: owned("1.0.0+x"), snapshotTags: owned("1.0.0+x") },
    ]);
    const [image] = await t.adapter.describeImages("us-east-1", { imageIds: [imageId!] });
    const snapshotId = image!.snapshotIds[0]!;
    const results = await whileTicking(t.clock, execute(t.cloud, [action(snapshotId)]));
    expect(results).toEqual([
      {
        actions: [action(snapshotId)],
        ok: false,
        retryable: true,
        error: `InvalidSnapshot.InUse: The snapshot ${snapshotId} is currently in use by ${imageId} (still failing after 4 attempts, which is how EC2 shows a change it has not caught up with yet; the next pass observes again)`,
      },
    ]);
    expect(requestsOf(t.adapter, "us-east-1", "DeleteSnapshot")).toBe(4);
  });

  it("counts a snapshot gone since the ownership check as deleted", async () => {
    const { snapshotId } = await orphan("1.0.0+g0ne0000", 3 * HOUR);
    const racing: CloudPort = {
      ...t.cloud,
      describeSnapshots: async (region, filters) => {
        const found = await t.cloud.describeSnapshots(region, filters);
        await t.cloud.deleteSnapshot(region, snapshotId);
        return found;
      },
    };
    const results = await execute(racing, [action(snapshotId)]);
    expect(results).toEqual([{ actions: [action(snapshotId)], ok: true }]);
  });

  it("refuses a snapshot that is not Leaven's, sending no DeleteSnapshot", async () => {
    const { snapshotId } = await orphan("1.0.0+f0re1gn0", 3 * HOUR, {
      [Tag.managedBy]: "packer",
      [Tag.spec]: "base",
    });
    t.adapter.resetStats();
    const results = await execute(t.cloud, [action(snapshotId)]);
    expect(results[0]).toMatchObject({
      ok: false,
      retryable: false,
      error: `refused: snapshot ${snapshotId} in us-east-1 is not Leaven's to change: its leaven.dev/managed-by tag is "packer", not "leaven". Leaven never changes or deletes a resource it does not own`,
    });
    expect(requestsOf(t.adapter, "us-east-1", "DeleteSnapshot")).toBe(0);
  });
});
