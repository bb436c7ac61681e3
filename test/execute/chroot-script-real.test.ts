// The volume bake's chroot script and the instance bake's user data, run for real on a Debian root built
// by debootstrap: packages really installed by apt from Debian's mirror, files, the spec's script, the
// identity clean-up, the unmounts and the marker line, exactly as the bakery host (or cloud-init) runs them.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  statSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { formatBakeMarker, parseBakeMarker } from "../../controller/api/bake-protocol.ts";
import { parseConsoleManifest } from "../../controller/api/package-manifest.ts";
import type { Provision } from "../../controller/api/types.generated.ts";
import { renderChrootScript } from "../../controller/execute/chroot-script.ts";
import { renderUserData } from "../../controller/execute/user-data.ts";
import {
  debianRoot,
  debootstrapUnavailable,
  directoryVolume,
  dpkgList as installedByDpkg,
  loopDevicesAvailable,
  loopVolume,
  runInChroot,
  type Volume,
} from "../support/debootstrap.ts";

const BUILD = "1.4.0+c0ffee42";
const unavailable = debootstrapUnavailable();
if (unavailable) console.warn(`skipping the real chroot runs: ${unavailable}`);

const provision: Provision = {
  packages: ["chrony"],
  files: [
    { path: "/etc/acme/agent.conf", content: "level=1\n", mode: "0640", owner: "root:adm" },
    { path: "/opt/acme/run.sh", content: "#!/bin/sh\necho ok", mode: "0755" },
  ],
  script: 'echo "$LEAVEN_BUILD_ID of $LEAVEN_SPEC" >/etc/acme/stamp\n',
};

/** Identity and state a launched instance left behind, which the bake must clean. */
function seedIdentity(root: string): void {
  const seed: Record<string, string> = {
    "etc/machine-id": "0123456789abcdef0123456789abcdef\n",
    "etc/ssh/ssh_host_ed25519_key": "secret",
    "var/lib/cloud/instance/boot-finished": "x",
    "etc/resolv.conf": "nameserver 169.254.169.253\n",
  };
  for (const [rel, content] of Object.entries(seed)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), content);
  }
}

/** dpkg's own view of the root, as the manifest lists it: name, version, architecture. */
const dpkgList = (root: string): string[] =>
  installedByDpkg(root)
    .map((p) => `${p.name} ${p.version} ${p.architecture}`)
    .sort();

function installedPackages(root: string): string[] {
  const listed = spawnSync(
    "dpkg-query",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format, not a template.
    ["--admindir", path.join(root, "var/lib/dpkg"), "-W", "-f", "${db:Status-Abbrev}${Package}\\n"],
    {
      encoding: "utf8",
    },
  );
  return listed.stdout
    .split("\n")
    .filter((line) => line.startsWith("ii "))
    .map((line) => line.slice(3).trim());
}

const mountsUnder = (dir: string) =>
  readFileSync("/proc/self/mounts", "utf8")
    .split("\n")
    .filter((line) => line.split(" ")[1]?.startsWith(dir));

const volumes: Volume[] = [];
afterEach(() => {
  for (const volume of volumes.splice(0)) volume.dispose();
});

describe.skipIf(unavailable !== undefined)("real runs on a debootstrapped Debian bookworm", () => {
  let root = "";
  beforeAll(() => {
    root = debianRoot("bookworm");
  }, 300_000);

  function runChroot(volume: Volume & { dir?: string }, input: Provision, mountPoint: string) {
    const script = renderChrootScript({
      buildId: BUILD,
      spec: "api-server",
      provision: input,
      ...(volume.device ? { device: volume.device } : {}),
      mountPoint,
    });
    return spawnSync("bash", ["-c", script], {
      encoding: "utf8",
      env: { ...process.env, ...(volume.dir ? { LEAVEN_CHROOT_DIR: volume.dir } : {}) },
    });
  }

  const newVolume = (kind: "loop" | "directory" = "loop"): Volume & { dir?: string } => {
    const volume = kind === "loop" && loopDevicesAvailable() ? loopVolume(root) : directoryVolume(root);
    volumes.push(volume);
    volume.inspect(seedIdentity);
    return volume;
  };

  // A loop device where the machine allows one (as the bakery host sees an attached volume), and the
  // prepared directory of LEAVEN_CHROOT_DIR.
  it.each(["loop", "directory"] as const)(
    "the chroot script provisions a %s volume, cleans it, unmounts and prints the success marker",
    (kind) => {
      const volume = newVolume(kind);
      if (kind === "loop" && process.env.CI) expect(volume.device).toBeDefined();
      const mountPoint = path.join(path.dirname(root), `mnt-${process.pid}-ok-${kind}`);
      const result = runChroot(volume, provision, mountPoint);
      if (volume.device) expect(result.stderr).toContain(`leaven: root filesystem ${volume.device} (ext4)\n`);
      expect(result.stderr).not.toContain("posix_openpt");
      expect(result.status).toBe(0);
      // The verdict first, then the manifest: GetCommandInvocation keeps only stdout's first 24,000
      // characters, the S3 output all of it.
      const lines = result.stdout.trimEnd().split("\n");
      const marker = lines.indexOf(formatBakeMarker({ build: BUILD, result: "success" }));
      const begin = lines.indexOf(`LEAVEN-MANIFEST-BEGIN build=${BUILD}`);
      expect(marker).toBeGreaterThanOrEqual(0);
      expect(begin).toBeGreaterThan(marker);
      expect(lines.at(-1)).toMatch(
        new RegExp(`^LEAVEN-MANIFEST-END build=${BUILD.replace("+", "\\+")} parts=\\d+ sha256=`),
      );
      expect(parseBakeMarker(result.stdout, BUILD)).toEqual({ build: BUILD, result: "success" });
      const read = parseConsoleManifest(result.stdout, "api-server", BUILD);
      if (!read.found) throw new Error(read.reason);
      // The chroot's own package database, provisioned: not the host's.
      const listed = read.manifest.packages.map((p) => `${p.name} ${p.version} ${p.architecture}`).sort();
      volume.inspect((r) => expect(listed).toEqual(dpkgList(r)));
      expect(listed.some((p) => p.startsWith("chrony "))).toBe(true);
      expect(read.manifest.packageManager).toBe("dpkg");
      expect(mountsUnder(mountPoint)).toEqual([]);
      expect(mountsUnder(volume.dir ?? "/nonexistent-leaven")).toEqual([]);
      volume.inspect((r) => {
        expect(installedPackages(r)).toContain("chrony");
        const conf = statSync(path.join(r, "etc/acme/agent.conf"));
        expect(conf.mode & 0o777).toBe(0o640);
        expect([conf.uid, conf.gid]).toEqual([0, 4]); // root:adm in Debian's base-passwd
        expect(readFileSync(path.join(r, "opt/acme/run.sh"), "utf8")).toBe("#!/bin/sh\necho ok");
        expect(statSync(path.join(r, "opt/acme/run.sh")).mode & 0o777).toBe(0o755);
        expect(readFileSync(path.join(r, "etc/acme/stamp"), "utf8")).toBe(`${BUILD} of api-server\n`);
        expect(readFileSync(path.join(r, "etc/machine-id"), "utf8")).toBe("");
        expect(existsSync(path.join(r, "etc/ssh/ssh_host_ed25519_key"))).toBe(false);
        expect(existsSync(path.join(r, "var/lib/cloud"))).toBe(false);
        expect(readdirSync(path.join(r, "var/lib/apt/lists"))).toEqual([]);
        expect(readdirSync(path.join(r, "var/cache/apt/archives")).filter((f) => f.endsWith(".deb"))).toEqual(
          [],
        );
        // What the bake put in place for itself is gone and the image's own resolver file is back.
        expect(existsSync(path.join(r, "usr/sbin/policy-rc.d"))).toBe(false);
        expect(readFileSync(path.join(r, "etc/resolv.conf"), "utf8")).toBe("nameserver 169.254.169.253\n");
        expect(existsSync(path.join(r, "etc/resolv.conf.leaven-saved"))).toBe(false);
      });
    },
    300_000,
  );

  it("a failing provision script prints the failure marker and still unmounts everything", () => {
    const volume = newVolume();
    const mountPoint = path.join(path.dirname(root), `mnt-${process.pid}-fail`);
    const result = runChroot(volume, { script: "echo about to fail >&2\nexit 7\n" }, mountPoint);
    expect(result.status).toBe(7);
    expect(result.stderr).toContain("about to fail");
    // A failed bake's image is never made: no manifest is printed for it.
    expect(result.stdout).not.toContain("LEAVEN-MANIFEST-");
    expect(parseBakeMarker(result.stdout, BUILD)).toMatchObject({
      build: BUILD,
      result: "failure",
      reason: "run the provision script failed with exit status 7",
    });
    expect(mountsUnder(mountPoint)).toEqual([]);
    expect(mountsUnder(volume.dir ?? "/nonexistent-leaven")).toEqual([]);
    volume.inspect((r) => {
      expect(existsSync(path.join(r, "usr/sbin/policy-rc.d"))).toBe(false);
      expect(readFileSync(path.join(r, "etc/resolv.conf"), "utf8")).toBe("nameserver 169.254.169.253\n");
    });
  }, 300_000);

  it("the instance bake's user data, run in a chroot of the same root, provisions and prints its marker", () => {
    const volume = directoryVolume(root);
    volumes.push(volume);
    const r = volume.dir;
    seedIdentity(r);
    writeFileSync(path.join(r, "etc/resolv.conf"), readFileSync("/etc/resolv.conf"));
    // The instance's power-off, recorded instead of done; and no service starts in the chroot.
    writeFileSync(path.join(r, "usr/local/sbin/shutdown"), '#!/bin/sh\necho "$*" >/shutdown-called\n');
    chmodSync(path.join(r, "usr/local/sbin/shutdown"), 0o755);
    writeFileSync(path.join(r, "usr/sbin/policy-rc.d"), "#!/bin/sh\nexit 101\n");
    chmodSync(path.join(r, "usr/sbin/policy-rc.d"), 0o755);
    writeFileSync(
      path.join(r, "user-data.sh"),
      renderUserData({
        buildId: BUILD,
        spec: "api-server",
        provision: { ...provision, packages: ["chrony", "nginx-light"] },
      }),
    );
    const result = runInChroot(r, "/user-data.sh");
    expect(result.status).toBe(0);
    expect(result.stdout.trimEnd().split("\n").at(-1)).toBe(
      formatBakeMarker({ build: BUILD, result: "success" }),
    );
    expect(readFileSync(path.join(r, "shutdown-called"), "utf8")).toBe("-h now\n");
    expect(installedPackages(r)).toEqual(expect.arrayContaining(["chrony", "nginx-light"]));
    expect(statSync(path.join(r, "etc/acme/agent.conf")).mode & 0o777).toBe(0o640);
    expect(readFileSync(path.join(r, "etc/acme/stamp"), "utf8")).toBe(`${BUILD} of api-server\n`);
    expect(readFileSync(path.join(r, "etc/machine-id"), "utf8")).toBe("");
    expect(existsSync(path.join(r, "etc/ssh/ssh_host_ed25519_key"))).toBe(false);
    expect(mountsUnder(r)).toEqual([]);
  }, 300_000);
});
