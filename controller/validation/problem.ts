// A problem found in one document, before it is given a file position.
import type { FieldPath } from "../sources/source-document.ts";

export interface Problem {
  path: FieldPath;
  /** Point at the key (a field that should not be there) or at the value / nearest existing ancestor. */
  target: "value" | "key";
  message: string;
  severity?: "error" | "warning";
}

export type Fields = Record<string, unknown>;

/** The value as a mapping of fields, or undefined when it is not one. */
export function fields(value: unknown): Fields | undefined {
  return value !== null && typeof value === "object" && !Array.isArray(value) ? (value as Fields) : undefined;
}

export function text(value: unknown): string | undefined {
  return typeof value === "string" ? value : undefined;
}
