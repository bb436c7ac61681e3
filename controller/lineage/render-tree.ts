// The lineage as a terminal tree: foundations at the left, their bases and apps indented below.
import { type DrawnSpec, drawingOrder } from "./drawing.ts";
import type { LineageGraph } from "./graph.ts";

export function renderTree(graph: LineageGraph, specs: ReadonlyMap<string, DrawnSpec>): string {
  const lines: string[] = [];
  for (const { name, last } of drawingOrder(graph)) {
    const spec = specs.get(name);
    if (spec === undefined) continue;
    // Ancestors' "last child" flags decide whether their vertical rule continues down this line.
    const indent = last
      .slice(0, -1)
      .map((isLast) => (isLast ? "    " : "│   "))
      .join("");
    const branch = last.length === 0 ? "" : last[last.length - 1] ? "└── " : "├── ";
    const facts = [spec.layer, spec.version].filter((x) => x !== undefined).join(" ");
    const on = spec.parent === undefined ? "" : `, on ${spec.parent.channel}`;
    const channels = spec.channels.map((c) => `${c.name}: ${c.summary}`).join("; ");
    lines.push(`${indent}${branch}${name} (${facts}${on})${channels ? `  ${channels}` : ""}`);
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
