// Renders the artifacts derived from schemas/imagespec.schema.json: the CRD and the TypeScript types.
// The schema is the single source of the API; `npm run generate` writes these files and a test fails
// when the committed copies are stale.
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { compile } from "json-schema-to-typescript";
import { stringify } from "yaml";

export const schemaPath = fileURLToPath(new URL("../schemas/imagespec.schema.json", import.meta.url));
export const crdPath = fileURLToPath(new URL("../crds/imagespec.yaml", import.meta.url));
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
    if (key === "$schema" || key === "$id" || key === "title" || key === "definitions" || key === "uniqueItems") {
      continue;
    }
    if (key === "additionalProperties" && typeof value === "boolean") continue;
    out[key] = key === "properties" ? mapValues(value as JsonObject, (v) => toStructural(v, definitions)) : toStructural(value, definitions);
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
