// The lineage as Graphviz DOT: `leaven graph --format dot | dot -Tsvg > lineage.svg`.
import { type DrawnSpec, drawingOrder } from "./drawing.ts";
import type { LineageGraph } from "./graph.ts";

function quote(text: string): string {
  return `"${text.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n")}"`;
}

const FILL: Record<string, string> = { foundation: "#e8f0fe", base: "#e6f4ea", app: "#fef7e0" };

export function renderDot(graph: LineageGraph, specs: ReadonlyMap<string, DrawnSpec>): string {
  const lines = [
    "digraph lineage {",
    "  rankdir=TB;",
    '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
  ];
  const edges: string[] = [];
  for (const { name } of drawingOrder(graph)) {
    const spec = specs.get(name);
    if (spec === undefined) continue;
    const facts = [spec.layer, spec.version].filter((x) => x !== undefined).join(" ");
    const label = [name, facts, ...spec.channels.map((c) => `${c.name}: ${c.summary}`)].join("\n");
    lines.push(
      `  ${quote(name)} [label=${quote(label)}, fillcolor=${quote(FILL[spec.layer] ?? "#ffffff")}];`,
    );
    if (spec.parent !== undefined && specs.has(spec.parent.spec)) {
      edges.push(`  ${quote(spec.parent.spec)} -> ${quote(name)} [label=${quote(spec.parent.channel)}];`);
    }
  }
  lines.push(...edges, "}");
  return `${lines.join("\n")}\n`;
}
