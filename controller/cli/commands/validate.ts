// `leaven validate [paths…]`: load and validate specs; diagnostics to stderr, exit 1 when any is an error.
import { resolve } from "node:path";
import { fittedWrite } from "../../status/fit-text.ts";
import { type LoadResult, loadSpecs } from "../../validation/load-specs.ts";
import { formatDiagnostic } from "../../validation/result.ts";
import { leavenConfigDiagnostics } from "../cloud-target.ts";
import type { Command } from "../command.ts";
import { UserError } from "../command.ts";
import { emptyPaths } from "../spec-loading.ts";

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? "" : "s"}`;
}

/** One line: how many specs are valid, invalid and blocked, from how many files and documents. */
export function summaryLine(result: LoadResult, emptyPaths = 0): string {
  const errors = result.diagnostics.filter((d) => d.severity === "error").length;
  const warnings = result.diagnostics.filter((d) => d.severity === "warning").length + emptyPaths;
  const invalid = [...result.blocked.values()].filter((why) => why.startsWith("invalid")).length;
  const blocked = result.blocked.size - invalid;
  const read = `${plural(result.files.length, "file")}, ${plural(result.documentsRead, "document")}`;
  const counts = [`${plural(result.specs.length, "spec")} valid`];
  if (invalid > 0) counts.push(`${invalid} invalid`);
  if (blocked > 0) counts.push(`${blocked} blocked by an invalid ancestor`);
  if (warnings > 0) counts.push(plural(warnings, "warning"));
  if (result.imageSpecFiles.length === 0)
    return `no ImageSpec found, nothing validated (${read}); pass the files or directories that hold your ImageSpecs`;
  if (errors === 0) return `ok: ${counts.join(", ")} (${read})`;
  return `${plural(errors, "error")}: ${counts.join(", ")} (${read})`;
}

export const validateCommand: Command = {
  name: "validate",
  summary: "Check ImageSpec files: schema, layers, parents, cycles, versions, regions, durations.",
  usage: "validate [paths…] [--output text|json]",
  help: `Reads every *.yaml/*.yml file under the given files and directories (default: the current
directory), validates the ImageSpec documents in them and reports every problem at once, as
file:line:column field.path: message. Documents of other kinds are skipped with a note. A leaven.yaml
beside the specs (in the first path) is checked too.
A path with no ImageSpec under it is a warning that says what was searched. Exits 0 when all specs
are valid, 1 otherwise, and 1 when no ImageSpec was found at all.

Options:
  -o, --output <format>  text (default): diagnostics and a summary on stderr.
                         json: one JSON document on stdout with diagnostics, specs and blocked specs.

Examples:
  leaven validate examples
  leaven validate specs/base.yaml specs/apps --output json
`,
  options: { output: { type: "string", short: "o", default: "text" } },
  async run({ values, positionals }, io) {
    const output = values.output;
    if (output !== "text" && output !== "json") {
      throw new UserError(`--output must be text or json, not "${String(output)}"`);
    }
    const paths = positionals.length > 0 ? positionals : ["."];
    const loaded = await loadSpecs(paths, { cwd: io.cwd });
    // leaven.yaml beside the specs is checked too: plan and apply would refuse it.
    const config = leavenConfigDiagnostics(resolve(io.cwd, paths[0]!), io.cwd);
    const result = { ...loaded, diagnostics: [...config, ...loaded.diagnostics] };
    const empty = emptyPaths(positionals, result, io.cwd);
    // Validating nothing is not a pass: a wrong path in CI must not go green.
    const valid = !result.diagnostics.some((d) => d.severity === "error") && result.imageSpecFiles.length > 0;
    if (output === "json") {
      const document = {
        valid,
        files: result.files,
        documentsRead: result.documentsRead,
        specs: result.specs.map((s) => s.name),
        blocked: Object.fromEntries(result.blocked),
        emptyPaths: empty,
        diagnostics: result.diagnostics.map((d) => ({
          severity: d.severity,
          file: d.position.file,
          line: d.position.line,
          column: d.position.column,
          path: d.path,
          message: d.message,
          ...(d.spec === undefined ? {} : { spec: d.spec }),
          text: formatDiagnostic(d),
        })),
      };
      io.stdout.write(`${JSON.stringify(document, null, 2)}\n`);
      return valid ? 0 : 1;
    }
    for (const diagnostic of result.diagnostics) fittedWrite(io.stderr, `${formatDiagnostic(diagnostic)}\n`);
    for (const { message } of empty) fittedWrite(io.stderr, `warning: ${message}\n`);
    (valid ? io.stdout : io.stderr).write(`${summaryLine(result, empty.length)}\n`);
    return valid ? 0 : 1;
  },
};
