// Planning part of an estate. When a whole plan found nothing to do (the base) and since then only some specs
// changed — their documents, their images, their instances — only those specs' lineage can plan differently:
// a spec's plan reads its own document and images, its parent's channels (ancestors), and its children's
// images (retention keeps a parent while a child exists; revocation taints descendants). So the scope is the
// changed specs with their descendants, and every ancestor of those; the rest of the plan is the base's.
import type { ValidSpec } from "../validation/result.ts";
import type { Plan } from "./plan.ts";

export interface PlanScope {
  /** The specs planned again: closed under parents and children (see scopeOf). */
  specs: ReadonlySet<string>;
  /**
   * A whole plan of the same specs with no action, no bake region and no usage to observe: every spec outside
   * the scope has its status and retention report from it.
   */
  base: Plan;
}

/** The changed specs, their descendants, and the ancestors of all of them. Unknown names are ignored. */
export function scopeOf(specs: readonly ValidSpec[], changed: Iterable<string>): Set<string> {
  const parentOf = new Map<string, string | undefined>();
  const children = new Map<string, string[]>();
  for (const { name, document } of specs) {
    const parent = document.spec.parent?.spec;
    parentOf.set(name, parent);
    if (parent === undefined) continue;
    const list = children.get(parent);
    if (list) list.push(name);
    else children.set(parent, [name]);
  }
  const scope = new Set<string>();
  const down = [...changed].filter((name) => parentOf.has(name));
  while (down.length > 0) {
    const name = down.pop()!;
    if (scope.has(name)) continue;
    scope.add(name);
    down.push(...(children.get(name) ?? []));
  }
  for (const name of [...scope]) {
    for (
      let parent = parentOf.get(name);
      parent !== undefined && !scope.has(parent);
      parent = parentOf.get(parent)
    )
      scope.add(parent);
  }
  return scope;
}

/** Statuses and retention report of the base for specs outside the scope, the scoped plan's for the rest. */
export function mergeScoped(scope: PlanScope, scoped: Plan): Plan {
  const { base, specs } = scope;
  const byName = new Map(scoped.statuses.map((s) => [s.name, s]));
  const statuses = base.statuses.map((s) => (specs.has(s.name) ? (byName.get(s.name) ?? s) : s));
  const merged: Plan = { ...scoped, statuses };
  if (base.retention || scoped.retention) {
    const kept = [
      ...(base.retention?.kept ?? []).filter((k) => !specs.has(k.spec)),
      ...(scoped.retention?.kept ?? []),
    ];
    merged.retention = {
      kept,
      orphans: base.retention?.orphans ?? [],
      usageNeeded: scoped.retention?.usageNeeded ?? new Map(),
      ...(scoped.retention?.paused ? { paused: scoped.retention.paused } : {}),
    };
  }
  return merged;
}
