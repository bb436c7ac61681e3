// Versions of recipes (spec.version): Semantic Versioning 2.0.0, written exactly, with no leading "v".
import semver from "semver";

/**
 * Semantic Versioning 2.0.0 (the grammar of semver.org, with [0-9] for \d so RE2, which Kubernetes uses
 * for CRD patterns, reads it the same): the same pattern as the schema's spec.version.
 */
export const SEMVER_PATTERN =
  /^(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)(-(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*)(\.(0|[1-9][0-9]*|[0-9]*[a-zA-Z-][0-9a-zA-Z-]*))*)?(\+[0-9a-zA-Z-]+(\.[0-9a-zA-Z-]+)*)?$/;

/**
 * Words shown to users when a version is malformed. +BUILD is left out on purpose: semver allows it,
 * but Leaven appends its own +HASH to make build ids, so spec-rules rejects it.
 */
export const VERSION_EXPECTED = "MAJOR.MINOR.PATCH, optionally with -PRERELEASE, e.g. 2.3.0 or 2.3.0-rc.1";

/** The version a malformed one was probably meant to be ("v2.3.0" → "2.3.0", "2.3" → "2.3.0"), if any. */
export function intendedVersion(value: string): string | undefined {
  const loose = semver.valid(value.trim(), { loose: true });
  // Loose parsing only drops characters (a "v", "=", spaces, leading zeros); when it adds some, as
  // "2.3.0-" → "2.3.0--", the guess is stranger than the typo.
  if (loose !== null && loose.length < value.length && SEMVER_PATTERN.test(loose)) return loose;
  const short = /^\s*[v=]?\s*([0-9]+)(?:\.([0-9]+))?\s*$/.exec(value);
  if (short === null) return undefined;
  const guess = `${Number(short[1])}.${Number(short[2] ?? 0)}.0`;
  // Numbers past 2^53 print as 1e+21: no suggestion is better than a wrong one.
  return SEMVER_PATTERN.test(guess) ? guess : undefined;
}
