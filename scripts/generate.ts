// `npm run generate`: writes the CRD and the TypeScript types from the JSON Schema.
import { mkdirSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import { crdPath, renderCrd, renderTypes, typesPath } from "./api-artifacts.ts";

for (const [path, content] of [
  [crdPath, renderCrd()],
  [typesPath, await renderTypes()],
] as const) {
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, content);
  console.log(`wrote ${path}`);
}
