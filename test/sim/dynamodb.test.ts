// The simulator's DynamoDB, through the real @aws-sdk/client-dynamodb: what the installation lock uses.
import { join } from "node:path";
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  GetItemCommand,
  PutItemCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { afterEach, describe, expect, it } from "vitest";
import { ManualClock } from "../../controller/sim/manual-clock.ts";
import { type Simulator, startSimulator } from "../../controller/sim/server.ts";
import { tempDir } from "../support/temp-dir.ts";

const sims: Simulator[] = [];
afterEach(async () => {
  for (const sim of sims.splice(0)) await sim.close();
});

async function start(statePath?: string) {
  const sim = await startSimulator({
    throttle: false,
    clock: new ManualClock(),
    ...(statePath ? { statePath } : {}),
  });
  sims.push(sim);
  return sim;
}

function client(sim: Simulator, region = "us-east-1", accessKeyId = "AKIDSIM"): DynamoDBClient {
  return new DynamoDBClient({
    region,
    endpoint: sim.endpoint,
    credentials: { accessKeyId, secretAccessKey: "sim" },
    maxAttempts: 1,
  });
}

const createLocks = new CreateTableCommand({
  TableName: "locks",
  KeySchema: [{ AttributeName: "LockID", KeyType: "HASH" }],
  AttributeDefinitions: [{ AttributeName: "LockID", AttributeType: "S" }],
  BillingMode: "PAY_PER_REQUEST",
});

const put = (id: string, expires: number, condition = true) =>
  new PutItemCommand({
    TableName: "locks",
    Item: { LockID: { S: id }, ExpiresAt: { N: String(expires) }, Token: { S: `t-${expires}` } },
    ...(condition
      ? {
          ConditionExpression: "attribute_not_exists(#id) OR #expires < :now",
          ExpressionAttributeNames: { "#id": "LockID", "#expires": "ExpiresAt" },
          ExpressionAttributeValues: { ":now": { N: "100" } },
          ReturnValuesOnConditionCheckFailure: "ALL_OLD" as const,
        }
      : {}),
  });

describe("the simulator's DynamoDB", () => {
  it("creates and describes a table; a second create and a missing table are refused as DynamoDB does", async () => {
    const sim = await start();
    const ddb = client(sim);
    const created = await ddb.send(createLocks);
    expect(created.TableDescription).toMatchObject({
      TableName: "locks",
      TableStatus: "ACTIVE",
      KeySchema: [{ AttributeName: "LockID", KeyType: "HASH" }],
      BillingModeSummary: { BillingMode: "PAY_PER_REQUEST" },
    });
    const described = await ddb.send(new DescribeTableCommand({ TableName: "locks" }));
    expect(described.Table?.TableArn).toBe("arn:aws:dynamodb:us-east-1:123456789012:table/locks");
    await expect(ddb.send(createLocks)).rejects.toBeInstanceOf(ResourceInUseException);
    // Tables are per region (and per account).
    await expect(
      client(sim, "eu-west-1").send(new DescribeTableCommand({ TableName: "locks" })),
    ).rejects.toBeInstanceOf(ResourceNotFoundException);
    await expect(client(sim, "eu-west-1").send(put("a", 1))).rejects.toBeInstanceOf(
      ResourceNotFoundException,
    );
  });

  it("answers a failed condition with ConditionalCheckFailedException (400, its __type) and the item when asked", async () => {
    const sim = await start();
    const ddb = client(sim);
    await ddb.send(createLocks);
    await ddb.send(put("a", 500));
    const failure = await ddb.send(put("a", 600)).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(ConditionalCheckFailedException);
    const ccf = failure as ConditionalCheckFailedException;
    expect(ccf.$metadata.httpStatusCode).toBe(400);
    expect(ccf.message).toBe("The conditional request failed");
    expect(ccf.Item).toEqual({ LockID: { S: "a" }, ExpiresAt: { N: "500" }, Token: { S: "t-500" } });
    expect(sim.stats().errors).toEqual({ ConditionalCheckFailedException: 1 });
    // Expired (50 < 100): the condition holds and the item is replaced.
    await ddb.send(put("b", 50, false));
    await ddb.send(put("b", 700));
    const read = await ddb.send(new GetItemCommand({ TableName: "locks", Key: { LockID: { S: "b" } } }));
    expect(read.Item?.ExpiresAt).toEqual({ N: "700" });
  });

  it("updates and deletes conditionally on an attribute's value", async () => {
    const sim = await start();
    const ddb = client(sim);
    await ddb.send(createLocks);
    await ddb.send(put("a", 500, false));
    const update = (token: string) =>
      new UpdateItemCommand({
        TableName: "locks",
        Key: { LockID: { S: "a" } },
        UpdateExpression: "SET #expires = :expires, Renewed = :renewed",
        ConditionExpression: "#token = :token",
        ExpressionAttributeNames: { "#expires": "ExpiresAt", "#token": "Token" },
        ExpressionAttributeValues: {
          ":expires": { N: "900" },
          ":renewed": { S: "yes" },
          ":token": { S: token },
        },
        ReturnValues: "ALL_NEW",
      });
    await expect(ddb.send(update("t-other"))).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    const updated = await ddb.send(update("t-500"));
    expect(updated.Attributes).toEqual({
      LockID: { S: "a" },
      ExpiresAt: { N: "900" },
      Token: { S: "t-500" },
      Renewed: { S: "yes" },
    });
    const remove = (token: string) =>
      new DeleteItemCommand({
        TableName: "locks",
        Key: { LockID: { S: "a" } },
        ConditionExpression: "Token = :token",
        ExpressionAttributeValues: { ":token": { S: token } },
      });
    await expect(ddb.send(remove("t-other"))).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    await ddb.send(remove("t-500"));
    expect(
      (await ddb.send(new GetItemCommand({ TableName: "locks", Key: { LockID: { S: "a" } } }))).Item,
    ).toBeUndefined();
    // Gone: the same conditional delete now fails, and an update conditional on the token creates nothing.
    await expect(ddb.send(remove("t-500"))).rejects.toBeInstanceOf(ConditionalCheckFailedException);
    await expect(ddb.send(update("t-500"))).rejects.toBeInstanceOf(ConditionalCheckFailedException);
  });

  it.each([
    [
      "an unused value",
      {
        ConditionExpression: "attribute_not_exists(LockID)",
        ExpressionAttributeValues: { ":x": { S: "1" } },
      },
      "unused in expressions: keys: {:x}",
    ],
    ["an undefined name", { ConditionExpression: "attribute_not_exists(#id)" }, "attribute name: #id"],
    ["an undefined value", { ConditionExpression: "ExpiresAt < :now" }, "attribute value: :now"],
    ["a syntax error", { ConditionExpression: "ExpiresAt <" }, "Syntax error"],
    ["a nested path", { ConditionExpression: "attribute_exists(a.b)" }, "nested attribute paths"],
  ])("refuses %s with a ValidationException", async (_name, expression, message) => {
    const sim = await start();
    const ddb = client(sim);
    await ddb.send(createLocks);
    const error = await ddb
      .send(new PutItemCommand({ TableName: "locks", Item: { LockID: { S: "a" } }, ...expression }))
      .catch((e: unknown) => e as Error);
    expect((error as Error).name).toBe("ValidationException");
    expect((error as Error).message).toContain(message);
  });

  it("evaluates AND, OR, NOT, parentheses, BETWEEN, IN and begins_with", async () => {
    const sim = await start();
    const ddb = client(sim);
    await ddb.send(createLocks);
    await ddb.send(
      new PutItemCommand({
        TableName: "locks",
        Item: { LockID: { S: "a" }, N: { N: "5" }, Name: { S: "leaven:x" } },
      }),
    );
    const holds = async (condition: string, values: Record<string, { S: string } | { N: string }>) => {
      try {
        await ddb.send(
          new UpdateItemCommand({
            TableName: "locks",
            Key: { LockID: { S: "a" } },
            UpdateExpression: "REMOVE Missing",
            ConditionExpression: condition,
            ...(Object.keys(values).length > 0 ? { ExpressionAttributeValues: values } : {}),
          }),
        );
        return true;
      } catch (error) {
        if (error instanceof ConditionalCheckFailedException) return false;
        throw error;
      }
    };
    expect(await holds("N BETWEEN :a AND :b", { ":a": { N: "1" }, ":b": { N: "10" } })).toBe(true);
    expect(await holds("N BETWEEN :a AND :b", { ":a": { N: "6" }, ":b": { N: "10" } })).toBe(false);
    expect(await holds("N IN (:a, :b)", { ":a": { N: "4" }, ":b": { N: "5" } })).toBe(true);
    expect(await holds("begins_with(Name, :p)", { ":p": { S: "leaven:" } })).toBe(true);
    expect(await holds("NOT (N > :a) OR attribute_exists(Missing)", { ":a": { N: "4" } })).toBe(false);
    expect(
      await holds("(N > :a AND N < :b) OR attribute_not_exists(LockID)", {
        ":a": { N: "4" },
        ":b": { N: "6" },
      }),
    ).toBe(true);
    // Numbers compare as numbers, not strings.
    expect(await holds("N < :a", { ":a": { N: "10" } })).toBe(true);
  });

  it("keeps its tables and items in the state file across a restart", async () => {
    const statePath = join(tempDir("leaven-ddb-"), "sim.json");
    const first = await start(statePath);
    await client(first).send(createLocks);
    await client(first).send(put("a", 500, false));
    await first.close();
    sims.splice(sims.indexOf(first), 1);
    const second = await start(statePath);
    const read = await client(second).send(
      new GetItemCommand({ TableName: "locks", Key: { LockID: { S: "a" } } }),
    );
    expect(read.Item?.Token).toEqual({ S: "t-500" });
  });

  it("loses an answer after the write took effect when told to (Faults.lostResponses)", async () => {
    const sim = await start();
    const ddb = client(sim);
    await ddb.send(createLocks);
    sim.setFaults({ lostResponses: { PutItem: 1 } });
    await expect(ddb.send(put("a", 500, false))).rejects.toThrow();
    const read = await ddb.send(new GetItemCommand({ TableName: "locks", Key: { LockID: { S: "a" } } }));
    expect(read.Item?.Token).toEqual({ S: "t-500" });
    // Only the first: the next answer arrives.
    await ddb.send(put("b", 500, false));
    expect(sim.stats().byAction).toMatchObject({ CreateTable: 1, PutItem: 2, GetItem: 1 });
  });
});
