import semver from "semver";
import type { ChannelSelector } from "../api/types.generated.ts";
import { parseDuration } from "../validation/durations.ts";

/** One choosable item: a ready build of a spec, or a vendor image of a foundation. */
export interface Candidate {
  /** Build id (base/app) or vendor image name (foundation). */
  id: string;
  /** Semver of the build; undefined for vendor images. */
  version?: string;
  /** Epoch ms the build's home image (or the vendor image) was created. */
  createdAt: number;
  /** Vendor image id, for the foundation `image` selector. */
  imageId?: string;
}

export type Selection = { ok: true; candidate: Candidate } | { ok: false; message: string };

function newestFirst(a: Candidate, b: Candidate): number {
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/**
 * Resolves a channel selector among candidates — a pure function, as in Flux's image policies.
 * `latest`: the newest; `build`/`image`: exactly that one; `version`: the highest version in range
 * (newest build of it); `minAge` keeps only candidates at least that old.
 */
export function selectCandidate(
  selector: ChannelSelector,
  candidates: readonly Candidate[],
  now: number,
): Selection {
  const minAgeMs = selector.minAge ? parseDuration(selector.minAge) : 0;
  const oldEnough = minAgeMs > 0 ? candidates.filter((c) => c.createdAt <= now - minAgeMs) : [...candidates];
  const soaking =
    minAgeMs > 0 && oldEnough.length < candidates.length
      ? `; ${candidates.length - oldEnough.length} younger than minAge ${selector.minAge}`
      : "";

  if (selector.build !== undefined) {
    const found = candidates.find((c) => c.id === selector.build);
    return found
      ? { ok: true, candidate: found }
      : { ok: false, message: `build ${selector.build} is not ready (not baked, still copying, or failed)` };
  }
  if (selector.image !== undefined) {
    const found = candidates.find((c) => c.imageId === selector.image || c.id === selector.image);
    return found
      ? { ok: true, candidate: found }
      : {
          ok: false,
          message: `image ${selector.image} does not match the source or is not available in every region`,
        };
  }
  if (selector.version !== undefined) {
    const range = selector.version;
    const inRange = oldEnough.filter((c) => c.version !== undefined && semver.satisfies(c.version, range));
    if (inRange.length === 0)
      return { ok: false, message: `no ready build has a version in ${range}${soaking}` };
    inRange.sort((a, b) => semver.rcompare(a.version!, b.version!) || newestFirst(a, b));
    return { ok: true, candidate: inRange[0]! };
  }
  if (selector.latest) {
    if (oldEnough.length === 0)
      return {
        ok: false,
        message: candidates.length === 0 ? "no ready build yet" : `no candidate is old enough${soaking}`,
      };
    oldEnough.sort(newestFirst);
    return { ok: true, candidate: oldEnough[0]! };
  }
  return { ok: false, message: "the selector sets none of latest, build, version, image" };
}
