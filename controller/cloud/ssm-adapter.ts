// The ParameterPort on @aws-sdk/client-ssm. The AWS adapter (aws-adapter.ts) owns the regional clients,
// the pacing, the retries and the request counts; this file only says what each call sends and reads.
import {
  DeleteParameterCommand,
  DescribeParametersCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  ListTagsForResourceCommand,
  type Parameter,
  PutParameterCommand,
  type SSMClient,
  type ParameterMetadata as SsmParameterMetadata,
} from "@aws-sdk/client-ssm";
import type { CloudParameter, ParameterMetadata, ParameterPort, ParameterTags } from "./parameter-port.ts";
import { CloudError } from "./port.ts";

/** One SSM call with the adapter's pacing and retries; `send` builds a fresh command per attempt. */
export type SsmCall = <T>(
  region: string,
  action: string,
  send: (client: SSMClient) => Promise<T>,
) => Promise<T>;

/** GetParameters takes at most 10 names; GetParametersByPath returns at most 10 per page. */
export const SSM_GET_BATCH = 10;
/** DescribeParameters returns at most 50 per page. */
export const SSM_DESCRIBE_PAGE = 50;

export function createParameterPort(call: SsmCall): ParameterPort {
  /** Walks NextToken to the end; a token that repeats would loop forever, so it is an error. */
  const paginate = async <T>(
    region: string,
    action: string,
    page: (
      client: SSMClient,
      token: string | undefined,
    ) => Promise<{ items: T[]; next?: string | undefined }>,
  ): Promise<T[]> => {
    const all: T[] = [];
    const seen = new Set<string>();
    let token: string | undefined;
    do {
      const current = token;
      const result = await call(region, action, (client) => page(client, current));
      all.push(...result.items);
      token = result.next || undefined;
      if (token !== undefined) {
        if (seen.has(token))
          throw new CloudError("PaginationLoop", `${action} returned NextToken ${token} twice`, 0, false);
        seen.add(token);
      }
    } while (token !== undefined);
    return all;
  };

  return {
    async getParameters(region, names) {
      const unique = [...new Set(names)];
      const batches: string[][] = [];
      for (let i = 0; i < unique.length; i += SSM_GET_BATCH) batches.push(unique.slice(i, i + SSM_GET_BATCH));
      const outs = await Promise.all(
        batches.map((Names) =>
          call(region, "GetParameters", (c) => c.send(new GetParametersCommand({ Names }))),
        ),
      );
      return {
        parameters: outs.flatMap((out) => (out.Parameters ?? []).map((p) => toCloudParameter(region, p))),
        invalid: outs.flatMap((out) => out.InvalidParameters ?? []),
      };
    },

    async getParametersByPath(region, path) {
      const found = await paginate(region, "GetParametersByPath", async (c, token) => {
        const out = await c.send(
          new GetParametersByPathCommand({
            Path: path,
            Recursive: true,
            MaxResults: SSM_GET_BATCH,
            ...(token ? { NextToken: token } : {}),
          }),
        );
        return { items: out.Parameters ?? [], next: out.NextToken };
      });
      return found.map((p) => toCloudParameter(region, p));
    },

    async describeParameters(region, filters) {
      const found = await paginate(region, "DescribeParameters", async (c, token) => {
        const out = await c.send(
          new DescribeParametersCommand({
            ParameterFilters: filters.map((f) => ({
              Key: f.key,
              ...(f.option ? { Option: f.option } : {}),
              ...(f.values ? { Values: f.values } : {}),
            })),
            MaxResults: SSM_DESCRIBE_PAGE,
            ...(token ? { NextToken: token } : {}),
          }),
        );
        return { items: out.Parameters ?? [], next: out.NextToken };
      });
      return found.map((p) => toParameterMetadata(region, p));
    },

    async putParameter(region, input) {
      const out = await call(region, "PutParameter", (c) =>
        c.send(
          new PutParameterCommand({
            Name: input.name,
            Value: input.value,
            Type: "String",
            DataType: input.dataType,
            Overwrite: input.overwrite,
            ...(input.tags && Object.keys(input.tags).length > 0
              ? { Tags: Object.entries(input.tags).map(([Key, Value]) => ({ Key, Value })) }
              : {}),
          }),
        ),
      );
      if (out.Version === undefined)
        throw new CloudError("MalformedResponse", "PutParameter answered without a version", 0, false);
      return { version: out.Version };
    },

    async deleteParameter(region, name) {
      await call(region, "DeleteParameter", (c) => c.send(new DeleteParameterCommand({ Name: name })));
    },

    async listTagsForResource(region, name) {
      const out = await call(region, "ListTagsForResource", (c) =>
        c.send(new ListTagsForResourceCommand({ ResourceType: "Parameter", ResourceId: name })),
      );
      const tags: ParameterTags = {};
      for (const tag of out.TagList ?? []) if (tag.Key !== undefined) tags[tag.Key] = tag.Value ?? "";
      return tags;
    },
  };
}

function isoDate(value: Date | undefined): string | undefined {
  return value && !Number.isNaN(value.getTime()) ? value.toISOString() : undefined;
}

export function toCloudParameter(region: string, parameter: Parameter): CloudParameter {
  const lastModified = isoDate(parameter.LastModifiedDate);
  return {
    name: parameter.Name ?? "",
    region,
    value: parameter.Value ?? "",
    version: parameter.Version ?? 0,
    dataType: parameter.DataType ?? "text",
    ...(lastModified ? { lastModified } : {}),
  };
}

function toParameterMetadata(region: string, parameter: SsmParameterMetadata): ParameterMetadata {
  const lastModified = isoDate(parameter.LastModifiedDate);
  return {
    name: parameter.Name ?? "",
    region,
    version: parameter.Version ?? 0,
    dataType: parameter.DataType ?? "text",
    ...(lastModified ? { lastModified } : {}),
  };
}
