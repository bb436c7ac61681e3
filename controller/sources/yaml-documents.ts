// Parses YAML text into SourceDocuments that remember where each node is (via the yaml package's CST ranges).
//
// Two paths give the same documents. The fast path reads values with js-yaml (several times faster
// than building the yaml package's AST) and parses with the yaml package only when a position inside a
// document is asked for, i.e. when there is something to report. Files the fast path cannot read
// exactly as the yaml package would (syntax errors, anchors, unusual document markers) take the
// reference path: yaml's parseAllDocuments with a LineCounter.
import { CORE_SCHEMA, loadAll } from "js-yaml";
import {
  type Document,
  isAlias,
  isMap,
  isScalar,
  isSeq,
  LineCounter,
  type Node,
  parseAllDocuments,
} from "yaml";
import type { Diagnostic, Position } from "../validation/result.ts";
import type { FieldPath, SourceDocument } from "./source-document.ts";

export interface ParsedYaml {
  documents: SourceDocument[];
  diagnostics: Diagnostic[];
  /** Documents that could not be used because of YAML errors, with the spec name when one could be read. */
  broken: Array<{ name?: string; position: Position }>;
}

// Aliases expand on conversion; cap them so a "billion laughs" file cannot exhaust memory.
const MAX_ALIAS_COUNT = 100;

/** Splits a multi-document YAML text into documents. Never throws: YAML errors become diagnostics. */
export function parseYamlDocuments(text: string, file: string): ParsedYaml {
  return parseFast(text, file) ?? parseYamlDocumentsWithAst(text, file);
}

/**
 * Documents are parsed a chunk at a time: runs of whole documents cut before a `---` line, about
 * CHUNK_BYTES each. js-yaml's memory for one call grows far faster than its input (a 50 MB file took
 * 1.5 GB in one loadAll), and the yaml package's AST, built only to locate a problem, is built for the
 * chunk that holds the document, not for the whole file.
 */
const CHUNK_BYTES = 64 * 1024;

function parseFast(text: string, file: string): ParsedYaml | undefined {
  // A `<<` key may be a merge key to one parser and a plain key to the other: leave it to the reference.
  if (text.includes("<<")) return undefined;
  // A directive applies to the document after it, which a cut could separate it from.
  if (/^%/m.test(text)) return undefined;
  // Document starts come in increasing order: their lines are counted on the way. The table of every
  // line's start, for positions anywhere, is built only when a problem is located.
  let counted = { offset: 0, line: 1, lineStart: 0 };
  const startAt = (offset: number): Position => {
    let { line, lineStart } = counted;
    for (let i = text.indexOf("\n", counted.offset); i !== -1 && i < offset; i = text.indexOf("\n", i + 1)) {
      line++;
      lineStart = i + 1;
    }
    counted = { offset, line, lineStart };
    return { file, line, column: offset - lineStart + 1 };
  };
  let lines: number[] | undefined;
  const at = (offset: number): Position => {
    lines ??= lineStarts(text);
    let low = 0;
    let high = lines.length - 1;
    while (low < high) {
      const mid = (low + high + 1) >> 1;
      if (lines[mid]! <= offset) low = mid;
      else high = mid - 1;
    }
    return { file, line: low + 1, column: offset - lines[low]! + 1 };
  };
  const out: ParsedYaml = { documents: [], diagnostics: [], broken: [] };
  const strings = new Map<string, string>();
  let index = 0;
  for (const [from, to] of chunks(text)) {
    const chunk = text.slice(from, to);
    let values: unknown[];
    try {
      // maxAliases 0: a file with aliases takes the reference path, which caps alias expansion.
      values = loadAll(chunk, { schema: CORE_SCHEMA, json: false, maxAliases: 0, filename: file });
    } catch {
      return undefined; // the reference path reports the error with the yaml package's position and wording
    }
    const starts = documentStarts(chunk);
    if (starts.length !== values.length) return undefined;
    for (let i = 0; i < values.length; i++) values[i] = intern(values[i], strings);
    let ast: { docs: Document[] } | undefined;
    const locateIn = (start: number, path: FieldPath, target: "value" | "key"): Position => {
      ast ??= {
        docs: parseAllDocuments(chunk, { prettyErrors: false, logLevel: "error" }) as Document[],
      };
      const doc = ast.docs.find((d) => startOf(d.contents) === start);
      return at(from + (doc === undefined ? start : locateOffset(doc, path, target)));
    };
    values.forEach((value, i) => {
      const documentIndex = index + i;
      if (value === null || value === undefined) return;
      const start = starts[i]!;
      out.documents.push({
        file,
        index: documentIndex,
        value,
        position: startAt(from + start),
        locate: (path, target = "value") => locateIn(start, path, target),
      });
    });
    index += values.length;
  }
  return out;
}

/**
 * The value with each short string replaced by the first equal one seen in the file: documents of one
 * file repeat the same apiVersion, kind, layer, regions and channel names, and one copy of each instead
 * of one per document is a third of a large file's memory.
 */
function intern(value: unknown, strings: Map<string, string>): unknown {
  if (typeof value === "string") {
    if (value.length > MAX_INTERNED) return value;
    const seen = strings.get(value);
    if (seen !== undefined) return seen;
    // The repeated strings show up early; unique ones (spec names) would only grow the table.
    if (strings.size < MAX_INTERNED_STRINGS) strings.set(value, value);
    return value;
  }
  if (value === null || typeof value !== "object") return value;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) value[i] = intern(value[i], strings);
    return value;
  }
  const record = value as Record<string, unknown>;
  for (const key of Object.keys(record)) record[key] = intern(record[key], strings);
  return value;
}

const MAX_INTERNED = 64;
const MAX_INTERNED_STRINGS = 4096;

function lineStarts(text: string): number[] {
  const starts = [0];
  for (let i = text.indexOf("\n"); i !== -1; i = text.indexOf("\n", i + 1)) starts.push(i + 1);
  return starts;
}

/** [from, to) ranges that cover the text, each cut just before a `---` line once it is CHUNK_BYTES long. */
function chunks(text: string): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let from = 0;
  for (let i = text.indexOf("\n---", CHUNK_BYTES - 1); i !== -1; i = text.indexOf("\n---", i + 1)) {
    const line = i + 1;
    if (line - from < CHUNK_BYTES || !isDocumentStart(text, line)) continue;
    out.push([from, line]);
    from = line;
  }
  out.push([from, text.length]);
  return out;
}

/** Whether a `---` marker (followed by whitespace or the end) begins the line at `offset`. */
function isDocumentStart(text: string, offset: number): boolean {
  if (!text.startsWith("---", offset)) return false;
  const next = text[offset + 3];
  return next === undefined || next === " " || next === "\t" || next === "\n" || next === "\r";
}

/**
 * Offset of the first content of each document, found from the document markers (`---`, `...` at the
 * start of a line, which YAML never allows inside a node). -1 for a document without content.
 */
function documentStarts(text: string): number[] {
  const starts: number[] = [];
  let content = -1;
  let explicit = false;
  const close = () => {
    if (content !== -1 || explicit) starts.push(content);
    content = -1;
    explicit = false;
  };
  let offset = 0;
  while (offset <= text.length) {
    const newline = text.indexOf("\n", offset);
    const end = newline === -1 ? text.length : newline;
    const line = text.slice(offset, end);
    if (/^---(\s|$)/.test(line)) {
      close();
      explicit = true;
      const rest = line.slice(3).trimStart();
      if (rest !== "" && !rest.startsWith("#")) content = offset + line.length - rest.length;
    } else if (/^\.\.\.(\s|$)/.test(line)) {
      close();
    } else if (content === -1) {
      const trimmed = line.trimStart();
      const directive = line.startsWith("%") && !explicit;
      if (trimmed !== "" && trimmed !== "\r" && !trimmed.startsWith("#") && !directive) {
        content = offset + line.length - trimmed.length;
      }
    }
    offset = end + 1;
  }
  close();
  return starts;
}

/** The reference path: the yaml package's AST for every document. Never throws. */
export function parseYamlDocumentsWithAst(text: string, file: string): ParsedYaml {
  const lineCounter = new LineCounter();
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  const out: ParsedYaml = { documents: [], diagnostics: [], broken: [] };
  const parsed = parseAllDocuments(text, {
    lineCounter,
    prettyErrors: false,
    uniqueKeys: true,
    logLevel: "error",
  });
  if (!Array.isArray(parsed) || parsed.length === 0) {
    for (const error of (parsed as { errors?: Array<{ message: string; pos: [number, number] }> }).errors ??
      []) {
      out.diagnostics.push(yamlDiagnostic(at(error.pos[0]), error.message));
    }
    return out;
  }
  parsed.forEach((doc, index) => {
    const start = at(doc.contents?.range?.[0] ?? doc.range[0]);
    for (const warning of doc.warnings) {
      out.diagnostics.push({
        severity: "warning",
        position: at(warning.pos[0]),
        path: "",
        message: warning.message,
      });
    }
    let value: unknown;
    let conversionError: string | undefined;
    try {
      value = doc.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
    } catch (error) {
      conversionError = error instanceof Error ? error.message : String(error);
    }
    if (doc.errors.length > 0 || conversionError !== undefined) {
      for (const error of doc.errors) out.diagnostics.push(yamlDiagnostic(at(error.pos[0]), error.message));
      if (conversionError !== undefined) out.diagnostics.push(yamlDiagnostic(start, conversionError));
      const name = nameOf(value);
      out.broken.push(name === undefined ? { position: start } : { name, position: start });
      return;
    }
    // An empty document (a stray `---`) carries nothing to validate.
    if (value === null || value === undefined) return;
    out.documents.push({
      file,
      index,
      value,
      position: start,
      locate: (path, target = "value") => at(locateOffset(doc, path, target)),
    });
  });
  return out;
}

function yamlDiagnostic(position: Position, message: string): Diagnostic {
  return {
    severity: "error",
    position,
    path: "",
    message: `invalid YAML: ${message.replace(/\s+/g, " ").trim()}; fix the syntax (this document was skipped)`,
  };
}

function nameOf(value: unknown): string | undefined {
  if (value === null || typeof value !== "object") return undefined;
  const metadata = (value as Record<string, unknown>).metadata;
  if (metadata === null || typeof metadata !== "object") return undefined;
  const name = (metadata as Record<string, unknown>).name;
  return typeof name === "string" ? name : undefined;
}

function locateOffset(doc: Document, path: FieldPath, target: "value" | "key"): number {
  let node: unknown = doc.contents;
  let offset = startOf(node) ?? doc.range?.[0] ?? 0;
  for (let i = 0; i < path.length; i++) {
    const segment = path[i]!;
    if (isAlias(node)) node = node.resolve(doc);
    if (isMap(node)) {
      const pair = node.items.find((item) => keyText(item.key) === String(segment));
      if (pair === undefined) return offset;
      const keyOffset = startOf(pair.key);
      const valueOffset = startOf(pair.value);
      if (i === path.length - 1 && target === "key" && keyOffset !== undefined) return keyOffset;
      offset = valueOffset ?? keyOffset ?? offset;
      node = pair.value;
    } else if (isSeq(node) && typeof segment === "number") {
      const item = node.items[segment];
      if (item === undefined) return offset;
      offset = startOf(item) ?? offset;
      node = item;
    } else {
      return offset;
    }
  }
  return offset;
}

function keyText(key: unknown): string {
  if (isScalar(key)) return String(key.value);
  return String(key);
}

function startOf(node: unknown): number | undefined {
  if (node === null || typeof node !== "object") return undefined;
  const range = (node as Node).range;
  return range ? range[0] : undefined;
}
