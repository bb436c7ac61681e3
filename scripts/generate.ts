// `npm run generate`: writes the CRD (and the Helm chart's copy), the TypeScript types and the API reference from the JSON Schema.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import {
  chartCrdPath,
  crdPath,
  referencePath,
  renderApiReference,
  renderCrd,
  renderTypes,
  typesPath,
} from "./api-artifacts.ts";

for (const [path, content] of [
  [crdPath, renderCrd()],
  [chartCrdPath, renderCrd()],
  [typesPath, await renderTypes()],
  [referencePath, renderApiReference()],
] as const) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  console.log(`wrote ${path}`);
}
