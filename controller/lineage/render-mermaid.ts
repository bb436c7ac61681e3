// The lineage as a Mermaid flowchart (renders in GitHub markdown).
import { type DrawnSpec, drawingOrder } from "./drawing.ts";
import type { LineageGraph } from "./graph.ts";

// Spec names are [a-z0-9-]; a prefix keeps Mermaid keywords such as `end` from being read as syntax.
function nodeId(name: string): string {
  return `s_${name.replace(/[^a-zA-Z0-9]/g, "_")}`;
}

function escapeHtml(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/"/g, "&quot;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

export function renderMermaid(graph: LineageGraph, specs: ReadonlyMap<string, DrawnSpec>): string {
  const lines = ["flowchart TD"];
  const edges: string[] = [];
  const byLayer = new Map<string, string[]>();
  for (const { name } of drawingOrder(graph)) {
    const spec = specs.get(name);
    if (spec === undefined) continue;
    const title = `<b>${escapeHtml(name)}</b>`;
    const facts = escapeHtml([spec.layer, spec.version].filter((x) => x !== undefined).join(" "));
    const channels = spec.channels.map((c) => escapeHtml(`${c.name}: ${c.summary}`));
    lines.push(`  ${nodeId(name)}["${[title, facts, ...channels].join("<br/>")}"]`);
    if (spec.parent !== undefined && specs.has(spec.parent.spec)) {
      edges.push(`  ${nodeId(spec.parent.spec)} -->|${escapeHtml(spec.parent.channel)}| ${nodeId(name)}`);
    }
    byLayer.set(spec.layer, [...(byLayer.get(spec.layer) ?? []), nodeId(name)]);
  }
  lines.push(...edges);
  lines.push("  classDef foundation fill:#e8f0fe,stroke:#4a6fa5");
  lines.push("  classDef base fill:#e6f4ea,stroke:#3c8d5a");
  lines.push("  classDef app fill:#fef7e0,stroke:#b08a1e");
  for (const [layer, ids] of byLayer) lines.push(`  class ${ids.join(",")} ${layer}`);
  return `${lines.join("\n")}\n`;
}
