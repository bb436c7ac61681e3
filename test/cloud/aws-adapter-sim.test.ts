// The adapter end to end against the embedded simulator: every port method once, through the real SDK
// and the EC2 Query protocol on loopback, on a manual clock so the simulated bake and image timelines
// move only when the test says so.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseBakeMarker } from "../../controller/api/bake-protocol.ts";
import { type AwsCloud, createAwsCloud } from "../../controller/cloud/aws-adapter.ts";
import { renderUserData } from "../../controller/execute/user-data.ts";
import { ManualClock } from "../../controller/sim/manual-clock.ts";
import { SIM_REGIONS } from "../../controller/sim/regions.ts";
import { type Simulator, startSimulator } from "../../controller/sim/server.ts";
import { DEFAULT_TIMINGS } from "../../controller/sim/world.ts";

const HOME = "us-east-1";
const AWAY = "eu-west-1";
const BUILD = "1.0.0+0123abcd";
const MINUTE = 60_000;

let sim: Simulator;
let clock: ManualClock;
let cloud: AwsCloud;

beforeEach(async () => {
  clock = new ManualClock();
  // No token buckets: this test checks each call's effect, not the rate limits.
  sim = await startSimulator({ clock, throttle: false });
  cloud = createAwsCloud({
    endpoint: sim.endpoint,
    credentials: { accessKeyId: "AKIDLEAVENSIM", secretAccessKey: "leaven-sim" },
    // Retries sleep on wall time here (the manual clock only moves when told); keep them short.
    baseDelayMs: 5,
  });
});

afterEach(async () => {
  cloud.close();
  await sim.close();
});

describe("the AWS adapter against the simulator", () => {
  it("runs every port method once, and counts exactly the requests the simulator saw", async () => {
    expect((await cloud.describeRegions(HOME)).sort()).toEqual([...SIM_REGIONS].sort());

    const vendor = await cloud.describeImages(HOME, { owners: ["amazon"] });
    expect(vendor.length).toBeGreaterThan(0);
    const parent = vendor[0]!;
    expect(parent).toMatchObject({ region: HOME, state: "available" });

    // Bake: launch, let the simulated script run, read the marker from the console.
    const bakeTags = {
      "leaven.dev/managed-by": "leaven",
      "leaven.dev/role": "bake",
      "leaven.dev/build": BUILD,
    };
    const { instanceId } = await cloud.runInstance(HOME, {
      imageId: parent.imageId,
      instanceType: "t3.medium",
      userData: renderUserData({ buildId: BUILD, spec: "base", provision: { packages: ["curl"] } }),
      clientToken: `launch-${BUILD}`,
      tags: bakeTags,
      ...(parent.rootDeviceName
        ? { rootVolume: { deviceName: parent.rootDeviceName, size: 16, type: "gp3" } }
        : {}),
    });
    const byRole = [{ name: "tag:leaven.dev/role", values: ["bake"] }];
    const launched = await cloud.describeInstances(HOME, byRole);
    expect(launched).toEqual([
      expect.objectContaining({ instanceId, imageId: parent.imageId, tags: bakeTags, region: HOME }),
    ]);
    clock.advance(
      DEFAULT_TIMINGS.instancePending +
        DEFAULT_TIMINGS.bakeScript +
        DEFAULT_TIMINGS.instanceStopping +
        MINUTE,
    );
    expect((await cloud.describeInstances(HOME, byRole))[0]?.state).toBe("stopped");
    expect(parseBakeMarker(await cloud.getConsoleOutput(HOME, instanceId), BUILD)).toEqual({
      build: BUILD,
      result: "success",
    });
    await cloud.stopInstances(HOME, [instanceId]);

    // Image the stopped instance; image and snapshots carry the tags.
    const imageTags = { "leaven.dev/managed-by": "leaven", "leaven.dev/build": BUILD };
    const { imageId } = await cloud.createImage(HOME, {
      instanceId,
      name: "leaven/base/1.0.0_0123abcd",
      description: "base 1.0.0",
      tags: imageTags,
    });
    clock.advance(DEFAULT_TIMINGS.imagePending + MINUTE);
    const [image] = await cloud.describeImages(HOME, { imageIds: [imageId] });
    expect(image).toMatchObject({
      imageId,
      state: "available",
      name: "leaven/base/1.0.0_0123abcd",
      tags: imageTags,
    });
    expect(image!.snapshotIds.length).toBeGreaterThan(0);
    const snapshots = await cloud.describeSnapshots(HOME, [
      { name: "tag:leaven.dev/build", values: [BUILD] },
    ]);
    expect(snapshots.map((s) => s.snapshotId).sort()).toEqual([...image!.snapshotIds].sort());
    expect(snapshots[0]?.tags).toMatchObject(imageTags);

    // Copy to another region: it carries exactly the tags given (CopyImageTags is off).
    const copy = await cloud.copyImage(AWAY, {
      sourceRegion: HOME,
      sourceImageId: imageId,
      name: "leaven/base/1.0.0_0123abcd",
      clientToken: `copy-${BUILD}-${AWAY}`,
      tags: { "leaven.dev/home-image": imageId },
    });
    clock.advance(DEFAULT_TIMINGS.copyPending + MINUTE);
    const [copied] = await cloud.describeImages(AWAY, { imageIds: [copy.imageId] });
    expect(copied).toMatchObject({ state: "available", tags: { "leaven.dev/home-image": imageId } });

    // Channels are tags; sharing, deprecation.
    await cloud.createTags(HOME, [imageId], { "leaven.dev/channel/release": "true" });
    await cloud.deleteTags(HOME, [imageId], ["leaven.dev/build"]);
    await cloud.modifyLaunchPermissions(HOME, imageId, { add: { accounts: ["111122223333"] }, remove: {} });
    expect(await cloud.describeLaunchPermissions(HOME, imageId)).toEqual({
      accounts: ["111122223333"],
      organizationArns: [],
      organizationalUnitArns: [],
      public: false,
    });
    const [snapshotId] = image!.snapshotIds;
    await cloud.modifyVolumePermissions(HOME, snapshotId!, { add: ["111122223333"], remove: [] });
    expect(await cloud.describeVolumePermissions(HOME, snapshotId!)).toEqual({
      accounts: ["111122223333"],
      public: false,
    });
    const deprecateAt = new Date(clock.now() + 14 * 24 * 60 * MINUTE);
    await cloud.enableImageDeprecation(HOME, imageId, deprecateAt);
    const [tagged] = await cloud.describeImages(HOME, { imageIds: [imageId] });
    expect(tagged?.tags).toEqual({ "leaven.dev/managed-by": "leaven", "leaven.dev/channel/release": "true" });
    // EC2 rounds the deprecation time up to the minute.
    const roundedUp = new Date(Math.ceil(deprecateAt.getTime() / MINUTE) * MINUTE);
    expect(tagged?.deprecationTime).toBe(roundedUp.toISOString());

    // Retirement: disabled images only show up when asked for; then they go for good.
    await cloud.disableImage(HOME, imageId);
    const mine = [{ name: "tag:leaven.dev/managed-by", values: ["leaven"] }];
    expect(await cloud.describeImages(HOME, { owners: ["self"], filters: mine })).toEqual([]);
    const disabled = await cloud.describeImages(HOME, {
      owners: ["self"],
      filters: mine,
      includeDisabled: true,
    });
    expect(disabled.map((i) => [i.imageId, i.state])).toEqual([[imageId, "disabled"]]);
    await cloud.deregisterImage(HOME, imageId);
    expect(
      await cloud.describeImages(HOME, { owners: ["self"], filters: mine, includeDisabled: true }),
    ).toEqual([]);
    for (const snapshotId of image!.snapshotIds) await cloud.deleteSnapshot(HOME, snapshotId);
    expect(await cloud.describeSnapshots(HOME, [{ name: "tag:leaven.dev/build", values: [BUILD] }])).toEqual(
      [],
    );

    // A failure record: a launch template that relaunches the bake, found by its tags, then deleted.
    const recordTags = { "leaven.dev/managed-by": "leaven", "leaven.dev/role": "failure" };
    const { launchTemplateId } = await cloud.createLaunchTemplate(HOME, {
      name: "leaven-failed-base-1.0.0_0123abcd",
      clientToken: `failure-${BUILD}`,
      description: "the failed bake",
      launch: {
        imageId: parent.imageId,
        instanceType: "t3.medium",
        userData: renderUserData({ buildId: BUILD, spec: "base" }),
        subnetId: "subnet-0123456789abcdef0",
        securityGroupIds: ["sg-0123456789abcdef0"],
        instanceProfile: "leaven-bake",
        rootVolume: { deviceName: "/dev/xvda", size: 16, type: "gp3" },
      },
      tags: recordTags,
    });
    const byFailureRole = [{ name: "tag:leaven.dev/role", values: ["failure"] }];
    expect(await cloud.describeLaunchTemplates(HOME, byFailureRole)).toEqual([
      {
        launchTemplateId,
        region: HOME,
        name: "leaven-failed-base-1.0.0_0123abcd",
        createTime: new Date(clock.now()).toISOString(),
        tags: recordTags,
      },
    ]);
    const data = sim.world.region(HOME).launchTemplates.get(launchTemplateId)!.data;
    expect(data).toMatchObject({
      ImageId: parent.imageId,
      InstanceInitiatedShutdownBehavior: "stop",
      "NetworkInterface.1.SubnetId": "subnet-0123456789abcdef0",
      "NetworkInterface.1.SecurityGroupId.1": "sg-0123456789abcdef0",
      "IamInstanceProfile.Name": "leaven-bake",
      "BlockDeviceMapping.1.Ebs.VolumeSize": "16",
    });
    expect(Buffer.from(data.UserData!, "base64").toString("utf8")).toContain(`LEAVEN_BUILD_ID=${BUILD}`);
    expect((await cloud.describeLaunchTemplates(HOME, [], [launchTemplateId]))[0]?.launchTemplateId).toBe(
      launchTemplateId,
    );
    await cloud.deleteLaunchTemplate(HOME, launchTemplateId);
    expect(await cloud.describeLaunchTemplates(HOME, byFailureRole)).toEqual([]);

    await cloud.terminateInstances(HOME, [instanceId]);
    expect(["shutting-down", "terminated"]).toContain(
      (await cloud.describeInstances(HOME, byRole))[0]?.state,
    );

    // Our count of requests sent is the simulator's count of requests received.
    const ours = cloud.stats();
    const theirs = sim.stats();
    expect(ours.requests).toBe(theirs.requests);
    expect(ours.mutating).toBe(theirs.mutating);
    expect(ours.throttled).toBe(0);
    const actions = new Set(Object.values(ours.byRegion).flatMap((region) => Object.keys(region.byAction)));
    expect([...actions].sort()).toEqual(
      [
        "CopyImage",
        "CreateImage",
        "CreateLaunchTemplate",
        "CreateTags",
        "DeleteLaunchTemplate",
        "DeleteSnapshot",
        "DeleteTags",
        "DeregisterImage",
        "DescribeImageAttribute",
        "DescribeImages",
        "DescribeInstances",
        "DescribeLaunchTemplates",
        "DescribeRegions",
        "DescribeSnapshotAttribute",
        "DescribeSnapshots",
        "DisableImage",
        "EnableImageDeprecation",
        "GetConsoleOutput",
        "ModifyImageAttribute",
        "ModifySnapshotAttribute",
        "RunInstances",
        "StopInstances",
        "TerminateInstances",
      ].sort(),
    );
  });

  it("retries the simulator's throttling and still gets the answer", async () => {
    sim.setFaults({ throttleRate: 0.5, seed: 7 });
    for (let i = 0; i < 10; i++) {
      expect((await cloud.describeRegions(HOME)).length).toBe(SIM_REGIONS.length);
    }
    const ours = cloud.stats();
    const theirs = sim.stats();
    expect(ours.throttled).toBe(theirs.throttled);
    expect(ours.throttled).toBeGreaterThan(0);
    expect(ours.retried).toBe(ours.throttled);
    expect(ours.requests).toBe(10 + ours.retried);
  });
});
