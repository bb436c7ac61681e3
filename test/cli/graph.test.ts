import { describe, expect, it } from "vitest";
import { root, run } from "../support/in-process-cli.ts";

describe("leaven graph", () => {
  it("draws the examples as a foundation → base → app tree", async () => {
    const result = await run(["graph", "examples"]);
    expect(result.code).toBe(0);
    expect(result.stderr).toBe("");
    // Channels in the examples change as the demo evolves; the lineage itself is fixed.
    expect(result.stdout.split("\n").map((line) => line.split(")  ")[0])).toEqual([
      "al2023 (foundation",
      "└── al2023-base (base 1.8.1, on release",
      "    ├── ledger (app 2.0.3, on release",
      "    └── payments (app 5.1.0, on release",
      "ubuntu-jammy (foundation",
      "└── ubuntu-base (base 2.3.0, on release",
      "    ├── api-server (app 1.14.2, on candidate",
      "    ├── order-worker (app 0.9.4, on release",
      "    └── web-frontend (app 3.2.0, on release",
      "",
    ]);
    expect(result.stdout).toContain(
      "ubuntu-jammy (foundation)  candidate: latest; release: latest, minAge 7d\n",
    );
  });

  it("summarises each kind of selector", async () => {
    const result = await run(["graph", "selectors.yaml"], `${root}test/fixtures/valid`);
    expect(result).toEqual({
      code: 0,
      stderr: "",
      stdout: [
        "vendor (foundation)  candidate: latest; release: latest, minAge 7d; pinned: ami-0abcdef1234567890",
        "└── platform (base 2.3.0, on release)  candidate: latest; release: 2.3.0+5f2c91ab; range: version ^2.0.0, minAge 2d",
        "",
      ].join("\n"),
    });
  });

  it("draws Mermaid", async () => {
    const result = await run(["graph", "test/fixtures/valid/estate.yaml", "--format", "mermaid"]);
    expect(result).toEqual({
      code: 0,
      stderr: "",
      stdout: [
        "flowchart TD",
        '  s_ubuntu["<b>ubuntu</b><br/>foundation<br/>release: latest"]',
        '  s_base["<b>base</b><br/>base 1.0.0<br/>release: latest"]',
        '  s_app["<b>app</b><br/>app 1.0.0<br/>release: latest"]',
        "  s_ubuntu -->|release| s_base",
        "  s_base -->|release| s_app",
        "  classDef foundation fill:#e8f0fe,stroke:#4a6fa5",
        "  classDef base fill:#e6f4ea,stroke:#3c8d5a",
        "  classDef app fill:#fef7e0,stroke:#b08a1e",
        "  class s_ubuntu foundation",
        "  class s_base base",
        "  class s_app app",
        "",
      ].join("\n"),
    });
  });

  it("draws DOT", async () => {
    const result = await run(["graph", "test/fixtures/valid/estate.yaml", "-f", "dot"]);
    expect(result.stdout).toBe(
      [
        "digraph lineage {",
        "  rankdir=TB;",
        '  node [shape=box, style="rounded,filled", fontname="Helvetica"];',
        '  "ubuntu" [label="ubuntu\\nfoundation\\nrelease: latest", fillcolor="#e8f0fe"];',
        '  "base" [label="base\\nbase 1.0.0\\nrelease: latest", fillcolor="#e6f4ea"];',
        '  "app" [label="app\\napp 1.0.0\\nrelease: latest", fillcolor="#fef7e0"];',
        '  "ubuntu" -> "base" [label="release"];',
        '  "base" -> "app" [label="release"];',
        "}",
        "",
      ].join("\n"),
    );
  });

  it("omits invalid specs and their descendants with a note, exit 1", async () => {
    expect(await run(["graph", "invalid/duplicates"], `${root}test/fixtures`)).toEqual({
      code: 1,
      stdout: "ubuntu (foundation)  release: latest\n",
      stderr: [
        'invalid/duplicates/b.yaml:3:19 metadata.name: spec "base" is already defined at invalid/duplicates/a.yaml:13:19; give each spec a unique name',
        "note: app is not drawn: parent base is invalid",
        "note: base is not drawn: invalid: defined more than once (invalid/duplicates/a.yaml:13:19, invalid/duplicates/b.yaml:3:19)",
        "",
      ].join("\n"),
    });
  });

  it("rejects an unknown format", async () => {
    expect(await run(["graph", "--format", "svg"])).toEqual({
      code: 1,
      stdout: "",
      stderr: 'leaven graph: --format must be one of tree, mermaid, dot, not "svg".\n',
    });
  });
});
