// Reads ImageSpec documents from YAML files and directories.
import { readFile } from "node:fs/promises";
import type { Diagnostic, Position } from "../validation/result.ts";
import { type DiscoveredFile, discoverFiles } from "./discover.ts";
import { readProblem } from "./read-problem.ts";
import type { SourceDocument } from "./source-document.ts";
import { decodeUtf8, positionOfByte } from "./utf8.ts";
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

type FileText = { text: string } | { problem: string; position?: { line: number; column: number } };

/**
 * Reads every YAML document under `paths` (files or directories), in sorted file order. Files are read one
 * after another (the next one while the current one parses), so only about one file's bytes are held on
 * top of what its documents keep.
 */
export async function readFileSources(
  paths: readonly string[],
  cwd: string,
  cache?: ParseCache,
): Promise<ReadSourcesResult> {
  const files = await discoverFiles(paths, cwd);
  const result: ReadSourcesResult = {
    files: [],
    documents: [],
    diagnostics: [],
    broken: [],
    documentsRead: 0,
  };
  let next = files.length > 0 ? readText(files[0]!) : undefined;
  for (let i = 0; i < files.length; i++) {
    const file = files[i]!;
    const read = await next!;
    next = i + 1 < files.length ? readText(files[i + 1]!) : undefined;
    result.files.push(file.display);
    if ("problem" in read) {
      result.diagnostics.push({
        severity: "error",
        position: { file: file.display, line: read.position?.line ?? 1, column: read.position?.column ?? 1 },
        path: "",
        message: read.problem,
      });
      continue;
    }
    const cached = cache?.get(file.absolute);
    const parsed =
      cached && cached.text === read.text ? cached.parsed : parseYamlDocuments(read.text, file.display);
    cache?.set(file.absolute, { text: read.text, parsed });
    // One push per item: spreading 200,000 documents into push's arguments overflows the stack.
    for (const document of parsed.documents) result.documents.push(document);
    for (const diagnostic of parsed.diagnostics) result.diagnostics.push(diagnostic);
    for (const broken of parsed.broken) result.broken.push(broken);
    result.documentsRead += parsed.documents.length + parsed.broken.length;
  }
  if (cache) {
    const present = new Set(files.map((file) => file.absolute));
    for (const path of cache.keys()) if (!present.has(path)) cache.delete(path);
  }
  return result;
}

async function readText(file: DiscoveredFile): Promise<FileText> {
  let bytes: Buffer;
  try {
    bytes = await readFile(file.absolute);
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? String(error);
    return { problem: await readProblem(file.absolute, code) };
  }
  const decoded = decodeUtf8(bytes);
  if ("text" in decoded) return decoded;
  const hex = decoded.byte.toString(16).padStart(2, "0");
  return {
    problem: `not valid UTF-8: byte 0x${hex} at offset ${decoded.invalidAt} is not part of a UTF-8 character; save the file as UTF-8`,
    position: positionOfByte(bytes, decoded.invalidAt),
  };
}
