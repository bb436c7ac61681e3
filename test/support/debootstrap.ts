// A real Debian root for tests that run bake scripts for real: `debootstrap --variant=minbase`, built once
// and cached under $HOME/.cache/leaven-debootstrap/<suite>-minbase (the first build takes ~30-60 s), then
// copied per test into a loop-mounted ext4 image (a "volume") or a plain directory.
import { type SpawnSyncReturns, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { homedir, tmpdir } from "node:os";
import path from "node:path";

const MIRROR = "http://deb.debian.org/debian";

function run(command: string, args: string[]): { status: number | null; output: string } {
  const result = spawnSync(command, args, { encoding: "utf8" });
  return { status: result.status, output: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}

/** Why this machine cannot build a Debian root, or undefined when it can. */
export function debootstrapUnavailable(): string | undefined {
  if (process.getuid?.() !== 0) return "needs root (debootstrap, chroot and mount do)";
  if (run("sh", ["-c", "command -v debootstrap"]).status === 0) return undefined;
  if (run("sh", ["-c", "command -v apt-get"]).status !== 0)
    return "debootstrap is not installed and there is no apt-get to install it";
  const installed = spawnSync("apt-get", ["install", "-y", "-qq", "--no-install-recommends", "debootstrap"], {
    encoding: "utf8",
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
  });
  return installed.status === 0 ? undefined : `apt-get install debootstrap failed: ${installed.stderr}`;
}

/** How long a test file waits for another one's build of the root (a first build takes ~30-60 s). */
const BUILD_WAIT_MS = 10 * 60_000;

/**
 * The cached minbase root of `suite`, built on first use. Test files run in parallel workers and several
 * need the root: one builds it under a lock (a directory, created atomically) while the others wait, since
 * two debootstraps into one directory break each other. A lock whose builder died is taken over.
 */
export function debianRoot(suite = "bookworm"): string {
  const cache = path.join(homedir(), ".cache", "leaven-debootstrap");
  const root = path.join(cache, `${suite}-minbase`);
  const built = () => existsSync(path.join(root, "etc/os-release"));
  if (built()) return root;
  mkdirSync(cache, { recursive: true });
  const lock = `${root}.lock`;
  const deadline = Date.now() + BUILD_WAIT_MS;
  while (!tryLock(lock)) {
    if (built()) return root;
    if (Date.now() > deadline)
      throw new Error(`waited ${BUILD_WAIT_MS / 60_000} min for another build of ${root} (lock ${lock})`);
    sleepSync(500);
  }
  try {
    if (built()) return root;
    // Built aside and renamed, so an interrupted build is never taken for a finished one.
    const partial = `${root}.partial`;
    rmSync(partial, { recursive: true, force: true });
    const result = run("debootstrap", ["--variant=minbase", suite, partial, MIRROR]);
    if (result.status !== 0) throw new Error(`debootstrap ${suite} failed:\n${result.output}`);
    rmSync(root, { recursive: true, force: true });
    renameSync(partial, root);
    return root;
  } finally {
    rmSync(lock, { recursive: true, force: true });
  }
}

/** Takes the lock directory, or a stale one whose owner is no longer running; false while another holds it. */
function tryLock(lock: string): boolean {
  try {
    mkdirSync(lock);
    writeFileSync(path.join(lock, "pid"), String(process.pid));
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
  }
  let owner: number | undefined;
  try {
    owner = Number(readFileSync(path.join(lock, "pid"), "utf8"));
  } catch {
    // Created but its pid not written yet: give the owner a moment.
    return false;
  }
  if (Number.isInteger(owner) && owner > 0 && processRunning(owner)) return false;
  rmSync(lock, { recursive: true, force: true });
  return false;
}

function processRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/** Whether loop devices can be attached here (containers often forbid them). */
export function loopDevicesAvailable(): boolean {
  return run("losetup", ["-f"]).status === 0;
}

export interface Volume {
  /** The loop device holding an ext4 copy of the root, when loop devices are available. */
  device?: string;
  /** Runs `look` on the root as a directory (the loop device mounted read-write for the call), to seed or check it. */
  inspect<T>(look: (root: string) => T): T;
  dispose(): void;
}

/** A fresh copy of the root as a whole-disk ext4 filesystem on a loop device. */
export function loopVolume(root: string): Volume {
  const dir = mkdtempSync(path.join(tmpdir(), "leaven-volume-"));
  const image = path.join(dir, "volume.img");
  must(run("truncate", ["-s", "1G", image]), "truncate");
  must(run("mkfs.ext4", ["-q", "-d", root, image]), "mkfs.ext4 -d");
  const attached = run("losetup", ["-f", "--show", image]);
  must(attached, "losetup");
  const device = attached.output.trim();
  return {
    device,
    inspect(look) {
      const mnt = path.join(dir, "inspect");
      mkdirSync(mnt, { recursive: true });
      must(run("mount", [device, mnt]), "mount");
      try {
        return look(mnt);
      } finally {
        run("umount", [mnt]);
      }
    },
    dispose() {
      run("losetup", ["-d", device]);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh copy of the root as a directory. */
export function directoryVolume(root: string): Volume & { dir: string } {
  const dir = mkdtempSync(path.join(tmpdir(), "leaven-root-"));
  must(run("cp", ["-a", `${root}/.`, dir]), "cp -a");
  return {
    dir,
    inspect: (look) => look(dir),
    dispose: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function must(result: { status: number | null; output: string }, what: string): void {
  if (result.status !== 0) throw new Error(`${what} failed: ${result.output}`);
}

/**
 * Runs `script` (a path inside `root`) with bash in a chroot of `root`, /proc and /dev bound in as the
 * instance's are, and unbinds them whatever happens: what cloud-init does with the user data, on a Debian root.
 */
export function runInChroot(root: string, script: string, timeout = 540_000): SpawnSyncReturns<string> {
  const binds = ["proc", "dev"];
  for (const fs of binds) spawnSync("mount", ["--bind", `/${fs}`, path.join(root, fs)]);
  try {
    return spawnSync("chroot", [root, "/bin/bash", script], {
      encoding: "utf8",
      env: { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: "/root" },
      timeout,
    });
  } finally {
    for (const fs of binds.reverse()) spawnSync("umount", [path.join(root, fs)]);
  }
}

/** The release suite with its updates and security suites, as Debian's cloud images have them. */
export const DEBIAN_UPDATE_SOURCES = [
  "deb http://deb.debian.org/debian bookworm main",
  "deb http://deb.debian.org/debian bookworm-updates main",
  "deb http://deb.debian.org/debian-security bookworm-security main",
];

/** Why the mirror cannot serve the upgrade, or undefined when its suites answer. */
export async function updateSuitesUnreachable(): Promise<string | undefined> {
  for (const url of [
    "http://deb.debian.org/debian/dists/bookworm-updates/InRelease",
    "http://deb.debian.org/debian-security/dists/bookworm-security/InRelease",
  ]) {
    try {
      const response = await fetch(url, { method: "HEAD", signal: AbortSignal.timeout(10_000) });
      if (!response.ok) return `${url} answered ${response.status}`;
    } catch (error) {
      return `${url} is unreachable (${String((error as { cause?: unknown }).cause ?? error)})`;
    }
  }
  return undefined;
}

export interface Installed {
  name: string;
  version: string;
  architecture: string;
  source: string;
}

/** dpkg's own list of the root's installed packages, read from its database by the host's dpkg-query. */
export function dpkgList(root: string): Installed[] {
  const listed = spawnSync(
    "dpkg-query",
    [
      "--admindir",
      path.join(root, "var/lib/dpkg"),
      "-W",
      "-f",
      // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format, not a template.
      "${db:Status-Abbrev}\\t${Package}\\t${Version}\\t${Architecture}\\t${source:Package}\\n",
    ],
    { encoding: "utf8" },
  );
  if (listed.status !== 0) throw new Error(`dpkg-query failed: ${listed.stderr}`);
  return listed.stdout
    .split("\n")
    .filter((line) => line.startsWith("ii"))
    .map((line) => {
      const [, name = "", version = "", architecture = "", source = ""] = line.split("\t");
      return { name, version, architecture, source: source || name };
    })
    .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
