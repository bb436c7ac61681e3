// The lineage: a directed graph over specs with an edge parent → child. Queries are deterministic
// (ties broken by name) so plans and drawings do not depend on file order.

export interface LineageEdge {
  parent: string;
  child: string;
}

const NONE: readonly string[] = Object.freeze([]);

export class LineageGraph {
  readonly #nodes = new Set<string>();
  // Lists only for nodes that have edges: most specs of a large estate are leaves, and 200,000 empty
  // arrays per graph were most of a big load's memory.
  readonly #parents = new Map<string, string[]>();
  readonly #children = new Map<string, string[]>();

  /** Nodes are the given names; edges whose ends are not nodes are ignored (validation reports them). */
  constructor(names: Iterable<string>, edges: Iterable<LineageEdge> = []) {
    for (const name of names) this.#nodes.add(name);
    for (const { parent, child } of edges) {
      if (!this.#nodes.has(child) || !this.#nodes.has(parent)) continue;
      const parents = this.#parents.get(child);
      if (parents?.includes(parent)) continue;
      if (parents === undefined) this.#parents.set(child, [parent]);
      else parents.push(parent);
      const children = this.#children.get(parent);
      if (children === undefined) this.#children.set(parent, [child]);
      else children.push(child);
    }
    for (const list of this.#parents.values()) list.sort(byName);
    for (const list of this.#children.values()) list.sort(byName);
  }

  /** A graph of specs that each name at most one parent spec. */
  static fromSpecs(specs: Iterable<{ name: string; parent?: string | undefined }>): LineageGraph {
    const list = [...specs];
    const edges: LineageEdge[] = [];
    for (const spec of list)
      if (spec.parent !== undefined) edges.push({ parent: spec.parent, child: spec.name });
    return new LineageGraph(
      list.map((s) => s.name),
      edges,
    );
  }

  get size(): number {
    return this.#nodes.size;
  }

  has(name: string): boolean {
    return this.#nodes.has(name);
  }

  /** Node names, sorted by name. */
  names(): string[] {
    return [...this.#nodes].sort(byName);
  }

  parents(name: string): readonly string[] {
    return this.#parents.get(name) ?? NONE;
  }

  children(name: string): readonly string[] {
    return this.#children.get(name) ?? NONE;
  }

  /** Nodes without parents, sorted by name. */
  roots(): string[] {
    return this.names().filter((n) => this.parents(n).length === 0);
  }

  /** Every ancestor of `name`, nearest first (breadth-first, ties by name). */
  ancestors(name: string): string[] {
    return this.#reach(name, (n) => this.parents(n));
  }

  /** Every descendant of `name`, nearest first (breadth-first, ties by name). */
  descendants(name: string): string[] {
    return this.#reach(name, (n) => this.children(n));
  }

  #reach(start: string, next: (name: string) => readonly string[]): string[] {
    const seen = new Set<string>([start]);
    const out: string[] = [];
    let frontier = [start];
    while (frontier.length > 0) {
      const following: string[] = [];
      for (const node of frontier) {
        for (const n of next(node)) {
          if (seen.has(n)) continue;
          seen.add(n);
          following.push(n);
        }
      }
      following.sort(byName);
      // One push per item: a foundation's 200,000 descendants would overflow the stack as arguments.
      for (const n of following) out.push(n);
      frontier = following;
    }
    return out;
  }

  /**
   * Every elementary cycle found by a depth-first walk, each as a path that follows parent references
   * and returns to its start: ["a", "b", "a"] means a's parent is b and b's parent is a. Each cycle
   * starts at its smallest name; cycles are sorted by that name.
   */
  cycles(): string[][] {
    const state = new Map<string, "active" | "done">();
    const found = new Map<string, string[]>();
    for (const root of this.names()) {
      if (state.has(root)) continue;
      // Iterative DFS so deep lineages cannot overflow the stack.
      const stack: Array<{ node: string; next: number }> = [{ node: root, next: 0 }];
      const onPath: string[] = [root];
      state.set(root, "active");
      while (stack.length > 0) {
        const frame = stack[stack.length - 1]!;
        const parents = this.parents(frame.node);
        if (frame.next >= parents.length) {
          state.set(frame.node, "done");
          stack.pop();
          onPath.pop();
          continue;
        }
        const parent = parents[frame.next++]!;
        const seen = state.get(parent);
        if (seen === "active") {
          const cycle = onPath.slice(onPath.indexOf(parent));
          const key = rotateToSmallest(cycle);
          found.set(key.join("\u0000"), [...key, key[0]!]);
        } else if (seen === undefined) {
          state.set(parent, "active");
          stack.push({ node: parent, next: 0 });
          onPath.push(parent);
        }
      }
    }
    return [...found.values()].sort((a, b) => byName(a[0]!, b[0]!));
  }

  /** The first cycle (see cycles()), or undefined when the graph is acyclic. */
  findCycle(): string[] | undefined {
    return this.cycles()[0];
  }

  /**
   * Parents before children: nodes ordered by depth (longest path from a root), then by name, so
   * foundations come first, then bases, then apps. Throws when the graph has a cycle.
   */
  topologicalOrder(): string[] {
    const depth = new Map<string, number>();
    const waiting = new Map<string, number>();
    let ready: string[] = [];
    for (const name of this.#nodes) {
      const parents = this.parents(name);
      waiting.set(name, parents.length);
      if (parents.length === 0) {
        ready.push(name);
        depth.set(name, 0);
      }
    }
    const ordered: string[] = [];
    while (ready.length > 0) {
      const next: string[] = [];
      for (const node of ready) {
        ordered.push(node);
        for (const child of this.children(node)) {
          depth.set(child, Math.max(depth.get(child) ?? 0, depth.get(node)! + 1));
          const left = waiting.get(child)! - 1;
          waiting.set(child, left);
          if (left === 0) next.push(child);
        }
      }
      ready = next;
    }
    if (ordered.length < this.size) {
      const cycle = this.findCycle() ?? [];
      throw new Error(`lineage has a cycle: ${cycle.join(" → ")}`);
    }
    return ordered.sort((a, b) => depth.get(a)! - depth.get(b)! || byName(a, b));
  }
}

function rotateToSmallest(cycle: string[]): string[] {
  let smallest = 0;
  for (let i = 1; i < cycle.length; i++) if (byName(cycle[i]!, cycle[smallest]!) < 0) smallest = i;
  return [...cycle.slice(smallest), ...cycle.slice(0, smallest)];
}

// Code-unit order, independent of locale.
function byName(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
