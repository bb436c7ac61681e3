// OpenAPI v3 documents, enough for kubectl: per group/version, each resource's paths with the
// x-kubernetes-group-version-kind of their operations and the fieldValidation parameter of PATCH (which
// tells kubectl to leave validation to the server), and the objects' schemas.
import { createHash } from "node:crypto";
import type { ResourceRegistry } from "./resource-registry.ts";
import { apiVersionOf, type JsonRecord, type ResourceType } from "./types.ts";

const OBJECT_META = "io.k8s.apimachinery.pkg.apis.meta.v1.ObjectMeta";

function schemaName(type: ResourceType): string {
  if (type.custom) return `${type.group.split(".").reverse().join(".")}.${type.version}.${type.kind}`;
  if (type.group === "apiextensions.k8s.io")
    return `io.k8s.apiextensions-apiserver.pkg.apis.apiextensions.${type.version}.${type.kind}`;
  const short = type.group === "" ? "core" : type.group.replace(/\.k8s\.io$/, "");
  return `io.k8s.api.${short}.${type.version}.${type.kind}`;
}

function gvk(type: ResourceType): JsonRecord {
  return { group: type.group, version: type.version, kind: type.kind };
}

const param = (name: string, description: string, where = "query"): JsonRecord => ({
  name,
  in: where,
  description,
  schema: { type: "string", uniqueItems: true },
});

function operation(type: ResourceType, action: string, id: string, extra: JsonRecord[] = []): JsonRecord {
  const ref = { $ref: `#/components/schemas/${schemaName(type)}` };
  const op: JsonRecord = {
    operationId: id,
    parameters: extra,
    responses: { "200": { description: "OK", content: { "application/json": { schema: ref } } } },
    "x-kubernetes-action": action,
    "x-kubernetes-group-version-kind": gvk(type),
  };
  if (action === "patch")
    op.requestBody = {
      content: Object.fromEntries(
        ["application/json-patch+json", "application/merge-patch+json", "application/apply-patch+yaml"].map(
          (ct) => [ct, { schema: { type: "object" } }],
        ),
      ),
      required: true,
    };
  if (action === "put" || action === "post")
    op.requestBody = { content: { "*/*": { schema: ref } }, required: true };
  return op;
}

function paths(type: ResourceType): JsonRecord {
  const prefix = type.group === "" ? `/api/${type.version}` : `/apis/${type.group}/${type.version}`;
  const base = type.namespaced
    ? `${prefix}/namespaces/{namespace}/${type.plural}`
    : `${prefix}/${type.plural}`;
  const writeParams = [
    param("dryRun", "When present, indicates that modifications should not be persisted."),
    param(
      "fieldManager",
      "fieldManager is a name associated with the actor or entity that is making these changes.",
    ),
    param(
      "fieldValidation",
      "fieldValidation instructs the server on how to handle objects in the request containing unknown or duplicate fields.",
    ),
  ];
  const id = `${type.kind}`;
  const item = (suffix: string): JsonRecord => ({
    get: operation(type, "get", `read${id}${suffix}`),
    put: operation(type, "put", `replace${id}${suffix}`, writeParams),
    patch: operation(type, "patch", `patch${id}${suffix}`, [
      ...writeParams,
      param("force", "Force is going to force Apply requests."),
    ]),
    ...(suffix === ""
      ? { delete: operation(type, "delete", `delete${id}`, [param("dryRun", "dry run")]) }
      : {}),
    parameters: [
      param("name", `name of the ${type.kind}`, "path"),
      ...(type.namespaced ? [param("namespace", "object name and auth scope", "path")] : []),
    ],
  });
  const out: JsonRecord = {
    [base]: {
      get: operation(type, "list", `list${id}`, [
        param("labelSelector", "selector"),
        param("fieldSelector", "selector"),
      ]),
      post: operation(type, "post", `create${id}`, writeParams),
      parameters: type.namespaced ? [param("namespace", "object name and auth scope", "path")] : [],
    },
    [`${base}/{name}`]: item(""),
  };
  if (type.statusSubresource) out[`${base}/{name}/status`] = item("Status");
  return out;
}

function objectSchema(type: ResourceType): JsonRecord {
  const schema: JsonRecord = structuredClone(
    type.openAPISchema ?? { type: "object", "x-kubernetes-preserve-unknown-fields": true },
  );
  const properties = (schema.properties as JsonRecord | undefined) ?? {};
  properties.apiVersion = {
    type: "string",
    description: "APIVersion defines the versioned schema of this representation of an object.",
  };
  properties.kind = {
    type: "string",
    description: "Kind is a string value representing the REST resource this object represents.",
  };
  properties.metadata = { allOf: [{ $ref: `#/components/schemas/${OBJECT_META}` }], default: {} };
  schema.properties = properties;
  schema.type = "object";
  schema["x-kubernetes-group-version-kind"] = [gvk(type)];
  return schema;
}

const OBJECT_META_SCHEMA: JsonRecord = {
  type: "object",
  description: "ObjectMeta is metadata that all persisted resources must have.",
  properties: Object.fromEntries(
    [
      ["name", { type: "string" }],
      ["generateName", { type: "string" }],
      ["namespace", { type: "string" }],
      ["uid", { type: "string" }],
      ["resourceVersion", { type: "string" }],
      ["generation", { type: "integer", format: "int64" }],
      ["creationTimestamp", { type: "string", format: "date-time" }],
      ["deletionTimestamp", { type: "string", format: "date-time" }],
      ["deletionGracePeriodSeconds", { type: "integer", format: "int64" }],
      ["labels", { type: "object", additionalProperties: { type: "string", default: "" } }],
      ["annotations", { type: "object", additionalProperties: { type: "string", default: "" } }],
      [
        "finalizers",
        { type: "array", items: { type: "string", default: "" }, "x-kubernetes-list-type": "set" },
      ],
      [
        "ownerReferences",
        { type: "array", items: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      ],
      [
        "managedFields",
        { type: "array", items: { type: "object", "x-kubernetes-preserve-unknown-fields": true } },
      ],
    ].map(([k, v]) => [k as string, v]),
  ),
};

/** The document of one group/version ("api/v1", "apis/leaven.dev/v1alpha1"), or undefined. */
export function openApiDocument(
  registry: ResourceRegistry,
  group: string,
  version: string,
): JsonRecord | undefined {
  const types = registry.resourcesOf(group, version);
  if (types.length === 0) return undefined;
  return {
    openapi: "3.0.0",
    info: { title: "Kubernetes", version: "v1.33.0" },
    paths: Object.assign({}, ...types.map(paths)),
    components: {
      schemas: {
        [OBJECT_META]: OBJECT_META_SCHEMA,
        ...Object.fromEntries(types.map((t) => [schemaName(t), objectSchema(t)])),
      },
    },
  };
}

function hashOf(document: JsonRecord): string {
  return createHash("sha512").update(JSON.stringify(document)).digest("hex").toUpperCase();
}

/** /openapi/v3: where each group/version's document is, with a hash that changes with it. */
export function openApiIndex(registry: ResourceRegistry): JsonRecord {
  const entries: [string, JsonRecord][] = [];
  const versions: [string, string][] = [
    ["", "v1"],
    ...registry.groups().flatMap((g) => g.versions.map((v): [string, string] => [g.name, v])),
  ];
  for (const [group, version] of versions) {
    const document = openApiDocument(registry, group, version);
    if (!document) continue;
    const path = group === "" ? `api/${version}` : `apis/${apiVersionOf({ group, version })}`;
    entries.push([path, { serverRelativeURL: `/openapi/v3/${path}?hash=${hashOf(document)}` }]);
  }
  return { paths: Object.fromEntries(entries) };
}
