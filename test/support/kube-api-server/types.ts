// The shapes the in-process Kubernetes API server works with: objects as JSON, and the description of one
// served resource (built in, or from a CustomResourceDefinition).
import { isDeepStrictEqual } from "node:util";
import type { SchemaValidator } from "./schema-validation.ts";

export type JsonRecord = Record<string, unknown>;

export interface ObjectMeta {
  name?: string;
  generateName?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  generation?: number;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  deletionGracePeriodSeconds?: number;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  finalizers?: string[];
  [key: string]: unknown;
}

export interface KubeObject {
  apiVersion?: string;
  kind?: string;
  metadata: ObjectMeta;
  [key: string]: unknown;
}

/** One additionalPrinterColumn of a CRD version (or of a built-in's table). */
export interface PrinterColumn {
  name: string;
  type: string;
  jsonPath: string;
  format?: string;
  description?: string;
  priority?: number;
}

/** Converts between a resource's wire form and the form its storage keeps (events.k8s.io/v1 ↔ v1 Events). */
export interface StorageConversion {
  toStorage(object: KubeObject): KubeObject;
  fromStorage(object: KubeObject): KubeObject;
}

/** One resource as served at one group/version. */
export interface ResourceType {
  /** "" for the core group. */
  group: string;
  version: string;
  kind: string;
  listKind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames: string[];
  categories: string[];
  /** Whether /status is a subresource: main writes then keep status and status writes change only it. */
  statusSubresource: boolean;
  /** Whether metadata.generation is kept (CRDs and custom resources; not namespaces, leases, events). */
  tracksGeneration: boolean;
  /** Custom resources: no strategic merge patch, no unconditional update. */
  custom: boolean;
  /** The storage shared by every version of a resource, e.g. "leaven.dev/imagespecs". */
  storageKey: string;
  printerColumns: PrinterColumn[];
  /** Field selector paths accepted besides metadata.name and metadata.namespace (as JSONPath-like dots). */
  selectableFields: string[];
  validator?: SchemaValidator;
  conversion?: StorageConversion;
  /** Semantic checks of a built-in type, returning field causes (empty when valid). */
  validate?: (object: KubeObject) => FieldCause[];
  /** Fills in what the server itself sets on a write (defaults, a CRD's status), after the request's fields. */
  prepare?: (object: KubeObject, old: KubeObject | undefined) => void;
  /** The openAPI schema of the object (for /openapi/v3), when known. */
  openAPISchema?: JsonRecord;
}

export interface FieldCause {
  reason: string;
  message: string;
  field: string;
}

export function apiVersionOf(type: Pick<ResourceType, "group" | "version">): string {
  return type.group === "" ? type.version : `${type.group}/${type.version}`;
}

export function isRecord(value: unknown): value is JsonRecord {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

export function clone<T>(value: T): T {
  return structuredClone(value);
}

export function deepEqual(a: unknown, b: unknown): boolean {
  return isDeepStrictEqual(a, b);
}

/** RFC 3339 without fractional seconds, as metav1.Time marshals. */
export function kubeTime(date: Date = new Date()): string {
  return date.toISOString().replace(/\.\d{3}Z$/, "Z");
}
