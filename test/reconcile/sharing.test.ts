// Sharing both ways, end to end: the reconcile loop on the simulator over HTTP. A spec's share list shrinks
// and then goes away, and every region's images follow; encrypted copies carry the region's KMS key; a
// region that fails never blocks or undoes another; a look-alike image is never shared or unshared.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import type { ImageSpecSpec } from "../../controller/api/types.generated.ts";
import { CloudError, type CloudImage, type CloudPort } from "../../controller/cloud/port.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { shareHash } from "../../controller/plan/distribute.ts";
import { type PassResult, Reconciler } from "../../controller/reconcile/reconciler.ts";
import { MINUTE, requestsOf, type SimCloud, startSimCloud, untilSettled } from "../support/sim-cloud.ts";
import { baseSpec, ubuntuFoundation, validation } from "../support/sim-specs.ts";

const A = "111122223333";
const B = "444455556666";
const ORG = "arn:aws:organizations::123456789012:organization/o-abc123";
const KEY = "arn:aws:kms:eu-west-1:123456789012:key/1234abcd-12ab-34cd-56ef-1234567890ab";
const REGIONS = ["us-east-1", "eu-west-1"];

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

const estate = (share?: ImageSpecSpec["share"], regions = REGIONS) =>
  validation(
    ubuntuFoundation(),
    baseSpec("base", { regions: regions as [string, ...string[]], ...(share ? { share } : {}) }),
  );

/** The base build's image in each region (there is one build). */
async function baseImages(regions = REGIONS): Promise<CloudImage[]> {
  const images: CloudImage[] = [];
  for (const region of regions) {
    const found = await t.cloud.describeImages(region, {
      owners: ["self"],
      filters: [
        { name: "tag:leaven.dev/spec", values: ["base"] },
        { name: "tag:leaven.dev/managed-by", values: [MANAGED_BY_VALUE] },
      ],
    });
    expect(found).toHaveLength(1);
    images.push(found[0]!);
  }
  return images;
}

/** Per region: who may launch the image, who may create volumes from its snapshot, its shared tag. */
async function shares(regions = REGIONS) {
  const out: Record<string, unknown> = {};
  for (const image of await baseImages(regions)) {
    const launch = await t.cloud.describeLaunchPermissions(image.region, image.imageId);
    const volumes = await t.cloud.describeVolumePermissions(image.region, image.snapshotIds[0]!);
    out[image.region] = {
      launch: [...launch.accounts, ...launch.organizationArns, ...launch.organizationalUnitArns],
      volumes: volumes.accounts,
      tag: image.tags[Tag.shared],
    };
  }
  return out;
}

describe("sharing follows the spec both ways, in every region", () => {
  it("shrinks from two accounts to one, then to none when share is removed; a look-alike is never touched", async () => {
    const r = new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger });
    const wide = {
      accounts: [A, B],
      organizationArns: [ORG],
      snapshots: true,
      kmsKeys: { "eu-west-1": KEY },
    };
    await untilSettled(t, r, estate(wide));
    const hashWide = shareHash(estate(wide).specs[1]!.document);
    expect(await shares()).toEqual({
      "us-east-1": { launch: [A, B, ORG], volumes: [A, B], tag: hashWide },
      "eu-west-1": { launch: [A, B, ORG], volumes: [A, B], tag: hashWide },
    });

    // The copy into eu-west-1 is encrypted with that region's key, and so is its snapshot.
    const [home, copy] = await baseImages();
    const copySnapshot = t.sim.world.region("eu-west-1").snapshots.get(copy!.snapshotIds[0]!);
    expect([copySnapshot?.encrypted, copySnapshot?.kmsKeyId]).toEqual([true, KEY]);
    expect(t.sim.world.region("eu-west-1").images.get(copy!.imageId)).toMatchObject({
      encrypted: true,
      kmsKeyId: KEY,
    });
    expect(t.sim.world.region("us-east-1").images.get(home!.imageId)?.encrypted).toBeFalsy();

    // A look-alike: the home image's name and every leaven.dev/ tag, shared with B, but no owner tag.
    const lookAlikeTags = { ...home!.tags };
    delete lookAlikeTags[Tag.managedBy];
    const [lookAlike] = t.sim.seedImages([{ region: "us-east-1", name: home!.name, tags: lookAlikeTags }]);
    await t.cloud.modifyLaunchPermissions("us-east-1", lookAlike!, { add: { accounts: [B] }, remove: {} });

    // A steady pass reads no permissions: the shared tag says the images are in sync.
    t.clock.advance(MINUTE);
    t.adapter.resetStats();
    const steady = await r.pass(estate(wide));
    expect(steady.executed).toEqual([]);
    expect(requestsOf(t.adapter, "us-east-1", "DescribeImageAttribute")).toBe(0);
    expect(t.adapter.stats().mutating).toBe(0);

    // Shrink: B and the organization lose launch permission in every region; snapshots are no longer shared.
    const narrow = { accounts: [A], kmsKeys: { "eu-west-1": KEY } };
    const hashNarrow = shareHash(estate(narrow).specs[1]!.document);
    t.adapter.resetStats();
    const first = await untilSettled(t, r, estate(narrow));
    expect(first.statuses.find((s) => s.name === "base")?.phase).toBe("Ready");
    expect(await shares()).toEqual({
      "us-east-1": { launch: [A], volumes: [], tag: hashNarrow },
      "eu-west-1": { launch: [A], volumes: [], tag: hashNarrow },
    });
    for (const region of REGIONS) {
      expect([region, requestsOf(t.adapter, region, "ModifyImageAttribute")]).toEqual([region, 1]);
      expect([region, requestsOf(t.adapter, region, "ModifySnapshotAttribute")]).toEqual([region, 1]);
    }

    // share removed entirely: every permission Leaven granted goes; the tag records "shared with nobody".
    await untilSettled(t, r, estate(undefined));
    expect(await shares()).toEqual({
      "us-east-1": { launch: [], volumes: [], tag: "29083c46fe4e" },
      "eu-west-1": { launch: [], volumes: [], tag: "29083c46fe4e" },
    });
    // …and then nothing more is done.
    t.clock.advance(MINUTE);
    expect((await r.pass(estate(undefined))).executed).toEqual([]);

    // The look-alike kept its permission and its tags through all of it.
    expect(await t.cloud.describeLaunchPermissions("us-east-1", lookAlike!)).toMatchObject({ accounts: [B] });
    expect((await t.cloud.describeImages("us-east-1", { imageIds: [lookAlike!] }))[0]?.tags).toEqual(
      lookAlikeTags,
    );
  });
});

describe("one region's failure never blocks or undoes another", () => {
  /** The simulator's cloud, with a call that fails in some regions (a network partition, an outage). */
  function failing(method: keyof CloudPort, regions: Set<string>): CloudPort {
    return new Proxy(t.cloud, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (prop !== method || typeof value !== "function") return value;
        return (region: string, ...rest: unknown[]) => {
          if (regions.has(region))
            return Promise.reject(
              new CloudError("Unavailable", `${String(method)} is unavailable in ${region}`, 503, true),
            );
          return value.call(target, region, ...rest);
        };
      },
    });
  }

  it("shares in the regions that work, and finishes the failed one later without touching the others", async () => {
    const down = new Set(["eu-west-1"]);
    const r = new Reconciler({
      cloud: failing("modifyLaunchPermissions", down),
      clock: t.clock,
      logger: silentLogger,
    });
    await untilSettled(t, r, estate());
    const share = { accounts: [A] };
    const hash = shareHash(estate(share).specs[1]!.document);
    let last: PassResult | undefined;
    // Three tries (retryable), then the spec says what keeps failing.
    for (let i = 0; i < 4; i++) {
      t.clock.advance(MINUTE);
      last = await r.pass(estate(share));
    }
    expect(last!.executed).toEqual([]);
    expect(last!.statuses.find((s) => s.name === "base")).toMatchObject({
      phase: "Stalled",
      message: `Unavailable: modifyLaunchPermissions is unavailable in eu-west-1 (retried; still failing) — fix the cause and run apply again; ${last!.plan.statuses.find((s) => s.name === "base")?.message}`,
    });
    expect(await shares()).toEqual({
      "us-east-1": { launch: [A], volumes: [], tag: hash },
      "eu-west-1": { launch: [], volumes: [], tag: undefined },
    });

    // The next apply, with eu-west-1 back: only eu-west-1 is shared; us-east-1 is in sync and left alone.
    down.clear();
    t.adapter.resetStats();
    await untilSettled(
      t,
      new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger }),
      estate(share),
    );
    // The new run's first pass is a sweep: it reads us-east-1's permissions back once (drift), finds them right.
    expect(requestsOf(t.adapter, "us-east-1", "DescribeImageAttribute")).toBe(1);
    expect(requestsOf(t.adapter, "us-east-1", "ModifyImageAttribute")).toBe(0);
    expect(requestsOf(t.adapter, "eu-west-1", "ModifyImageAttribute")).toBe(1);
    expect(await shares()).toEqual({
      "us-east-1": { launch: [A], volumes: [], tag: hash },
      "eu-west-1": { launch: [A], volumes: [], tag: hash },
    });
  });

  it("copies to the regions that work; their copies stay done while another region keeps failing", async () => {
    const three = ["us-east-1", "eu-west-1", "ap-southeast-2"];
    const down = new Set(["ap-southeast-2"]);
    const r = new Reconciler({ cloud: failing("copyImage", down), clock: t.clock, logger: silentLogger });
    const specs = estate(undefined, three);
    const passes: PassResult[] = [];
    for (let i = 0; i < 30; i++) {
      t.clock.advance(MINUTE);
      passes.push(await r.pass(specs));
    }
    const [, west] = await baseImages(["us-east-1", "eu-west-1"]);
    expect(west!.state).toBe("available");
    // The copy to eu-west-1 was made once, and nothing ever deregistered or re-copied it.
    const copies = passes.flatMap((p) => p.executed).filter((a) => a.kind === "copy-image");
    expect(copies.filter((a) => a.region === "eu-west-1")).toHaveLength(1);
    expect(passes.flatMap((p) => p.executed).filter((a) => a.kind === "deregister-image")).toEqual([]);
    expect(passes.at(-1)!.statuses.find((s) => s.name === "base")?.message).toContain(
      "copyImage is unavailable in ap-southeast-2",
    );

    // The next apply, with ap-southeast-2 back: it catches up; eu-west-1's copy is the same image.
    down.clear();
    await untilSettled(t, new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger }), specs);
    const after = await baseImages(three);
    expect(after[1]!.imageId).toBe(west!.imageId);
    expect(after.map((i) => i.state)).toEqual(["available", "available", "available"]);
  });
});
