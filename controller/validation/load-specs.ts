// One call from paths to validated specs and their lineage: sources → validation → lineage graph.
import type { LineageGraph } from "../lineage/graph.ts";
import { type ParseCache, readFileSources } from "../sources/file-source.ts";
import { notAnImageSpec } from "./document-kind.ts";
import type { ValidationResult } from "./result.ts";
import { sortDiagnostics, validateWithLineage } from "./validate.ts";

export interface LoadResult extends ValidationResult {
  /** Non-empty YAML documents read, including skipped and unparsable ones. */
  documentsRead: number;
  /** Files read, as shown in diagnostics, in reading order. */
  files: string[];
  /** Lineage of the valid specs (result.specs). */
  graph: LineageGraph;
  /**
   * Files (as in `files`) with an ImageSpec document in them, valid or not, or with a document too broken
   * to tell: where the input has specs, so that a path without any can be named.
   */
  imageSpecFiles: string[];
}

/**
 * Reads every ImageSpec under `paths` (YAML files or directories, relative to `cwd`), validates them and
 * builds their lineage. Never throws for bad content (that is in diagnostics); throws a UserError for a
 * path that does not exist.
 */
export async function loadSpecs(
  paths: string[],
  options: { cwd?: string; parseCache?: ParseCache } = {},
): Promise<LoadResult> {
  const cwd = options.cwd ?? process.cwd();
  const read = await readFileSources(paths, cwd, options.parseCache);
  const { result: validated, graph } = validateWithLineage(read.documents, { broken: read.broken });
  const imageSpecFiles = new Set<string>();
  for (const document of read.documents)
    if (notAnImageSpec(document.value) === undefined) imageSpecFiles.add(document.file);
  for (const diagnostic of read.diagnostics)
    if (diagnostic.severity === "error") imageSpecFiles.add(diagnostic.position.file);
  return {
    ...validated,
    diagnostics: sortDiagnostics([...read.diagnostics, ...validated.diagnostics], read.files),
    documentsRead: read.documentsRead,
    files: read.files,
    graph,
    imageSpecFiles: read.files.filter((file) => imageSpecFiles.has(file)),
  };
}
