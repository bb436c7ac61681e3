// The installation lock in a DynamoDB table, modelled on Terraform's S3 backend state locking: a table whose
// partition key is the string `LockID` (so Terraform's own lock table can be reused), one item per
// installation, `LockID = "leaven:installation/<name>"` (Terraform's ids are "<bucket>/<key>" and a bucket
// name cannot hold a colon, so the two never collide). Unlike Terraform's, the item expires: it records
// ExpiresAt, and the holder renews it by a heartbeat (lease.ts), so a holder killed with kill -9 is taken
// over once its lease runs out instead of needing `force-unlock`.
//
//   acquire:  PutItem     if attribute_not_exists(LockID) OR ExpiresAt < :now
//   renew:    UpdateItem  SET ExpiresAt, RenewedAt  if Token = :token
//   release:  DeleteItem  if Token = :token
//
// Every write is conditional, so a lost answer is harmless: a repeated acquire finds its own token (and
// counts as acquired), a repeated renewal succeeds again, a repeated release finds the item gone.

import type { AttributeValue } from "@aws-sdk/client-dynamodb";
import {
  ConditionalCheckFailedException,
  CreateTableCommand,
  DeleteItemCommand,
  DescribeTableCommand,
  DynamoDBClient,
  type DynamoDBClientConfig,
  GetItemCommand,
  PutItemCommand,
  ResourceInUseException,
  ResourceNotFoundException,
  UpdateItemCommand,
} from "@aws-sdk/client-dynamodb";
import { type AcquireOutcome, type LockPort, type LockRecord, LockStoreError } from "./lock-port.ts";

export { DEFAULT_LOCK_TABLE } from "./defaults.ts";
/** The table's partition key: a string attribute, as Terraform's lock table has. */
export const LOCK_KEY = "LockID";

export function lockId(installation: string): string {
  return `leaven:installation/${installation}`;
}

export interface DynamoDbLockOptions {
  client: DynamoDBClient;
  table: string;
  /** The table's region, for messages (the client is configured with it). */
  region: string;
}

/** A DynamoDB client for the lock: the SDK's own retries (3 attempts) for dropped connections and 5xx. */
export function createLockClient(config: DynamoDBClientConfig): DynamoDBClient {
  return new DynamoDBClient({
    maxAttempts: 3,
    requestHandler: { connectionTimeout: 5_000, requestTimeout: 20_000, throwOnRequestTimeout: true },
    ...config,
  });
}

type Item = Record<string, AttributeValue>;

function text(item: Item, name: string): string | undefined {
  const value = item[name];
  return value && "S" in value ? value.S : undefined;
}

function number(item: Item, name: string): number | undefined {
  const value = item[name];
  return value && "N" in value && value.N !== undefined ? Number(value.N) : undefined;
}

/** An item as a lock record; undefined when it is not one of Leaven's (then it is never taken over). */
export function recordOf(item: Item | undefined): LockRecord | undefined {
  if (!item) return undefined;
  const installation = text(item, "Installation");
  const token = text(item, "Token");
  const expiresAt = number(item, "ExpiresAt");
  if (installation === undefined || token === undefined || expiresAt === undefined) return undefined;
  const started = Date.parse(text(item, "StartedAt") ?? "");
  return {
    installation,
    token,
    expiresAt,
    holder: {
      host: text(item, "Host") ?? "unknown",
      pid: number(item, "Pid") ?? 0,
      command: text(item, "Command") ?? "unknown",
      startedAt: Number.isFinite(started) ? started : 0,
    },
  };
}

function itemOf(record: LockRecord, now: number): Item {
  return {
    [LOCK_KEY]: { S: lockId(record.installation) },
    Installation: { S: record.installation },
    Token: { S: record.token },
    Host: { S: record.holder.host },
    Pid: { N: String(record.holder.pid) },
    Command: { S: record.holder.command },
    StartedAt: { S: new Date(record.holder.startedAt).toISOString() },
    RenewedAt: { S: new Date(now).toISOString() },
    ExpiresAt: { N: String(record.expiresAt) },
  };
}

export class DynamoDbLock implements LockPort {
  readonly description: string;
  private readonly client: DynamoDBClient;
  private readonly table: string;
  private readonly region: string;

  constructor(options: DynamoDbLockOptions) {
    this.client = options.client;
    this.table = options.table;
    this.region = options.region;
    this.description = `DynamoDB table ${options.table} in ${options.region}`;
  }

  async tryAcquire(record: LockRecord, now: number): Promise<AcquireOutcome> {
    try {
      await this.guard(
        this.client.send(
          new PutItemCommand({
            TableName: this.table,
            Item: itemOf(record, now),
            ConditionExpression: "attribute_not_exists(#id) OR #expires < :now",
            ExpressionAttributeNames: { "#id": LOCK_KEY, "#expires": "ExpiresAt" },
            ExpressionAttributeValues: { ":now": { N: String(now) } },
            ReturnValuesOnConditionCheckFailure: "ALL_OLD",
          }),
        ),
      );
      return { acquired: true };
    } catch (error) {
      if (!(error instanceof ConditionalCheckFailedException)) throw error;
      const current = error.Item ? recordOf(error.Item) : await this.read(record.installation);
      // Our own earlier attempt, whose answer was lost on the way back.
      if (current?.token === record.token) return { acquired: true };
      return current ? { acquired: false, current } : { acquired: false };
    }
  }

  async renew(installation: string, token: string, expiresAt: number, now: number): Promise<boolean> {
    try {
      await this.guard(
        this.client.send(
          new UpdateItemCommand({
            TableName: this.table,
            Key: { [LOCK_KEY]: { S: lockId(installation) } },
            UpdateExpression: "SET #expires = :expires, #renewed = :renewed",
            ConditionExpression: "#token = :token",
            ExpressionAttributeNames: { "#expires": "ExpiresAt", "#renewed": "RenewedAt", "#token": "Token" },
            ExpressionAttributeValues: {
              ":expires": { N: String(expiresAt) },
              ":renewed": { S: new Date(now).toISOString() },
              ":token": { S: token },
            },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async release(installation: string, token: string): Promise<boolean> {
    try {
      await this.guard(
        this.client.send(
          new DeleteItemCommand({
            TableName: this.table,
            Key: { [LOCK_KEY]: { S: lockId(installation) } },
            ConditionExpression: "#token = :token",
            ExpressionAttributeNames: { "#token": "Token" },
            ExpressionAttributeValues: { ":token": { S: token } },
          }),
        ),
      );
      return true;
    } catch (error) {
      if (error instanceof ConditionalCheckFailedException) return false;
      throw error;
    }
  }

  async read(installation: string): Promise<LockRecord | undefined> {
    const answer = await this.guard(
      this.client.send(
        new GetItemCommand({
          TableName: this.table,
          Key: { [LOCK_KEY]: { S: lockId(installation) } },
          ConsistentRead: true,
        }),
      ),
    );
    return recordOf(answer.Item);
  }

  /** Creates the table when it does not exist (the simulator; on AWS the platform team creates it). */
  async ensureTable(): Promise<void> {
    try {
      await this.client.send(new DescribeTableCommand({ TableName: this.table }));
      return;
    } catch (error) {
      if (!(error instanceof ResourceNotFoundException)) throw error;
    }
    try {
      await this.client.send(
        new CreateTableCommand({
          TableName: this.table,
          KeySchema: [{ AttributeName: LOCK_KEY, KeyType: "HASH" }],
          AttributeDefinitions: [{ AttributeName: LOCK_KEY, AttributeType: "S" }],
          BillingMode: "PAY_PER_REQUEST",
        }),
      );
    } catch (error) {
      // Another controller created it between our look and our create (two installations starting at once),
      // or our own create went through and its answer was lost: either way the table is there.
      if (!(error instanceof ResourceInUseException)) throw error;
    }
  }

  close(): void {
    this.client.destroy();
  }

  /** Says what to do when the table is missing; every other error is the caller's to judge. */
  private async guard<T>(request: Promise<T>): Promise<T> {
    try {
      return await request;
    } catch (error) {
      if (error instanceof ResourceNotFoundException)
        throw new LockStoreError(
          `the lock table ${this.table} does not exist in ${this.region}; create it (partition key ${LOCK_KEY}, a string): ` +
            `aws dynamodb create-table --region ${this.region} --table-name ${this.table} --attribute-definitions AttributeName=${LOCK_KEY},AttributeType=S --key-schema AttributeName=${LOCK_KEY},KeyType=HASH --billing-mode PAY_PER_REQUEST` +
            " — or name an existing one in leaven.yaml (lock: { table: NAME })",
        );
      throw error;
    }
  }
}
