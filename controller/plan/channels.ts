import type { ImageSpec } from "../api/types.generated.ts";
import { isReady, resolvedImages } from "./distribute.ts";
import type { ChannelResolution, ResolvedChannel } from "./foundation.ts";
import type { ObservedBuild } from "./index-inventory.ts";
import { type Candidate, selectCandidate } from "./select.ts";
import type { ChannelStatus, Phase } from "./status.ts";

export interface ChannelsResult {
  /** Every channel, resolved or with why not: what children of this spec bake on. */
  channels: Map<string, ChannelResolution>;
  /** Only the resolved ones: whose tags must move. */
  resolved: Map<string, ResolvedChannel>;
  status: Record<string, ChannelStatus>;
  problems: { phase: Phase; message: string }[];
}

/** Resolves each channel selector of a base/app spec among its ready builds (available in every region). */
export function resolveChannels(
  doc: ImageSpec,
  builds: ReadonlyMap<string, ObservedBuild>,
  now: number,
): ChannelsResult {
  const home = doc.spec.regions[0];
  const candidates: Candidate[] = [];
  for (const build of builds.values()) {
    if (!isReady(doc, build)) continue;
    candidates.push({
      id: build.build,
      ...(build.version ? { version: build.version } : {}),
      createdAt: Date.parse(build.images.get(home)!.creationDate),
    });
  }
  const result: ChannelsResult = { channels: new Map(), resolved: new Map(), status: {}, problems: [] };
  for (const [channel, selector] of Object.entries(doc.spec.channels ?? {})) {
    const picked = selectCandidate(selector, candidates, now);
    if (picked.ok) {
      const images = resolvedImages(doc, builds.get(picked.candidate.id)!);
      const value = { build: picked.candidate.id, images };
      result.channels.set(channel, { ok: true, value });
      result.resolved.set(channel, value);
      result.status[channel] = { build: value.build, images: Object.fromEntries(images) };
    } else {
      result.channels.set(channel, { ok: false, message: picked.message });
      result.status[channel] = { images: {}, message: picked.message };
      result.problems.push({ phase: "Waiting", message: `channel ${channel}: ${picked.message}` });
    }
  }
  return result;
}
