// Publishing (spec.publish): every channel of every spec, in every region of the spec, as an SSM parameter
// <prefix>/<spec>/<channel> holding the channel's AMI id there. Pure: from the specs, the resolved channels
// and the observed parameters to put-parameter and delete-parameter actions and status notes.
//
// - A parameter is put only when its value differs from the channel's image (every PutParameter is a new
//   version): created with Leaven's tags, or Leaven's own overwritten without tags.
// - A parameter at that name that is not this installation's is never overwritten: the spec stalls, naming it.
// - A channel that does not resolve, or has no image in a region, leaves its parameter as it is.
// - Leaven's parameters of a spec, channel, region or prefix no longer published are deleted — but not while
//   a document failed to load (it might be that spec), nor for a blocked or suspended spec.
// - Nothing is put or deleted in a region whose parameters could not be listed.
import { DEFAULT_PUBLISH_PREFIX, parameterName, publishesSsm, publishPrefix } from "../api/publish.ts";
import { DEFAULT_INSTALLATION, MANAGED_BY_VALUE, ownershipProblem, Tag } from "../api/tags.ts";
import { IMAGE_DATA_TYPE } from "../cloud/parameter-port.ts";
import type { Inventory, ObservedParameter } from "../observe/inventory.ts";
import type { ValidSpec } from "../validation/result.ts";
import type { Action, DeleteParameterAction, PutParameterAction } from "./actions.ts";
import type { ChannelResolution } from "./foundation.ts";

export interface PublishInput {
  specs: readonly ValidSpec[];
  /** Resolved channels by spec, as the planner's spec loop left them. */
  channels: ReadonlyMap<string, ReadonlyMap<string, ChannelResolution>>;
  inventory: Inventory;
  blocked?: ReadonlyMap<string, string>;
  unattributedErrors?: boolean;
  installation?: string;
  /** Only these specs are planned (plan/scope.ts): the others' parameters are kept as they are. */
  scope?: ReadonlySet<string>;
}

export interface PublishPlan {
  actions: (PutParameterAction | DeleteParameterAction)[];
  /** Status notes by spec. */
  notes: Map<string, string[]>;
  /** Specs whose publishing is blocked by a parameter Leaven does not own: the user must act. */
  stalled: Set<string>;
  /** Specs with a region whose parameters could not be listed: publishing there waits. */
  waiting: Set<string>;
}

/** The tags a new parameter is born with: owned by this installation, naming its spec and channel. */
export function parameterTags(spec: string, channel: string, installation: string): Record<string, string> {
  return {
    [Tag.managedBy]: MANAGED_BY_VALUE,
    // Always written, even for the default installation: observation finds parameters by this tag.
    [Tag.installation]: installation,
    [Tag.spec]: spec,
    [Tag.channel]: channel,
  };
}

export function planPublishing(input: PublishInput): PublishPlan {
  const installation = input.installation ?? DEFAULT_INSTALLATION;
  const result: PublishPlan = { actions: [], notes: new Map(), stalled: new Set(), waiting: new Set() };
  const observedRegions = input.inventory.parameterRegions;
  if (!observedRegions) return result;
  const note = (spec: string, text: string) => {
    const list = result.notes.get(spec) ?? [];
    if (!list.includes(text)) list.push(text);
    result.notes.set(spec, list);
  };
  const observed = new Map<string, ObservedParameter>();
  for (const p of input.inventory.parameters ?? []) observed.set(`${p.region} ${p.name}`, p);
  const visible = new Set(observedRegions);
  /** `region name` of every parameter a spec still publishes (or keeps): never deleted. */
  const kept = new Set<string>();
  const bySpec = new Map(input.specs.map((s) => [s.name, s.document]));

  for (const { name: spec, document: doc } of input.specs) {
    if (!publishesSsm(doc)) continue;
    const prefix = publishPrefix(doc);
    // Outside the scope nothing is put, and nothing of its is deleted (below): its parameters need no entry.
    if (input.scope && !input.scope.has(spec)) continue;
    const resolved = input.channels.get(spec);
    // A region not observed at all already holds the whole spec back (plan.ts says so); one whose
    // parameters alone could not be listed holds back only publishing there.
    const blind = doc.spec.suspend
      ? []
      : doc.spec.regions.filter((r) => !visible.has(r) && !input.inventory.regionErrors.has(r));
    if (blind.length > 0) {
      const why = blind.map((r) => `${r} (${input.inventory.parameterErrors?.get(r) ?? "not observed"})`);
      note(spec, `cannot list parameters in ${why.join(", ")}; publishing there waits until it can`);
      result.waiting.add(spec);
    }
    for (const region of doc.spec.regions) {
      for (const channel of Object.keys(doc.spec.channels ?? {})) {
        const name = parameterName(prefix, spec, channel);
        kept.add(`${region} ${name}`);
        if (doc.spec.suspend) continue;
        if (!visible.has(region)) continue;
        const resolution = resolved?.get(channel);
        if (!resolution?.ok) continue;
        const imageId = resolution.value.images.get(region);
        if (!imageId) continue;
        const build = resolution.value.build;
        const existing = observed.get(`${region} ${name}`);
        const base = { spec, region, channel, build };
        if (!existing) {
          result.actions.push({
            kind: "put-parameter",
            ...base,
            parameter: {
              name,
              value: imageId,
              dataType: IMAGE_DATA_TYPE,
              overwrite: false,
              tags: parameterTags(spec, channel, installation),
            },
            reason: `channel ${channel} of ${spec} is ${build} (${imageId}) in ${region} and is not published yet`,
          });
        } else if (!existing.owned) {
          const owner = existing.tags ? ownershipProblem(existing.tags, installation) : undefined;
          note(
            spec,
            `publishing blocked: parameter ${name} in ${region} is not Leaven's (${owner ?? `it is not tagged ${Tag.managedBy}=${MANAGED_BY_VALUE} and ${Tag.installation}=${installation}`}), and Leaven never overwrites it; delete it (aws ssm delete-parameter --region ${region} --name ${name}) or set spec.publish.prefix to another path`,
          );
          result.stalled.add(spec);
        } else if (existing.value !== imageId) {
          result.actions.push({
            kind: "put-parameter",
            ...base,
            parameter: { name, value: imageId, dataType: IMAGE_DATA_TYPE, overwrite: true },
            previous: { value: existing.value, version: existing.version },
            reason: `channel ${channel} of ${spec} moved to ${build} (${imageId}) in ${region}; the parameter holds ${existing.value}`,
          });
        }
      }
    }
  }

  // Leaven's parameters nobody publishes any more. Not while some document is too broken to tell which spec
  // it is: the parameters might be that spec's.
  if (input.unattributedErrors) return result;
  const prefixes = [
    ...new Set([DEFAULT_PUBLISH_PREFIX, ...input.specs.map((s) => publishPrefix(s.document))]),
  ];
  for (const parameter of input.inventory.parameters ?? []) {
    const { region, name } = parameter;
    if (!parameter.owned || !visible.has(region) || kept.has(`${region} ${name}`)) continue;
    const owner = attribute(name, prefixes);
    // A parameter of Leaven's that does not read as <prefix>/<spec>/<channel>: not Leaven's naming, left alone.
    if (!owner) continue;
    if (input.blocked?.has(owner.spec)) continue;
    if (input.scope && !input.scope.has(owner.spec)) continue;
    const doc = bySpec.get(owner.spec);
    if (doc?.spec.suspend) continue;
    result.actions.push({
      kind: "delete-parameter",
      spec: owner.spec,
      region,
      name,
      value: parameter.value,
      reason: deletionReason(owner, doc, region),
    });
  }
  return result;
}

function attribute(
  name: string,
  prefixes: readonly string[],
): { prefix: string; spec: string; channel: string } | undefined {
  for (const prefix of prefixes) {
    if (!name.startsWith(`${prefix}/`)) continue;
    const rest = name.slice(prefix.length + 1).split("/");
    if (rest.length === 2 && rest[0] && rest[1]) return { prefix, spec: rest[0], channel: rest[1] };
  }
  return undefined;
}

function deletionReason(
  owner: { prefix: string; spec: string; channel: string },
  doc: ValidSpec["document"] | undefined,
  region: string,
): string {
  if (!doc) return `spec ${owner.spec} no longer exists`;
  if (!publishesSsm(doc)) return `${owner.spec} has publish.ssm: false`;
  if (publishPrefix(doc) !== owner.prefix) return `${owner.spec} publishes under ${publishPrefix(doc)} now`;
  if (!doc.spec.regions.includes(region)) return `${owner.spec} is no longer in ${region}`;
  return `${owner.spec} has no channel ${owner.channel} any more`;
}

/** Whether an action belongs to publishing (for callers that treat parameters apart from images). */
export function isPublishAction(action: Action): action is PutParameterAction | DeleteParameterAction {
  return action.kind === "put-parameter" || action.kind === "delete-parameter";
}
