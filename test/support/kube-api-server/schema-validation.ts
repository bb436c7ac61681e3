// A CRD version's openAPIV3Schema applied the way the real server applies it to custom resources: unknown
// fields pruned (reported for fieldValidation), null values of non-nullable fields dropped, defaults
// filled in, then validated (by ajv, after converting the OpenAPI dialect to JSON Schema), the failures
// worded as kube-openapi words them with field paths.
import { Ajv, type ErrorObject, type ValidateFunction } from "ajv";
import { clone, type FieldCause, isRecord, type JsonRecord } from "./types.ts";

export interface SchemaValidator {
  /** Prunes and defaults `object` in place; returns the paths of the unknown fields it removed. */
  normalize(object: JsonRecord): string[];
  /** Causes for every violation of the schema (empty when the object conforms). */
  validate(object: JsonRecord): FieldCause[];
}

/** The formats the real server checks that this one checks too; other formats are accepted as is. */
const FORMATS: Record<string, RegExp> = {
  "date-time": /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/,
  datetime: /^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d+)?([Zz]|[+-]\d{2}:\d{2})$/,
  date: /^\d{4}-\d{2}-\d{2}$/,
  uuid: /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/,
};

const KEPT = new Set([
  "type",
  "properties",
  "required",
  "items",
  "additionalProperties",
  "enum",
  "pattern",
  "minLength",
  "maxLength",
  "minItems",
  "maxItems",
  "minimum",
  "maximum",
  "multipleOf",
  "uniqueItems",
  "minProperties",
  "maxProperties",
  "allOf",
  "anyOf",
  "oneOf",
  "not",
]);

/** OpenAPI v3.0 as Kubernetes writes it → JSON Schema draft-07 that ajv checks. */
export function toJsonSchema(schema: unknown): JsonRecord {
  if (!isRecord(schema)) return {};
  const out: JsonRecord = {};
  for (const [key, value] of Object.entries(schema)) {
    if (!KEPT.has(key)) continue;
    if (key === "properties" && isRecord(value)) {
      out.properties = Object.fromEntries(Object.entries(value).map(([k, v]) => [k, toJsonSchema(v)]));
    } else if ((key === "items" || key === "not") && isRecord(value)) out[key] = toJsonSchema(value);
    else if (key === "additionalProperties") out[key] = isRecord(value) ? toJsonSchema(value) : value;
    else if ((key === "allOf" || key === "anyOf" || key === "oneOf") && Array.isArray(value))
      out[key] = value.map(toJsonSchema);
    else out[key] = clone(value);
  }
  if (typeof schema.format === "string" && FORMATS[schema.format]) out.format = schema.format;
  // OpenAPI 3.0's boolean exclusive bounds are draft-07's numeric ones.
  if (schema.exclusiveMinimum === true && typeof schema.minimum === "number") {
    out.exclusiveMinimum = schema.minimum;
    delete out.minimum;
  }
  if (schema.exclusiveMaximum === true && typeof schema.maximum === "number") {
    out.exclusiveMaximum = schema.maximum;
    delete out.maximum;
  }
  if (schema["x-kubernetes-int-or-string"] === true) {
    delete out.type;
    out.anyOf = [{ type: "integer" }, { type: "string" }, ...((out.anyOf as unknown[] | undefined) ?? [])];
  }
  if (schema.nullable === true) {
    if (typeof out.type === "string") out.type = [out.type, "null"];
    if (Array.isArray(out.enum)) out.enum = [...out.enum, null];
  }
  return out;
}

function childSchema(schema: JsonRecord | undefined, key: string): JsonRecord | undefined {
  if (!schema) return undefined;
  const props = schema.properties;
  if (isRecord(props) && isRecord(props[key])) return props[key];
  if (isRecord(schema.additionalProperties)) return schema.additionalProperties;
  return undefined;
}

function isMap(schema: JsonRecord | undefined): boolean {
  return !!schema && !isRecord(schema.properties) && isRecord(schema.additionalProperties);
}

/** Field paths as the real server prints them: spec.regions[0], spec.share.kmsKeys[us-east-1]. */
function fieldPath(root: JsonRecord, tokens: string[]): string {
  let path = "";
  let schema: JsonRecord | undefined = root;
  for (const token of tokens) {
    if (schema?.type === "array" || (/^\d+$/.test(token) && !schema?.properties)) {
      path += `[${token}]`;
      schema = isRecord(schema?.items) ? schema.items : undefined;
    } else if (isMap(schema)) {
      path += `[${token}]`;
      schema = childSchema(schema, token);
    } else {
      path += path === "" ? token : `.${token}`;
      schema = childSchema(schema, token);
    }
  }
  return path;
}

function render(value: unknown): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (value === undefined) return "null";
  return JSON.stringify(value);
}

function jsonType(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "array";
  if (typeof value === "number") return Number.isInteger(value) ? "integer" : "number";
  return typeof value;
}

function causeOf(error: ErrorObject, root: JsonRecord): FieldCause | undefined {
  const tokens = error.instancePath
    .split("/")
    .slice(1)
    .map((t) => t.replace(/~1/g, "/").replace(/~0/g, "~"));
  const field = fieldPath(root, tokens);
  const value = error.data;
  const p = error.params as Record<string, unknown>;
  const invalid = (what: string): FieldCause => ({
    reason: "FieldValueInvalid",
    message: `Invalid value: ${render(value)}: ${field} in body ${what}`,
    field,
  });
  switch (error.keyword) {
    case "required":
      return {
        reason: "FieldValueRequired",
        message: "Required value",
        field: fieldPath(root, [...tokens, String(p.missingProperty)]),
      };
    case "type": {
      const type = jsonType(value);
      return {
        reason: "FieldValueTypeInvalid",
        message: `Invalid value: "${type}": ${field} in body must be of type ${String(p.type).split(",")[0]}: "${type}"`,
        field,
      };
    }
    case "enum": {
      const allowed = (p.allowedValues as unknown[]).map(render).join(", ");
      return {
        reason: "FieldValueNotSupported",
        message: `Unsupported value: ${render(value)}: supported values: ${allowed}`,
        field,
      };
    }
    case "pattern":
      return invalid(`should match '${String(p.pattern)}'`);
    case "minLength":
      return invalid(`should be at least ${String(p.limit)} chars long`);
    case "maxLength":
      return {
        reason: "FieldValueTooLong",
        message: `Too long: may not be more than ${String(p.limit)} bytes`,
        field,
      };
    case "minItems":
      return invalid(`should have at least ${String(p.limit)} items`);
    case "maxItems":
      return {
        reason: "FieldValueTooMany",
        message: `Too many: ${(value as unknown[]).length}: must have at most ${String(p.limit)} items`,
        field,
      };
    case "minimum":
      return invalid(`should be greater than or equal to ${String(p.limit)}`);
    case "maximum":
      return invalid(`should be less than or equal to ${String(p.limit)}`);
    case "exclusiveMinimum":
      return invalid(`should be greater than ${String(p.limit)}`);
    case "exclusiveMaximum":
      return invalid(`should be less than ${String(p.limit)}`);
    case "multipleOf":
      return invalid(`should be a multiple of ${String(p.multipleOf)}`);
    case "minProperties":
      return invalid(`should have at least ${String(p.limit)} properties`);
    case "maxProperties":
      return invalid(`should have at most ${String(p.limit)} properties`);
    case "format":
      return {
        reason: "FieldValueTypeInvalid",
        message: `Invalid value: ${render(value)}: ${field} in body must be of type ${String(p.format)}: ${render(value)}`,
        field,
      };
    case "oneOf":
      return invalid("must validate one and only one schema (oneOf)");
    case "anyOf":
      return invalid("must validate at least one schema (anyOf)");
    case "not":
      return invalid("must not validate the schema (not)");
    case "uniqueItems":
      return { reason: "FieldValueDuplicate", message: `Duplicate value: ${render(value)}`, field };
    default:
      return invalid(error.message ?? error.keyword);
  }
}

/** Removes what the schema does not declare (and nulls it does not allow), filling in defaults. */
function pruneAndDefault(
  value: unknown,
  schema: JsonRecord | undefined,
  path: string,
  unknown: string[],
): void {
  if (!schema) return;
  if (Array.isArray(value)) {
    const items = isRecord(schema.items) ? schema.items : undefined;
    value.forEach((item, i) => {
      pruneAndDefault(item, items, `${path}[${i}]`, unknown);
    });
    return;
  }
  if (!isRecord(value)) return;
  const properties = isRecord(schema.properties) ? schema.properties : undefined;
  const additional = isRecord(schema.additionalProperties) ? schema.additionalProperties : undefined;
  const preserve =
    schema["x-kubernetes-preserve-unknown-fields"] === true || schema.additionalProperties === true;
  const embedded = schema["x-kubernetes-embedded-resource"] === true;
  for (const key of Object.keys(value)) {
    const child = (properties && isRecord(properties[key]) ? properties[key] : undefined) ?? additional;
    const childPath = path === "" ? key : additional && !properties ? `${path}[${key}]` : `${path}.${key}`;
    if (!child) {
      if (!preserve && !(embedded && (key === "apiVersion" || key === "kind" || key === "metadata"))) {
        delete value[key];
        unknown.push(childPath);
      }
      continue;
    }
    if (value[key] === null && child.nullable !== true) {
      delete value[key];
      continue;
    }
    pruneAndDefault(value[key], child, childPath, unknown);
  }
  if (properties) {
    for (const [key, child] of Object.entries(properties)) {
      if (!(key in value) && isRecord(child) && child.default !== undefined) {
        value[key] = clone(child.default);
        pruneAndDefault(value[key], child, path === "" ? key : `${path}.${key}`, []);
      }
    }
  }
}

/** Compiles one CRD version's schema; throws with ajv's message when it cannot be compiled. */
export function compileSchemaValidator(openAPIV3Schema: JsonRecord): SchemaValidator {
  // metadata, apiVersion and kind are the server's own business: checked by its metadata rules, not the schema.
  const root = clone(openAPIV3Schema);
  const rootProps = isRecord(root.properties) ? root.properties : {};
  for (const key of ["metadata", "apiVersion", "kind"]) delete rootProps[key];
  root.properties = rootProps;
  const ajv = new Ajv({ allErrors: true, verbose: true, strict: false, formats: FORMATS });
  const check: ValidateFunction = ajv.compile(toJsonSchema(root));
  return {
    normalize(object) {
      const unknownFields: string[] = [];
      const body: JsonRecord = {};
      for (const [key, value] of Object.entries(object)) {
        if (key !== "metadata" && key !== "apiVersion" && key !== "kind") body[key] = value;
      }
      pruneAndDefault(body, root, "", unknownFields);
      for (const key of Object.keys(object)) {
        if (key !== "metadata" && key !== "apiVersion" && key !== "kind" && !(key in body))
          delete object[key];
      }
      Object.assign(object, body);
      return unknownFields;
    },
    validate(object) {
      const body: JsonRecord = {};
      for (const [key, value] of Object.entries(object)) {
        if (key !== "metadata" && key !== "apiVersion" && key !== "kind") body[key] = value;
      }
      if (check(body)) return [];
      const causes: FieldCause[] = [];
      for (const error of check.errors ?? []) {
        const cause = causeOf(error, root);
        if (cause && !causes.some((c) => c.field === cause.field && c.message === cause.message))
          causes.push(cause);
      }
      return causes;
    },
  };
}
