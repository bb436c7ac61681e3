// `--fault lost-response=RATE`: a changing request takes effect and is saved, then the caller gets a 5xx.
// Driven with the real AWS SDK clients over HTTP, as Leaven's adapters call the simulator.
import { readFileSync } from "node:fs";
import { join } from "node:path";
import { CreateTableCommand, DynamoDBClient, GetItemCommand, PutItemCommand } from "@aws-sdk/client-dynamodb";
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  DescribeInstancesCommand,
  EC2Client,
  RunInstancesCommand,
  type RunInstancesCommandInput,
} from "@aws-sdk/client-ec2";
import { GetParameterCommand, PutParameterCommand, SSMClient } from "@aws-sdk/client-ssm";
import { afterEach, describe, expect, it } from "vitest";
import { parseFaultFlag } from "../../controller/sim/faults.ts";
import { tempDir } from "../support/temp-dir.ts";
import { ec2Error, nobleImage, startTestSim, type TestSim } from "./helpers.ts";

const open: TestSim[] = [];
afterEach(async () => {
  for (const t of open.splice(0)) await t.sim.close();
});

async function sim(statePath?: string): Promise<TestSim> {
  const t = await startTestSim({ ...(statePath ? { statePath } : {}) });
  open.push(t);
  return t;
}

const credentials = { accessKeyId: "AKIDSIM", secretAccessKey: "sim" };
const LOST = ["InternalError", "ServiceUnavailable"];

describe("lost responses", () => {
  it("parses --fault lost-response=RATE like the other rates", () => {
    expect(parseFaultFlag("lost-response=0.2")).toEqual({ lostResponseRate: 0.2 });
    expect(() => parseFaultFlag("lost-response=x")).toThrow(
      "--fault lost-response=x: expected a rate between 0 and 1, e.g. lost-response=0.1.",
    );
  });

  it("applies and saves a CreateTags whose caller saw an error", async () => {
    const statePath = join(tempDir("leaven-sim-lost-"), "state.json");
    const t = await sim(statePath);
    const image = await nobleImage(t);
    t.sim.setFaults({ lostResponseRate: 1 });
    const error = await ec2Error(
      t.client.send(new CreateTagsCommand({ Resources: [image], Tags: [{ Key: "seen", Value: "yes" }] })),
    );
    expect(LOST).toContain(error.code);
    expect([500, 503]).toContain(error.status);
    t.sim.setFaults({});
    const tagged = await t.client.send(
      new DescribeImagesCommand({
        Filters: [{ Name: "tag:seen", Values: ["yes"] }],
        IncludeDeprecated: true,
      }),
    );
    expect(tagged.Images!.map((i) => i.ImageId)).toEqual([image]);
    // Saved before the error was sent: a kill -9 right after loses nothing.
    expect(readFileSync(statePath, "utf8")).toContain('"seen":"yes"');
  });

  it("launches once for a RunInstances whose answer was lost, retried with its ClientToken by the SDK", async () => {
    const t = await sim();
    const input: RunInstancesCommandInput = {
      ImageId: await nobleImage(t),
      InstanceType: "t3.micro",
      MinCount: 1,
      MaxCount: 1,
      ClientToken: "bake-api-1",
    };
    t.sim.setFaults({ lostResponseRate: 1 });
    expect(LOST).toContain((await ec2Error(t.client.send(new RunInstancesCommand(input)))).code);
    t.sim.setFaults({});
    const launched = await t.client.send(new DescribeInstancesCommand({}));
    const ids = launched.Reservations!.flatMap((r) => r.Instances!.map((i) => i.InstanceId));
    expect(ids).toHaveLength(1);
    // Half the answers lost, and the SDK's own retries (its default 3 attempts) repeat the token.
    t.sim.setFaults({ lostResponseRate: 0.5, seed: 7 });
    t.sim.resetStats();
    const retrying = new EC2Client({ region: "eu-west-1", endpoint: t.sim.endpoint, credentials });
    try {
      const again = await retrying.send(new RunInstancesCommand(input));
      expect(again.Instances!.map((i) => i.InstanceId)).toEqual(ids);
      // The seed loses the first answer: the SDK's retry is what succeeded.
      expect(t.sim.stats().byAction.RunInstances).toBe(2);
    } finally {
      retrying.destroy();
    }
    expect(t.sim.world.region("eu-west-1").instances.size).toBe(1);
  });

  it("leaves describes alone", async () => {
    const t = await sim();
    t.sim.setFaults({ lostResponseRate: 1 });
    await t.client.send(new DescribeImagesCommand({ Owners: ["amazon"] }));
    expect(t.sim.stats().errors).toEqual({});
  });

  it("applies an SSM PutParameter and a DynamoDB PutItem whose callers saw a 5xx", async () => {
    const t = await sim();
    const ssm = new SSMClient({ region: "eu-west-1", endpoint: t.sim.endpoint, credentials, maxAttempts: 1 });
    const dynamo = new DynamoDBClient({
      region: "eu-west-1",
      endpoint: t.sim.endpoint,
      credentials,
      maxAttempts: 1,
    });
    try {
      await dynamo.send(
        new CreateTableCommand({
          TableName: "locks",
          KeySchema: [{ AttributeName: "LockID", KeyType: "HASH" }],
          AttributeDefinitions: [{ AttributeName: "LockID", AttributeType: "S" }],
          BillingMode: "PAY_PER_REQUEST",
        }),
      );
      t.sim.setFaults({ lostResponseRate: 1 });
      const ssmError = await ssm
        .send(new PutParameterCommand({ Name: "/leaven/api/release", Value: "v1", Type: "String" }))
        .catch((e: { name: string; $metadata: { httpStatusCode?: number } }) => e);
      expect(ssmError).toMatchObject({ name: "InternalServerError", $metadata: { httpStatusCode: 500 } });
      const dynamoError = await dynamo
        .send(new PutItemCommand({ TableName: "locks", Item: { LockID: { S: "payments" } } }))
        .catch((e: { name: string; $metadata: { httpStatusCode?: number } }) => e);
      expect(["InternalServerError", "ServiceUnavailable"]).toContain((dynamoError as { name: string }).name);
      expect([500, 503]).toContain(
        (dynamoError as { $metadata: { httpStatusCode?: number } }).$metadata.httpStatusCode,
      );
      t.sim.setFaults({});
      const parameter = await ssm.send(new GetParameterCommand({ Name: "/leaven/api/release" }));
      expect(parameter.Parameter?.Value).toBe("v1");
      const item = await dynamo.send(
        new GetItemCommand({ TableName: "locks", Key: { LockID: { S: "payments" } } }),
      );
      expect(item.Item).toEqual({ LockID: { S: "payments" } });
    } finally {
      ssm.destroy();
      dynamo.destroy();
    }
  });
});
