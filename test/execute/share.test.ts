// The share-image action against the simulator over HTTP: the executor reads an image's launch permissions
// (and its snapshots' create-volume permissions) and sends one Modify call with Add and Remove where they
// differ from the spec, then records the share hash. Public access is reported, never changed.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import type { Tags } from "../../controller/cloud/port.ts";
import { execute } from "../../controller/execute/executor.ts";
import type { ShareImageAction } from "../../controller/plan/actions.ts";
import { awsManagedEbsKey } from "../../controller/sim/encryption.ts";
import { type SimCloud, startSimCloud } from "../support/sim-cloud.ts";

const A = "111122223333";
const B = "444455556666";
const ORG = "arn:aws:organizations::123456789012:organization/o-abc123";
const OU = "arn:aws:organizations::123456789012:ou/o-abc123/ou-ab12-cdef3456";
const R = "us-east-1";
const owned: Tags = { [Tag.managedBy]: MANAGED_BY_VALUE, [Tag.spec]: "base", [Tag.build]: "1.0.0+0badcafe" };

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

/** An owned image whose snapshot is owned too (as CreateImage's tag specification makes it). */
async function ownedImage(): Promise<{ imageId: string; snapshotId: string }> {
  const [imageId] = t.sim.seedImages([{ region: R, name: "leaven/base/1.0.0_0badcafe", tags: owned }]);
  const snapshotId = t.sim.world.region(R).images.get(imageId!)!.snapshotIds[0]!;
  await t.cloud.createTags(R, [snapshotId], owned);
  return { imageId: imageId!, snapshotId };
}

function share(imageId: string, snapshotId: string, extra: Partial<ShareImageAction> = {}): ShareImageAction {
  return {
    kind: "share-image",
    spec: "base",
    build: "1.0.0+0badcafe",
    region: R,
    imageId,
    permissions: { accounts: [A] },
    snapshotIds: [snapshotId],
    snapshotAccounts: [],
    shareHash: "newhash",
    reason: "test",
    ...extra,
  };
}

const launch = (imageId: string) => t.cloud.describeLaunchPermissions(R, imageId);
const volumes = (snapshotId: string) => t.cloud.describeVolumePermissions(R, snapshotId);
const sharedTag = async (imageId: string) =>
  (await t.cloud.describeImages(R, { imageIds: [imageId] }))[0]?.tags[Tag.shared];

describe("execute share-image under default EBS encryption", () => {
  it("fails for good on an image under the AWS-managed key, saying how to bake one that can be shared", async () => {
    const { imageId, snapshotId } = await ownedImage();
    const image = t.sim.world.region(R).images.get(imageId)!;
    image.encrypted = true;
    image.kmsKeyId = awsManagedEbsKey("123456789012", R);
    const snapshot = t.sim.world.region(R).snapshots.get(snapshotId)!;
    snapshot.encrypted = true;
    snapshot.kmsKeyId = awsManagedEbsKey("123456789012", R);
    const [result] = await execute(t.cloud, [share(imageId, snapshotId)]);
    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(result!.error).toBe(
      `InvalidParameter: Snapshots encrypted with the AWS Managed CMK can't be shared. Specify another snapshot. ${imageId} in us-east-1 is encrypted with the AWS-managed EBS key (the account encrypts EBS by default): set bake.kmsKeyId of base to a customer-managed key (and share.kmsKeys for its copies' regions), bump its version so the build is baked again under that key, and give the accounts a grant on the keys`,
    );
    expect((await launch(imageId)).accounts).toEqual([]);
    expect(await sharedTag(imageId)).toBeUndefined();
  });
});

describe("execute share-image", () => {
  it("removes what the spec no longer lists and adds what it does, in one ModifyImageAttribute", async () => {
    const { imageId, snapshotId } = await ownedImage();
    await t.cloud.modifyLaunchPermissions(R, imageId, {
      add: { accounts: [A, B], organizationArns: [ORG] },
      remove: {},
    });
    t.sim.resetStats();
    const action = share(imageId, snapshotId, {
      permissions: { accounts: [A], organizationalUnitArns: [OU] },
    });
    expect(await execute(t.cloud, [action])).toEqual([{ actions: [action], ok: true }]);
    const requests = t.sim.stats().byAction;
    // The ownership read-back (image and snapshot), the two reads, one change, the hash; the snapshot
    // already had what it should (nothing), so it is not modified.
    expect(requests).toEqual({
      DescribeImages: 1,
      DescribeSnapshots: 1,
      DescribeImageAttribute: 1,
      ModifyImageAttribute: 1,
      DescribeSnapshotAttribute: 1,
      CreateTags: 1,
    });
    expect(await launch(imageId)).toEqual({
      accounts: [A],
      organizationArns: [],
      organizationalUnitArns: [OU],
      public: false,
    });
    expect(await sharedTag(imageId)).toBe("newhash");
  });

  it("only records the hash when the permissions already match", async () => {
    const { imageId, snapshotId } = await ownedImage();
    await t.cloud.modifyLaunchPermissions(R, imageId, { add: { accounts: [A] }, remove: {} });
    t.sim.resetStats();
    await execute(t.cloud, [share(imageId, snapshotId)]);
    expect(t.sim.stats().mutating).toBe(1);
    expect(t.sim.stats().byAction.CreateTags).toBe(1);
  });

  it("shares the snapshots with the accounts when asked, and takes that back when no longer asked", async () => {
    const { imageId, snapshotId } = await ownedImage();
    await execute(t.cloud, [share(imageId, snapshotId, { snapshotAccounts: [A] })]);
    expect(await volumes(snapshotId)).toEqual({ accounts: [A], public: false });
    await t.cloud.modifyVolumePermissions(R, snapshotId, { add: [B], remove: [] });
    const results = await execute(t.cloud, [
      share(imageId, snapshotId, { snapshotAccounts: [], shareHash: "h2" }),
    ]);
    expect(results.map((r) => r.ok)).toEqual([true]);
    expect(await volumes(snapshotId)).toEqual({ accounts: [], public: false });
    expect(await launch(imageId)).toMatchObject({ accounts: [A] });
  });

  it("unshares completely when the spec shares with nobody", async () => {
    const { imageId, snapshotId } = await ownedImage();
    await t.cloud.modifyLaunchPermissions(R, imageId, {
      add: { accounts: [A, B], organizationArns: [ORG], organizationalUnitArns: [OU] },
      remove: {},
    });
    await t.cloud.modifyVolumePermissions(R, snapshotId, { add: [A], remove: [] });
    await execute(t.cloud, [share(imageId, snapshotId, { permissions: {}, shareHash: "29083c46fe4e" })]);
    expect(await launch(imageId)).toEqual({
      accounts: [],
      organizationArns: [],
      organizationalUnitArns: [],
      public: false,
    });
    expect(await volumes(snapshotId)).toEqual({ accounts: [], public: false });
    expect(await sharedTag(imageId)).toBe("29083c46fe4e");
  });

  it("leaves a public image public, brings the rest in line, and reports it without recording the hash", async () => {
    const { imageId, snapshotId } = await ownedImage();
    await t.cloud.createTags(R, [imageId], { [Tag.shared]: "oldhash" });
    t.sim.world.region(R).images.get(imageId)!.launchPermissions.push({ group: "all" }, { userId: B });
    t.sim.world.region(R).images.get(imageId)!.isPublic = true;
    const action = share(imageId, snapshotId);
    expect(await execute(t.cloud, [action])).toEqual([
      {
        actions: [action],
        ok: false,
        retryable: false,
        error: `PublicImage: image ${imageId} in us-east-1 is public (group all), which Leaven never grants nor revokes; the other permissions now match spec.share. Make it private unless it must be public: aws ec2 modify-image-attribute --region us-east-1 --image-id ${imageId} --launch-permission "Remove=[{Group=all}]"`,
      },
    ]);
    expect(await launch(imageId)).toEqual({
      accounts: [A],
      organizationArns: [],
      organizationalUnitArns: [],
      public: true,
    });
    expect(await sharedTag(imageId)).toBe("oldhash");
  });

  it("names a public snapshot too", async () => {
    const { imageId, snapshotId } = await ownedImage();
    t.sim.world.region(R).snapshots.get(snapshotId)!.createVolumePermissions = [{ group: "all" }];
    const [result] = await execute(t.cloud, [share(imageId, snapshotId)]);
    expect(result?.error).toBe(
      `PublicImage: snapshot ${snapshotId} in us-east-1 is public (group all), which Leaven never grants nor revokes; the other permissions now match spec.share. Make it private unless it must be public: aws ec2 modify-snapshot-attribute --region us-east-1 --snapshot-id ${snapshotId} --attribute createVolumePermission --operation-type remove --group-names all`,
    );
    expect(await volumes(snapshotId)).toEqual({ accounts: [], public: true });
  });

  it("never touches a look-alike: same name and leaven.dev/ tags, no owner tag", async () => {
    const lookAlike = { ...owned };
    delete lookAlike[Tag.managedBy];
    const [imageId] = t.sim.seedImages([
      { region: R, name: "leaven/base/1.0.0_0badcafe-x", tags: lookAlike },
    ]);
    await t.cloud.modifyLaunchPermissions(R, imageId!, { add: { accounts: [B] }, remove: {} });
    const snapshotId = t.sim.world.region(R).images.get(imageId!)!.snapshotIds[0]!;
    t.sim.resetStats();
    const [result] = await execute(t.cloud, [share(imageId!, snapshotId, { permissions: {} })]);
    expect(result?.error).toBe(
      `refused: image ${imageId} in us-east-1 is not Leaven's to change: it has no leaven.dev/managed-by tag. Leaven never changes or deletes a resource it does not own`,
    );
    expect(t.sim.stats().mutating).toBe(0);
    expect(await launch(imageId!)).toMatchObject({ accounts: [B] });
  });
});
