// EC2 filter semantics: values of one filter are ORed, filters are ANDed, and values may use the
// wildcards `*` (any run of characters) and `?` (one character), with `\` escaping them.
import { SimError } from "./errors.ts";
import type { EC2Filter } from "./query-protocol.ts";
import type { Tags } from "./world.ts";

const compiled = new Map<string, RegExp | string>();

/** A matcher for one filter value: a plain string when it has no wildcard (the fast path), else a RegExp. */
function compile(pattern: string): RegExp | string {
  let cached = compiled.get(pattern);
  if (cached !== undefined) return cached;
  if (!/[*?]/.test(pattern)) {
    cached = pattern.replace(/\\(.)/g, "$1");
  } else {
    let source = "";
    for (let i = 0; i < pattern.length; i++) {
      const c = pattern[i]!;
      if (c === "\\" && i + 1 < pattern.length) {
        source += pattern[++i]!.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
      } else if (c === "*") source += ".*";
      else if (c === "?") source += ".";
      else source += c.replace(/[.*+?^${}()|[\]\\/]/g, "\\$&");
    }
    cached = new RegExp(`^${source}$`, "s");
  }
  if (compiled.size > 10_000) compiled.clear();
  compiled.set(pattern, cached);
  return cached;
}

export function wildcardMatch(pattern: string, value: string): boolean {
  const matcher = compile(pattern);
  return typeof matcher === "string" ? matcher === value : matcher.test(value);
}

function anyMatch(patterns: readonly string[], value: string | undefined): boolean {
  if (value === undefined) return false;
  for (const pattern of patterns) if (wildcardMatch(pattern, value)) return true;
  return false;
}

/** The named fields a resource exposes to filters; tags are handled for every resource. */
export type FieldReader<T> = Record<string, (resource: T) => string | readonly string[] | undefined>;

/** Builds a predicate for a set of filters; unknown filter names fail the request as EC2 does. */
export function compileFilters<T>(
  filters: readonly EC2Filter[],
  fields: FieldReader<T>,
  tagsOf: (resource: T) => Tags,
): (resource: T) => boolean {
  const tests: ((resource: T) => boolean)[] = [];
  for (const filter of filters) {
    const values = filter.values;
    if (values.length === 0) {
      throw new SimError("InvalidParameterValue", `The filter '${filter.name}' requires at least one value.`);
    }
    if (filter.name.startsWith("tag:")) {
      const key = filter.name.slice(4);
      tests.push((r) => anyMatch(values, tagsOf(r)[key]));
    } else if (filter.name === "tag-key") {
      tests.push((r) => Object.keys(tagsOf(r)).some((k) => anyMatch(values, k)));
    } else if (filter.name === "tag-value") {
      tests.push((r) => Object.values(tagsOf(r)).some((v) => anyMatch(values, v)));
    } else {
      const read = fields[filter.name];
      if (!read) throw new SimError("InvalidParameterValue", `The filter '${filter.name}' is invalid`);
      tests.push((r) => {
        const value = read(r);
        if (typeof value === "string" || value === undefined) return anyMatch(values, value);
        return value.some((v) => anyMatch(values, v));
      });
    }
  }
  return (resource) => {
    for (const test of tests) if (!test(resource)) return false;
    return true;
  };
}
