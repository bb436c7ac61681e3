// One document from a source (a YAML file, later a custom resource) with a way to point at its fields.
import type { Position } from "../validation/result.ts";

/** A field path: object keys and array indices, e.g. ["spec", "regions", 1]. */
export type FieldPath = ReadonlyArray<string | number>;

export interface SourceDocument {
  /** File (or resource) the document came from, as shown to users. */
  file: string;
  /** 0-based index of the document within its file. */
  index: number;
  /** The document as plain JSON-like data. */
  value: unknown;
  /** Where the document starts. */
  position: Position;
  /**
   * Where a field is: its value, or (target "key") its key. Falls back to the deepest existing ancestor
   * when the path does not exist, so a missing field points at the object that should hold it.
   */
  locate(path: FieldPath, target?: "value" | "key"): Position;
}

/** `spec.channels.release.build`, `spec.regions[1]`, `spec.channels["a.b"]`. */
export function formatFieldPath(path: FieldPath): string {
  let out = "";
  for (const segment of path) {
    if (typeof segment === "number") out += `[${segment}]`;
    else if (/^[A-Za-z0-9_-]+$/.test(segment)) out += out === "" ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}
