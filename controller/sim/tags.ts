// CreateTags / DeleteTags, and the tag parameters shared by RunInstances, CreateImage, CopyImage and
// CreateLaunchTemplate.
import { writableTags } from "./accounts.ts";
import { type ActionHandler, callerRegion, type RequestContext } from "./context.ts";
import { invalidParameterValue, missingParameter, notFound, SimError } from "./errors.ts";
import {
  imageNotFound,
  instanceNotFound,
  seenImage,
  seenInstance,
  seenSnapshot,
  snapshotNotFound,
} from "./ids.ts";
import type { Params } from "./query-protocol.ts";
import type { Tags } from "./world.ts";
import type { XmlObject } from "./xml.ts";

const MAX_TAGS = 50;

export function tagSetXml(tags: Tags): XmlObject[] | undefined {
  const entries = Object.entries(tags);
  if (entries.length === 0) return undefined;
  return entries.map(([key, value]) => ({ key, value }));
}

function checkTag(key: string, value: string): void {
  if (key.length > 128)
    throw invalidParameterValue(`Tag key exceeds the maximum length of 128 characters: ${key}`);
  if (value.length > 256)
    throw invalidParameterValue(`Tag value exceeds the maximum length of 256 characters: ${value}`);
  if (key.toLowerCase().startsWith("aws:")) {
    throw invalidParameterValue("Tag keys starting with 'aws:' are reserved for internal use");
  }
}

/** `Tag.N.Key` / `Tag.N.Value` below `params`. */
export function parseTags(params: Params, shownPrefix = "Tag"): Tags {
  const tags: Tags = {};
  for (const [position, tag] of params.structs("Tag").entries()) {
    const key = tag.get("Key");
    if (key === undefined || key === "") throw missingParameter(`${shownPrefix}.${position + 1}.Key`);
    const value = tag.get("Value") ?? "";
    checkTag(key, value);
    tags[key] = value;
  }
  if (Object.keys(tags).length > MAX_TAGS) {
    throw new SimError(
      "TagLimitExceeded",
      `The maximum number of tags for a resource (${MAX_TAGS}) has been exceeded.`,
    );
  }
  return tags;
}

/** `TagSpecification.N.ResourceType` + tags, restricted to the resource types the action tags. */
export function parseTagSpecifications(params: Params, allowed: readonly string[]): Record<string, Tags> {
  const byType: Record<string, Tags> = {};
  for (const [position, spec] of params.structs("TagSpecification").entries()) {
    const type = spec.get("ResourceType");
    if (!type) throw missingParameter(`TagSpecification.${position + 1}.ResourceType`);
    if (!allowed.includes(type)) {
      throw invalidParameterValue(`'${type}' is not a valid taggable resource type for this operation.`);
    }
    byType[type] = { ...byType[type], ...parseTags(spec, `TagSpecification.${position + 1}.Tag`) };
  }
  return byType;
}

interface Taggable {
  tags: Tags;
}

/**
 * Resolves every resource id first, so a request with one bad id changes nothing (as EC2 does). The caller
 * tags what it can see; on another account's image or snapshot its tags are its own (accounts.ts).
 */
function resolveResources(
  ctx: RequestContext,
  ids: string[],
): { resources: Taggable[]; touchesImages: boolean } {
  const region = callerRegion(ctx);
  const resources: Taggable[] = [];
  let touchesImages = false;
  for (const id of ids) {
    const prefix = id.slice(0, id.indexOf("-"));
    if (!/^[a-z]+-[0-9a-f]{8}([0-9a-f]{9})?$/.test(id)) {
      throw new SimError("InvalidID", `The ID '${id}' is not valid`);
    }
    let found: Taggable | undefined;
    if (prefix === "ami") {
      const image = seenImage(ctx, id);
      if (!image) throw imageNotFound([id]);
      found = { tags: writableTags(image, ctx.account) };
      touchesImages = true;
    } else if (prefix === "snap") {
      const snapshot = seenSnapshot(ctx, id);
      if (!snapshot) throw snapshotNotFound([id]);
      found = { tags: writableTags(snapshot, ctx.account) };
    } else if (prefix === "i") {
      found = seenInstance(ctx, id);
      if (!found) throw instanceNotFound([id]);
    } else if (prefix === "vol") {
      found = region.volumes.get(id);
      if (!found) throw notFound("InvalidVolume.NotFound", "volume", [id]);
    } else if (prefix === "lt") {
      found = region.launchTemplates.get(id);
      if (!found) throw notFound("InvalidLaunchTemplateId.NotFound", "launch template ID", [id]);
    } else {
      throw new SimError("InvalidID", `The ID '${id}' is not valid`);
    }
    resources.push(found);
  }
  return { resources, touchesImages };
}

export const createTags: ActionHandler = (ctx) => {
  const ids = ctx.params.list("ResourceId");
  if (ids.length === 0) throw missingParameter("ResourceId");
  if (ctx.params.indices("Tag").length === 0) throw missingParameter("Tag");
  const tags = parseTags(ctx.params);
  const { resources, touchesImages } = resolveResources(ctx, ids);
  for (const resource of resources) {
    const merged = { ...resource.tags, ...tags };
    if (Object.keys(merged).length > MAX_TAGS) {
      throw new SimError(
        "TagLimitExceeded",
        `The maximum number of Tags for a resource has been reached (${MAX_TAGS}).`,
      );
    }
  }
  const dropped = ctx.faults.dropTags ?? [];
  const kept = Object.fromEntries(
    Object.entries(tags).filter(([key]) => !dropped.some((prefix) => key.startsWith(prefix))),
  );
  for (const resource of resources) Object.assign(resource.tags, kept);
  if (touchesImages) ctx.world.touchImages(ctx.region);
  return { return: true };
};

export const deleteTags: ActionHandler = (ctx) => {
  const ids = ctx.params.list("ResourceId");
  if (ids.length === 0) throw missingParameter("ResourceId");
  const specs = ctx.params.structs("Tag").map((tag, position) => {
    const key = tag.get("Key");
    if (key === undefined || key === "") throw missingParameter(`Tag.${position + 1}.Key`);
    return { key, value: tag.get("Value") };
  });
  const { resources, touchesImages } = resolveResources(ctx, ids);
  for (const resource of resources) {
    if (specs.length === 0) {
      for (const key of Object.keys(resource.tags)) delete resource.tags[key];
      continue;
    }
    // With a value, the tag is deleted only if its value matches; without one, whatever its value.
    for (const { key, value } of specs) {
      if (key in resource.tags && (value === undefined || resource.tags[key] === value))
        delete resource.tags[key];
    }
  }
  if (touchesImages) ctx.world.touchImages(ctx.region);
  return { return: true };
};
