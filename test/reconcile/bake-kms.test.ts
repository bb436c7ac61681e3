// bake.kmsKeyId against the simulator through the real SDK: the bake's root volume is encrypted with the
// customer-managed key (so the home image can be shared under EBS encryption by default), `leaven plan`
// says so, and a failed bake's record relaunches it with the same key.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { Tag } from "../../controller/api/tags.ts";
import { silentLogger } from "../../controller/log/logger.ts";
import { Reconciler } from "../../controller/reconcile/reconciler.ts";
import { renderPlan } from "../../controller/status/render-plan.ts";
import { verdictOf } from "../../controller/status/verdict.ts";
import { MINUTE, type SimCloud, startSimCloud } from "../support/sim-cloud.ts";
import { baseSpec, ubuntuFoundation, validation } from "../support/sim-specs.ts";

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

const KEY = "arn:aws:kms:us-east-1:111122223333:key/1234abcd-12ab-34cd-56ef-1234567890ab";

describe("bake.kmsKeyId", () => {
  it("encrypts the bake's root volume with the key, says so in the plan, and keeps it in the failure record", async () => {
    const specs = validation(
      ubuntuFoundation(),
      baseSpec("base", {
        regions: ["us-east-1"],
        share: { accounts: ["111122223333"] },
        bake: { kmsKeyId: KEY, timeout: "1m" },
      }),
    );
    const r = new Reconciler({ cloud: t.cloud, clock: t.clock, logger: silentLogger });
    const { plan } = await r.plan(specs);
    const launch = plan.actions.find((a) => a.kind === "launch-bake");
    if (launch?.kind !== "launch-bake") throw new Error("expected a launch");
    const text = renderPlan(
      plan,
      verdictOf({ command: "plan", diagnostics: [], ...plan, regionErrors: new Map() }),
    );
    expect(text).toContain(
      `  + bake         us-east-1      ${launch.build} on ${launch.launch.imageId} (t3.medium, root volume encrypted with ${KEY})\n`,
    );

    await r.pass(specs);
    const [instance] = [...t.sim.world.region("us-east-1").instances.values()];
    expect(instance!.blockDevices).toEqual([
      { deviceName: "/dev/sda1", deleteOnTermination: true, encrypted: true, kmsKeyId: KEY },
    ]);

    // The bake runs past its 1m timeout: it fails, and its record relaunches the same encrypted bake.
    t.clock.advance(3 * MINUTE);
    const failed = await r.pass(specs);
    expect(failed.executed.map((a) => a.kind).sort()).toEqual(["record-failure", "terminate-instance"]);
    const [template] = [...t.sim.world.region("us-east-1").launchTemplates.values()];
    expect(template!.tags[Tag.role]).toBe("failure");
    expect(template!.data).toMatchObject({
      "BlockDeviceMapping.1.DeviceName": "/dev/sda1",
      "BlockDeviceMapping.1.Ebs.Encrypted": "true",
      "BlockDeviceMapping.1.Ebs.KmsKeyId": KEY,
    });
  });

  it("is refused by EC2 without Encrypted=true, as the adapter never sends it", async () => {
    const { RunInstancesCommand, EC2Client } = await import("@aws-sdk/client-ec2");
    const client = new EC2Client({
      region: "us-east-1",
      endpoint: t.sim.endpoint,
      credentials: { accessKeyId: "AKIDSIM", secretAccessKey: "sim" },
      maxAttempts: 1,
    });
    const [parent] = await t.adapter.describeImages("us-east-1", { owners: ["099720109477"] });
    const error = await client
      .send(
        new RunInstancesCommand({
          ImageId: parent!.imageId,
          InstanceType: "t3.medium",
          MinCount: 1,
          MaxCount: 1,
          BlockDeviceMappings: [{ DeviceName: "/dev/sda1", Ebs: { KmsKeyId: KEY } }],
        }),
      )
      .catch((e: unknown) => e as Error);
    client.destroy();
    expect(error).toMatchObject({
      name: "InvalidParameterCombination",
      message: "BlockDeviceMapping.1.Ebs.KmsKeyId is specified, but Encrypted is not set to true.",
    });
  });
});
