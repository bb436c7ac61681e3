// `leaven graph [paths…]`: draw the foundation → base → app lineage with each spec's channels.
import { type DrawnSpec, drawnSpec } from "../../lineage/drawing.ts";
import { renderDot } from "../../lineage/render-dot.ts";
import { renderMermaid } from "../../lineage/render-mermaid.ts";
import { renderTree } from "../../lineage/render-tree.ts";
import { fittedWrite } from "../../status/fit-text.ts";
import { loadSpecs } from "../../validation/load-specs.ts";
import { formatDiagnostic } from "../../validation/result.ts";
import type { Command } from "../command.ts";
import { UserError } from "../command.ts";
import { emptyPaths } from "../spec-loading.ts";

const renderers = { tree: renderTree, mermaid: renderMermaid, dot: renderDot };

export const graphCommand: Command = {
  name: "graph",
  summary: "Draw the lineage (foundation → base → app) with each spec's channels.",
  usage: "graph [paths…] [--format tree|mermaid|dot]",
  help: `Loads the ImageSpecs under the given files and directories (default: the current directory)
and draws their lineage on stdout. Invalid specs and their descendants are left out, with a note
and the diagnostics on stderr; the exit code is then 1. A path with no ImageSpec under it is a
warning; with none at all the exit code is 1 too.

Options:
  -f, --format <format>  tree (default): an indented tree for the terminal.
                         mermaid: a Mermaid flowchart, e.g. for a markdown file.
                         dot: Graphviz DOT, e.g. | dot -Tsvg > lineage.svg

Examples:
  leaven graph examples
  leaven graph examples --format mermaid
`,
  options: { format: { type: "string", short: "f", default: "tree" } },
  async run({ values, positionals }, io) {
    const format = String(values.format);
    if (!Object.hasOwn(renderers, format)) {
      throw new UserError(`--format must be one of ${Object.keys(renderers).join(", ")}, not "${format}".`);
    }
    const result = await loadSpecs(positionals.length > 0 ? positionals : ["."], { cwd: io.cwd });
    for (const diagnostic of result.diagnostics) {
      if (diagnostic.severity !== "note") fittedWrite(io.stderr, `${formatDiagnostic(diagnostic)}\n`);
    }
    for (const [name, why] of [...result.blocked].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
      fittedWrite(io.stderr, `note: ${name} is not drawn: ${why}\n`);
    }
    for (const { message } of emptyPaths(positionals, result, io.cwd))
      fittedWrite(io.stderr, `warning: ${message}\n`);
    const drawn = new Map<string, DrawnSpec>(result.specs.map((s) => [s.name, drawnSpec(s)]));
    // A tree on a terminal fits its width; mermaid and dot are for tools, and a pipe keeps lines whole.
    const width = io.stdout.isTTY ? Math.max(40, (io.stdout.columns ?? 80) - 1) : undefined;
    io.stdout.write(
      format === "tree"
        ? renderTree(result.graph, drawn, width === undefined ? {} : { width })
        : renderers[format as keyof typeof renderers](result.graph, drawn),
    );
    const nothing = result.imageSpecFiles.length === 0;
    return nothing || result.diagnostics.some((d) => d.severity === "error") ? 1 : 0;
  },
};
