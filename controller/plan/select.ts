import semver from "semver";
import type { ChannelSelector } from "../api/types.generated.ts";
import { parseDuration } from "../validation/durations.ts";
import { didYouMean } from "../validation/suggest.ts";

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
  /** The parent build it was baked on (base/app): what `parentIn` checks. */
  parentBuild?: string;
  /** The channels the build is in now, with when it entered each (epoch ms): what `follow` checks. */
  inChannels?: ReadonlyMap<string, number>;
  /** Recorded check results (passed | failed, with the reason): what `requires` checks. */
  checks?: ReadonlyMap<string, { result: string; reason?: string }>;
}

/** What a selector's gates are checked against, besides the candidates themselves. */
export interface SelectionContext {
  /** Revoked builds of this spec → why. A revoked build is never selected. */
  revoked?: ReadonlyMap<string, string>;
  /** For `parentIn`: the parent spec and, per channel of it, the build it selects now (or why none). */
  parent?: { spec: string; channels: ReadonlyMap<string, { build?: string; message?: string }> };
  /** Every build of the spec that exists, ready or not, newest first: "not ready yet" vs "does not exist". */
  known?: readonly string[];
}

export type Selection =
  | { ok: true; candidate: Candidate }
  /** `stalled`: nothing will change this without the user (a build that does not exist, only revoked builds). */
  | {
      ok: false;
      message: string;
      stalled: boolean;
      /** Only time stands in the way (minAge): the newest build soaks and will be admitted on its own. */
      soaking?: boolean;
    };

function newestFirst(a: Candidate, b: Candidate): number {
  if (a.createdAt !== b.createdAt) return b.createdAt - a.createdAt;
  return a.id < b.id ? 1 : a.id > b.id ? -1 : 0;
}

/** 2d, 5h, 12m, 30s: the largest whole unit, for "younger than minAge 7d (2d old)". */
export function formatAge(ms: number): string {
  const units: [number, string][] = [
    [86_400_000, "d"],
    [3_600_000, "h"],
    [60_000, "m"],
  ];
  for (const [size, unit] of units) if (ms >= size) return `${Math.floor(ms / size)}${unit}`;
  return `${Math.max(0, Math.floor(ms / 1000))}s`;
}

const waiting = (message: string): Selection => ({ ok: false, message, stalled: false });
const stalled = (message: string): Selection => ({ ok: false, message, stalled: true });

/**
 * Resolves a channel selector among candidates — a pure function, as in Flux's image policies.
 * `latest`: the newest; `build`/`image`: exactly that one; `version`: the highest version in range (newest
 * build of it); `follow`: the newest build that has been in another channel for at least `minAge`.
 * `minAge` otherwise keeps only candidates at least that old, `parentIn` only builds baked on what the
 * parent's channel selects now, and revoked builds are never chosen. When nothing is admitted, the message
 * names the newest build and the rule it fails.
 */
export function selectCandidate(
  selector: ChannelSelector,
  candidates: readonly Candidate[],
  now: number,
  context: SelectionContext = {},
): Selection {
  const minAgeMs = selector.minAge ? parseDuration(selector.minAge) : 0;
  const gate = selector.parentIn;
  const parentTarget = gate !== undefined ? context.parent?.channels.get(gate) : undefined;
  if (gate !== undefined && parentTarget?.build === undefined) {
    const parent = context.parent?.spec ?? "the parent";
    return waiting(`waiting for ${parent}/${gate} (parentIn): ${parentTarget?.message ?? "not resolved"}`);
  }

  /** The first rule a candidate fails, or undefined when it is admitted. */
  const rejection = (c: Candidate, soak = minAgeMs): string | undefined => {
    const revoked = context.revoked?.get(c.id);
    if (revoked !== undefined) return `is revoked (${revoked})`;
    for (const check of selector.requires ?? []) {
      const recorded = c.checks?.get(check);
      if (recorded?.result === "passed") continue;
      return recorded === undefined
        ? `has not been through its ${check} check yet`
        : `failed its ${check} check (${recorded.reason ?? "no reason recorded"})`;
    }
    if (
      selector.version !== undefined &&
      (c.version === undefined || !satisfies(c.version, selector.version))
    )
      return `has version ${c.version ?? "(none)"}, not in ${selector.version}`;
    if (gate !== undefined && c.parentBuild !== parentTarget!.build) {
      const parent = context.parent!.spec;
      return `is baked on ${parent} ${c.parentBuild ?? "(unknown)"}, not on ${parent}/${gate} (${parentTarget!.build})`;
    }
    if (selector.follow !== undefined) {
      const since = c.inChannels?.get(selector.follow);
      if (since === undefined) return `is not in ${selector.follow}`;
      if (now - since < soak)
        return `has been in ${selector.follow} for ${formatAge(now - since)} of minAge ${selector.minAge}`;
    } else if (selector.build === undefined && selector.image === undefined && now - c.createdAt < soak) {
      return `is ${formatAge(now - c.createdAt)} old, younger than minAge ${selector.minAge}`;
    }
    return undefined;
  };

  if (selector.build !== undefined) {
    const wanted = selector.build;
    const found = candidates.find((c) => c.id === wanted);
    const revoked = context.revoked?.get(wanted);
    if (revoked !== undefined)
      return stalled(`build ${wanted} is revoked (${revoked}); pin another build or remove it from revoked`);
    if (!found) {
      const known = context.known ?? candidates.map((c) => c.id);
      if (known.includes(wanted))
        return waiting(`build ${wanted} is not ready yet (baking, copying or failed)`);
      const list =
        known.length === 0 ? "none yet" : known.slice(0, 5).join(", ") + (known.length > 5 ? ", …" : "");
      return stalled(
        `build ${wanted} does not exist (builds of this spec, newest first: ${list})${didYouMean(wanted, known)}`,
      );
    }
    const why = rejection(found);
    return why === undefined ? { ok: true, candidate: found } : waiting(`build ${wanted} ${why}`);
  }
  if (selector.image !== undefined) {
    const found = candidates.find((c) => c.imageId === selector.image || c.id === selector.image);
    if (!found)
      return stalled(`image ${selector.image} does not match the source or is not available in every region`);
    const why = rejection(found);
    return why === undefined ? { ok: true, candidate: found } : stalled(`image ${selector.image} ${why}`);
  }
  if (selector.version === undefined && !selector.latest && selector.follow === undefined)
    return stalled("the selector sets none of latest, build, version, follow, image");

  const sorted = [...candidates].sort(newestFirst);
  if (sorted.length === 0) return waiting("no ready build yet");
  const admitted = sorted.filter((c) => rejection(c) === undefined);
  if (admitted.length === 0) {
    const newest = sorted[0]!;
    const why = rejection(newest)!;
    const message = `no ready build is admitted; the newest, ${newest.id}, ${why}`;
    // Only minAge stands in the way: the newest build is soaking and will be admitted on its own.
    if (minAgeMs > 0 && rejection(newest, 0) === undefined)
      return { ok: false, message, stalled: false, soaking: true };
    const onlyRevoked = sorted.every((c) => context.revoked?.has(c.id));
    return onlyRevoked
      ? stalled(`${message}; every ready build is revoked, so bake a new one or un-revoke one`)
      : waiting(message);
  }
  if (selector.version !== undefined) {
    // Parsed once each, not once per comparison.
    const parsed = new Map(admitted.map((c) => [c, new semver.SemVer(c.version!)]));
    admitted.sort((a, b) => semver.rcompare(parsed.get(a)!, parsed.get(b)!) || newestFirst(a, b));
  }
  return { ok: true, candidate: admitted[0]! };
}

/**
 * semver.satisfies, remembered: every plan asks it of the same few ranges and versions, once per build per
 * channel, and each answer parses both. Bounded, so a long-running process does not grow with history.
 */
const satisfied = new Map<string, Map<string, boolean>>();
const MAX_REMEMBERED = 10_000;

function satisfies(version: string, range: string): boolean {
  let byVersion = satisfied.get(range);
  if (!byVersion) {
    if (satisfied.size >= MAX_REMEMBERED) satisfied.clear();
    byVersion = new Map();
    satisfied.set(range, byVersion);
  }
  let answer = byVersion.get(version);
  if (answer === undefined) {
    if (byVersion.size >= MAX_REMEMBERED) byVersion.clear();
    answer = semver.satisfies(version, range);
    byVersion.set(version, answer);
  }
  return answer;
}
