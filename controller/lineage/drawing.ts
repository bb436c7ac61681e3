// What a drawing shows of each spec: layer, version, the parent channel it bakes on, and its channels.
import type { ChannelSelector } from "../api/types.generated.ts";
import type { ValidSpec } from "../validation/result.ts";
import type { LineageGraph } from "./graph.ts";

export interface DrawnSpec {
  name: string;
  layer: string;
  version?: string;
  /** Parent spec and the channel of it this spec bakes on. */
  parent?: { spec: string; channel: string };
  /** Channel name and selector summary, in the order the spec lists them. */
  channels: Array<{ name: string; summary: string }>;
}

/** `latest`, `2.3.0+5f2c91ab`, `version ^1.14.0`, `ami-0abc…`, each followed by `, minAge 7d` when set. */
export function selectorSummary(selector: ChannelSelector): string {
  const parts: string[] = [];
  if (selector.latest === true) parts.push("latest");
  if (selector.build !== undefined) parts.push(selector.build);
  if (selector.version !== undefined) parts.push(`version ${selector.version}`);
  if (selector.image !== undefined) parts.push(selector.image);
  if (parts.length === 0) parts.push("nothing selected");
  if (selector.minAge !== undefined) parts.push(`minAge ${selector.minAge}`);
  return parts.join(", ");
}

export function drawnSpec(spec: ValidSpec): DrawnSpec {
  const s = spec.document.spec;
  const drawn: DrawnSpec = {
    name: spec.name,
    layer: s.layer,
    channels: Object.entries(s.channels ?? {}).map(([name, selector]) => ({
      name,
      summary: selectorSummary(selector),
    })),
  };
  if (s.version !== undefined) drawn.version = s.version;
  if (s.parent !== undefined) drawn.parent = { spec: s.parent.spec, channel: s.parent.channel };
  return drawn;
}

/** Specs in the order a drawing lists them: depth first from each root, children by name. */
export function drawingOrder(graph: LineageGraph): Array<{ name: string; depth: number; last: boolean[] }> {
  const out: Array<{ name: string; depth: number; last: boolean[] }> = [];
  const visit = (name: string, last: boolean[]) => {
    out.push({ name, depth: last.length, last });
    const children = graph.children(name);
    for (const [i, child] of children.entries()) visit(child, [...last, i === children.length - 1]);
  };
  for (const root of graph.roots()) visit(root, []);
  return out;
}
