// A manifests bucket as 2,000 specs rebaked every two weeks leave it: 20 builds a spec, each with a package
// manifest of about 700 Debian-like packages (Ubuntu 22.04's security-updated ones — openssl and libssl3,
// openssh, systemd, curl, the kernel — moving from build to build, the rest steady) and its SBOM beside it,
// and the images that are still live: a spec's newest three builds in two regions, the newest in candidate,
// the one before it in release, the third kept for a rollback. Seeded straight into the simulator.
import { createHash } from "node:crypto";
import { gzipSync } from "node:zlib";
import {
  type InstalledPackage,
  manifestKey,
  type PackageManifest,
  sbomKey,
  sortPackages,
} from "../controller/api/package-manifest.ts";
import { CHANNEL_TAG_PREFIX, Tag } from "../controller/api/tags.ts";
import type { SeedImage } from "../controller/sim/images.ts";
import { etagOf } from "../controller/sim/s3.ts";
import type { SimS3Bucket } from "../controller/sim/world.ts";

/** Real Ubuntu package names and their source packages (the rest of the ~700 are made up alike). */
const NAMED: [string, string][] = [
  ["adduser", "adduser"],
  ["apt", "apt"],
  ["apt-utils", "apt"],
  ["libapt-pkg6.0", "apt"],
  ["base-files", "base-files"],
  ["bash", "bash"],
  ["bsdutils", "util-linux"],
  ["util-linux", "util-linux"],
  ["libblkid1", "util-linux"],
  ["libmount1", "util-linux"],
  ["libuuid1", "util-linux"],
  ["coreutils", "coreutils"],
  ["dash", "dash"],
  ["debconf", "debconf"],
  ["dpkg", "dpkg"],
  ["e2fsprogs", "e2fsprogs"],
  ["findutils", "findutils"],
  ["gpgv", "gnupg2"],
  ["gnupg", "gnupg2"],
  ["grep", "grep"],
  ["gzip", "gzip"],
  ["hostname", "hostname"],
  ["init-system-helpers", "init-system-helpers"],
  ["libc6", "glibc"],
  ["libc-bin", "glibc"],
  ["locales", "glibc"],
  ["libgcc-s1", "gcc-12"],
  ["libstdc++6", "gcc-12"],
  ["libzstd1", "libzstd"],
  ["liblzma5", "xz-utils"],
  ["zlib1g", "zlib"],
  ["libpam0g", "pam"],
  ["libpam-modules", "pam"],
  ["login", "shadow"],
  ["passwd", "shadow"],
  ["mount", "util-linux"],
  ["ncurses-base", "ncurses"],
  ["libtinfo6", "ncurses"],
  ["perl-base", "perl"],
  ["sed", "sed"],
  ["tar", "tar"],
  ["ca-certificates", "ca-certificates"],
  ["python3", "python3-defaults"],
  ["python3.10", "python3.10"],
  ["libpython3.10", "python3.10"],
  ["tzdata", "tzdata"],
  ["vim-tiny", "vim"],
  ["xxd", "vim"],
  ["cloud-init", "cloud-init"],
  ["snapd", "snapd"],
  ["chrony", "chrony"],
  ["rsyslog", "rsyslog"],
  ["cron", "cron"],
  ["jq", "jq"],
  ["libjq1", "jq"],
  ["git", "git"],
  ["unattended-upgrades", "unattended-upgrades"],
];

/** Packages whose version moves with security updates: name, source, the version at a patch level. */
const MOVING: [string, string, (level: number) => string][] = [
  ["openssl", "openssl", (l) => `3.0.2-0ubuntu1.${6 + l}`],
  ["libssl3", "openssl", (l) => `3.0.2-0ubuntu1.${6 + l}`],
  ["openssh-client", "openssh", (l) => `1:8.9p1-3ubuntu0.${1 + (l >> 1)}`],
  ["openssh-server", "openssh", (l) => `1:8.9p1-3ubuntu0.${1 + (l >> 1)}`],
  ["openssh-sftp-server", "openssh", (l) => `1:8.9p1-3ubuntu0.${1 + (l >> 1)}`],
  ["systemd", "systemd", (l) => `249.11-0ubuntu3.${4 + (l >> 2)}`],
  ["libsystemd0", "systemd", (l) => `249.11-0ubuntu3.${4 + (l >> 2)}`],
  ["libudev1", "systemd", (l) => `249.11-0ubuntu3.${4 + (l >> 2)}`],
  ["udev", "systemd", (l) => `249.11-0ubuntu3.${4 + (l >> 2)}`],
  ["curl", "curl", (l) => `7.81.0-1ubuntu1.${7 + l}`],
  ["libcurl4", "curl", (l) => `7.81.0-1ubuntu1.${7 + l}`],
  ["sudo", "sudo", (l) => `1.9.9-1ubuntu2.${1 + (l >> 2)}`],
  ["linux-image-5.15.0-aws", "linux-aws", (l) => `5.15.0-${1030 + l * 3}.34`],
];

const hash = (text: string) => createHash("sha256").update(text).digest();

/** The steady ~680 packages of the foundation: real names first, then library-like made-up ones. */
function steadyPackages(): InstalledPackage[] {
  const out: InstalledPackage[] = NAMED.map(([name, source]) => ({
    name,
    version: steadyVersion(name),
    architecture: name === "ca-certificates" || name === "tzdata" ? "all" : "amd64",
    source,
  }));
  const stems = ["gnutls", "xml", "ffi", "pcre", "krb5", "ldap", "sqlite", "nghttp", "idn", "unistring"];
  for (let n = 0; out.length < 690 - MOVING.length; n++) {
    const stem = stems[n % stems.length]!;
    const source = `${stem}${Math.floor(n / 30)}`;
    out.push({
      name: `lib${stem}${n}`,
      version: steadyVersion(`${stem}${n}`),
      architecture: "amd64",
      source,
    });
  }
  return out;
}

function steadyVersion(name: string): string {
  const h = hash(name);
  return `${1 + (h[0]! % 9)}.${h[1]! % 20}.${h[2]! % 7}-${1 + (h[3]! % 4)}ubuntu${h[4]! % 3}`;
}

/** The patch level a spec's build is at: the spec's rebakes fall in different two-week windows. */
export const patchLevel = (specIndex: number, build: number) => Math.floor((build + (specIndex % 3)) / 3);

export interface ManifestEstate {
  objects: SimS3Bucket["objects"];
  images: SeedImage[];
  manifests: number;
  /** spec/build → the openssl version its manifest holds (for checking the command's answer). */
  openssl: Map<string, string>;
  /** spec/build of the builds in the release channel. */
  release: Set<string>;
}

export const buildId = (spec: string, b: number) =>
  `2.${Math.floor(b / 10)}.${b % 10}+${hash(`${spec}/${b}`).toString("hex").slice(0, 8)}`;

/** The body of a manifest as the bake stores it (gzip: level 6 here, to seed 40,000 in seconds). */
export function manifestOf(spec: string, specIndex: number, b: number, steady: InstalledPackage[]) {
  const level = patchLevel(specIndex, b);
  const packages = [
    ...steady,
    ...MOVING.map(([name, source, version]) => ({
      name,
      version: version(level),
      architecture: "amd64",
      source,
    })),
    { name: spec, version: buildId(spec, b).split("+")[0]!, architecture: "amd64", source: spec },
  ];
  const manifest: PackageManifest = {
    format: "leaven-manifest/v1",
    spec,
    build: buildId(spec, b),
    packageManager: "dpkg",
    kernel: MOVING.at(-1)![2](level),
    parent: { spec: "ubuntu-jammy", build: `ubuntu-jammy-22.04-${level}` },
    packages: sortPackages(packages),
  };
  return gzipSync(Buffer.from(`${JSON.stringify(manifest)}\n`, "utf8"), { level: 6 });
}

/**
 * The bucket's objects (under `prefix`) and the live images of `specs` builds each. SBOMs are stored as a
 * short stand-in: `contains` only lists them, and a real one of 700 components is 150 KB × 40,000.
 */
export function manifestEstate(
  specs: readonly string[],
  builds: number,
  regions: readonly string[],
  prefix: string,
  now: number,
): ManifestEstate {
  const steady = steadyPackages();
  const objects: SimS3Bucket["objects"] = {};
  const images: SeedImage[] = [];
  const openssl = new Map<string, string>();
  const release = new Set<string>();
  const sbom = Buffer.from('{"bomFormat":"CycloneDX","specVersion":"1.5","components":[]}\n').toString(
    "base64",
  );
  for (const [s, spec] of specs.entries()) {
    for (let b = 0; b < builds; b++) {
      const build = buildId(spec, b);
      const body = manifestOf(spec, s, b, steady);
      const at = now - (builds - b) * 14 * 86_400_000;
      const tags = { [Tag.managedBy]: "leaven", [Tag.spec]: spec, [Tag.build]: build };
      objects[manifestKey(prefix, spec, build)] = {
        body: body.toString("base64"),
        contentType: "application/json",
        contentEncoding: "gzip",
        tags,
        lastModified: at,
        etag: etagOf(body),
      };
      objects[sbomKey(prefix, spec, build)] = {
        body: sbom,
        contentType: "application/vnd.cyclonedx+json",
        tags,
        lastModified: at,
        etag: etagOf(Buffer.from(sbom, "base64")),
      };
      openssl.set(`${spec}/${build}`, MOVING[0]![2](patchLevel(s, b)));
      // The newest three builds are live: candidate, release, and one kept for a rollback.
      const age = builds - 1 - b;
      if (age > 2) continue;
      const channel = age === 0 ? "candidate" : age === 1 ? "release" : undefined;
      if (channel === "release") release.add(`${spec}/${build}`);
      for (const region of regions)
        images.push({
          region,
          name: `leaven/${spec}/${build.replace("+", "_")}`,
          tags: {
            ...tags,
            [Tag.homeRegion]: regions[0]!,
            // store-manifest tags the home image once the build's manifest is in the bucket.
            ...(region === regions[0] ? { [Tag.manifest]: "stored" } : {}),
            ...(channel ? { [`${CHANNEL_TAG_PREFIX}${channel}`]: "true" } : {}),
          },
          creationDate: at,
        });
    }
  }
  return { objects, images, manifests: specs.length * builds, openssl, release };
}
