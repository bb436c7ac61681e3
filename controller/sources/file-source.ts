// Reads ImageSpec documents from YAML files and directories.
import { readFile } from "node:fs/promises";
import type { Diagnostic, Position } from "../validation/result.ts";
import { discoverFiles } from "./discover.ts";
import type { SourceDocument } from "./source-document.ts";
import { parseYamlDocuments } from "./yaml-documents.ts";

export interface ReadSourcesResult {
  files: string[];
  documents: SourceDocument[];
  diagnostics: Diagnostic[];
  /** Documents unusable because of YAML errors (with the spec name when one could be read). */
  broken: Array<{ name?: string; position: Position }>;
  /** Every non-empty document read, whether usable or not. */
  documentsRead: number;
}

/**
 * Parsed files by path, kept by a long-running reader (watch mode) so a reload parses only the files whose
 * text changed; parsing is most of a load.
 */
export type ParseCache = Map<string, { text: string; parsed: ReturnType<typeof parseYamlDocuments> }>;

/** Reads every YAML document under `paths` (files or directories), in sorted file order. */
export async function readFileSources(
  paths: readonly string[],
  cwd: string,
  cache?: ParseCache,
): Promise<ReadSourcesResult> {
  const files = await discoverFiles(paths, cwd);
  const texts = await Promise.all(
    files.map(async (file) => {
      try {
        return { text: await readFile(file.absolute, "utf8") };
      } catch (error) {
        return { error: (error as NodeJS.ErrnoException).code ?? String(error) };
      }
    }),
  );
  const result: ReadSourcesResult = {
    files: [],
    documents: [],
    diagnostics: [],
    broken: [],
    documentsRead: 0,
  };
  files.forEach((file, i) => {
    const read = texts[i]!;
    result.files.push(file.display);
    if ("error" in read) {
      result.diagnostics.push({
        severity: "error",
        position: { file: file.display, line: 1, column: 1 },
        path: "",
        message: `cannot read file (${read.error}); check its permissions`,
      });
      return;
    }
    const cached = cache?.get(file.absolute);
    const parsed =
      cached && cached.text === read.text ? cached.parsed : parseYamlDocuments(read.text, file.display);
    cache?.set(file.absolute, { text: read.text, parsed });
    result.documents.push(...parsed.documents);
    result.diagnostics.push(...parsed.diagnostics);
    result.broken.push(...parsed.broken);
    result.documentsRead += parsed.documents.length + parsed.broken.length;
  });
  if (cache) {
    const present = new Set(files.map((file) => file.absolute));
    for (const path of cache.keys()) if (!present.has(path)) cache.delete(path);
  }
  return result;
}
