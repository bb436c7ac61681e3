// The package manifests the simulator's bakes print (api/package-manifest.ts). Not real packages, but
// plausible and deterministic: a vendor image's list follows from its name (its release date moves the
// security-updated packages), a baked image's from its parent's plus the packages its user data installs
// (pinned versions as pinned), so the diff between two builds is the diff of their recipes and parents.
import { createHash } from "node:crypto";
import {
  formatManifestBody,
  type InstalledPackage,
  parseManifestBody,
  sortPackages,
} from "../api/package-manifest.ts";
import type { SimImage, SimInstance, World } from "./world.ts";

interface SimManifest {
  packageManager: "dpkg" | "rpm";
  kernel: string;
  packages: InstalledPackage[];
}

const hash = (text: string) => createHash("sha256").update(text).digest().readUInt32BE(0);

/** name, base version, source; `s` marks the packages a vendor release updates. */
const DEBIAN_BASE: [string, string, string?, "s"?][] = [
  ["apt", "2.7.14build2"],
  ["base-files", "13ubuntu10"],
  ["bash", "5.2.21-2ubuntu4"],
  ["ca-certificates", "20240203"],
  ["cloud-init", "24.1.3-0ubuntu3", undefined, "s"],
  ["coreutils", "9.4-3ubuntu6"],
  ["curl", "8.5.0-2ubuntu10", undefined, "s"],
  ["dpkg", "1.22.6ubuntu6"],
  ["gzip", "1.12-1ubuntu3"],
  ["libc6", "2.39-0ubuntu8", "glibc", "s"],
  ["libcurl4t64", "8.5.0-2ubuntu10", "curl", "s"],
  ["libssl3t64", "3.0.13-0ubuntu3", "openssl", "s"],
  ["libsystemd0", "255.4-1ubuntu8", "systemd", "s"],
  ["openssh-client", "1:9.6p1-3ubuntu13", "openssh", "s"],
  ["openssh-server", "1:9.6p1-3ubuntu13", "openssh", "s"],
  ["openssl", "3.0.13-0ubuntu3", undefined, "s"],
  ["python3", "3.12.3-0ubuntu1", "python3-defaults"],
  ["sudo", "1.9.15p5-3ubuntu5", undefined, "s"],
  ["systemd", "255.4-1ubuntu8", undefined, "s"],
  ["tar", "1.35+dfsg-3build1"],
  ["tzdata", "2024a-3ubuntu1", undefined, "s"],
];
const RPM_BASE: [string, string, string?, "s"?][] = [
  ["bash", "5.2.15-1.amzn2023.0.2"],
  ["ca-certificates", "2023.2.64-1.amzn2023.0.1"],
  ["cloud-init", "22.2.2-1.amzn2023.1", undefined, "s"],
  ["coreutils", "8.32-30.amzn2023.0.3"],
  ["curl-minimal", "8.5.0-1.amzn2023.0.4", "curl", "s"],
  ["dnf", "4.14.0-1.amzn2023.0.5"],
  ["glibc", "2.34-52.amzn2023.0.11", undefined, "s"],
  ["openssh-server", "8.7p1-8.amzn2023.0.11", "openssh", "s"],
  ["openssl", "1:3.0.8-1.amzn2023.0.16", undefined, "s"],
  ["openssl-libs", "1:3.0.8-1.amzn2023.0.16", "openssl", "s"],
  ["python3", "3.9.16-1.amzn2023.0.9", undefined, "s"],
  ["rpm", "4.16.1.3-29.amzn2023.0.6"],
  ["sudo", "1.9.15-1.p5.amzn2023.0.1", undefined, "s"],
  ["systemd", "252.23-2.amzn2023", undefined, "s"],
  ["tzdata", "2024a-1.amzn2023.0.1", undefined, "s"],
];

/** A vendor image's packages: the release date in its name is the patch level of the updated ones. */
function vendorManifest(image: SimImage): SimManifest {
  const rpm = image.name.startsWith("al2023") || image.name.startsWith("amzn");
  const arm = image.architecture === "arm64";
  const architecture = rpm ? (arm ? "aarch64" : "x86_64") : arm ? "arm64" : "amd64";
  const date = /(\d{8})(?:\.\d+)?(?:-|$)/.exec(image.name)?.[1] ?? "20260101";
  const packages = (rpm ? RPM_BASE : DEBIAN_BASE).map(([name, version, source, updated]) => {
    // Each package moves once in a while: its patch level is how many of its release days have passed.
    const level = updated ? Math.floor((Number(date.slice(4)) + (hash(name) % 50)) / 100) + 1 : 0;
    return {
      name,
      version: level > 0 ? `${version}.${level}` : version,
      architecture: ["ca-certificates", "tzdata"].includes(name) && !rpm ? "all" : architecture,
      source: source ?? name,
    };
  });
  return {
    packageManager: rpm ? "rpm" : "dpkg",
    kernel: rpm
      ? `6.1.${90 + (Number(date.slice(6)) % 10)}-99.164.amzn2023.${architecture}`
      : "6.8.0-1015-aws",
    packages: sortPackages(packages),
  };
}

function findImage(world: World, region: string, imageId: string): SimImage | undefined {
  return world.region(region).images.get(imageId);
}

/** An image's manifest: recorded at CreateImage (and carried by copies), else derived from the vendor's name. */
export function imageManifest(world: World, region: string, imageId: string): SimManifest | undefined {
  const image = findImage(world, region, imageId);
  if (!image || image.platform === "windows") return undefined;
  if (image.packages !== undefined) return parseSimBody(image.packages);
  if (image.sourceImageId && image.sourceRegion)
    return imageManifest(world, image.sourceRegion, image.sourceImageId);
  return vendorManifest(image);
}

function parseSimBody(body: string): SimManifest {
  const parsed = parseManifestBody(body, "", "");
  return { packageManager: parsed.packageManager, kernel: parsed.kernel ?? "", packages: parsed.packages };
}

/** What the bake installed: the packages of the apt (or dnf/yum) install line of its user data. */
function installedBy(userData: string, manager: "dpkg" | "rpm"): string[] {
  const line =
    manager === "dpkg"
      ? /^\s*apt-get install -y (?:-o \S+ )*(.+)$/m.exec(userData)?.[1]
      : /^\s*"\$leaven_pm" install -y (.+)$/m.exec(userData)?.[1];
  return (line ?? "").split(/\s+/).filter((word) => word !== "" && !word.startsWith("-"));
}

/**
 * The manifest of what a bake holds once its script is done — an instance's (its user data on its image), or a
 * volume's (the chroot script on the volume's parent image); undefined for Windows.
 */
export function bakeManifest(
  world: World,
  region: string,
  instance: Pick<SimInstance, "buildId" | "imageId" | "userData">,
): SimManifest | undefined {
  if (instance.buildId === undefined) return undefined;
  const parent = imageManifest(world, region, instance.imageId);
  if (!parent) return undefined;
  const byName = new Map(parent.packages.map((p) => [p.name, p]));
  const architecture = parent.packages.find((p) => p.architecture !== "all")?.architecture ?? "amd64";
  if (/full-upgrade|"\$leaven_pm" upgrade -y/.test(instance.userData)) {
    // An upgrade takes what the distribution published since the parent: some packages, by the build.
    for (const p of parent.packages)
      if (hash(`${instance.buildId}/${p.name}`) % 4 === 0)
        byName.set(p.name, { ...p, version: `${p.version}+u${(hash(instance.buildId) % 90) + 10}` });
  }
  for (const word of installedBy(instance.userData, parent.packageManager)) {
    const unquoted = word.replace(/^'|'$/g, "");
    const [name, pinned] = parent.packageManager === "dpkg" ? unquoted.split("=") : [unquoted, undefined];
    if (!name) continue;
    const h = hash(name);
    byName.set(name, {
      name,
      version: pinned ?? `${1 + (h % 4)}.${h % 17}.${h % 7}-1`,
      architecture,
      source: name,
    });
  }
  return { ...parent, packages: sortPackages([...byName.values()]) };
}

export function simManifestBody(manifest: SimManifest): string {
  return formatManifestBody(manifest);
}
