// metav1.Status failures, shaped and worded as the real API server returns them.
import type { FieldCause, JsonRecord, ResourceType } from "./types.ts";

export interface StatusDetails {
  name?: string;
  group?: string;
  kind?: string;
  uid?: string;
  causes?: FieldCause[];
  retryAfterSeconds?: number;
}

export interface StatusBody {
  kind: "Status";
  apiVersion: "v1";
  metadata: JsonRecord;
  status: "Failure" | "Success";
  message: string;
  reason: string;
  details?: StatusDetails;
  code: number;
}

/** Thrown by the server's operations; the router turns it into the HTTP response. */
export class KubeApiError extends Error {
  readonly status: StatusBody;
  constructor(code: number, reason: string, message: string, details?: StatusDetails) {
    super(message);
    this.status = {
      kind: "Status",
      apiVersion: "v1",
      metadata: {},
      status: "Failure",
      message,
      reason,
      code,
    };
    if (details) this.status.details = details;
  }
  get code(): number {
    return this.status.code;
  }
}

/** "imagespecs.leaven.dev" or "namespaces": how the real server names a resource in messages. */
export function groupResource(type: Pick<ResourceType, "group" | "plural">): string {
  return type.group === "" ? type.plural : `${type.plural}.${type.group}`;
}

export function notFound(type: Pick<ResourceType, "group" | "plural">, name: string): KubeApiError {
  return new KubeApiError(404, "NotFound", `${groupResource(type)} "${name}" not found`, {
    name,
    group: type.group,
    kind: type.plural,
  });
}

export function alreadyExists(type: Pick<ResourceType, "group" | "plural">, name: string): KubeApiError {
  return new KubeApiError(409, "AlreadyExists", `${groupResource(type)} "${name}" already exists`, {
    name,
    group: type.group,
    kind: type.plural,
  });
}

export function conflict(
  type: Pick<ResourceType, "group" | "plural">,
  name: string,
  why?: string,
): KubeApiError {
  const reason =
    why ?? "the object has been modified; please apply your changes to the latest version and try again";
  return new KubeApiError(
    409,
    "Conflict",
    `Operation cannot be fulfilled on ${groupResource(type)} "${name}": ${reason}`,
    {
      name,
      group: type.group,
      kind: type.plural,
    },
  );
}

/** 422 Invalid: `Kind.group "name" is invalid: field: message` (bracketed list when several). */
export function invalid(
  type: Pick<ResourceType, "group" | "kind">,
  name: string,
  causes: FieldCause[],
): KubeApiError {
  const qualified = type.group === "" ? type.kind : `${type.kind}.${type.group}`;
  const parts = causes.map((c) => (c.field ? `${c.field}: ${c.message}` : c.message));
  const list = parts.length === 1 ? parts[0]! : `[${parts.join(", ")}]`;
  return new KubeApiError(422, "Invalid", `${qualified} "${name}" is invalid: ${list}`, {
    name,
    group: type.group,
    kind: type.kind,
    causes,
  });
}

export function badRequest(message: string): KubeApiError {
  return new KubeApiError(400, "BadRequest", message);
}

export function methodNotAllowed(): KubeApiError {
  return new KubeApiError(
    405,
    "MethodNotAllowed",
    "the server does not allow this method on the requested resource",
  );
}

export function unsupportedMediaType(accepted: string[]): KubeApiError {
  return new KubeApiError(
    415,
    "UnsupportedMediaType",
    `the body of the request was in an unknown format - accepted media types include: ${accepted.join(", ")}`,
  );
}

/** 410 Gone, reason Expired: a resourceVersion older than the retained history. */
export function expired(message: string): KubeApiError {
  return new KubeApiError(410, "Expired", message);
}

export function notFoundPath(): KubeApiError {
  return new KubeApiError(404, "NotFound", "the server could not find the requested resource", {});
}
