// The lineage as a terminal tree: foundations at the left, their bases and apps indented below.

import { wrapWords } from "../status/fit-text.ts";
import { type DrawnSpec, drawingOrder } from "./drawing.ts";
import type { LineageGraph } from "./graph.ts";

/**
 * `width` (a terminal's): a line longer than it puts the channels on lines of their own under the name,
 * the tree's rules continued beside them, so the terminal does not cut the tree apart.
 */
export function renderTree(
  graph: LineageGraph,
  specs: ReadonlyMap<string, DrawnSpec>,
  options: { width?: number } = {},
): string {
  const lines: string[] = [];
  const order = drawingOrder(graph);
  for (const [index, { name, last }] of order.entries()) {
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
    const head = `${indent}${branch}${name} (${facts}${on})`;
    const line = `${head}${channels ? `  ${channels}` : ""}`;
    if (options.width === undefined || line.length <= options.width || !channels) {
      lines.push(line);
      continue;
    }
    // Under the name: this spec's own rule down to its children, if it has any.
    const below = last.length === 0 ? "" : last[last.length - 1] ? "    " : "│   ";
    const children = (order[index + 1]?.last.length ?? 0) > last.length;
    const prefix = `${indent}${below}${children ? "│   " : "    "}`;
    lines.push(
      head,
      ...wrapWords(channels, Math.max(20, options.width - prefix.length)).map((row) => prefix + row),
    );
  }
  return lines.length === 0 ? "" : `${lines.join("\n")}\n`;
}
