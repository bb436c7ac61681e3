// Table tests for the package manifest: the console protocol (parts, duplicates, cut-off blocks), the body's
// parsing (dpkg and rpm source names), keys, the stored encoding, the SBOM and the diff between builds.
import { describe, expect, it } from "vitest";
import {
  decodeManifest,
  diffManifests,
  encodeManifest,
  formatManifestBody,
  type InstalledPackage,
  manifestConsoleLines,
  manifestKey,
  type PackageManifest,
  parseConsoleManifest,
  parseManifestBody,
  parseManifestKey,
  sbomKey,
  toCycloneDx,
} from "../../controller/api/package-manifest.ts";

const pkg = (name: string, version: string, source = name, architecture = "amd64"): InstalledPackage => ({
  name,
  version,
  architecture,
  source,
});
const manifest = (packages: InstalledPackage[], kernel?: string): PackageManifest => ({
  format: "leaven-manifest/v1",
  spec: "base",
  build: "1.0.0+aaaaaaaa",
  packageManager: "dpkg",
  ...(kernel ? { kernel } : {}),
  packages,
});

const BODY = formatManifestBody({
  packageManager: "dpkg",
  kernel: "6.1.0-18-amd64",
  packages: [pkg("openssl", "3.0.11-1~deb12u2"), pkg("libssl3", "3.0.11-1~deb12u2", "openssl")],
});

describe("the console protocol", () => {
  const lines = manifestConsoleLines("1.0.0+aaaaaaaa", BODY);
  const console = (body: string[]) => `boot\r\n${body.join("\r\n")}\r\nLEAVEN-BAKE-RESULT ...\r\n`;

  it.each([
    ["as printed", lines, true],
    ["every line twice, interleaved (stdout and /dev/console)", lines.flatMap((l) => [l, l]), true],
    ["with a part missing", lines.filter((_, n) => n !== 1), false],
    ["cut off before the END line", lines.slice(0, -1), false],
    ["with a part changed", lines.map((l, n) => (n === 1 ? `${l.slice(0, -2)}AA` : l)), false],
    ["for another build only", manifestConsoleLines("2.0.0+bbbbbbbb", BODY), false],
  ])("%s", (_label, body, found) => {
    const read = parseConsoleManifest(console(body), "base", "1.0.0+aaaaaaaa");
    expect(read.found).toBe(found);
    if (read.found) expect(read.manifest.packages.map((p) => p.name)).toEqual(["libssl3", "openssl"]);
    else expect(read.reason).toContain("1.0.0+aaaaaaaa");
  });

  it("the last complete block wins when a console holds two bakes of the build", () => {
    const newer = formatManifestBody({ packageManager: "dpkg", packages: [pkg("curl", "8.0")] });
    const read = parseConsoleManifest(
      [...lines, ...manifestConsoleLines("1.0.0+aaaaaaaa", newer)].join("\n"),
      "base",
      "1.0.0+aaaaaaaa",
    );
    expect(read.found && read.manifest.packages.map((p) => p.name)).toEqual(["curl"]);
  });
});

describe("the body", () => {
  it.each([
    ["dpkg, source named", "dpkg", "p\tlibssl3\t3.0\tamd64\topenssl", "openssl"],
    ["dpkg, source with its own version", "dpkg", "p\tlibssl3\t3.0+b1\tamd64\topenssl (3.0)", "openssl"],
    ["dpkg, no source", "dpkg", "p\tbash\t5.2\tamd64\t", "bash"],
    [
      "rpm, source rpm",
      "rpm",
      "p\topenssl-libs\t1:3.0.8-1.amzn2023\tx86_64\topenssl-3.0.8-1.amzn2023.src.rpm",
      "openssl",
    ],
    ["rpm, gpg-pubkey", "rpm", "p\tgpg-pubkey\t3.0-1\t(none)\t(none)", "gpg-pubkey"],
  ])("%s", (_label, manager, line, source) => {
    const parsed = parseManifestBody(`manager\t${manager}\nkernel\t6.1\n${line}\n`, "s", "b");
    expect(parsed.packageManager).toBe(manager);
    expect(parsed.kernel).toBe("6.1");
    expect(parsed.packages[0]?.source).toBe(source);
  });
});

describe("keys and encoding", () => {
  it.each([
    [undefined, "base/1.0.0+aaaaaaaa.json.gz"],
    ["manifests", "manifests/base/1.0.0+aaaaaaaa.json.gz"],
    ["leaven/manifests/", "leaven/manifests/base/1.0.0+aaaaaaaa.json.gz"],
  ])("prefix %s", (prefix, key) => {
    expect(manifestKey(prefix, "base", "1.0.0+aaaaaaaa")).toBe(key);
    expect(sbomKey(prefix, "base", "1.0.0+aaaaaaaa")).toBe(key.replace(".json.gz", ".cdx.json"));
    expect(parseManifestKey(prefix, key)).toEqual({ spec: "base", build: "1.0.0+aaaaaaaa" });
    expect(parseManifestKey(prefix, key.replace(".json.gz", ".cdx.json"))).toBeUndefined();
  });

  it("round-trips through gzip JSON, and the SBOM lists every package with its purl", () => {
    const m = parseManifestBody(BODY, "base", "1.0.0+aaaaaaaa");
    expect(decodeManifest(encodeManifest(m))).toEqual(m);
    const sbom = toCycloneDx(m, "debian") as { bomFormat: string; components: { purl: string }[] };
    expect(sbom.bomFormat).toBe("CycloneDX");
    expect(sbom.components.map((c) => c.purl)).toEqual([
      "pkg:deb/debian/libssl3@3.0.11-1~deb12u2?arch=amd64&upstream=openssl",
      "pkg:deb/debian/openssl@3.0.11-1~deb12u2?arch=amd64",
    ]);
  });
});

describe("diff", () => {
  it.each([
    ["nothing changed", [pkg("a", "1")], [pkg("a", "1")], { added: [], removed: [], changed: [] }],
    ["added", [pkg("a", "1")], [pkg("a", "1"), pkg("b", "2")], { added: ["b"], removed: [], changed: [] }],
    ["removed", [pkg("a", "1"), pkg("b", "2")], [pkg("a", "1")], { added: [], removed: ["b"], changed: [] }],
    ["changed", [pkg("a", "1")], [pkg("a", "2")], { added: [], removed: [], changed: ["a 1 → 2"] }],
    [
      "another architecture is another package",
      [pkg("a", "1")],
      [pkg("a", "1"), pkg("a", "1", "a", "i386")],
      { added: ["a"], removed: [], changed: [] },
    ],
  ])("%s", (_label, before, after, expected) => {
    const diff = diffManifests(manifest(before), manifest(after));
    expect({
      added: diff.added.map((p) => p.name),
      removed: diff.removed.map((p) => p.name),
      changed: diff.changed.map((c) => `${c.name} ${c.from} → ${c.to}`),
    }).toEqual(expected);
  });

  it("names a kernel change", () => {
    expect(diffManifests(manifest([], "6.1.0-17"), manifest([], "6.1.0-18")).kernel).toEqual({
      from: "6.1.0-17",
      to: "6.1.0-18",
    });
  });
});
