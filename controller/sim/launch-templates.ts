// CreateLaunchTemplate, DescribeLaunchTemplates and DeleteLaunchTemplate: Leaven keeps a failed bake's
// record as a launch template. Names are unique per region, ClientToken makes a create idempotent, and
// the template data is validated the way EC2 refuses it, not interpreted (nothing is launched from it here).
import { type ActionHandler, callerRegion, type RequestContext } from "./context.ts";
import { invalidParameterValue, malformedId, missingParameter, SimError } from "./errors.ts";
import { compileFilters, type FieldReader } from "./filters.ts";
import { checkImageId } from "./ids.ts";
import { checkMaxResults } from "./pagination.ts";
import { filtersOf, type Params } from "./query-protocol.ts";
import { parseTagSpecifications, tagSetXml } from "./tags.ts";
import type { RegionState, SimLaunchTemplate } from "./world.ts";
import type { XmlObject } from "./xml.ts";

const NAME_PATTERN = /^[a-zA-Z0-9().\-/_]{3,128}$/;
const ID_PATTERN = /^lt-[0-9a-f]{17}$/;
const USER_DATA_LIMIT = 16_384;
/** Resource types RequestLaunchTemplateData.TagSpecifications may tag at launch. */
const LAUNCH_TAGGABLE = ["instance", "volume", "network-interface", "spot-instances-request", "elastic-gpu"];

function checkLaunchTemplateId(id: string): void {
  if (!ID_PATTERN.test(id)) throw malformedId("InvalidLaunchTemplateId.Malformed", id, "lt");
}

function checkName(name: string): void {
  if (!NAME_PATTERN.test(name)) {
    throw new SimError(
      "InvalidLaunchTemplateName.MalformedException",
      `The launch template name '${name}' is invalid: a launch template name must be between 3 and 128 characters, and may contain letters, numbers, and the following characters: - ( ) . / _`,
    );
  }
}

function idNotFound(id: string): SimError {
  return new SimError(
    "InvalidLaunchTemplateId.NotFound",
    `The specified launch template, with template ID ${id}, does not exist.`,
  );
}

function nameNotFound(name: string): SimError {
  return new SimError(
    "InvalidLaunchTemplateName.NotFoundException",
    `The specified launch template, with template name ${name}, does not exist.`,
  );
}

function findByName(region: RegionState, name: string): SimLaunchTemplate | undefined {
  for (const template of region.launchTemplates.values()) if (template.name === name) return template;
  return undefined;
}

function launchTemplateXml(template: SimLaunchTemplate, account: string): XmlObject {
  return {
    launchTemplateId: template.launchTemplateId,
    launchTemplateName: template.name,
    createTime: new Date(template.createTime),
    createdBy: `arn:aws:iam::${account}:root`,
    defaultVersionNumber: template.defaultVersion ?? 1,
    latestVersionNumber: latestVersion(template),
    tagSet: tagSetXml(template.tags),
  };
}

/** Refuses template data EC2 would refuse at creation; returns it flattened, as sent. */
function templateData(params: Params): Record<string, string> {
  const data = params.sub("LaunchTemplateData");
  if (data.isEmpty()) throw missingParameter("LaunchTemplateData");
  const imageId = data.get("ImageId");
  if (imageId !== undefined) checkImageId(imageId);
  const instanceType = data.get("InstanceType");
  if (instanceType !== undefined && !/^[a-z][a-z0-9-]*\.[a-z0-9-]+$/.test(instanceType)) {
    throw invalidParameterValue(`Invalid value '${instanceType}' for InstanceType.`);
  }
  const userData = data.get("UserData");
  if (userData !== undefined && Buffer.byteLength(Buffer.from(userData, "base64")) > USER_DATA_LIMIT) {
    throw invalidParameterValue(`User data is limited to ${USER_DATA_LIMIT} bytes.`);
  }
  const shutdown = data.get("InstanceInitiatedShutdownBehavior");
  if (shutdown !== undefined && shutdown !== "stop" && shutdown !== "terminate") {
    throw invalidParameterValue(
      `Value (${shutdown}) for parameter InstanceInitiatedShutdownBehavior is invalid. Use stop or terminate.`,
    );
  }
  if (data.indices("SecurityGroupId").length > 0 && data.indices("NetworkInterface").length > 0) {
    throw new SimError(
      "InvalidParameterCombination",
      "Network interfaces and an instance-level security groups may not be specified on the same request",
    );
  }
  parseTagSpecifications(data, LAUNCH_TAGGABLE);
  return data.toRecord();
}

function idempotentMismatch(): SimError {
  return new SimError(
    "IdempotentParameterMismatch",
    "Arguments on this idempotent request are inconsistent with arguments used in previous request(s).",
  );
}

export const createLaunchTemplate: ActionHandler = (ctx) => {
  const { params, world, now } = ctx;
  const region = callerRegion(ctx);
  const name = params.require("LaunchTemplateName");
  const clientToken = params.get("ClientToken");
  if (clientToken !== undefined && clientToken.length > 128) {
    throw invalidParameterValue("The client token must be at most 128 ASCII characters.");
  }
  const fingerprint = params.fingerprint(["ClientToken", "Action", "Version"]);
  if (clientToken) {
    const previous = region.tokens.get(`CreateLaunchTemplate:${clientToken}`);
    if (previous) {
      if (previous.fingerprint !== fingerprint) throw idempotentMismatch();
      const id = previous.ids[0]!;
      const existing = region.launchTemplates.get(id);
      // As EC2 does, the answer of the first request, even when its template was deleted since.
      return {
        launchTemplate: launchTemplateXml(
          existing ?? {
            launchTemplateId: id,
            name,
            createTime: now,
            data: {},
            tags: parseTagSpecifications(params, ["launch-template"])["launch-template"] ?? {},
          },
          ctx.account,
        ),
      };
    }
  }
  checkName(name);
  const description = params.get("VersionDescription");
  if (description !== undefined && description.length > 255) {
    throw invalidParameterValue("The version description must be at most 255 characters.");
  }
  const data = templateData(params);
  const tags = parseTagSpecifications(params, ["launch-template"])["launch-template"] ?? {};
  if (findByName(region, name)) {
    throw new SimError(
      "InvalidLaunchTemplateName.AlreadyExistsException",
      `Launch template name already in use: a launch template named '${name}' already exists in ${ctx.region}.`,
    );
  }
  const template: SimLaunchTemplate = {
    launchTemplateId: world.newId("lt"),
    name,
    createTime: now,
    ...(description !== undefined ? { versionDescription: description } : {}),
    data,
    tags,
    ...(clientToken ? { clientToken } : {}),
  };
  region.launchTemplates.set(template.launchTemplateId, template);
  if (clientToken) {
    region.tokens.set(`CreateLaunchTemplate:${clientToken}`, {
      fingerprint,
      ids: [template.launchTemplateId],
    });
  }
  return { launchTemplate: launchTemplateXml(template, ctx.account) };
};

const templateFields: FieldReader<SimLaunchTemplate> = {
  "launch-template-name": (t) => t.name,
  "create-time": (t) => new Date(t.createTime).toISOString(),
};

export const describeLaunchTemplates: ActionHandler = (ctx: RequestContext) => {
  const { params } = ctx;
  const region = callerRegion(ctx);
  const ids = params.list("LaunchTemplateId");
  for (const id of ids) checkLaunchTemplateId(id);
  const names = params.list("LaunchTemplateName");
  const maxResults = params.int("MaxResults");
  checkMaxResults(maxResults, 1, 200);
  const predicate = compileFilters(filtersOf(params), templateFields, (t) => t.tags);
  const compute = (): string[] => {
    // EC2 fails the whole call when one id or name does not exist.
    for (const id of ids) if (!region.launchTemplates.has(id)) throw idNotFound(id);
    const byName = names.map((name) => findByName(region, name) ?? throwError(nameNotFound(name)));
    const candidates =
      ids.length > 0 || names.length > 0
        ? [...new Set([...ids.map((id) => region.launchTemplates.get(id)!), ...byName])]
        : [...region.launchTemplates.values()];
    return candidates.filter(predicate).map((t) => t.launchTemplateId);
  };
  const key = `DescribeLaunchTemplates:${ctx.account}:${ctx.region}:${params.fingerprint(["NextToken", "MaxResults", "Action", "Version"])}`;
  const page = ctx.listings.page(key, params.get("NextToken"), maxResults, compute);
  const items: XmlObject[] = [];
  for (const id of page.ids) {
    const template = region.launchTemplates.get(id);
    if (template) items.push(launchTemplateXml(template, ctx.account));
  }
  return { launchTemplates: items, nextToken: page.nextToken };
};

function throwError(error: SimError): never {
  throw error;
}

export const deleteLaunchTemplate: ActionHandler = (ctx) => {
  const { params } = ctx;
  const region = callerRegion(ctx);
  const id = params.get("LaunchTemplateId");
  const name = params.get("LaunchTemplateName");
  if (id !== undefined && name !== undefined) {
    throw new SimError(
      "InvalidParameterCombination",
      "Specify either the launch template ID or the launch template name, not both.",
    );
  }
  let template: SimLaunchTemplate | undefined;
  if (id !== undefined) {
    checkLaunchTemplateId(id);
    template = region.launchTemplates.get(id);
    if (!template) throw idNotFound(id);
  } else if (name !== undefined) {
    template = findByName(region, name);
    if (!template) throw nameNotFound(name);
  } else {
    throw missingParameter("LaunchTemplateId or LaunchTemplateName");
  }
  region.launchTemplates.delete(template.launchTemplateId);
  return { launchTemplate: launchTemplateXml(template, ctx.account) };
};

function latestVersion(template: SimLaunchTemplate): number {
  return template.laterVersions?.at(-1)?.versionNumber ?? 1;
}

interface Version {
  versionNumber: number;
  createTime: number;
  data: Record<string, string>;
  description?: string;
}

function versionsOf(template: SimLaunchTemplate): Version[] {
  const first: Version = {
    versionNumber: 1,
    createTime: template.createTime,
    data: template.data,
    ...(template.versionDescription !== undefined ? { description: template.versionDescription } : {}),
  };
  return [first, ...(template.laterVersions ?? [])];
}

/** The template a request names by LaunchTemplateId or LaunchTemplateName (exactly one). */
function namedTemplate(ctx: RequestContext, region: RegionState): SimLaunchTemplate {
  const id = ctx.params.get("LaunchTemplateId");
  const name = ctx.params.get("LaunchTemplateName");
  if (id !== undefined && name !== undefined) {
    throw new SimError(
      "InvalidParameterCombination",
      "Specify either the launch template ID or the launch template name, not both.",
    );
  }
  if (id !== undefined) {
    checkLaunchTemplateId(id);
    return region.launchTemplates.get(id) ?? throwError(idNotFound(id));
  }
  if (name !== undefined) return findByName(region, name) ?? throwError(nameNotFound(name));
  throw missingParameter("LaunchTemplateId or LaunchTemplateName");
}

function versionXml(template: SimLaunchTemplate, version: Version, account: string): XmlObject {
  const data: XmlObject = {};
  if (version.data.ImageId !== undefined) data.imageId = version.data.ImageId;
  if (version.data.InstanceType !== undefined) data.instanceType = version.data.InstanceType;
  return {
    launchTemplateId: template.launchTemplateId,
    launchTemplateName: template.name,
    versionNumber: version.versionNumber,
    ...(version.description !== undefined ? { versionDescription: version.description } : {}),
    createTime: new Date(version.createTime),
    createdBy: `arn:aws:iam::${account}:root`,
    defaultVersion: version.versionNumber === (template.defaultVersion ?? 1),
    launchTemplateData: data,
  };
}

export const createLaunchTemplateVersion: ActionHandler = (ctx) => {
  const region = callerRegion(ctx);
  const template = namedTemplate(ctx, region);
  const data = templateData(ctx.params);
  const version: Version = {
    versionNumber: latestVersion(template) + 1,
    createTime: ctx.now,
    data,
    ...(ctx.params.get("VersionDescription") !== undefined
      ? { description: ctx.params.get("VersionDescription")! }
      : {}),
  };
  template.laterVersions = [...(template.laterVersions ?? []), version];
  return { launchTemplateVersion: versionXml(template, version, ctx.account) };
};

export const modifyLaunchTemplate: ActionHandler = (ctx) => {
  const region = callerRegion(ctx);
  const template = namedTemplate(ctx, region);
  const raw = ctx.params.get("SetDefaultVersion");
  if (raw !== undefined) {
    const wanted = Number(raw);
    if (!versionsOf(template).some((v) => v.versionNumber === wanted)) {
      throw new SimError(
        "InvalidLaunchTemplateId.VersionNotFound",
        `Could not find launch template version ${raw} for launch template ${template.launchTemplateId}.`,
      );
    }
    template.defaultVersion = wanted;
  }
  return { launchTemplate: launchTemplateXml(template, ctx.account) };
};

/**
 * Versions of one template, or — with only $Latest and $Default asked for and no template named — those
 * versions of every template in the region, as EC2 allows.
 */
export const describeLaunchTemplateVersions: ActionHandler = (ctx) => {
  const { params } = ctx;
  const region = callerRegion(ctx);
  const asked = params.list("LaunchTemplateVersion");
  const maxResults = params.int("MaxResults");
  checkMaxResults(maxResults, 1, 200);
  const named =
    params.get("LaunchTemplateId") !== undefined || params.get("LaunchTemplateName") !== undefined;
  if (!named && (asked.length === 0 || asked.some((v) => v !== "$Latest" && v !== "$Default"))) {
    throw invalidParameterValue(
      "To describe the versions of all launch templates, specify only $Latest and/or $Default and omit the launch template ID and name.",
    );
  }
  const templates = named ? [namedTemplate(ctx, region)] : [...region.launchTemplates.values()];
  const pick = (template: SimLaunchTemplate): Version[] => {
    const all = versionsOf(template);
    if (asked.length === 0) return all;
    return all.filter(
      (v) =>
        (asked.includes("$Latest") && v.versionNumber === latestVersion(template)) ||
        (asked.includes("$Default") && v.versionNumber === (template.defaultVersion ?? 1)) ||
        asked.includes(String(v.versionNumber)),
    );
  };
  const compute = (): string[] =>
    templates.flatMap((t) => pick(t).map((v) => `${t.launchTemplateId}#${v.versionNumber}`));
  const key = `DescribeLaunchTemplateVersions:${ctx.account}:${ctx.region}:${params.fingerprint(["NextToken", "MaxResults", "Action", "Version"])}`;
  const page = ctx.listings.page(key, params.get("NextToken"), maxResults, compute);
  const items: XmlObject[] = [];
  for (const entry of page.ids) {
    const [id, number] = entry.split("#");
    const template = region.launchTemplates.get(id!);
    const version = template && versionsOf(template).find((v) => v.versionNumber === Number(number));
    if (template && version) items.push(versionXml(template, version, ctx.account));
  }
  return { launchTemplateVersionSet: items, nextToken: page.nextToken };
};
