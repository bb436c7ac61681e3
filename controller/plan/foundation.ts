import type { ImageSpec } from "../api/types.generated.ts";
import type { CloudImage } from "../cloud/port.ts";
import { type Candidate, selectCandidate } from "./select.ts";
import type { ChannelStatus } from "./status.ts";

/** A resolved channel: the build it points at and that build's available image per region. */
export interface ResolvedChannel {
  build: string;
  images: Map<string, string>;
}

export type ChannelResolution = { ok: true; value: ResolvedChannel } | { ok: false; message: string };

export interface FoundationResult {
  channels: Map<string, ChannelResolution>;
  status: Record<string, ChannelStatus>;
  /** Vendor image names, newest first. */
  names: string[];
  problem?: string;
  /** Channels that cannot resolve until the user acts (e.g. every matching image is revoked). */
  stalled: string[];
}

/**
 * A foundation's "builds" are the vendor's AMIs, identified across regions by name (vendors publish the
 * same name in every region). A name is a candidate when it is available in every region of the spec.
 */
export function resolveFoundation(
  doc: ImageSpec,
  vendor: readonly CloudImage[],
  now: number,
  /** What the observer found wrong with the source (e.g. an SSM parameter missing in a region). */
  lookupProblem?: string,
): FoundationResult {
  const spec = doc.spec;
  const includeDeprecated = spec.source?.includeDeprecated === true;
  const byName = new Map<string, Map<string, CloudImage>>();
  for (const image of vendor) {
    if (image.state !== "available") continue;
    if (!includeDeprecated && image.deprecationTime && Date.parse(image.deprecationTime) <= now) continue;
    if (spec.source?.architecture && image.architecture && image.architecture !== spec.source.architecture)
      continue;
    let regions = byName.get(image.name);
    if (!regions) {
      regions = new Map();
      byName.set(image.name, regions);
    }
    regions.set(image.region, image);
  }
  const home = spec.regions[0];
  const candidates: Candidate[] = [];
  const imagesByName = new Map<string, Map<string, string>>();
  for (const [name, regions] of byName) {
    if (!spec.regions.every((r) => regions.has(r))) continue;
    const homeImage = regions.get(home)!;
    candidates.push({ id: name, createdAt: Date.parse(homeImage.creationDate), imageId: homeImage.imageId });
    imagesByName.set(name, new Map([...regions].map(([region, image]) => [region, image.imageId])));
  }
  candidates.sort((a, b) => b.createdAt - a.createdAt);
  const names = candidates.map((c) => c.id);

  const channels = new Map<string, ChannelResolution>();
  const status: Record<string, ChannelStatus> = {};
  const problem =
    candidates.length === 0
      ? (lookupProblem ??
        `no available vendor image matches ${describeSource(doc)} in all of ${spec.regions.join(", ")}`)
      : undefined;
  const stalled: string[] = [];
  // A revoked vendor image is named by its name or by its AMI id in any region.
  const revoked = new Map<string, string>();
  for (const { build, reason } of spec.revoked ?? []) {
    for (const [name, images] of imagesByName) {
      if (name === build || [...images.values()].includes(build)) revoked.set(name, reason);
    }
  }
  for (const [channel, selector] of Object.entries(spec.channels ?? {})) {
    // The exact image selector may name the image in any region; match it against every region's id.
    const byId =
      selector.image !== undefined ? pickByImageId(selector.image, candidates, imagesByName) : undefined;
    const picked =
      byId?.ok === true && revoked.has(byId.candidate.id)
        ? {
            ok: false as const,
            message: `image ${selector.image} is revoked (${revoked.get(byId.candidate.id)})`,
          }
        : (byId ?? selectCandidate(selector, candidates, now, { revoked }));
    if (picked.ok) {
      const images = imagesByName.get(picked.candidate.id)!;
      channels.set(channel, { ok: true, value: { build: picked.candidate.id, images } });
      status[channel] = { build: picked.candidate.id, images: Object.fromEntries(images) };
    } else {
      const message = problem ?? picked.message;
      if (!("stalled" in picked) || picked.stalled) stalled.push(channel);
      channels.set(channel, { ok: false, message });
      status[channel] = { images: {}, message };
    }
  }
  return { channels, status, names, stalled, ...(problem ? { problem } : {}) };
}

function pickByImageId(
  imageId: string,
  candidates: readonly Candidate[],
  imagesByName: Map<string, Map<string, string>>,
): { ok: true; candidate: Candidate } | { ok: false; message: string } {
  for (const candidate of candidates) {
    const images = imagesByName.get(candidate.id);
    if (images && [...images.values()].includes(imageId)) return { ok: true, candidate };
  }
  return {
    ok: false,
    message: `image ${imageId} does not match the source or is not available in every region`,
  };
}

export function describeSource(doc: ImageSpec): string {
  const source = doc.spec.source;
  if (!source) return "(no source)";
  if (source.ssmParameter) return `SSM parameter ${source.ssmParameter}`;
  return `"${source.name}" owned by ${(source.owners ?? []).join(", ")}${source.architecture ? ` (${source.architecture})` : ""}`;
}
