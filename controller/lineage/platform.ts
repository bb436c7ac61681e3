// A lineage's operating system: its foundation's spec.source.platform (default linux), inherited by every
// base and app baked on it. Both validation (raw documents) and the planner (valid specs) ask it.

export type Platform = "linux" | "windows";

export interface PlatformNode {
  parent?: string | undefined;
  /** The foundation's spec.source.platform; undefined for a base or an app. */
  platform?: string | undefined;
  layer?: string | undefined;
}

/**
 * The foundation at the top of `name`'s lineage and its platform: walk up the parents. Undefined when the
 * chain is broken (an unknown parent or a cycle): other rules report that.
 */
export function lineagePlatform(
  name: string,
  lookup: (name: string) => PlatformNode | undefined,
): { platform: Platform; foundation: string } | undefined {
  const seen = new Set<string>();
  let current: string | undefined = name;
  while (current !== undefined && !seen.has(current)) {
    seen.add(current);
    const node = lookup(current);
    if (node === undefined) return undefined;
    if (node.layer === "foundation")
      return { platform: node.platform === "windows" ? "windows" : "linux", foundation: current };
    current = node.parent;
  }
  return undefined;
}

/** The platform of `name`'s lineage (lineagePlatform without the foundation's name). */
export function platformOf(
  name: string,
  lookup: (name: string) => PlatformNode | undefined,
): Platform | undefined {
  return lineagePlatform(name, lookup)?.platform;
}
