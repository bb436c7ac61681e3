import type { ImageSpec } from "../api/types.generated.ts";

/** Where a value came from: 1-based line and column. */
export interface Position {
  file: string;
  line: number;
  column: number;
}

export interface Diagnostic {
  severity: "error" | "warning" | "note";
  /** file:line:column of the offending value (or of the document when no finer position exists). */
  position: Position;
  /** Dotted field path, e.g. spec.channels.release.build; empty for whole-document problems. */
  path: string;
  /** What went wrong and what would be valid. */
  message: string;
  /** The spec the diagnostic belongs to, when known. */
  spec?: string;
}

/** A spec that passed schema and semantic checks, with where it was defined. */
export interface ValidSpec {
  name: string;
  document: ImageSpec;
  position: Position;
}

export interface ValidationResult {
  /** Valid specs whose ancestors are all valid, in topological order (parents first). */
  specs: ValidSpec[];
  diagnostics: Diagnostic[];
  /** Specs that are not reconciled, with why: invalid themselves, or descendants of an invalid spec. */
  blocked: Map<string, string>;
}

/** `file:line:column path: message` — the one format every diagnostic is printed in. */
export function formatDiagnostic(d: Diagnostic): string {
  const where = `${d.position.file}:${d.position.line}:${d.position.column}`;
  const prefix = d.severity === "error" ? "" : `${d.severity}: `;
  return `${where} ${prefix}${d.path ? `${d.path}: ` : ""}${d.message}`;
}
