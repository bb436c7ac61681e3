// Where a spec's channels are published (spec.publish): one SSM parameter per channel and region, named
// <prefix>/<spec>/<channel>. The name is what consumers read, so it is part of the API contract.
import type { ImageSpec } from "./types.generated.ts";

export const DEFAULT_PUBLISH_PREFIX = "/leaven";

/** Whether the spec's channels are published as SSM parameters (spec.publish.ssm, default true). */
export function publishesSsm(doc: ImageSpec): boolean {
  return doc.spec.publish?.ssm !== false;
}

export function publishPrefix(doc: ImageSpec): string {
  return doc.spec.publish?.prefix ?? DEFAULT_PUBLISH_PREFIX;
}

export function parameterName(prefix: string, spec: string, channel: string): string {
  return `${prefix}/${spec}/${channel}`;
}

/** Every parameter the spec publishes, by region (empty when publishing is off). */
export function publishedNames(doc: ImageSpec): { region: string; channel: string; name: string }[] {
  if (!publishesSsm(doc)) return [];
  const prefix = publishPrefix(doc);
  return doc.spec.regions.flatMap((region) =>
    Object.keys(doc.spec.channels ?? {}).map((channel) => ({
      region,
      channel,
      name: parameterName(prefix, doc.metadata.name, channel),
    })),
  );
}
