import { CHECKS } from "../api/check-protocol.ts";
import { CHANNEL_SINCE_TAG_PREFIX, channelTag } from "../api/tags.ts";
import type { ImageSpec } from "../api/types.generated.ts";
import type { CloudImage } from "../cloud/port.ts";
import { isReady, resolvedImages } from "./distribute.ts";
import type { ChannelResolution, ResolvedChannel } from "./foundation.ts";
import { imageChannels, type ObservedBuild } from "./index-inventory.ts";
import { type Candidate, type SelectionContext, selectCandidate } from "./select.ts";
import type { ChannelStatus, Phase } from "./status.ts";
import { recordedCheck } from "./verify.ts";

export interface ChannelsResult {
  /** Every channel, resolved or with why not: what children of this spec bake on. */
  channels: Map<string, ChannelResolution>;
  /** Only the resolved ones: whose tags must move. */
  resolved: Map<string, ResolvedChannel>;
  status: Record<string, ChannelStatus>;
  problems: { phase: Phase; message: string }[];
  /** Every build of the spec, ready or not, newest first (by home image creation). */
  newestFirst: string[];
}

/** Revoked builds of a spec → why (spec.revoked). */
export function revokedBuilds(doc: ImageSpec): Map<string, string> {
  return new Map((doc.spec.revoked ?? []).map((r) => [r.build, r.reason]));
}

/** The channels a build is in, read from its home image's tags, with when it entered each. */
function channelsOf(build: ObservedBuild, region: string, home: CloudImage): Map<string, number> {
  const channels = new Map<string, number>();
  for (const channel of imageChannels(build, region)) {
    // A build tagged before since-tags existed counts from its creation: never younger than it is.
    const since = Date.parse(home.tags[CHANNEL_SINCE_TAG_PREFIX + channel] ?? home.creationDate);
    channels.set(channel, Number.isNaN(since) ? Date.parse(home.creationDate) : since);
  }
  return channels;
}

/** The build a channel points at now (its tag on the build's home image), if any. */
function currentBuild(
  channel: string,
  builds: ReadonlyMap<string, ObservedBuild>,
  home: string,
): ObservedBuild | undefined {
  const key = channelTag(channel);
  for (const build of builds.values()) if (build.images.get(home)?.tags[key]) return build;
  return undefined;
}

/**
 * Resolves each channel selector of a base/app spec among its ready builds (available in every region),
 * with its gates (revocation, parentIn, follow). A channel whose selector admits nothing keeps the build it
 * is on now — children keep baking on it — and its status says why it did not move.
 */
export function resolveChannels(
  doc: ImageSpec,
  builds: ReadonlyMap<string, ObservedBuild>,
  now: number,
  parent?: SelectionContext["parent"],
): ChannelsResult {
  const home = doc.spec.regions[0]!;
  const candidates: Candidate[] = [];
  for (const build of builds.values()) {
    if (!isReady(doc, build)) continue;
    const homeImage = build.images.get(home)!;
    candidates.push({
      id: build.build,
      ...(build.version ? { version: build.version } : {}),
      ...(build.parentBuild ? { parentBuild: build.parentBuild } : {}),
      createdAt: Date.parse(homeImage.creationDate),
      inChannels: channelsOf(build, home, homeImage),
      checks: new Map(
        CHECKS.flatMap((check) => {
          const recorded = recordedCheck(homeImage, check);
          return recorded ? [[check, recorded] as const] : [];
        }),
      ),
    });
  }
  const revoked = revokedBuilds(doc);
  // Newest first; builds made at the same time (or with no home image) by id, whatever order they were found in.
  const known = [...builds.values()]
    .sort(
      (a, b) =>
        (b.images.get(home)?.creationDate ?? "").localeCompare(a.images.get(home)?.creationDate ?? "") ||
        (a.build < b.build ? -1 : a.build > b.build ? 1 : 0),
    )
    .map((b) => b.build);
  const context: SelectionContext = { revoked, known, ...(parent ? { parent } : {}) };
  const result: ChannelsResult = {
    channels: new Map(),
    resolved: new Map(),
    status: {},
    problems: [],
    newestFirst: known,
  };
  for (const [channel, selector] of Object.entries(doc.spec.channels ?? {})) {
    const picked = selectCandidate(selector, candidates, now, context);
    if (picked.ok) {
      const images = resolvedImages(doc, builds.get(picked.candidate.id)!);
      const value = { build: picked.candidate.id, images };
      result.channels.set(channel, { ok: true, value });
      result.resolved.set(channel, value);
      result.status[channel] = { build: value.build, images: Object.fromEntries(images) };
      continue;
    }
    const kept = currentBuild(channel, builds, home);
    if (kept && !revoked.has(kept.build) && isReady(doc, kept)) {
      const images = resolvedImages(doc, kept);
      const message = `stays on ${kept.build}: ${picked.message}`;
      result.channels.set(channel, { ok: true, value: { build: kept.build, images } });
      result.status[channel] = { build: kept.build, images: Object.fromEntries(images), message };
      // A newer build soaking (minAge) is a promotion on its way, not a problem: the channel is fine.
      if (!picked.soaking)
        result.problems.push({
          phase: picked.stalled ? "Stalled" : "Waiting",
          message: `channel ${channel} ${message}`,
        });
      continue;
    }
    result.channels.set(channel, { ok: false, message: picked.message });
    result.status[channel] = { images: {}, message: picked.message };
    result.problems.push({
      phase: picked.stalled ? "Stalled" : "Waiting",
      message: `channel ${channel}: ${picked.message}`,
    });
  }
  return result;
}
