// SSM Parameter Store on the simulator's endpoint. SSM speaks the AWS JSON 1.1 protocol: a POST whose
// `x-amz-target: AmazonSSM.<Action>` header names the action and whose body is JSON; errors are JSON
// (`{"__type": code, "message": ...}`, HTTP 400 for the caller's mistakes) so the real @aws-sdk/client-ssm and
// the AWS CLI map them to their exception classes. The region comes from the SigV4 credential scope, as
// for EC2, so one endpoint serves both services.
//
// Modelled: the caller's parameters (versions, Overwrite, tags, the aws:ec2:image data type), the vendors'
// public `/aws/service/...` image parameters (derived from the region's vendor images, so they always point
// at the newest one), paging, SSM's request rates and the simulator's faults. Not modelled: SecureString
// encryption, labels, policies, the advanced tier, parameter history.
import type { IncomingMessage } from "node:http";
import type { Clock } from "../cloud/clock.ts";
import { actionClassOf, bucketSizeOf } from "../cloud/rate-limits.ts";
import { isMutatingAction } from "../cloud/request-stats.ts";
import { TokenBucket } from "../cloud/token-bucket.ts";
import type { AwkwardOptions } from "./awkward.ts";
import { SimError } from "./errors.ts";
import type { Faults } from "./faults.ts";
import { regionFromAuthorization } from "./query-protocol.ts";
import { isSimRegion, SIM_ACCOUNT_ID } from "./regions.ts";
import { RUN_COMMAND_HANDLERS } from "./run-command.ts";
import { PUBLIC_IMAGE_PARAMETERS } from "./vendor-images.ts";
import { type SimParameter, stateAt, type Tags, type World } from "./world.ts";

export const SSM_TARGET_PREFIX = "AmazonSSM.";
export const SSM_CONTENT_TYPE = "application/x-amz-json-1.1";

/** An SSM JSON-protocol request: the target header names an AmazonSSM action. */
export function isSsmRequest(req: IncomingMessage): boolean {
  const target = req.headers["x-amz-target"];
  return typeof target === "string" && target.startsWith(SSM_TARGET_PREFIX);
}

export type Json = Record<string, unknown>;

export interface SsmContext {
  world: World;
  region: string;
  /** The calling account (accounts.ts): each has its own parameters. */
  account: string;
  body: Json;
  now: number;
  faults: Faults;
  /** The awkward behaviours in force: eventual consistency hides a new command for a while (run-command.ts). */
  awkward: AwkwardOptions;
  random: () => number;
}

function parametersOf(ctx: SsmContext): Map<string, SimParameter> {
  return ctx.world.accountRegion(ctx.account, ctx.region).parameters;
}

export type SsmHandler = (ctx: SsmContext) => Json;

/** The counters the simulator keeps (server.ts SimStats), updated for SSM requests too. */
export interface SsmStatsSink {
  requests: number;
  byAction: Record<string, number>;
  byRegion: Record<string, number>;
  throttled: number;
  throttledByAction: Record<string, number>;
  mutating: number;
  errors: Record<string, number>;
}

export interface SsmServiceOptions {
  world: World;
  clock: Clock;
  /** SSM's request rates per region (rate-limits.ts SSM_BUCKETS), separate from EC2's buckets. */
  throttle: boolean;
  /** The account a request is signed for (accounts.ts). */
  accountOf: (req: IncomingMessage) => string;
  faults: () => Faults;
  /** The awkward behaviours in force (awkward.ts); off unless the simulator was started awkward. */
  awkward: AwkwardOptions;
  random: () => number;
  stats: () => SsmStatsSink;
  /** Persists the world; called after every successful mutating request, before the answer. */
  save: () => void;
}

export interface SsmService {
  handle(req: IncomingMessage, body: string): Promise<{ status: number; body: string }>;
}

const MAX_GET_NAMES = 10;
const MAX_PATH_RESULTS = 10;
const MAX_DESCRIBE_RESULTS = 50;
const MAX_TAGS = 50;
const MAX_LEVELS = 15;
const IMAGE_ID = /^ami-([0-9a-f]{8}|[0-9a-f]{17})$/;

function validation(message: string): SimError {
  return new SimError("ValidationException", message);
}

function notFound(name: string): SimError {
  return new SimError("ParameterNotFound", `Parameter ${name} not found.`);
}

function str(body: Json, key: string, required: true): string;
function str(body: Json, key: string, required?: false): string | undefined;
function str(body: Json, key: string, required = false): string | undefined {
  const value = body[key];
  if (value === undefined || value === null) {
    if (required)
      throw validation(
        `1 validation error detected: Value null at '${lowerFirst(key)}' failed to satisfy constraint: Member must not be null`,
      );
    return undefined;
  }
  if (typeof value !== "string") throw new SimError("SerializationException", `${key} must be a string`);
  return value;
}

function num(body: Json, key: string, min: number, max: number): number | undefined {
  const value = body[key];
  if (value === undefined || value === null) return undefined;
  if (typeof value !== "number" || !Number.isInteger(value))
    throw new SimError("SerializationException", `${key} must be an integer`);
  if (value < min || value > max)
    throw validation(
      `1 validation error detected: Value '${value}' at '${lowerFirst(key)}' failed to satisfy constraint: Member must have value ${value < min ? `greater than or equal to ${min}` : `less than or equal to ${max}`}`,
    );
  return value;
}

function lowerFirst(key: string): string {
  return key.charAt(0).toLowerCase() + key.slice(1);
}

function tagList(body: Json, key: string): Tags {
  const value = body[key];
  if (value === undefined || value === null) return {};
  if (!Array.isArray(value)) throw new SimError("SerializationException", `${key} must be a list`);
  const tags: Tags = {};
  for (const entry of value as Json[]) {
    const tagKey = str(entry, "Key", true);
    const tagValue = str(entry, "Value", true);
    if (tagKey.toLowerCase().startsWith("aws:"))
      throw validation(`Tag key ${tagKey} is not valid: keys starting with aws: are reserved for AWS use`);
    tags[tagKey] = tagValue;
  }
  return tags;
}

function arnOf(region: string, name: string, account = SIM_ACCOUNT_ID): string {
  return `arn:aws:ssm:${region}:${account}:parameter${name.startsWith("/") ? "" : "/"}${name}`;
}

/** SSM's wire form of a date: epoch seconds. */
const seconds = (ms: number) => ms / 1000;

function parameterJson(region: string, p: SimParameter, account?: string): Json {
  return {
    Name: p.name,
    Type: p.type,
    Value: p.value,
    Version: p.version,
    LastModifiedDate: seconds(p.lastModified),
    ARN: arnOf(region, p.name, account),
    DataType: p.dataType,
  };
}

/** The vendors' public parameter of this name in the region: the newest available image of its family. */
function publicParameter(world: World, region: string, name: string, now: number): SimParameter | undefined {
  const definition = PUBLIC_IMAGE_PARAMETERS.find((p) => p.name === name);
  if (!definition) return undefined;
  let newest: { imageId: string; creationDate: number } | undefined;
  let releases = 0;
  for (const image of world.region(region).images.values()) {
    if (image.ownerId !== definition.ownerId || !definition.matches(image.name)) continue;
    if (stateAt(image.timeline, now) !== "available") continue;
    releases += 1;
    if (!newest || image.creationDate > newest.creationDate) newest = image;
  }
  if (!newest) return undefined;
  // Each release the vendor publishes was one more PutParameter on their side.
  return {
    name,
    value: newest.imageId,
    type: "String",
    dataType: "aws:ec2:image",
    version: releases,
    lastModified: newest.creationDate,
    tags: {},
  };
}

function isPublicName(name: string): boolean {
  return name.startsWith("/aws/service/");
}

function lookup(ctx: SsmContext, name: string): { parameter: SimParameter; account?: string } | undefined {
  if (isPublicName(name)) {
    const parameter = publicParameter(ctx.world, ctx.region, name, ctx.now);
    return parameter ? { parameter, account: "" } : undefined;
  }
  const parameter = parametersOf(ctx).get(name);
  return parameter ? { parameter, account: ctx.account } : undefined;
}

/** Every parameter a path listing may see: under /aws/service the vendors' public ones, elsewhere the caller's. */
function listable(ctx: SsmContext, path: string): { parameter: SimParameter; account?: string }[] {
  if (path === "/aws/service" || isPublicName(`${path}/`)) {
    return PUBLIC_IMAGE_PARAMETERS.flatMap((p) => {
      const parameter = publicParameter(ctx.world, ctx.region, p.name, ctx.now);
      return parameter ? [{ parameter, account: "" }] : [];
    });
  }
  return [...parametersOf(ctx).values()].map((parameter) => ({ parameter, account: ctx.account }));
}

function validatePath(path: string): string {
  if (!path.startsWith("/"))
    throw validation(
      `The parameter doesn't meet the parameter name requirements. The parameter name must begin with a forward slash "/" if it's hierarchical. The path ${path} is not valid.`,
    );
  return path === "/" ? "/" : path.replace(/\/$/, "");
}

function underPath(name: string, path: string, recursive: boolean): boolean {
  const base = path === "/" ? "/" : `${path}/`;
  if (!name.startsWith(base)) return false;
  return recursive || !name.slice(base.length).includes("/");
}

/** Pages by name: the token is the last name returned, so a listing survives changes between pages. */
function page<T extends { name: string }>(
  items: T[],
  body: Json,
  max: number,
): { items: T[]; next?: string } {
  const size = num(body, "MaxResults", 1, max) ?? max;
  const token = str(body, "NextToken");
  const after = token === undefined ? undefined : Buffer.from(token, "base64url").toString("utf8");
  if (after === "") throw validation("The specified NextToken is not valid.");
  const sorted = [...items].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  const rest = after === undefined ? sorted : sorted.filter((item) => item.name > after);
  const slice = rest.slice(0, size);
  return rest.length > size
    ? { items: slice, next: Buffer.from(slice[slice.length - 1]!.name, "utf8").toString("base64url") }
    : { items: slice };
}

function validateName(name: string): void {
  if (name.length === 0 || name.length > 1011)
    throw validation("Parameter name must be between 1 and 1011 characters long.");
  if (!/^[a-zA-Z0-9_.\-/]+$/.test(name))
    throw validation(
      `Parameter name ${name} is not valid: only a-zA-Z0-9_.-/ are allowed (and a leading "/" for a hierarchy).`,
    );
  if (name.includes("/") && !name.startsWith("/"))
    throw validation(
      `Parameter name ${name} is not valid: a hierarchical name must begin with a forward slash "/".`,
    );
  const bare = name.replace(/^\//, "").toLowerCase();
  if (bare.startsWith("aws") || bare.startsWith("ssm"))
    throw new SimError(
      "AccessDeniedException",
      `No access to reserved parameter name: ${name}. Parameter names can't be prefixed with "aws" or "ssm" (case-insensitive).`,
    );
  if (name.split("/").filter(Boolean).length > MAX_LEVELS)
    throw new SimError(
      "HierarchyLevelLimitExceededException",
      `A hierarchy can have a maximum of ${MAX_LEVELS} levels: ${name} has more.`,
    );
}

function requireParameterResource(ctx: SsmContext): SimParameter {
  const type = str(ctx.body, "ResourceType", true);
  if (type !== "Parameter")
    throw new SimError(
      "InvalidResourceType",
      `The resource type ${type} is not valid; the simulator serves ResourceType Parameter only.`,
    );
  const id = str(ctx.body, "ResourceId", true);
  const parameter = parametersOf(ctx).get(id) ?? parametersOf(ctx).get(id.startsWith("/") ? id : `/${id}`);
  if (!parameter)
    throw new SimError(
      "InvalidResourceId",
      `The resource ID "${id}" is not valid. Verify the ID and try again.`,
    );
  return parameter;
}

interface ParameterStringFilter {
  key: string;
  option: string;
  values: string[] | undefined;
}

const FILTER_OPTIONS: Readonly<Record<string, readonly string[]>> = {
  Name: ["Equals", "BeginsWith", "Contains"],
  Path: ["OneLevel", "Recursive"],
  Type: ["Equals", "BeginsWith"],
  DataType: ["Equals"],
  Tier: ["Equals"],
};

function parameterFilters(body: Json): ParameterStringFilter[] {
  if (body.Filters !== undefined)
    throw validation("The simulator serves ParameterFilters only; Filters is deprecated by SSM.");
  const raw = body.ParameterFilters;
  if (raw === undefined || raw === null) return [];
  if (!Array.isArray(raw)) throw new SimError("SerializationException", "ParameterFilters must be a list");
  return (raw as Json[]).map((filter) => {
    const key = str(filter, "Key", true);
    const values = Array.isArray(filter.Values) ? (filter.Values as string[]) : undefined;
    if (key.startsWith("tag:")) {
      const option = str(filter, "Option") ?? "Equals";
      if (option !== "Equals")
        throw new SimError(
          "InvalidFilterOption",
          `The following filter option is not valid: ${option}. Valid options include: [Equals].`,
        );
      return { key, option, values };
    }
    const options = FILTER_OPTIONS[key];
    if (!options)
      throw new SimError(
        "InvalidFilterKey",
        `The following filter key is not valid: ${key}. Valid filter keys include: [Name, Path, Type, DataType, Tier, tag:KEY].`,
      );
    const option = str(filter, "Option") ?? options[0]!;
    if (!options.includes(option))
      throw new SimError(
        "InvalidFilterOption",
        `The following filter option is not valid: ${option}. Valid options include: [${options.join(", ")}].`,
      );
    if (!values || values.length === 0)
      throw new SimError("InvalidFilterValue", `The filter ${key} needs values.`);
    if (key === "Path") for (const value of values) validatePath(value);
    return { key, option, values };
  });
}

function matchesFilter(p: SimParameter, filter: ParameterStringFilter): boolean {
  const { key, option, values } = filter;
  if (key.startsWith("tag:")) {
    const tag = p.tags[key.slice(4)];
    return tag !== undefined && (values === undefined || values.length === 0 || values.includes(tag));
  }
  const wanted = values ?? [];
  switch (key) {
    case "Name":
      return wanted.some((v) =>
        option === "BeginsWith"
          ? p.name.startsWith(v)
          : option === "Contains"
            ? p.name.includes(v)
            : p.name === v,
      );
    case "Path":
      return wanted.some((v) => underPath(p.name, validatePath(v), option === "Recursive"));
    case "Type":
      return wanted.some((v) => (option === "BeginsWith" ? p.type.startsWith(v) : p.type === v));
    case "DataType":
      return wanted.includes(p.dataType);
    case "Tier":
      return wanted.includes("Standard");
    default:
      return false;
  }
}

const HANDLERS: Readonly<Record<string, SsmHandler>> = {
  ...RUN_COMMAND_HANDLERS,
  GetParameter(ctx) {
    const name = str(ctx.body, "Name", true);
    const found = lookup(ctx, name);
    if (!found) throw notFound(name);
    return { Parameter: parameterJson(ctx.region, found.parameter, found.account) };
  },

  GetParameters(ctx) {
    const names = ctx.body.Names;
    if (!Array.isArray(names) || names.length === 0)
      throw validation(
        "1 validation error detected: Value at 'names' failed to satisfy constraint: Member must have length greater than or equal to 1",
      );
    if (names.length > MAX_GET_NAMES)
      throw validation(
        `1 validation error detected: Value '[${names.join(", ")}]' at 'names' failed to satisfy constraint: Member must have length less than or equal to ${MAX_GET_NAMES}`,
      );
    const parameters: Json[] = [];
    const invalid: string[] = [];
    for (const name of new Set(names as string[])) {
      const found = lookup(ctx, name);
      if (found) parameters.push(parameterJson(ctx.region, found.parameter, found.account));
      else invalid.push(name);
    }
    return { Parameters: parameters, InvalidParameters: invalid };
  },

  GetParametersByPath(ctx) {
    const path = validatePath(str(ctx.body, "Path", true));
    const recursive = ctx.body.Recursive === true;
    if (ctx.body.ParameterFilters !== undefined)
      throw validation("The simulator does not filter GetParametersByPath; use DescribeParameters.");
    const matching = listable(ctx, path).filter(({ parameter }) =>
      underPath(parameter.name, path, recursive),
    );
    const byName = matching.map((m) => ({ ...m, name: m.parameter.name }));
    const { items, next } = page(byName, ctx.body, MAX_PATH_RESULTS);
    return {
      Parameters: items.map((m) => parameterJson(ctx.region, m.parameter, m.account)),
      ...(next ? { NextToken: next } : {}),
    };
  },

  DescribeParameters(ctx) {
    const filters = parameterFilters(ctx.body);
    const matching = [...parametersOf(ctx).values()].filter((p) => filters.every((f) => matchesFilter(p, f)));
    const { items, next } = page(matching, ctx.body, MAX_DESCRIBE_RESULTS);
    return {
      Parameters: items.map((p) => ({
        Name: p.name,
        ARN: arnOf(ctx.region, p.name, ctx.account),
        Type: p.type,
        DataType: p.dataType,
        LastModifiedDate: seconds(p.lastModified),
        LastModifiedUser: `arn:aws:iam::${ctx.account}:user/leaven-sim`,
        Version: p.version,
        Tier: "Standard",
        Policies: [],
        ...(p.description ? { Description: p.description } : {}),
      })),
      ...(next ? { NextToken: next } : {}),
    };
  },

  PutParameter(ctx) {
    const name = str(ctx.body, "Name", true);
    const value = str(ctx.body, "Value", true);
    const overwrite = ctx.body.Overwrite === true;
    const tags = tagList(ctx.body, "Tags");
    if (overwrite && ctx.body.Tags !== undefined)
      throw validation(
        "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or RemoveTagsFromResource.",
      );
    validateName(name);
    if (value.length === 0 || value.length > 4096)
      throw validation("Standard tier parameters support a value of 1 to 4096 characters.");
    if (Object.keys(tags).length > MAX_TAGS)
      throw new SimError("TooManyTagsError", `A parameter can have at most ${MAX_TAGS} tags.`);
    const parameters = parametersOf(ctx);
    const existing = parameters.get(name);
    const type = str(ctx.body, "Type") ?? existing?.type ?? "String";
    if (!["String", "StringList", "SecureString"].includes(type))
      throw validation(
        `1 validation error detected: Value '${type}' at 'type' failed to satisfy constraint: Member must satisfy enum value set: [SecureString, StringList, String]`,
      );
    const dataType = str(ctx.body, "DataType") ?? existing?.dataType ?? "text";
    if (!["text", "aws:ec2:image"].includes(dataType))
      throw validation(
        `The following data type is not supported: ${dataType} (Data type names are all lowercase.)`,
      );
    if (dataType === "aws:ec2:image") {
      if (type !== "String")
        throw validation("The aws:ec2:image data type is only valid for String parameters.");
      // AWS validates an aws:ec2:image value asynchronously after answering (the parameter only appears once
      // it passes); the simulator checks at once, which a caller observes as the same end state sooner.
      if (!IMAGE_ID.test(value))
        throw validation(
          `Parameter value, ${value}, is not a valid AMI id: expected ami- and 8 or 17 hexadecimal digits.`,
        );
      const image = ctx.world.region(ctx.region).images.get(value);
      if (!image || stateAt(image.timeline, ctx.now) === "failed")
        throw validation(`Parameter value, ${value}, is not an image that exists in ${ctx.region}.`);
    }
    if (existing && !overwrite)
      throw new SimError(
        "ParameterAlreadyExists",
        "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
      );
    const description = str(ctx.body, "Description");
    const parameter: SimParameter = existing
      ? { ...existing, value, type, dataType, version: existing.version + 1, lastModified: ctx.now }
      : { name, value, type, dataType, version: 1, lastModified: ctx.now, tags };
    if (description !== undefined) parameter.description = description;
    parameters.set(name, parameter);
    return { Version: parameter.version, Tier: "Standard" };
  },

  DeleteParameter(ctx) {
    const name = str(ctx.body, "Name", true);
    const parameters = parametersOf(ctx);
    if (!parameters.delete(name)) throw notFound(name);
    return {};
  },

  AddTagsToResource(ctx) {
    const parameter = requireParameterResource(ctx);
    const tags = tagList(ctx.body, "Tags");
    if (Object.keys(tags).length === 0) throw validation("Tags must contain at least one tag.");
    const merged = { ...parameter.tags, ...tags };
    if (Object.keys(merged).length > MAX_TAGS)
      throw new SimError("TooManyTagsError", `A parameter can have at most ${MAX_TAGS} tags.`);
    parameter.tags = merged;
    return {};
  },

  ListTagsForResource(ctx) {
    const parameter = requireParameterResource(ctx);
    return { TagList: Object.entries(parameter.tags).map(([Key, Value]) => ({ Key, Value })) };
  },

  RemoveTagsFromResource(ctx) {
    const parameter = requireParameterResource(ctx);
    const keys = ctx.body.TagKeys;
    if (!Array.isArray(keys)) throw validation("TagKeys must be a list of tag keys.");
    const tags = { ...parameter.tags };
    for (const key of keys as string[]) delete tags[key];
    parameter.tags = tags;
    return {};
  },
};

/** The SSM actions the simulator implements. */
export const SSM_ACTIONS: readonly string[] = Object.keys(HANDLERS);

export function createSsmService(options: SsmServiceOptions): SsmService {
  const buckets = new Map<string, TokenBucket>();
  const bucket = (region: string, action: string): TokenBucket => {
    const cls = actionClassOf(action);
    const key = `${region}/${cls}`;
    let found = buckets.get(key);
    if (!found) {
      found = new TokenBucket(bucketSizeOf(cls), options.clock);
      buckets.set(key, found);
    }
    return found;
  };
  const count = (record: Record<string, number>, key: string) => {
    record[key] = (record[key] ?? 0) + 1;
  };

  const run = (req: IncomingMessage, raw: string): Json => {
    const target = String(req.headers["x-amz-target"] ?? "");
    const action = target.slice(SSM_TARGET_PREFIX.length);
    const region = regionFromAuthorization(req.headers.authorization);
    const stats = options.stats();
    stats.requests += 1;
    count(stats.byAction, action || "(none)");
    count(stats.byRegion, region);
    if (!isSimRegion(region))
      throw new SimError(
        "UnrecognizedClientException",
        "The security token included in the request is invalid.",
      );
    const handler = Object.hasOwn(HANDLERS, action) ? HANDLERS[action] : undefined;
    if (!handler) throw new SimError("UnknownOperationException", `Unknown operation ${target || "(none)"}.`);
    const mutating = isMutatingAction(action);
    if (mutating) stats.mutating += 1;
    const faults = options.faults();
    if (
      (options.throttle && !bucket(region, action).tryTake()) ||
      (faults.throttleRate && options.random() < faults.throttleRate)
    ) {
      stats.throttled += 1;
      stats.throttledByAction[action] = (stats.throttledByAction[action] ?? 0) + 1;
      throw new SimError("ThrottlingException", "Rate exceeded");
    }
    if (faults.serverErrorRate && options.random() < faults.serverErrorRate)
      throw new SimError("InternalServerError", "An error occurred on the server side.", 500);
    let body: Json;
    try {
      const parsed: unknown = raw.length > 0 ? JSON.parse(raw) : {};
      if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed))
        throw new Error("not an object");
      body = parsed as Json;
    } catch {
      throw new SimError("SerializationException", "The request body is not a JSON object.");
    }
    const account = options.accountOf(req);
    const result = handler({
      world: options.world,
      region,
      account,
      body,
      now: options.clock.now(),
      faults,
      awkward: options.awkward,
      random: options.random,
    });
    // Persist before answering, so whatever the caller saw acknowledged survives a kill -9.
    if (mutating) options.save();
    if (mutating && faults.lostResponseRate && options.random() < faults.lostResponseRate)
      throw new SimError("InternalServerError", "An error occurred on the server side.", 500);
    return result;
  };

  return {
    async handle(req, raw) {
      const latency = options.faults().latencyMs;
      if (latency) await new Promise((resolve) => setTimeout(resolve, latency));
      try {
        return { status: 200, body: JSON.stringify(run(req, raw)) };
      } catch (error) {
        if (!(error instanceof SimError)) throw error;
        count(options.stats().errors, error.code);
        return { status: error.status, body: JSON.stringify({ __type: error.code, message: error.message }) };
      }
    },
  };
}
