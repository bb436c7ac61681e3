// Renders the artifacts derived from schemas/imagespec.schema.json: the CRD and the TypeScript types.
// The schema is the single source of the API; `npm run generate` writes these files and a test fails
// when the committed copies are stale.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { compile } from "json-schema-to-typescript";
import { stringify } from "yaml";

export const schemaPath = fileURLToPath(new URL("../schemas/imagespec.schema.json", import.meta.url));
export const crdPath = fileURLToPath(new URL("../crds/imagespec.yaml", import.meta.url));
/** The Helm chart's copy of the CRD (Helm installs only what is inside the chart); identical to crdPath. */
export const chartCrdPath = fileURLToPath(new URL("../charts/leaven/crds/imagespec.yaml", import.meta.url));
export const typesPath = fileURLToPath(new URL("../controller/api/types.generated.ts", import.meta.url));

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type JsonObject = { [key: string]: Json };

const header = "Generated from schemas/imagespec.schema.json by `npm run generate`. Do not edit.";

export function loadSchema(): JsonObject {
  return JSON.parse(readFileSync(schemaPath, "utf8")) as JsonObject;
}

// Kubernetes structural schemas forbid $ref, uniqueItems, and additionalProperties beside properties.
function toStructural(node: Json, definitions: JsonObject): Json {
  if (Array.isArray(node)) return node.map((item) => toStructural(item, definitions));
  if (node === null || typeof node !== "object") return node;
  let source: JsonObject = node;
  const ref = source.$ref;
  if (typeof ref === "string") {
    const name = ref.replace("#/definitions/", "");
    const target = definitions[name];
    if (target === undefined || target === null || typeof target !== "object" || Array.isArray(target)) {
      throw new Error(`schema: unresolved $ref ${ref}`);
    }
    const { $ref: _ignored, ...siblings } = source;
    source = { ...target, ...siblings };
  }
  const out: JsonObject = {};
  for (const [key, value] of Object.entries(source)) {
    if (
      key === "$schema" ||
      key === "$id" ||
      key === "title" ||
      key === "definitions" ||
      key === "uniqueItems"
    ) {
      continue;
    }
    if (key === "additionalProperties" && typeof value === "boolean") continue;
    out[key] =
      key === "properties"
        ? mapValues(value as JsonObject, (v) => toStructural(v, definitions))
        : toStructural(value, definitions);
  }
  return out;
}

function mapValues(obj: JsonObject, fn: (value: Json) => Json): JsonObject {
  return Object.fromEntries(Object.entries(obj).map(([k, v]) => [k, fn(v)]));
}

export function renderCrd(schema: JsonObject = loadSchema()): string {
  const definitions = schema.definitions as JsonObject;
  const props = schema.properties as JsonObject;
  const openAPIV3Schema = {
    description: schema.description as string,
    type: "object",
    required: ["spec"],
    properties: {
      apiVersion: { description: "API version of this object.", type: "string" },
      kind: { description: "Kind of this object.", type: "string" },
      metadata: { type: "object" },
      spec: toStructural(props.spec as Json, definitions),
      status: toStructural(props.status as Json, definitions),
    },
  };
  const crd = {
    apiVersion: "apiextensions.k8s.io/v1",
    kind: "CustomResourceDefinition",
    metadata: { name: "imagespecs.leaven.dev" },
    spec: {
      group: "leaven.dev",
      scope: "Namespaced",
      names: {
        kind: "ImageSpec",
        listKind: "ImageSpecList",
        plural: "imagespecs",
        singular: "imagespec",
        shortNames: ["ims"],
        categories: ["leaven", "all"],
      },
      versions: [
        {
          name: "v1alpha1",
          served: true,
          storage: true,
          subresources: { status: {} },
          additionalPrinterColumns: [
            { name: "Layer", type: "string", jsonPath: ".spec.layer" },
            { name: "Version", type: "string", jsonPath: ".spec.version" },
            { name: "Candidate", type: "string", jsonPath: ".status.channels.candidate.build" },
            { name: "Release", type: "string", jsonPath: ".status.channels.release.build" },
            { name: "Ready", type: "string", jsonPath: '.status.conditions[?(@.type=="Ready")].status' },
            { name: "Age", type: "date", jsonPath: ".metadata.creationTimestamp" },
          ],
          schema: { openAPIV3Schema },
        },
      ],
    },
  };
  return `# ${header}\n${stringify(crd, { lineWidth: 0 })}`;
}

export async function renderTypes(schema: JsonObject = loadSchema()): Promise<string> {
  const body = await compile(schema as Parameters<typeof compile>[0], "ImageSpec", {
    bannerComment: `// ${header}`,
    additionalProperties: false,
    style: { printWidth: 110, singleQuote: false },
    unknownAny: true,
  });
  return body;
}

export const referencePath = fileURLToPath(new URL("../docs/api-reference.md", import.meta.url));

interface FieldRow {
  path: string;
  type: string;
  required: boolean;
  description: string;
  allowed: string;
}

function resolveRef(node: JsonObject, definitions: JsonObject): JsonObject {
  const ref = node.$ref;
  if (typeof ref !== "string") return node;
  const { $ref: _ignored, ...siblings } = node;
  return { ...(definitions[ref.replace("#/definitions/", "")] as JsonObject), ...siblings };
}

function typeOf(node: JsonObject): string {
  if (node.type === "array") {
    const items = node.items as JsonObject | undefined;
    return `list of ${items?.type === "object" || items?.$ref !== undefined ? "objects" : `${String(items?.type ?? "values")}s`}`;
  }
  if (
    node.type === "object" &&
    node.properties === undefined &&
    typeof node.additionalProperties === "object"
  ) {
    return "map";
  }
  return String(node.type ?? "any");
}

function allowedOf(node: JsonObject): string {
  const parts: string[] = [];
  if (Array.isArray(node.enum)) parts.push(`one of ${node.enum.map((v) => `\`${String(v)}\``).join(", ")}`);
  if (typeof node.pattern === "string") parts.push(`pattern \`${node.pattern}\``);
  if (typeof node.minimum === "number") parts.push(`≥ ${node.minimum}`);
  if (typeof node.maximum === "number") parts.push(`≤ ${node.maximum}`);
  if (typeof node.minItems === "number")
    parts.push(`at least ${node.minItems} item${node.minItems === 1 ? "" : "s"}`);
  if (node.uniqueItems === true) parts.push("no duplicates");
  if (typeof node.minLength === "number") parts.push("not empty");
  const items = node.items as JsonObject | undefined;
  if (items && typeof items.pattern === "string") parts.push(`items match \`${items.pattern}\``);
  return parts.join("; ");
}

// Walks the schema depth first, one row per field; map values are shown as `<name>` and list items as `[]`.
function collectFields(
  node: JsonObject,
  path: string,
  required: boolean,
  definitions: JsonObject,
  rows: FieldRow[],
): void {
  const resolved = resolveRef(node, definitions);
  if (path !== "") {
    rows.push({
      path,
      type: typeOf(resolved),
      required,
      description: String(resolved.description ?? ""),
      allowed: allowedOf(resolved),
    });
  }
  const properties = resolved.properties as JsonObject | undefined;
  const requiredNames = new Set((resolved.required as string[] | undefined) ?? []);
  for (const [name, child] of Object.entries(properties ?? {})) {
    collectFields(
      child as JsonObject,
      path === "" ? name : `${path}.${name}`,
      requiredNames.has(name),
      definitions,
      rows,
    );
  }
  const additional = resolved.additionalProperties;
  if (
    properties === undefined &&
    additional !== null &&
    typeof additional === "object" &&
    !Array.isArray(additional)
  ) {
    const value = resolveRef(additional, definitions);
    if (value.properties !== undefined) collectFields(value, `${path}.<name>`, false, definitions, rows);
  }
  const items = resolved.items;
  if (resolved.type === "array" && items !== null && typeof items === "object" && !Array.isArray(items)) {
    const item = resolveRef(items as JsonObject, definitions);
    if (item.properties !== undefined) collectFields(item, `${path}[]`, false, definitions, rows);
  }
}

function cell(text: string): string {
  return text.replace(/\|/g, "\\|").replace(/\n/g, " ");
}

/** docs/api-reference.md: every field of ImageSpec with its type, whether it is required, and what is allowed. */
export function renderApiReference(schema: JsonObject = loadSchema()): string {
  const definitions = schema.definitions as JsonObject;
  const rows: FieldRow[] = [];
  collectFields(schema, "", true, definitions, rows);
  const sections: Array<{ title: string; intro: string; rows: FieldRow[] }> = [
    { title: "Document", intro: "The top-level fields of every ImageSpec document.", rows: [] },
    { title: "spec", intro: String((definitions.ImageSpecSpec as JsonObject).description), rows: [] },
    { title: "status", intro: String((definitions.ImageSpecStatus as JsonObject).description), rows: [] },
  ];
  for (const row of rows) {
    const section = row.path.startsWith("spec.")
      ? sections[1]!
      : row.path.startsWith("status.")
        ? sections[2]!
        : sections[0]!;
    section.rows.push(row);
  }
  const out = [
    `<!-- ${header} -->`,
    "",
    "# ImageSpec API reference (leaven.dev/v1alpha1)",
    "",
    String(schema.description),
    "",
    "Field paths use `.` for nested fields, `<name>` for a key you choose (a channel or region name) and",
    "`[]` for each item of a list. Durations are a whole number followed by `s`, `m`, `h`, `d` or `w`",
    "(e.g. `30m`, `7d`). Build ids are `VERSION+HASH`, e.g. `2.3.0+5f2c91ab`. `leaven validate` checks",
    "everything below and also the rules between fields (layers, parents, regions, semver, selectors).",
    "",
  ];
  for (const section of sections) {
    out.push(
      `## ${section.title}`,
      "",
      section.intro,
      "",
      "| Field | Type | Required | Description | Allowed |",
      "| --- | --- | --- | --- | --- |",
    );
    for (const row of section.rows) {
      out.push(
        `| \`${row.path}\` | ${row.type} | ${row.required ? "yes" : "no"} | ${cell(row.description)} | ${cell(row.allowed)} |`,
      );
    }
    out.push("");
  }
  return out.join("\n");
}
