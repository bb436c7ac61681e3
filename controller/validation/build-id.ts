// A build id is VERSION+HASH: the recipe's semver version and 8 lower-case hex digits of the content hash.
import semver from "semver";

export interface BuildId {
  version: string;
  hash: string;
}

const BUILD_ID = /^(.+)\+([0-9a-f]{8})$/;

/** Words shown to users when a build id is malformed. */
export const BUILD_ID_EXPECTED = "VERSION+HASH, e.g. 2.3.0+5f2c91ab";

/** Splits `2.3.0+5f2c91ab` into version and hash; undefined when it is not a build id. */
export function parseBuildId(value: string): BuildId | undefined {
  const match = BUILD_ID.exec(value);
  if (!match) return undefined;
  const version = match[1] as string;
  // semver.valid normalises (e.g. strips a leading v); a build id must carry the version exactly.
  if (semver.valid(version) !== version) return undefined;
  return { version, hash: match[2] as string };
}

export function isBuildId(value: string): boolean {
  return parseBuildId(value) !== undefined;
}

export function formatBuildId(id: BuildId): string {
  return `${id.version}+${id.hash}`;
}
