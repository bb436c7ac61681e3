// The executor's put-parameter and delete-parameter against the simulator: the tags are read back before
// an overwrite or a delete, foreign parameters are refused, and a create that finds the name taken fails
// for good unless the parameter there is this build's own.
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { IMAGE_DATA_TYPE } from "../../controller/cloud/parameter-port.ts";
import { execute } from "../../controller/execute/executor.ts";
import type { DeleteParameterAction, PutParameterAction } from "../../controller/plan/actions.ts";
import { parameterTags } from "../../controller/plan/publish.ts";
import { requestTable, type SimCloud, startSimCloud } from "../support/sim-cloud.ts";

const REGION = "us-east-1";
const NAME = "/leaven/api/release";
let t: SimCloud;
let image = "";
beforeEach(async () => {
  t = await startSimCloud();
  const { parameters } = await t.cloud.getParameters(REGION, [
    "/aws/service/canonical/ubuntu/server/22.04/stable/current/amd64/hvm/ebs-gp2/ami-id",
  ]);
  image = parameters[0]!.value;
  t.adapter.resetStats();
});
afterEach(async () => {
  await t.close();
});

const put = (overwrite: boolean, value = image): PutParameterAction => ({
  kind: "put-parameter",
  spec: "api",
  region: REGION,
  channel: "release",
  build: "1.0.0+aaaaaaaa",
  parameter: {
    name: NAME,
    value,
    dataType: IMAGE_DATA_TYPE,
    overwrite,
    ...(overwrite ? {} : { tags: parameterTags("api", "release", "default") }),
  },
  reason: "test",
});
const remove: DeleteParameterAction = {
  kind: "delete-parameter",
  spec: "api",
  region: REGION,
  name: NAME,
  value: image,
  reason: "test",
};

async function plant(tags: Record<string, string>): Promise<void> {
  await t.cloud.putParameter(REGION, {
    name: NAME,
    value: image,
    dataType: IMAGE_DATA_TYPE,
    overwrite: false,
    tags,
  });
  t.adapter.resetStats();
}

describe("execute: parameters", () => {
  it("creates with one PutParameter and no read-back", async () => {
    const [result] = await execute(t.cloud, [put(false)]);
    expect(result).toMatchObject({ ok: true });
    expect(requestTable(t.adapter)).toEqual({ "us-east-1 PutParameter": 1 });
    expect(await t.cloud.listTagsForResource(REGION, NAME)).toEqual(
      parameterTags("api", "release", "default"),
    );
  });

  it("reads an owned parameter's tags back, then overwrites it: version 2", async () => {
    await plant(parameterTags("api", "release", "default"));
    const [result] = await execute(t.cloud, [put(true)]);
    expect(result).toMatchObject({ ok: true });
    expect(requestTable(t.adapter)).toEqual({
      "us-east-1 ListTagsForResource": 1,
      "us-east-1 PutParameter": 1,
    });
    expect((await t.cloud.getParametersByPath(REGION, "/leaven"))[0]?.version).toBe(2);
  });

  it.each([
    [{}, "it has no leaven.dev/managed-by tag"],
    [
      { "leaven.dev/managed-by": "someone-else" },
      `its leaven.dev/managed-by tag is "someone-else", not "leaven"`,
    ],
    [parameterTags("api", "release", "prod"), `it belongs to installation "prod", not "default"`],
  ])("refuses to overwrite or delete a look-alike tagged %j", async (tags, problem) => {
    await plant(tags);
    const results = await execute(t.cloud, [put(true), remove]);
    for (const result of results)
      expect(result).toEqual({
        actions: [expect.anything()],
        ok: false,
        retryable: false,
        error: `refused: parameter ${NAME} in ${REGION} is not Leaven's to change: ${problem}. Leaven never changes or deletes a resource it does not own`,
      });
    expect(t.adapter.stats().mutating).toBe(0);
    expect((await t.cloud.getParametersByPath(REGION, "/leaven"))[0]?.version).toBe(1);
  });

  it("fails a create for good when a look-alike holds the name, naming it and what to do", async () => {
    await plant({ team: "web" });
    const [result] = await execute(t.cloud, [put(false)]);
    expect(result).toMatchObject({
      ok: false,
      retryable: false,
      error: `ParameterAlreadyExists: parameter ${NAME} already exists in ${REGION} and is not Leaven's to overwrite (it has no leaven.dev/managed-by tag); delete it (aws ssm delete-parameter --region ${REGION} --name ${NAME}) or set spec.publish.prefix of api to another path`,
    });
    expect(requestTable(t.adapter)).toEqual({
      "us-east-1 PutParameter": 1,
      "us-east-1 ListTagsForResource": 1,
    });
  });

  it("takes a create whose name is held by this channel's own parameter as done (an earlier attempt made it)", async () => {
    await plant(parameterTags("api", "release", "default"));
    const [result] = await execute(t.cloud, [put(false)]);
    expect(result).toMatchObject({ ok: true });
    expect((await t.cloud.getParametersByPath(REGION, "/leaven"))[0]?.version).toBe(1);
  });

  it("refuses to overwrite a parameter that does not exist, and deletes an owned one", async () => {
    const [missing] = await execute(t.cloud, [put(true)]);
    expect(missing?.error).toBe(
      `refused: parameter ${NAME} in ${REGION} is not Leaven's to change: it does not exist (or is not this account's). Leaven never changes or deletes a resource it does not own`,
    );
    await plant(parameterTags("api", "release", "default"));
    const [deleted] = await execute(t.cloud, [remove]);
    expect(deleted).toMatchObject({ ok: true });
    expect(await t.cloud.getParametersByPath(REGION, "/leaven")).toEqual([]);
  });

  it("refuses to create a parameter without Leaven's owner tags", async () => {
    const unowned = put(false);
    unowned.parameter.tags = { "leaven.dev/spec": "api" };
    const [result] = await execute(t.cloud, [unowned]);
    expect(result?.error).toBe(
      "refused: the new resource would not be this installation's (it has no leaven.dev/managed-by tag), so Leaven could never manage it",
    );
    expect(t.adapter.stats().requests).toBe(0);
  });
});
