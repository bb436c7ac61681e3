// Which resources are served at which group/version: the built-ins, and those of every established CRD.
import { builtinResourceTypes } from "./builtin-resources.ts";
import type { ResourceType } from "./types.ts";

/** Kubernetes version order: GA before beta before alpha, higher numbers first (v2 > v1 > v1beta2). */
export function compareKubeVersions(a: string, b: string): number {
  const parse = (v: string): [number, number, number] | undefined => {
    const m = /^v(\d+)(?:(alpha|beta)(\d+))?$/.exec(v);
    if (!m) return undefined;
    return [m[2] === "alpha" ? 0 : m[2] === "beta" ? 1 : 2, Number(m[1]), Number(m[3] ?? 0)];
  };
  const pa = parse(a);
  const pb = parse(b);
  if (!pa || !pb) return pa ? -1 : pb ? 1 : a.localeCompare(b);
  return pb[0] - pa[0] || pb[1] - pa[1] || pb[2] - pa[2];
}

export interface ServedGroup {
  name: string;
  /** Preferred first. */
  versions: string[];
}

export class ResourceRegistry {
  readonly #builtins: ResourceType[] = builtinResourceTypes();
  readonly #crds = new Map<string, ResourceType[]>();

  all(): ResourceType[] {
    return [...this.#builtins, ...[...this.#crds.values()].flat()];
  }

  find(group: string, version: string, plural: string): ResourceType | undefined {
    return this.all().find((t) => t.group === group && t.version === version && t.plural === plural);
  }

  resourcesOf(group: string, version: string): ResourceType[] {
    return this.all().filter((t) => t.group === group && t.version === version);
  }

  /** API groups (not the core one), built-ins first as the real server lists them. */
  groups(): ServedGroup[] {
    const versions = new Map<string, Set<string>>();
    for (const type of this.all()) {
      if (type.group === "") continue;
      const set = versions.get(type.group) ?? new Set<string>();
      set.add(type.version);
      versions.set(type.group, set);
    }
    return [...versions].map(([name, set]) => ({ name, versions: [...set].sort(compareKubeVersions) }));
  }

  setCrd(name: string, types: ResourceType[]): void {
    this.#crds.set(name, types);
  }

  removeCrd(name: string): ResourceType[] {
    const types = this.#crds.get(name) ?? [];
    this.#crds.delete(name);
    return types;
  }

  /** Storage keys of namespaced resources (what a namespace deletion empties). */
  namespacedStorage(): ResourceType[] {
    const seen = new Map<string, ResourceType>();
    for (const type of this.all())
      if (type.namespaced && !seen.has(type.storageKey)) seen.set(type.storageKey, type);
    return [...seen.values()];
  }
}
