import { readdirSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { stringify } from "yaml";
import { parseYamlDocuments, parseYamlDocumentsWithAst } from "../../controller/sources/yaml-documents.ts";
import { validateDocuments } from "../../controller/validation/validate.ts";

const root = fileURLToPath(new URL("../..", import.meta.url));

function yamlFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? yamlFiles(path) : /\.ya?ml$/.test(name) ? [path] : [];
  });
}

function view(text: string, parse: typeof parseYamlDocuments) {
  const parsed = parseYamlDocuments === parse ? parse(text, "f.yaml") : parse(text, "f.yaml");
  const result = validateDocuments(parsed.documents, { broken: parsed.broken });
  return {
    values: parsed.documents.map((d) => d.value),
    starts: parsed.documents.map((d) => d.position),
    diagnostics: [...parsed.diagnostics, ...result.diagnostics],
  };
}

describe("parseYamlDocuments", () => {
  it.each(
    [...yamlFiles(join(root, "test/fixtures")), ...yamlFiles(join(root, "examples"))].map((p) => [
      p.slice(root.length),
    ]),
  )("the fast path reads %s exactly as the yaml package does", (path) => {
    const text = readFileSync(join(root, path), "utf8");
    expect(view(text, parseYamlDocuments)).toEqual(view(text, parseYamlDocumentsWithAst));
  });

  it.each([
    ["a: 1\n---\nb: 2\n", [1, 3]],
    ["# comment\n---\n# lead\n  a: 1\n", [4]],
    ["--- {a: 1}\n...\n---\nb: [1]\n", [1, 4]],
    ["---\n---\nc: 3\n", [3]],
  ])("finds the start of each document in %j", (text, lines) => {
    expect(parseYamlDocuments(text, "f.yaml").documents.map((d) => d.position.line)).toEqual(lines);
  });

  it("reads a file larger than one parse chunk (64 KB) as the yaml package does, problems included", () => {
    // 1,800 documents of about 130 bytes: several chunks, cut before a `---` line; a few carry problems
    // (a duplicate name, a bad region, a comment-only document) so locate() works inside later chunks.
    const docs = Array.from({ length: 1800 }, (_, i) => {
      const name = i === 1799 ? "app-7" : `app-${i}`;
      const region = i % 500 === 499 ? "us-east-9" : "us-east-1";
      const marker = i % 100 === 0 ? "--- # a comment on the marker line\n" : "---\n";
      return `${marker}apiVersion: leaven.dev/v1alpha1\nkind: ImageSpec\nmetadata:\n  name: ${name}\nspec:\n  layer: foundation\n  regions: [${region}]\n`;
    });
    const text = `# leading comment\n${docs.join("")}---\n# nothing here\n...\n`;
    expect(text.length).toBeGreaterThan(3 * 64 * 1024);
    const fast = view(text, parseYamlDocuments);
    expect(fast).toEqual(view(text, parseYamlDocumentsWithAst));
    expect(fast.values).toHaveLength(1800);
    expect(fast.diagnostics.filter((d) => d.path === "spec.regions[0]").map((d) => d.position.line)).toEqual(
      [499, 999, 1499].map((i) => 2 + i * 8 + 7),
    );
  });

  it("positions keys, values and missing fields", () => {
    const [doc] = parseYamlDocuments("spec:\n  regions: [us-east-1, x]\n  key:\n", "f.yaml").documents;
    expect(doc!.locate(["spec", "regions", 1])).toEqual({ file: "f.yaml", line: 2, column: 24 });
    expect(doc!.locate(["spec", "regions"], "key")).toEqual({ file: "f.yaml", line: 2, column: 3 });
    expect(doc!.locate(["spec", "missing", "deeper"])).toEqual({ file: "f.yaml", line: 2, column: 3 });
  });

  it("reports YAML errors with their position and skips the document", () => {
    const parsed = parseYamlDocuments("a: 1\na: 2\n---\nb: [1\n", "f.yaml");
    expect(parsed.documents).toEqual([]);
    expect(parsed.diagnostics.map((d) => `${d.position.line}:${d.position.column} ${d.message}`)).toEqual([
      "2:1 invalid YAML: Map keys must be unique; fix the syntax (this document was skipped)",
      "5:1 invalid YAML: Flow sequence in block collection must be sufficiently indented and end with a ]; fix the syntax (this document was skipped)",
    ]);
  });

  it("caps alias expansion instead of exhausting memory", () => {
    const laughs = ["a: &a [x, x, x, x, x, x, x, x, x, x]"];
    for (let i = 1; i < 9; i++)
      laughs.push(
        `${String.fromCharCode(97 + i)}: &${String.fromCharCode(97 + i)} [${Array(10)
          .fill(`*${String.fromCharCode(96 + i)}`)
          .join(", ")}]`,
      );
    const parsed = parseYamlDocuments(laughs.join("\n"), "f.yaml");
    expect(parsed.documents).toEqual([]);
    expect(parsed.diagnostics[0]!.message).toMatch(/^invalid YAML: Excessive alias count/);
  });
});

describe("the loader and validator never throw", () => {
  const check = (text: string) => {
    const parsed = parseYamlDocuments(text, "f.yaml");
    const result = validateDocuments(parsed.documents, { broken: parsed.broken });
    for (const d of [...parsed.diagnostics, ...result.diagnostics]) {
      expect(d.position.line).toBeGreaterThanOrEqual(1);
      expect(d.message.length).toBeGreaterThan(0);
    }
  };

  it("on arbitrary text", () => {
    fc.assert(fc.property(fc.string({ unit: "binary", maxLength: 300 }), check), { numRuns: 300 });
  });

  it("on YAML-ish text built from arbitrary fragments", () => {
    const fragment = fc.constantFrom(
      "---\n",
      "a: ",
      "- ",
      "  ",
      "{",
      "}",
      "[",
      "]",
      ": ",
      "\n",
      "&x ",
      "*x",
      "!!binary ",
      '"',
      "'",
      "|\n",
      "<<: ",
      "#",
    );
    fc.assert(
      fc.property(fc.array(fc.oneof(fragment, fc.string({ maxLength: 5 })), { maxLength: 40 }), (parts) =>
        check(parts.join("")),
      ),
      {
        numRuns: 300,
      },
    );
  });

  it("on arbitrary objects shaped like ImageSpecs", () => {
    const scalar = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.integer(),
      fc.boolean(),
      fc.constant(null),
      fc.constantFrom("us-east-1", "7d", "0m", "1.0.0", "2.3", "latest"),
    );
    const value = fc.letrec((tie) => ({
      node: fc.oneof(
        { depthSize: "small" },
        scalar,
        fc.array(tie("node"), { maxLength: 3 }),
        fc.dictionary(
          fc.constantFrom(
            "spec",
            "layer",
            "parent",
            "channels",
            "release",
            "regions",
            "version",
            "build",
            "minAge",
            "source",
            "owners",
            "name",
            "kmsKeys",
            "__proto__",
            "constructor",
          ),
          tie("node"),
          { maxKeys: 4 },
        ),
      ),
    })).node;
    const document = fc.record({
      apiVersion: fc.constantFrom("leaven.dev/v1alpha1", "leaven.dev/v2", "v1"),
      kind: fc.constantFrom("ImageSpec", "ConfigMap"),
      metadata: fc.record({ name: fc.constantFrom("a", "b", "c", "Bad name") }),
      spec: value,
    });
    fc.assert(
      fc.property(fc.array(document, { maxLength: 4 }), (docs) =>
        check(docs.map((d) => stringify(d)).join("---\n")),
      ),
      { numRuns: 300 },
    );
  });
});
