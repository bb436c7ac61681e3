// A build's package manifest: what the bake printed to the console between marker lines after provisioning
// (user-data.ts), read back by the executor, stored in the manifests bucket (JSON, gzip) with a CycloneDX
// SBOM beside it, and read by `leaven diff`, `leaven contains` and `leaven builds`.
//
// On the console the manifest is gzip+base64 in numbered lines, so 740 packages cost about 18 KB of the
// 64 KB EC2 keeps, and a line lost or cut off is detected (the END line counts the parts and hashes them).
import { createHash } from "node:crypto";
import { gunzipSync, gzipSync } from "node:zlib";

export const MANIFEST_BEGIN = "LEAVEN-MANIFEST-BEGIN";
export const MANIFEST_PART = "LEAVEN-MANIFEST-PART";
export const MANIFEST_END = "LEAVEN-MANIFEST-END";

export interface InstalledPackage {
  name: string;
  version: string;
  architecture: string;
  /** The source package it was built from (dpkg's source:Package, rpm's SOURCERPM name); the name when none. */
  source: string;
}

export interface PackageManifest {
  format: "leaven-manifest/v1";
  spec: string;
  build: string;
  /** dpkg or rpm: which database the list came from. */
  packageManager: "dpkg" | "rpm";
  /** The newest kernel installed in /boot (the one the image boots), else the running one. */
  kernel?: string;
  /** The build it was baked on (its parent channel's build then): where the parent chain's manifests are. */
  parent?: { spec: string; build: string };
  /** Sorted by name, then architecture. */
  packages: InstalledPackage[];
}

/**
 * The manifest's body as the bake prints it (before gzip): a `manager` line, a `kernel` line and one `p`
 * line per package, tab-separated: `p NAME VERSION ARCH SOURCE`.
 */
export function parseManifestBody(body: string, spec: string, build: string): PackageManifest {
  let packageManager: "dpkg" | "rpm" = "dpkg";
  let kernel: string | undefined;
  const packages: InstalledPackage[] = [];
  for (const line of body.split("\n")) {
    const fields = line.replace(/\r$/, "").split("\t");
    if (fields[0] === "manager" && (fields[1] === "dpkg" || fields[1] === "rpm")) packageManager = fields[1];
    else if (fields[0] === "kernel" && fields[1]) kernel = fields[1];
    else if (fields[0] === "p" && fields[1] && fields[2]) {
      const [, name, version, architecture = "", source = ""] = fields as [
        string,
        string,
        string,
        ...string[],
      ];
      packages.push({ name, version, architecture, source: sourceName(source, packageManager) || name });
    }
  }
  return {
    format: "leaven-manifest/v1",
    spec,
    build,
    packageManager,
    ...(kernel ? { kernel } : {}),
    packages: sortPackages(packages),
  };
}

/** dpkg writes `src (1.2-3)` when the source version differs; rpm the source rpm's file name. */
function sourceName(source: string, manager: "dpkg" | "rpm"): string {
  const bare = source.replace(/\s*\(.*\)$/, "").trim();
  if (manager === "rpm" && bare.endsWith(".src.rpm")) return bare.replace(/-[^-]+-[^-]+\.src\.rpm$/, "");
  return bare === "(none)" ? "" : bare;
}

export function sortPackages(packages: InstalledPackage[]): InstalledPackage[] {
  return [...packages].sort((a, b) =>
    a.name === b.name
      ? a.architecture < b.architecture
        ? -1
        : a.architecture > b.architecture
          ? 1
          : 0
      : a.name < b.name
        ? -1
        : 1,
  );
}

export function formatManifestBody(manifest: Omit<PackageManifest, "format" | "spec" | "build">): string {
  return [
    `manager\t${manifest.packageManager}`,
    ...(manifest.kernel ? [`kernel\t${manifest.kernel}`] : []),
    ...manifest.packages.map((p) => `p\t${p.name}\t${p.version}\t${p.architecture}\t${p.source}`),
    "",
  ].join("\n");
}

/** The console lines of a manifest body, as the bake script prints them (the simulator prints these). */
export function manifestConsoleLines(build: string, body: string): string[] {
  const encoded = gzipSync(Buffer.from(body, "utf8"), { level: 9 }).toString("base64");
  const chunks = encoded.match(/.{1,76}/g) ?? [];
  const digest = createHash("sha256").update(chunks.join("\n")).update("\n").digest("hex");
  return [
    `${MANIFEST_BEGIN} build=${build}`,
    ...chunks.map((chunk, n) => `${MANIFEST_PART} build=${build} ${n + 1} ${chunk}`),
    `${MANIFEST_END} build=${build} parts=${chunks.length} sha256=${digest}`,
  ];
}

export type ManifestRead = { found: true; manifest: PackageManifest } | { found: false; reason: string };

/**
 * The last complete manifest of `build` on the console. A block whose parts are missing or whose hash differs
 * (lines cut off by the console's 64 KB cap) is not a manifest: the reason says so.
 */
export function parseConsoleManifest(consoleOutput: string, spec: string, build: string): ManifestRead {
  // The bake prints each line to stdout and to /dev/console, and cloud-init copies stdout to the console
  // too: a line may come twice, interleaved with the other copy. Parts are kept by number (both copies
  // say the same), and a block counts once its END line's count and hash match.
  let parts: Map<number, string> | undefined;
  let last: ManifestRead = {
    found: false,
    reason: `the console shows no package manifest for ${build}`,
  };
  for (const raw of consoleOutput.split("\n")) {
    const line = raw.replace(/\r$/, "");
    const at = line.indexOf("LEAVEN-MANIFEST-");
    if (at < 0) continue;
    const words = line.slice(at).split(" ");
    if (words[1] !== `build=${build}`) continue;
    if (words[0] === MANIFEST_BEGIN) parts ??= new Map();
    else if (words[0] === MANIFEST_PART && parts && words[3]) parts.set(Number(words[2]), words[3]);
    else if (words[0] === MANIFEST_END && parts) {
      const count = Number(words[2]?.replace(/^parts=/, ""));
      const digest = words[3]?.replace(/^sha256=/, "");
      const chunks = Array.from({ length: Number.isInteger(count) ? count : 0 }, (_, n) => parts?.get(n + 1));
      const complete = chunks.every((chunk) => chunk !== undefined);
      const text = `${chunks.join("\n")}\n`;
      if (!complete || createHash("sha256").update(text).digest("hex") !== digest) {
        last = {
          found: false,
          reason: `the package manifest of ${build} on the console is incomplete (${chunks.filter(Boolean).length} of ${count} parts, or lines changed)`,
        };
        continue;
      }
      try {
        const body = gunzipSync(Buffer.from(chunks.join(""), "base64")).toString("utf8");
        last = { found: true, manifest: parseManifestBody(body, spec, build) };
      } catch (error) {
        last = { found: false, reason: `the package manifest of ${build} does not unpack: ${String(error)}` };
      }
      parts = undefined;
    }
  }
  return last;
}

/** Where a build's manifest lives in the bucket: PREFIX/SPEC/BUILD.json.gz, with + kept (S3 keys allow it). */
export function manifestKey(prefix: string | undefined, spec: string, build: string): string {
  const base = prefix ? `${prefix.replace(/\/+$/, "")}/` : "";
  return `${base}${spec}/${build}.json.gz`;
}

export function sbomKey(prefix: string | undefined, spec: string, build: string): string {
  return manifestKey(prefix, spec, build).replace(/\.json\.gz$/, ".cdx.json");
}

/**
 * Where SSM Run Command writes a volume bake's full output (SendCommand OutputS3KeyPrefix):
 * PREFIX/_bake-output/SPEC/BUILD/VOLUME. No spec can be named `_bake-output` (names start with a letter or
 * digit), so the layout never meets a manifest's key.
 */
export function bakeOutputPrefix(
  prefix: string | undefined,
  spec: string,
  build: string,
  volumeId: string,
): string {
  const base = prefix ? `${prefix.replace(/\/+$/, "")}/` : "";
  return `${base}_bake-output/${spec}/${build}/${volumeId}`;
}

/** The AWS-RunShellScript plugin's part of an output key: KEYPREFIX/COMMAND/INSTANCE/awsrunShellScript/0.awsrunShellScript/stdout. */
export const RUN_SHELL_SCRIPT_OUTPUT = "awsrunShellScript/0.awsrunShellScript";

/** The key SSM writes one stream of one command's output to, under SendCommand's OutputS3KeyPrefix. */
export function commandOutputKey(
  keyPrefix: string,
  commandId: string,
  instanceId: string,
  stream: "stdout" | "stderr",
): string {
  return `${keyPrefix.replace(/\/+$/, "")}/${commandId}/${instanceId}/${RUN_SHELL_SCRIPT_OUTPUT}/${stream}`;
}

/** The spec and build a manifest key names, or undefined for any other object under the prefix. */
export function parseManifestKey(
  prefix: string | undefined,
  key: string,
): { spec: string; build: string } | undefined {
  const base = prefix ? `${prefix.replace(/\/+$/, "")}/` : "";
  if (!key.startsWith(base) || !key.endsWith(".json.gz")) return undefined;
  const [spec, file, ...more] = key.slice(base.length).split("/");
  if (!spec || !file || more.length > 0) return undefined;
  return { spec, build: file.slice(0, -".json.gz".length) };
}

export function encodeManifest(manifest: PackageManifest): Buffer {
  return gzipSync(Buffer.from(`${JSON.stringify(manifest)}\n`, "utf8"), { level: 9 });
}

export function decodeManifest(body: Uint8Array): PackageManifest {
  const manifest = JSON.parse(gunzipSync(body).toString("utf8")) as PackageManifest;
  if (manifest.format !== "leaven-manifest/v1" || !Array.isArray(manifest.packages))
    throw new Error("not a Leaven package manifest (format leaven-manifest/v1)");
  return manifest;
}

/** A CycloneDX 1.5 SBOM of the manifest: one component per package, with its purl. */
export function toCycloneDx(manifest: PackageManifest, distribution: string | undefined): object {
  const purlType = manifest.packageManager === "dpkg" ? "deb" : "rpm";
  const namespace = distribution ?? (purlType === "deb" ? "debian" : "amzn");
  return {
    bomFormat: "CycloneDX",
    specVersion: "1.5",
    serialNumber: `urn:uuid:${uuidOf(`${manifest.spec}/${manifest.build}`)}`,
    version: 1,
    metadata: {
      component: { type: "operating-system", name: manifest.spec, version: manifest.build },
      tools: { components: [{ type: "application", name: "leaven" }] },
      ...(manifest.kernel ? { properties: [{ name: "leaven:kernel", value: manifest.kernel }] } : {}),
    },
    components: manifest.packages.map((p) => ({
      type: "library",
      name: p.name,
      version: p.version,
      purl: `pkg:${purlType}/${namespace}/${encodeURIComponent(p.name)}@${encodeURIComponent(p.version)}?arch=${encodeURIComponent(p.architecture)}${p.source !== p.name ? `&upstream=${encodeURIComponent(p.source)}` : ""}`,
      ...(p.source !== p.name ? { properties: [{ name: "leaven:source", value: p.source }] } : {}),
    })),
  };
}

/** A deterministic UUID (v4 layout) from a name: the same build always gets the same serial number. */
function uuidOf(name: string): string {
  const hex = createHash("sha256").update(name).digest("hex");
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-4${hex.slice(13, 16)}-a${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export interface PackageChange {
  name: string;
  architecture: string;
  from: string;
  to: string;
}

export interface ManifestDiff {
  added: InstalledPackage[];
  removed: InstalledPackage[];
  changed: PackageChange[];
  kernel?: { from?: string; to?: string };
}

const packageId = (p: InstalledPackage) => `${p.name}:${p.architecture}`;

/** What changed from `a` to `b`: packages added, removed, and whose version changed; sorted by name. */
export function diffManifests(a: PackageManifest, b: PackageManifest): ManifestDiff {
  const before = new Map(a.packages.map((p) => [packageId(p), p]));
  const after = new Map(b.packages.map((p) => [packageId(p), p]));
  const added = b.packages.filter((p) => !before.has(packageId(p)));
  const removed = a.packages.filter((p) => !after.has(packageId(p)));
  const changed: PackageChange[] = [];
  for (const p of b.packages) {
    const old = before.get(packageId(p));
    if (old && old.version !== p.version)
      changed.push({ name: p.name, architecture: p.architecture, from: old.version, to: p.version });
  }
  return {
    added,
    removed,
    changed,
    ...(a.kernel !== b.kernel
      ? { kernel: { ...(a.kernel ? { from: a.kernel } : {}), ...(b.kernel ? { to: b.kernel } : {}) } }
      : {}),
  };
}

export function changeCount(diff: ManifestDiff): number {
  return diff.added.length + diff.removed.length + diff.changed.length;
}
