import { createHash } from "node:crypto";
import type { ImageSpecSpec } from "../api/types.generated.ts";

/** JSON with object keys sorted, so the same recipe always hashes the same. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(",")}]`;
  if (value !== null && typeof value === "object") {
    const entries = Object.entries(value as Record<string, unknown>)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(",")}}`;
  }
  return JSON.stringify(value);
}

export function sha256(text: string): string {
  return createHash("sha256").update(text).digest("hex");
}

/**
 * The recipe is what changes the bytes of the image: the version, the provisioning and the root volume.
 * Where and how the bake instance runs (instance type, subnet, security groups, profile, timeout) does not,
 * so changing those never rebakes.
 */
export function recipeHash(spec: ImageSpecSpec): string {
  return sha256(
    canonicalJson({
      version: spec.version,
      provision: spec.provision ?? {},
      rootVolume: spec.bake?.rootVolume ?? {},
    }),
  ).slice(0, 16);
}

/**
 * Deterministic build id: same spec, recipe and parent build give the same id, `VERSION+HASH8`. A spec with
 * scheduled rebakes adds its window's epoch, so each window makes one new build (and a spec without keeps
 * the ids it always had).
 */
export function buildIdFor(
  specName: string,
  version: string,
  recipe: string,
  parentBuild: string,
  rebuildEpoch?: string,
): string {
  const epoch = rebuildEpoch === undefined ? "" : `\nrebuild ${rebuildEpoch}`;
  return `${version}+${sha256(`${specName}\n${recipe}\n${parentBuild}${epoch}`).slice(0, 8)}`;
}

/** AMI names allow letters, digits, ( ) [ ] . / - ' @ _ and spaces; the build id's + is not among them. */
export function imageNameFor(specName: string, buildId: string): string {
  return `leaven/${specName}/${buildId.replace("+", "_")}`;
}

/** Idempotency token for a bake launch (≤ 64 ASCII chars): a retry gets a new attempt, so a new token. */
export function launchToken(buildId: string, attempt: string): string {
  return `leaven-bake-${sha256(`${buildId}#${attempt}`).slice(0, 40)}`;
}

/**
 * Idempotency token for copying a build into a region. The first generation's token depends only on the
 * spec, build and region. EC2 answers a token with the copy it made the first time, even after that copy was
 * deregistered, so a copy that is observed gone gets a token of a new generation, derived from the dead
 * copies' ids (and from the home image when the home image itself was rebaked: a new source is a new
 * request): still deterministic, so a repair killed half-way resumes with the same token.
 */
export function copyToken(
  buildId: string,
  specName: string,
  region: string,
  generation: { deadCopies?: readonly string[]; rebakedSource?: string } = {},
): string {
  const dead = [...new Set(generation.deadCopies ?? [])].sort();
  const base = `${specName}/${buildId}/${region}`;
  if (dead.length === 0 && !generation.rebakedSource) return `leaven-copy-${sha256(base).slice(0, 40)}`;
  const from = generation.rebakedSource ? `/from-${generation.rebakedSource}` : "";
  const after = dead.length > 0 ? `/after-${dead.join(",")}` : "";
  return `leaven-copy-${sha256(`${base}${from}${after}`).slice(0, 40)}`;
}

/** The bake attempt that replaces home images observed gone: derived from their ids, sorted. */
export function rebakeAttempt(deadHomeImages: readonly string[]): string {
  return `after-${[...new Set(deadHomeImages)].sort().join(",")}`;
}

/**
 * The token for relaunching a bake whose token EC2 refuses (`IdempotentInstanceTerminated`: the instance that
 * token launched is gone, and so is its image). Derived from the terminated instance, or — when EC2 no longer
 * lists it — from the day, so repeated attempts of one repair reuse one token.
 */
export function relaunchToken(token: string, after: string): string {
  return `leaven-bake-${sha256(`${token}#after-${after}`).slice(0, 40)}`;
}

/**
 * CreateVolume's ClientToken for a volume bake (≤ 64 ASCII characters): the build, the attempt (as for a
 * launch) and the zone of the bakery host, so a host in another zone gets a volume of its own.
 */
export function volumeToken(buildId: string, attempt: string, zone: string): string {
  return `leaven-volume-${sha256(`${buildId}#${attempt}@${zone}`).slice(0, 40)}`;
}

/** RunInstances' ClientToken for an installation's bakery host in a region, per generation of host. */
export function bakeryHostToken(installation: string, region: string, generation: string): string {
  return `leaven-bakery-${sha256(`${installation}/${region}#${generation}`).slice(0, 40)}`;
}
