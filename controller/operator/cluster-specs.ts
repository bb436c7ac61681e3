// ImageSpec custom resources → the ValidationResult the reconciler plans from: the same schema, spec rules
// and rules across specs (names, parents, cycles) as spec files, so an invalid resource blocks only itself
// and its descendants, and is in `blocked` (its images are never retired or terminated).
import type { KubernetesObject } from "@kubernetes/client-node";
import type { SourceDocument } from "../sources/source-document.ts";
import type { Diagnostic, Position, ValidationResult } from "../validation/result.ts";
import { validateDocuments } from "../validation/validate.ts";

/** An ImageSpec as the API server returns it (spec and status are the CRD's, unchecked here). */
export interface ImageSpecObject extends KubernetesObject {
  spec?: unknown;
  status?: Record<string, unknown>;
}

/** `namespace/name`: the work queue's key and the "file" diagnostics name. */
export function keyOf(object: KubernetesObject): string {
  return `${object.metadata?.namespace ?? ""}/${object.metadata?.name ?? ""}`;
}

/** Whether the resource is being deleted (its deletion policy is applied, then its finalizer removed). */
export function isDeleting(object: KubernetesObject): boolean {
  return object.metadata?.deletionTimestamp !== undefined && object.metadata.deletionTimestamp !== null;
}

/**
 * The document validation sees: apiVersion, kind, name, labels and annotations and the spec; server-side
 * metadata (uid, managedFields, finalizers…) and the status Leaven writes are not the user's input.
 */
function documentOf(object: ImageSpecObject): Record<string, unknown> {
  const metadata: Record<string, unknown> = { name: object.metadata?.name };
  if (object.metadata?.labels) metadata.labels = object.metadata.labels;
  if (object.metadata?.annotations) metadata.annotations = object.metadata.annotations;
  return { apiVersion: object.apiVersion, kind: object.kind, metadata, spec: object.spec };
}

function sourceOf(object: ImageSpecObject, index: number): SourceDocument {
  const file = `imagespec ${keyOf(object)}`;
  const position: Position = { file, line: 1, column: 1 };
  return { file, index, value: documentOf(object), position, locate: () => position };
}

/** Validates every live resource (those being deleted are left out: the planner no longer sees them). */
export function validateResources(objects: readonly ImageSpecObject[]): ValidationResult {
  const live = objects.filter((o) => !isDeleting(o));
  live.sort((a, b) => keyOf(a).localeCompare(keyOf(b)));
  return validateDocuments(live.map(sourceOf));
}

/** The error diagnostics of one resource, by the key its source was named with. */
export function diagnosticsOf(validation: ValidationResult, object: KubernetesObject): Diagnostic[] {
  const file = `imagespec ${keyOf(object)}`;
  return validation.diagnostics.filter((d) => d.severity === "error" && d.position.file === file);
}
