import { readFileSync } from "node:fs";
import { describe, expect, it } from "vitest";
import {
  chartCrdPath,
  crdPath,
  referencePath,
  renderApiReference,
  renderCrd,
  renderTypes,
  typesPath,
} from "../../scripts/api-artifacts.ts";

describe("files generated from schemas/imagespec.schema.json", () => {
  it.each([
    ["crds/imagespec.yaml", crdPath, async () => renderCrd()],
    ["charts/leaven/crds/imagespec.yaml", chartCrdPath, async () => renderCrd()],
    ["controller/api/types.generated.ts", typesPath, async () => await renderTypes()],
    ["docs/api-reference.md", referencePath, async () => renderApiReference()],
  ])("%s is up to date", async (_name, path, render) => {
    expect(readFileSync(path, "utf8"), "run npm run generate").toBe(await render());
  });

  it("documents every field with its type, requiredness and allowed values", () => {
    const reference = renderApiReference();
    expect(reference).toContain(
      "| `spec.layer` | string | yes | Kind of layer. foundation: a vendor AMI that is selected, never baked. base: the organisation's common platform, baked on a foundation or another base. app: one application, baked on a base. | one of `foundation`, `base`, `app` |",
    );
    expect(reference).toContain("| `spec.channels.<name>.minAge` | string | no |");
    expect(reference).toContain("pattern `^[0-9]+(s\\|m\\|h\\|d\\|w)$`");
    expect(reference).toContain(
      "| `spec.provision.files[].path` | string | yes | Absolute path of the file: /etc/... on Linux, a drive path such as C:\\ProgramData\\app\\app.conf on Windows. | pattern `^(/\\|[A-Za-z]:[\\\\/])` |",
    );
    expect(reference).toContain(
      "| `spec.source.platform` | string | no | Operating system of the vendor's AMIs",
    );
  });
});
