// DynamoDB on the simulator's endpoint, for the installation lock (controller/lease/aws-lock.ts). DynamoDB
// speaks the AWS JSON 1.0 protocol: a POST whose `x-amz-target: DynamoDB_20120810.<Operation>` header names
// the operation, a JSON body, and errors as `{"__type": "com.amazonaws.dynamodb.v20120810#<Code>",
// "message": …}` (HTTP 400 for the caller's mistakes, ConditionalCheckFailedException among them), which the
// real @aws-sdk/client-dynamodb maps to its exception classes. The region and account come from the SigV4
// credential scope and access key, as for EC2: each account has its own tables in each region.
//
// Modelled: CreateTable (partition key only; ACTIVE at once), DescribeTable, DeleteTable, PutItem, GetItem,
// UpdateItem and DeleteItem with ConditionExpression, UpdateExpression, ExpressionAttributeNames/Values
// (dynamodb-expressions.ts), ReturnValues and ReturnValuesOnConditionCheckFailure; the simulator's 5xx and
// throttling faults, and lost responses (Faults.lostResponses). Items are persisted with the world. Not
// modelled: sort keys, indexes, queries and scans, transactions, capacity, TTL deletion, streams.
import type { IncomingMessage } from "node:http";
import type { Clock } from "../cloud/clock.ts";
import { isMutatingAction } from "../cloud/request-stats.ts";
import {
  type AttributeValue,
  ExpressionError,
  ExpressionScope,
  type Item,
  parseCondition,
  parseUpdate,
} from "./dynamodb-expressions.ts";
import type { Faults } from "./faults.ts";
import { regionFromAuthorization } from "./query-protocol.ts";
import { isSimRegion } from "./regions.ts";
import type { SsmStatsSink } from "./ssm.ts";
import type { SimTable, World } from "./world.ts";

export const DYNAMODB_TARGET_PREFIX = "DynamoDB_20120810.";
export const DYNAMODB_CONTENT_TYPE = "application/x-amz-json-1.0";
const ERROR_PREFIX = "com.amazonaws.dynamodb.v20120810#";

/** A DynamoDB JSON-protocol request: the target header names a DynamoDB_20120810 operation. */
export function isDynamoDbRequest(req: IncomingMessage): boolean {
  const target = req.headers["x-amz-target"];
  return typeof target === "string" && target.startsWith(DYNAMODB_TARGET_PREFIX);
}

type Json = Record<string, unknown>;

class DynamoError extends Error {
  readonly code: string;
  readonly status: number;
  /** Members of the error body besides __type and message (a ConditionalCheckFailedException's Item). */
  readonly extra: Json;
  constructor(code: string, message: string, status = 400, extra: Json = {}) {
    super(message);
    this.code = code;
    this.status = status;
    this.extra = extra;
  }
}

const validation = (message: string) => new DynamoError("ValidationException", message);

interface DynamoContext {
  world: World;
  region: string;
  account: string;
  body: Json;
  now: number;
}

type Handler = (ctx: DynamoContext) => Json;

function tableKey(ctx: DynamoContext, name: string): string {
  return `${ctx.account}/${ctx.region}/${name}`;
}

function tableName(ctx: DynamoContext): string {
  const name = ctx.body.TableName;
  if (typeof name !== "string" || !/^[a-zA-Z0-9_.-]{3,255}$/.test(name))
    throw validation(
      `1 validation error detected: Value '${String(name)}' at 'tableName' failed to satisfy constraint: Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ (3 to 255 characters)`,
    );
  return name;
}

function table(ctx: DynamoContext): SimTable {
  const name = tableName(ctx);
  const found = ctx.world.dynamoTables.get(tableKey(ctx, name));
  if (!found) throw new DynamoError("ResourceNotFoundException", "Requested resource not found");
  return found;
}

function describe(table: SimTable): Json {
  return {
    TableName: table.name,
    TableStatus: "ACTIVE",
    TableArn: `arn:aws:dynamodb:${table.region}:${table.account}:table/${table.name}`,
    CreationDateTime: table.createdAt / 1000,
    KeySchema: [{ AttributeName: table.hashKey.name, KeyType: "HASH" }],
    AttributeDefinitions: [{ AttributeName: table.hashKey.name, AttributeType: table.hashKey.type }],
    ItemCount: Object.keys(table.items).length,
    BillingModeSummary: { BillingMode: table.billingMode },
    DeletionProtectionEnabled: false,
  };
}

/** The storage key of an item: the type and value of its partition key. */
export function itemKey(table: SimTable, key: Item, what = "key"): string {
  const value = key[table.hashKey.name];
  const raw = value?.[table.hashKey.type];
  if (typeof raw !== "string")
    throw validation(
      `One or more parameter values were invalid: ${what === "key" ? "The provided key element does not match the schema" : `Missing the key ${table.hashKey.name} in the item`}`,
    );
  return `${table.hashKey.type}:${raw}`;
}

function attributeMap(body: Json, field: string, required: boolean): Item | undefined {
  const value = body[field];
  if (value === undefined || value === null) {
    if (required)
      throw validation(
        `1 validation error detected: Value null at '${field.charAt(0).toLowerCase()}${field.slice(1)}' failed to satisfy constraint: Member must not be null`,
      );
    return undefined;
  }
  if (typeof value !== "object" || Array.isArray(value))
    throw new DynamoError("SerializationException", `${field} must be a map of attribute values`);
  for (const [name, attribute] of Object.entries(value as Json)) {
    if (!attribute || typeof attribute !== "object" || Object.keys(attribute).length !== 1)
      throw validation(
        `Supplied AttributeValue has more than one datatypes set, must contain exactly one of the supported datatypes (attribute ${name})`,
      );
  }
  return value as Item;
}

function stringMap(body: Json, field: string): Record<string, string> {
  const value = body[field];
  if (value === undefined || value === null) return {};
  if (typeof value !== "object" || Array.isArray(value))
    throw new DynamoError("SerializationException", `${field} must be a map`);
  return value as Record<string, string>;
}

function refuseLegacy(body: Json): void {
  for (const legacy of ["Expected", "AttributeUpdates", "ConditionalOperator", "AttributesToGet"])
    if (body[legacy] !== undefined)
      throw validation(`The simulator does not support the legacy parameter ${legacy}; use expressions.`);
}

/** The request's condition (if any), checked against the item as it is now. */
function checkCondition(ctx: DynamoContext, scope: ExpressionScope, current: Item | undefined): boolean {
  const text = ctx.body.ConditionExpression;
  if (text === undefined) return true;
  if (typeof text !== "string")
    throw new DynamoError("SerializationException", "ConditionExpression must be a string");
  return parseCondition(text, scope)(current);
}

function conditionFailed(ctx: DynamoContext, current: Item | undefined): DynamoError {
  const withItem = ctx.body.ReturnValuesOnConditionCheckFailure === "ALL_OLD" && current !== undefined;
  return new DynamoError(
    "ConditionalCheckFailedException",
    "The conditional request failed",
    400,
    withItem ? { Item: current } : {},
  );
}

function returnValues(ctx: DynamoContext, allowed: readonly string[]): string {
  const value = ctx.body.ReturnValues ?? "NONE";
  if (typeof value !== "string" || !allowed.includes(value))
    throw validation(
      `ReturnValues ${String(value)} is not valid here; the simulator supports ${allowed.join(", ")}`,
    );
  return value;
}

function scopeOf(ctx: DynamoContext): ExpressionScope {
  const values = ctx.body.ExpressionAttributeValues;
  if (values !== undefined && (typeof values !== "object" || values === null || Array.isArray(values)))
    throw new DynamoError("SerializationException", "ExpressionAttributeValues must be a map");
  return new ExpressionScope(
    stringMap(ctx.body, "ExpressionAttributeNames"),
    (values ?? {}) as Record<string, AttributeValue>,
  );
}

const HANDLERS: Readonly<Record<string, Handler>> = {
  CreateTable(ctx) {
    const name = tableName(ctx);
    const schema = ctx.body.KeySchema as { AttributeName?: string; KeyType?: string }[] | undefined;
    const definitions = ctx.body.AttributeDefinitions as
      | { AttributeName?: string; AttributeType?: string }[]
      | undefined;
    if (!Array.isArray(schema) || schema.length === 0)
      throw validation("KeySchema must name the partition key");
    if (schema.length > 1 || schema[0]?.KeyType !== "HASH")
      throw validation("The simulator supports tables with a partition (HASH) key only");
    const hashName = schema[0].AttributeName;
    const definition = definitions?.find((d) => d.AttributeName === hashName);
    if (!hashName || !definition || !["S", "N", "B"].includes(definition.AttributeType ?? ""))
      throw validation(
        "One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions",
      );
    if ((definitions?.length ?? 0) !== 1)
      throw validation(
        "One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions",
      );
    const key = tableKey(ctx, name);
    if (ctx.world.dynamoTables.has(key))
      throw new DynamoError("ResourceInUseException", `Table already exists: ${name}`);
    const created: SimTable = {
      account: ctx.account,
      region: ctx.region,
      name,
      hashKey: { name: hashName, type: definition.AttributeType as "S" | "N" | "B" },
      createdAt: ctx.now,
      billingMode: typeof ctx.body.BillingMode === "string" ? ctx.body.BillingMode : "PROVISIONED",
      items: {},
    };
    ctx.world.dynamoTables.set(key, created);
    return { TableDescription: describe(created) };
  },

  DescribeTable(ctx) {
    const name = tableName(ctx);
    const found = ctx.world.dynamoTables.get(tableKey(ctx, name));
    if (!found)
      throw new DynamoError(
        "ResourceNotFoundException",
        `Requested resource not found: Table: ${name} not found`,
      );
    return { Table: describe(found) };
  },

  DeleteTable(ctx) {
    const found = table(ctx);
    ctx.world.dynamoTables.delete(tableKey(ctx, found.name));
    return { TableDescription: { ...describe(found), TableStatus: "DELETING" } };
  },

  PutItem(ctx) {
    refuseLegacy(ctx.body);
    const found = table(ctx);
    const item = attributeMap(ctx.body, "Item", true)!;
    const key = itemKey(found, item, "item");
    const returns = returnValues(ctx, ["NONE", "ALL_OLD"]);
    const scope = scopeOf(ctx);
    const current = found.items[key];
    const passes = checkCondition(ctx, scope, current);
    scope.checkAllUsed();
    if (!passes) throw conditionFailed(ctx, current);
    found.items[key] = item;
    return returns === "ALL_OLD" && current ? { Attributes: current } : {};
  },

  GetItem(ctx) {
    refuseLegacy(ctx.body);
    const found = table(ctx);
    if (ctx.body.ProjectionExpression !== undefined)
      throw validation("The simulator does not support ProjectionExpression; read the whole item.");
    const key = attributeMap(ctx.body, "Key", true)!;
    if (Object.keys(key).length !== 1) throw validation("The provided key element does not match the schema");
    const item = found.items[itemKey(found, key)];
    return item ? { Item: item } : {};
  },

  UpdateItem(ctx) {
    refuseLegacy(ctx.body);
    const found = table(ctx);
    const key = attributeMap(ctx.body, "Key", true)!;
    if (Object.keys(key).length !== 1) throw validation("The provided key element does not match the schema");
    const storage = itemKey(found, key);
    const returns = returnValues(ctx, ["NONE", "ALL_OLD", "ALL_NEW"]);
    const scope = scopeOf(ctx);
    const expression = ctx.body.UpdateExpression;
    if (typeof expression !== "string") throw validation("The simulator needs an UpdateExpression");
    const update = parseUpdate(expression, scope);
    const current = found.items[storage];
    const passes = checkCondition(ctx, scope, current);
    scope.checkAllUsed();
    if (!passes) throw conditionFailed(ctx, current);
    const next = update({ ...(current ?? {}), ...key });
    if (JSON.stringify(next[found.hashKey.name]) !== JSON.stringify(key[found.hashKey.name]))
      throw validation(
        `One or more parameter values were invalid: Cannot update attribute ${found.hashKey.name}. This attribute is part of the key`,
      );
    found.items[storage] = next;
    if (returns === "ALL_NEW") return { Attributes: next };
    return returns === "ALL_OLD" && current ? { Attributes: current } : {};
  },

  DeleteItem(ctx) {
    refuseLegacy(ctx.body);
    const found = table(ctx);
    const key = attributeMap(ctx.body, "Key", true)!;
    if (Object.keys(key).length !== 1) throw validation("The provided key element does not match the schema");
    const storage = itemKey(found, key);
    const returns = returnValues(ctx, ["NONE", "ALL_OLD"]);
    const scope = scopeOf(ctx);
    const current = found.items[storage];
    const passes = checkCondition(ctx, scope, current);
    scope.checkAllUsed();
    if (!passes) throw conditionFailed(ctx, current);
    delete found.items[storage];
    return returns === "ALL_OLD" && current ? { Attributes: current } : {};
  },
};

/** The DynamoDB operations the simulator implements. */
export const DYNAMODB_ACTIONS: readonly string[] = Object.keys(HANDLERS);

export interface DynamoDbServiceOptions {
  world: World;
  clock: Clock;
  accountOf: (req: IncomingMessage) => string;
  faults: () => Faults;
  random: () => number;
  /** The simulator's counters (server.ts SimStats), updated for DynamoDB requests too. */
  stats: () => SsmStatsSink;
  /** Persists the world; called after every successful mutating request, before the answer. */
  save: () => void;
}

export interface DynamoDbAnswer {
  status: number;
  body: string;
  /** The request took effect but its answer is lost (Faults.lostResponses): close the connection unanswered. */
  lost?: boolean;
}

export interface DynamoDbService {
  handle(req: IncomingMessage, body: string): Promise<DynamoDbAnswer>;
}

export function createDynamoDbService(options: DynamoDbServiceOptions): DynamoDbService {
  // How many answers of each operation were lost so far, per lostResponses setting (a new setting starts over).
  const lostSoFar = new WeakMap<object, Map<string, number>>();
  const count = (record: Record<string, number>, key: string) => {
    record[key] = (record[key] ?? 0) + 1;
  };

  const loses = (action: string): boolean => {
    const wanted = options.faults().lostResponses;
    if (!wanted || !(wanted[action] ?? 0)) return false;
    const used = lostSoFar.get(wanted) ?? new Map<string, number>();
    lostSoFar.set(wanted, used);
    const so = used.get(action) ?? 0;
    if (so >= (wanted[action] ?? 0)) return false;
    used.set(action, so + 1);
    return true;
  };

  const run = (req: IncomingMessage, raw: string): { result: Json; action: string } => {
    const target = String(req.headers["x-amz-target"] ?? "");
    const action = target.slice(DYNAMODB_TARGET_PREFIX.length);
    const region = regionFromAuthorization(req.headers.authorization);
    const stats = options.stats();
    stats.requests += 1;
    count(stats.byAction, action || "(none)");
    count(stats.byRegion, region);
    if (!isSimRegion(region))
      throw new DynamoError(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
      );
    const handler = Object.hasOwn(HANDLERS, action) ? HANDLERS[action] : undefined;
    if (!handler)
      throw new DynamoError("UnknownOperationException", `Unknown operation ${target || "(none)"}.`);
    const mutating = isMutatingAction(action);
    if (mutating) stats.mutating += 1;
    const faults = options.faults();
    if (faults.throttleRate && options.random() < faults.throttleRate) {
      stats.throttled += 1;
      count(stats.throttledByAction, action);
      throw action.endsWith("Item")
        ? new DynamoError(
            "ProvisionedThroughputExceededException",
            "The level of configured provisioned throughput for the table was exceeded. Consider increasing your provisioning level with the UpdateTable API.",
          )
        : new DynamoError("ThrottlingException", "Rate of requests exceeds the allowed throughput.");
    }
    if (faults.serverErrorRate && options.random() < faults.serverErrorRate)
      throw new DynamoError("InternalServerError", "Internal server error", 500);
    let body: Json;
    try {
      const parsed: unknown = raw.length > 0 ? JSON.parse(raw) : {};
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new Error("not an object");
      body = parsed as Json;
    } catch {
      throw new DynamoError("SerializationException", "The request body is not a JSON object.");
    }
    const ctx: DynamoContext = {
      world: options.world,
      region,
      account: options.accountOf(req),
      body,
      now: options.clock.now(),
    };
    let result: Json;
    try {
      result = handler(ctx);
    } catch (error) {
      if (error instanceof ExpressionError) throw validation(error.message);
      throw error;
    }
    // Persist before answering, so whatever the caller saw acknowledged survives a kill -9.
    if (mutating) options.save();
    if (mutating && faults.lostResponseRate && options.random() < faults.lostResponseRate) {
      throw options.random() < 0.5
        ? new DynamoError("InternalServerError", "Internal server error", 500)
        : new DynamoError("ServiceUnavailable", "The service is currently unavailable or busy.", 503);
    }
    return { result, action };
  };

  return {
    async handle(req, raw) {
      const latency = options.faults().latencyMs;
      if (latency) await new Promise((resolve) => setTimeout(resolve, latency));
      try {
        const { result, action } = run(req, raw);
        return { status: 200, body: JSON.stringify(result), ...(loses(action) ? { lost: true } : {}) };
      } catch (error) {
        if (!(error instanceof DynamoError)) throw error;
        count(options.stats().errors, error.code);
        const body = { __type: `${ERROR_PREFIX}${error.code}`, message: error.message, ...error.extra };
        return { status: error.status, body: JSON.stringify(body) };
      }
    },
  };
}
