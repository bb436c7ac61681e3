import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { describe, expect, it } from "vitest";
import { renderUserData, USER_DATA_LIMIT_BYTES } from "../../controller/execute/user-data.ts";
import { loadSpecs } from "../../controller/validation/load-specs.ts";
import { formatDiagnostic } from "../../controller/validation/result.ts";
import { checkSpecRules } from "../../controller/validation/spec-rules.ts";

const fixtures = fileURLToPath(new URL("../fixtures", import.meta.url));

function base(provision: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return {
    apiVersion: "leaven.dev/v1alpha1",
    kind: "ImageSpec",
    metadata: { name: "s" },
    spec: {
      layer: "base",
      parent: { spec: "vendor", channel: "release" },
      version: "1.0.0",
      provision,
      regions: ["us-east-1"],
      channels: { release: { latest: true } },
      ...extra,
    },
  };
}

/** The script's size, for a script of `n` bytes: what plan would render for any build of the spec. */
const renderedWith = (script: string) =>
  Buffer.byteLength(renderUserData({ buildId: "1.0.0+5f2c91ab", spec: "s", provision: { script } }));

describe("the user-data limit, checked by validate", () => {
  const overhead = renderedWith("x") - 1;
  const sizes = (problems: ReturnType<typeof checkSpecRules>) => problems.map((p) => p.message);

  it.each([
    ["exactly at the limit", USER_DATA_LIMIT_BYTES - overhead, []],
    [
      "one byte over",
      USER_DATA_LIMIT_BYTES - overhead + 1,
      [
        `the rendered bake script would be ${USER_DATA_LIMIT_BYTES + 1} bytes, over EC2's 16384-byte user-data limit (this field is ${USER_DATA_LIMIT_BYTES - overhead + 1} bytes); ship large files in a package, or fetch them from the provision script`,
      ],
    ],
  ])("a provision script %s", (_, length, expected) => {
    const script = "x".repeat(length);
    expect(sizes(checkSpecRules(base({ script })))).toEqual(expected);
  });

  it("points at the largest of the fields that make the script large", () => {
    const problems = checkSpecRules(
      base({
        script: "y".repeat(6000),
        files: [
          { path: "/etc/a", content: "a".repeat(5000) },
          { path: "/etc/b", content: "b".repeat(7000) },
        ],
      }),
    );
    expect(problems.map((p) => p.path)).toEqual([["spec", "provision", "files", 1, "content"]]);
    expect(problems[0]!.message).toMatch(
      /^the rendered bake script would be more than 18000 bytes, over EC2's 16384-byte user-data limit \(this field is 7000 bytes\)/,
    );
  });

  it("measures bytes, not characters", () => {
    // 6,000 two-byte characters: 12,000 bytes, with the rest of the script over 16 KB.
    const problems = checkSpecRules(
      base({ script: "é".repeat(6000), files: [{ path: "/a", content: "a".repeat(4000) }] }),
    );
    expect(problems.map((p) => p.path)).toEqual([["spec", "provision", "script"]]);
    expect(problems[0]!.message).toContain("(this field is 12000 bytes)");
  });

  it("says a field over the limit by itself is, at the field's line", async () => {
    // A 2 MB script: reported from its length alone (validate never renders megabytes of script).
    const dir = await mkdtemp(join(tmpdir(), "leaven-user-data-"));
    try {
      const vendor = (await readFile(join(fixtures, "invalid/user-data.yaml"), "utf8")).split("---\n")[0]!;
      const script = `        echo ${"z".repeat(70)}\n`.repeat(26_000);
      await writeFile(
        join(dir, "huge.yaml"),
        `${vendor}---\napiVersion: leaven.dev/v1alpha1\nkind: ImageSpec\nmetadata:\n  name: huge\nspec:\n  layer: base\n  parent: { spec: vendor, channel: release }\n  version: 1.0.0\n  provision:\n    script: |\n${script}  regions: [us-east-1]\n  channels:\n    release: { latest: true }\n`,
      );
      const result = await loadSpecs(["huge.yaml"], { cwd: dir });
      expect(result.diagnostics.map(formatDiagnostic)).toEqual([
        "huge.yaml:21:13 spec.provision.script: this field alone is 1976000 bytes, over EC2's 16384-byte user-data limit for the whole rendered bake script; ship large files in a package, or fetch them from the provision script",
      ]);
      expect(result.blocked.get("huge")).toMatch(/^invalid: spec\.provision\.script: this field alone/);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it("does not count a foundation, which is never baked", () => {
    const foundation = {
      ...base({ script: "x".repeat(20_000) }),
      spec: { layer: "foundation", provision: { script: "x".repeat(20_000) } },
    };
    expect(sizes(checkSpecRules(foundation)).filter((m) => m.includes("user-data"))).toEqual([]);
  });
});
