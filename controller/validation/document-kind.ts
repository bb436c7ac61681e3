// Decides whether a document is an ImageSpec; anything else in the tree is skipped with a note.
import { fields, text } from "./problem.ts";

export const API_GROUP = "leaven.dev";

/** undefined when the document is an ImageSpec (or meant to be one), else why it is skipped. */
export function notAnImageSpec(value: unknown): string | undefined {
  const document = fields(value);
  if (document === undefined) {
    const what = Array.isArray(value) ? "a list" : `a ${typeof value}`;
    return `skipped: the document is ${what}, not a leaven.dev ImageSpec`;
  }
  const apiVersion = text(document.apiVersion);
  const kind = text(document.kind);
  // A leaven.dev document of another version, or an ImageSpec of another group, is probably a typo:
  // validate it so the schema names the right value.
  if (kind === "ImageSpec" || apiVersion?.startsWith(`${API_GROUP}/`)) return undefined;
  if (apiVersion === undefined && kind === undefined) {
    return "skipped: no apiVersion or kind; an ImageSpec starts with apiVersion: leaven.dev/v1alpha1 and kind: ImageSpec";
  }
  return `skipped: ${kind ?? "no kind"} (${apiVersion ?? "no apiVersion"}) is not a leaven.dev ImageSpec`;
}
