// Parses YAML text into SourceDocuments that remember where each node is (via the yaml package's CST ranges).
import { type Document, isAlias, isMap, isScalar, isSeq, LineCounter, type Node, parseAllDocuments } from "yaml";
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
  const lineCounter = new LineCounter();
  const at = (offset: number): Position => {
    const { line, col } = lineCounter.linePos(offset);
    return { file, line, column: col };
  };
  const out: ParsedYaml = { documents: [], diagnostics: [], broken: [] };
  const parsed = parseAllDocuments(text, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (!Array.isArray(parsed) || parsed.length === 0) {
    for (const error of (parsed as { errors?: Array<{ message: string; pos: [number, number] }> }).errors ?? []) {
      out.diagnostics.push(yamlDiagnostic(at(error.pos[0]), error.message));
    }
    return out;
  }
  parsed.forEach((doc, index) => {
    const start = at(doc.contents?.range?.[0] ?? doc.range[0]);
    for (const warning of doc.warnings) {
      out.diagnostics.push({ severity: "warning", position: at(warning.pos[0]), path: "", message: warning.message });
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
