// The executor's failure-record actions against the simulator over HTTP: a record is born owned and made
// once per failed attempt; deleting one is refused unless the launch template is this installation's.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { failureRecordName, failureRecordToken } from "../../controller/api/failure-record.ts";
import { MANAGED_BY_VALUE, Tag } from "../../controller/api/tags.ts";
import type { Tags } from "../../controller/cloud/port.ts";
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

function recordFailure(instanceId: string, tags: Tags = {}): RecordFailureAction {
  return {
    kind: "record-failure",
    spec: "base",
    build: BUILD,
    region: REGION,
    template: {
      name: failureRecordName("base", BUILD),
      clientToken: failureRecordToken("base", BUILD, instanceId),
      launch: { imageId: "ami-0123456789abcdef0", instanceType: "t3.medium", userData: "#!/bin/bash\n" },
      tags: { ...owned, [Tag.failedInstance]: instanceId, ...tags },
    },
    reason: "test",
  };
}

const forget = (launchTemplateId: string): DeleteFailureRecordAction => ({
  kind: "delete-failure-record",
  spec: "base",
  build: BUILD,
  region: REGION,
  launchTemplateId,
  reason: "test",
});

async function templateWith(tags: Tags, name = `look-alike-${Math.random().toString(16).slice(2)}`) {
  const { launchTemplateId } = await t.cloud.createLaunchTemplate(REGION, {
    name,
    clientToken: name,
    launch: { imageId: "ami-0123456789abcdef0", instanceType: "t3.micro", userData: "" },
    tags,
  });
  return launchTemplateId;
}

const templates = () => [...t.sim.world.region(REGION).launchTemplates.values()];

describe("record-failure", () => {
  it("creates the launch template once per failed attempt", async () => {
    const [made] = await execute(t.cloud, [recordFailure("i-0000000000000000a")]);
    expect(made).toMatchObject({ ok: true, created: expect.stringMatching(/^lt-[0-9a-f]{17}$/) });
    expect(templates().map((l) => [l.name, l.tags[Tag.failedInstance]])).toEqual([
      [failureRecordName("base", BUILD), "i-0000000000000000a"],
    ]);

    // The same attempt again, with another failed-at (a later pass): EC2 refuses the token's new
    // arguments, which says this very failure is recorded already.
    const [again] = await execute(t.cloud, [
      recordFailure("i-0000000000000000a", { [Tag.failedAt]: "later" }),
    ]);
    expect(again).toEqual({ actions: [expect.anything()], ok: true });
    expect(templates()).toHaveLength(1);
  });

  it("says which launch template is in the way when an earlier attempt's record was not deleted", async () => {
    await execute(t.cloud, [recordFailure("i-0000000000000000a")]);
    const [result] = await execute(t.cloud, [recordFailure("i-0000000000000000b")]);
    expect(result).toMatchObject({ ok: false, retryable: false });
    expect(result?.error).toBe(
      `InvalidLaunchTemplateName.AlreadyExistsException: a launch template named ${failureRecordName("base", BUILD)} already exists in us-east-1: an earlier failure record of ${BUILD} that was not deleted, or not Leaven's. Leaven deletes its own on the next pass or on apply --retry base; delete another's yourself (aws ec2 delete-launch-template --region us-east-1 --launch-template-name ${failureRecordName("base", BUILD)})`,
    );
  });

  it.each([
    ["without the owner tag", { [Tag.managedBy]: "" }, 'its leaven.dev/managed-by tag is "", not "leaven"'],
    [
      "for another installation",
      { [Tag.installation]: "team-b" },
      'it belongs to installation "team-b", not "default"',
    ],
  ])("is refused %s, before any request", async (_how, tags, why) => {
    const action = recordFailure("i-0000000000000000a", tags);
    t.adapter.resetStats();
    const [result] = await execute(t.cloud, [action]);
    expect(result).toEqual({
      actions: [action],
      ok: false,
      retryable: false,
      error: `refused: the new resource would not be this installation's (${why}), so Leaven could never manage it`,
    });
    expect(t.adapter.stats().requests).toBe(0);
  });
});

describe("delete-failure-record", () => {
  it("deletes this installation's record", async () => {
    const id = await templateWith(owned);
    const [result] = await execute(t.cloud, [forget(id)]);
    expect(result).toMatchObject({ ok: true });
    expect(templates()).toEqual([]);
  });

  it.each<[string, Tags, string]>([
    [
      "without the owner tag",
      { [Tag.spec]: "base", [Tag.role]: "failure" },
      "it has no leaven.dev/managed-by tag",
    ],
    [
      "owned by another tool",
      { ...owned, [Tag.managedBy]: "terraform" },
      'its leaven.dev/managed-by tag is "terraform", not "leaven"',
    ],
    [
      "of another installation",
      { ...owned, [Tag.installation]: "team-b" },
      'it belongs to installation "team-b", not "default"',
    ],
  ])("refuses a launch template %s, sending no mutating request", async (_how, tags, why) => {
    const id = await templateWith(tags);
    const action = forget(id);
    t.sim.resetStats();
    const results = await execute(t.cloud, [action]);
    expect(results).toEqual([
      {
        actions: [action],
        ok: false,
        retryable: false,
        error: `refused: launch-template ${id} in us-east-1 is not Leaven's to change: ${why}. Leaven never changes or deletes a resource it does not own`,
      },
    ]);
    expect(t.sim.stats().mutating).toBe(0);
    expect(templates().map((l) => l.launchTemplateId)).toEqual([id]);
  });

  it("reads several records back in one call, and one at a time when one of them is gone", async () => {
    const a = await templateWith(owned);
    const b = await templateWith(owned);
    t.adapter.resetStats();
    expect((await execute(t.cloud, [forget(a), forget(b)])).map((r) => r.ok)).toEqual([true, true]);
    expect(requestTable(t.adapter)).toEqual({
      "us-east-1 DescribeLaunchTemplates": 1,
      "us-east-1 DeleteLaunchTemplate": 2,
    });

    const c = await templateWith(owned);
    const gone = "lt-0000000000000dead";
    t.adapter.resetStats();
    const results = await execute(t.cloud, [forget(c), forget(gone)]);
    expect(
      results.map((r) => [
        r.actions[0] === undefined ? "" : (r.actions[0] as DeleteFailureRecordAction).launchTemplateId,
        r.ok,
        r.error,
      ]),
    ).toEqual(
      expect.arrayContaining([
        [c, true, undefined],
        [
          gone,
          false,
          `refused: launch-template ${gone} in us-east-1 is not Leaven's to change: it does not exist (or is not this account's). Leaven never changes or deletes a resource it does not own`,
        ],
      ]),
    );
    // The batch failed on the unknown id, then each was read alone.
    expect(requestTable(t.adapter)).toEqual({
      "us-east-1 DescribeLaunchTemplates": 3,
      "us-east-1 DeleteLaunchTemplate": 1,
    });
    expect(templates()).toEqual([]);
  });
});
