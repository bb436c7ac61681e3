// Failure records (launch templates) at the edges: reading their ownership back when DescribeLaunchTemplates
// fails, for one unknown id or for another reason, and the create and delete calls failing. A record that
// is gone counts as absent; a read that fails for any other reason runs nothing; EC2's errors are reported.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { failureRecordToken } from "../../controller/api/failure-record.ts";
import { MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import { CloudError, type CloudPort, type Tags } from "../../controller/cloud/port.ts";
import { execute } from "../../controller/execute/executor.ts";
import type { DeleteFailureRecordAction, RecordFailureAction } from "../../controller/plan/actions.ts";
import { requestTable, type SimCloud, startSimCloud } from "../support/sim-cloud.ts";

let t: SimCloud;
beforeEach(async () => {
  t = await startSimCloud();
});
afterEach(async () => {
  await t.close();
});

const BUILD = "1.0.0+0badcafe";
const REGION = "us-east-1";
const owned: Tags = {
  [Tag.managedBy]: MANAGED_BY_VALUE,
  [Tag.spec]: "base",
  [Tag.build]: BUILD,
  [Tag.role]: "failure",
};
const GONE = "lt-0000000000000dead";

const forget = (launchTemplateId: string): DeleteFailureRecordAction => ({
  kind: "delete-failure-record",
  spec: "base",
  build: BUILD,
  region: REGION,
  launchTemplateId,
  reason: "test",
});

let made = 0;
async function record(): Promise<string> {
  const name = `leaven-failure-${made++}`;
  const { launchTemplateId } = await t.cloud.createLaunchTemplate(REGION, {
    name,
    clientToken: name,
    launch: { imageId: "ami-0123456789abcdef0", instanceType: "t3.micro", userData: "" },
    tags: owned,
  });
  return launchTemplateId;
}

const templateIds = () => [...t.sim.world.region(REGION).launchTemplates.keys()];

const unauthorized = new CloudError(
  "UnauthorizedOperation",
  "You are not authorized to perform this operation.",
  403,
  false,
);

const refusedGone = (id: string) =>
  `refused: launch-template ${id} in us-east-1 is not Leaven's to change: it does not exist (or is not this account's). Leaven never changes or deletes a resource it does not own`;

describe("delete-failure-record: reading the record's ownership back", () => {
  it("refuses a record that is gone after one DescribeLaunchTemplates call", async () => {
    const action = forget(GONE);
    t.adapter.resetStats();
    const results = await execute(t.cloud, [action]);
    expect(results).toEqual([{ actions: [action], ok: false, retryable: false, error: refusedGone(GONE) }]);
    expect(requestTable(t.adapter)).toEqual({ "us-east-1 DescribeLaunchTemplates": 1 });
  });

  it("reads the records by id in one call, then each id alone when one of them is gone", async () => {
    const a = await record();
    const b = await record();
    const calls: [Parameters<CloudPort["describeLaunchTemplates"]>[1], string[] | undefined][] = [];
    const spy: CloudPort = {
      ...t.cloud,
      describeLaunchTemplates: (region, filters, ids) => {
        calls.push([filters, ids]);
        return t.cloud.describeLaunchTemplates(region, filters, ids);
      },
    };
    const results = await execute(spy, [forget(a), forget(GONE), forget(b)]);
    expect(calls).toEqual([
      [[], [a, GONE, b]],
      [[], [a]],
      [[], [GONE]],
      [[], [b]],
    ]);
    expect(results.filter((r) => r.ok)).toHaveLength(2);
    expect(results.find((r) => !r.ok)?.error).toBe(refusedGone(GONE));
    expect(templateIds()).toEqual([]);
  });

  it.each<[string, unknown, string]>([
    [
      "an unreachable endpoint",
      new Error("connect ECONNREFUSED 127.0.0.1:1"),
      "connect ECONNREFUSED 127.0.0.1:1",
    ],
    [
      "an error other than a missing id",
      unauthorized,
      "UnauthorizedOperation: You are not authorized to perform this operation.",
    ],
  ])("runs nothing when the read fails for %s, one record or several", async (_what, error, text) => {
    const ids = [await record(), await record()];
    const failing: CloudPort = {
      ...t.cloud,
      describeLaunchTemplates: async () => {
        throw error;
      },
    };
    for (const batch of [ids.slice(0, 1), ids]) {
      const results = await execute(failing, batch.map(forget));
      expect(results.map((r) => [r.ok, r.retryable, r.error])).toEqual(
        batch.map(() => [false, true, `not run: could not verify ownership: ${text}`]),
      );
    }
    expect(templateIds().sort()).toEqual([...ids].sort());
  });

  it("runs nothing when reading one id alone fails for another reason than its absence", async () => {
    const a = await record();
    const failing: CloudPort = {
      ...t.cloud,
      describeLaunchTemplates: async (region, filters, ids) => {
        if (ids?.length === 1 && ids[0] === a) throw unauthorized;
        return t.cloud.describeLaunchTemplates(region, filters, ids);
      },
    };
    const results = await execute(failing, [forget(a), forget(GONE)]);
    expect(results.map((r) => [r.ok, r.error])).toEqual([
      [
        false,
        "not run: could not verify ownership: UnauthorizedOperation: You are not authorized to perform this operation.",
      ],
      [
        false,
        "not run: could not verify ownership: UnauthorizedOperation: You are not authorized to perform this operation.",
      ],
    ]);
    expect(templateIds()).toEqual([a]);
  });
});

describe("failure records: EC2's errors", () => {
  it("counts a record deleted by someone else after the check as deleted", async () => {
    const a = await record();
    const racing: CloudPort = {
      ...t.cloud,
      describeLaunchTemplates: async (region, filters, ids) => {
        const found = await t.cloud.describeLaunchTemplates(region, filters, ids);
        await t.cloud.deleteLaunchTemplate(region, a);
        return found;
      },
    };
    const action = forget(a);
    t.sim.resetStats();
    expect(await execute(racing, [action])).toEqual([{ actions: [action], ok: true }]);
    expect(t.sim.stats().errors).toEqual({ "InvalidLaunchTemplateId.NotFound": 1 });
  });

  it("reports a delete that EC2 refuses for another reason", async () => {
    const a = await record();
    const refusing: CloudPort = {
      ...t.cloud,
      deleteLaunchTemplate: async () => {
        throw unauthorized;
      },
    };
    const action = forget(a);
    expect(await execute(refusing, [action])).toEqual([
      {
        actions: [action],
        ok: false,
        retryable: false,
        error: "UnauthorizedOperation: You are not authorized to perform this operation.",
      },
    ]);
    expect(templateIds()).toEqual([a]);
  });

  it("reports a record that EC2 rejects for anything but a repeat or a name in use, with EC2's own message", async () => {
    const action: RecordFailureAction = {
      kind: "record-failure",
      spec: "base",
      build: BUILD,
      region: REGION,
      template: {
        name: "bad name!",
        clientToken: failureRecordToken("base", BUILD, "i-0000000000000000a"),
        launch: { imageId: "ami-0123456789abcdef0", instanceType: "t3.medium", userData: "#!/bin/bash\n" },
        tags: { ...owned, [Tag.failedInstance]: "i-0000000000000000a" },
      },
      reason: "test",
    };
    expect(await execute(t.cloud, [action])).toEqual([
      {
        actions: [action],
        ok: false,
        retryable: false,
        error:
          "InvalidLaunchTemplateName.MalformedException: The launch template name 'bad name!' is invalid: a launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _",
      },
    ]);
    expect(templateIds()).toEqual([]);
  });
});
