// meta.k8s.io/v1 Table responses (what `kubectl get` asks for with Accept: ...;as=Table): a Name column
// then the resource's printer columns (Age when it has none), cells computed as the real server does.
import { evaluateJsonPath } from "./jsonpath.ts";
import type { JsonRecord, KubeObject, PrinterColumn, ResourceType } from "./types.ts";

const NAME_COLUMN = {
  name: "Name",
  type: "string",
  format: "name",
  description:
    "Name must be unique within a namespace. Is required when creating resources, although some resources may allow a client to request the generation of an appropriate name automatically. Name is primarily intended for creation idempotence and configuration definition. Cannot be updated. More info: https://kubernetes.io/docs/concepts/overview/working-with-objects/names#names",
  priority: 0,
};

const AGE_COLUMN: PrinterColumn = {
  name: "Age",
  type: "date",
  jsonPath: ".metadata.creationTimestamp",
  description:
    "CreationTimestamp is a timestamp representing the server time when this object was created. It is not guaranteed to be set in happens-before order across separate operations. Clients may not set this value. It is represented in RFC3339 form and is in UTC.\n\nPopulated by the system. Read-only. Null for lists. More info: https://git.k8s.io/community/contributors/devel/sig-architecture/api-conventions.md#metadata",
};

/** k8s.io/apimachinery's duration.HumanDuration, as the Age column shows. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return "<invalid>";
  if (seconds < 0) return "0s";
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8)
    return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const days = Math.floor(hours / 24);
  if (hours < 24 * 365 * 8)
    return days % 365 === 0 ? `${Math.floor(days / 365)}y` : `${Math.floor(days / 365)}y${days % 365}d`;
  return `${Math.floor(days / 365)}y`;
}

function columnsOf(type: ResourceType): PrinterColumn[] {
  return type.printerColumns.length > 0 ? type.printerColumns : [AGE_COLUMN];
}

function cell(object: KubeObject, column: PrinterColumn, now: number): unknown {
  let values: unknown[];
  try {
    values = evaluateJsonPath(object, column.jsonPath);
  } catch {
    return null;
  }
  if (values.length === 0) return null;
  if (column.type === "date") {
    const first = values[0];
    if (typeof first !== "string") return null;
    return humanDuration(now - Date.parse(first));
  }
  if (values.length === 1) {
    const value = values[0];
    if (column.type === "string" && typeof value !== "string")
      return typeof value === "object" ? JSON.stringify(value) : String(value);
    return value;
  }
  return values.map((v) => (typeof v === "string" ? v : JSON.stringify(v))).join(",");
}

function partialMetadata(object: KubeObject): JsonRecord {
  return { kind: "PartialObjectMetadata", apiVersion: "meta.k8s.io/v1", metadata: object.metadata };
}

/**
 * A Table of `objects`; includeObject is the request's (None, Metadata — the default — or Object). Watches
 * send the column definitions in their first event only (noHeaders for the others), as the real server.
 */
export function toTable(
  type: ResourceType,
  objects: KubeObject[],
  listMeta: JsonRecord,
  includeObject: string | undefined,
  noHeaders = false,
): JsonRecord {
  const columns = columnsOf(type);
  const now = Date.now();
  return {
    kind: "Table",
    apiVersion: "meta.k8s.io/v1",
    metadata: listMeta,
    columnDefinitions: noHeaders
      ? []
      : [
          NAME_COLUMN,
          ...columns.map((c) => ({
            name: c.name,
            type: c.type,
            format: c.format ?? "",
            description: c.description ?? "",
            priority: c.priority ?? 0,
          })),
        ],
    rows: objects.map((object) => {
      const row: JsonRecord = {
        cells: [object.metadata.name ?? "", ...columns.map((c) => cell(object, c, now))],
      };
      if (includeObject === "Object") row.object = object;
      else if (includeObject !== "None") row.object = partialMetadata(object);
      return row;
    }),
  };
}

/** Whether an Accept header asks for a Table (kubectl get: application/json;as=Table;v=v1;g=meta.k8s.io,...). */
export function wantsTable(accept: string | undefined): boolean {
  if (!accept) return false;
  const first = accept.split(",")[0] ?? "";
  return /;\s*as=Table/.test(first) && /g=meta\.k8s\.io/.test(first);
}
