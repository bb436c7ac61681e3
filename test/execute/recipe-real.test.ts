// provision.upgrade and provision.ansible, run for real in a chroot of a debootstrapped Debian bookworm: every
// package upgraded first, Ansible (and git) installed for the bake, the playbook fetched from a git repository
// at a pinned commit and applied (it writes a file and installs a package), Ansible and git removed again, and
// — with a new kernel installed — the reboot into it, after which the bake continues, prints the package
// manifest and its marker once.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdirSync,
  readFileSync,
  readlinkSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { formatBakeMarker } from "../../controller/api/bake-protocol.ts";
import { parseConsoleManifest } from "../../controller/api/package-manifest.ts";
import { renderUserData } from "../../controller/execute/user-data.ts";
import {
  DEBIAN_UPDATE_SOURCES,
  debianRoot,
  debootstrapUnavailable,
  directoryVolume,
  dpkgList,
  runInChroot,
  updateSuitesUnreachable,
  type Volume,
} from "../support/debootstrap.ts";

const BUILD = "2.0.0+5eed1e55";
const unavailable = debootstrapUnavailable() ?? (await updateSuitesUnreachable());
if (unavailable) console.warn(`skipping the real recipe runs: ${unavailable}`);

const PLAYBOOK = `- hosts: localhost
  gather_facts: false
  tasks:
    - name: its directory
      ansible.builtin.file:
        path: /etc/acme
        state: directory
    - name: a file from the playbook
      ansible.builtin.copy:
        dest: /etc/acme/from-ansible
        content: "{{ greeting }} from {{ lookup('env', 'LEAVEN_BUILD_ID') }}\\n"
        mode: "0644"
    - name: a package from the playbook
      ansible.builtin.apt:
        name: less
        state: present
`;

function git(cwd: string, ...args: string[]): string {
  const result = spawnSync("git", args, {
    cwd,
    encoding: "utf8",
    env: {
      ...process.env,
      GIT_AUTHOR_NAME: "t",
      GIT_AUTHOR_EMAIL: "t@t",
      GIT_COMMITTER_NAME: "t",
      GIT_COMMITTER_EMAIL: "t@t",
    },
  });
  if (result.status !== 0) throw new Error(`git ${args.join(" ")}: ${result.stderr}`);
  return result.stdout.trim();
}

function installed(root: string): string[] {
  const listed = spawnSync(
    "dpkg-query",
    // biome-ignore lint/suspicious/noTemplateCurlyInString: dpkg-query's own format, not a template.
    ["--admindir", path.join(root, "var/lib/dpkg"), "-W", "-f", "${db:Status-Abbrev}${Package}\\n"],
    { encoding: "utf8" },
  );
  return listed.stdout
    .split("\n")
    .filter((line) => line.startsWith("ii "))
    .map((line) => line.slice(3).trim());
}

const stub = (root: string, file: string, body: string) => {
  writeFileSync(path.join(root, file), `#!/bin/sh\n${body}\n`);
  chmodSync(path.join(root, file), 0o755);
};

describe.skipIf(unavailable !== undefined)("upgrade and ansible, for real on Debian bookworm", () => {
  let volume: Volume & { dir: string };
  beforeAll(() => {
    volume = directoryVolume(debianRoot("bookworm"));
  }, 300_000);
  afterAll(() => volume?.dispose());

  it("upgrades, applies the playbook from a pinned commit, removes ansible and git, reboots into the new kernel and continues", () => {
    const r = volume.dir;
    expect(installed(r)).not.toContain("ansible-core");
    expect(installed(r)).not.toContain("git");
    writeFileSync(path.join(r, "etc/resolv.conf"), readFileSync("/etc/resolv.conf"));
    // The cached root has the release suite only; its updates and security suites have newer packages.
    writeFileSync(path.join(r, "etc/apt/sources.list"), `${DEBIAN_UPDATE_SOURCES.join("\n")}\n`);
    const before = new Map(dpkgList(r).map((p) => [p.name, p.version]));
    // The playbook repository, at a commit the recipe pins; a later commit must not be what runs.
    const repo = path.join(r, "srv/playbooks");
    mkdirSync(repo, { recursive: true });
    git(repo, "init", "--quiet");
    writeFileSync(path.join(repo, "site.yml"), PLAYBOOK);
    git(repo, "add", "site.yml");
    git(repo, "commit", "--quiet", "-m", "site");
    const ref = git(repo, "rev-parse", "HEAD");
    writeFileSync(
      path.join(repo, "site.yml"),
      "- hosts: localhost\n  tasks: [{ ansible.builtin.fail: { msg: not pinned } }]\n",
    );
    git(repo, "commit", "--quiet", "-am", "later");
    // A kernel newer than the running one (what the upgrade would have installed); reboot and power-off
    // are recorded instead of done; no service starts in the chroot.
    mkdirSync(path.join(r, "boot"), { recursive: true });
    writeFileSync(path.join(r, "boot/vmlinuz-99.0.0-leaven-test"), "");
    stub(r, "usr/local/sbin/systemctl", 'echo "$*" >>/systemctl-called');
    stub(r, "usr/local/sbin/shutdown", 'echo "$*" >/shutdown-called');
    stub(r, "usr/sbin/policy-rc.d", "exit 101");
    writeFileSync(
      path.join(r, "user-data.sh"),
      renderUserData({
        buildId: BUILD,
        spec: "base",
        provision: {
          upgrade: true,
          packages: ["chrony"],
          ansible: {
            playbook: "site.yml",
            repository: { url: "file:///srv/playbooks", ref },
            extraVars: { greeting: "hello" },
          },
          script: "test -f /etc/acme/from-ansible\n",
        },
      }),
    );

    const boot = runInChroot(r, "/user-data.sh");
    expect(boot.status, boot.stderr).toBe(0);
    expect(boot.stdout).toContain("Calculating upgrade");
    // Every package the suites have newer was upgraded before the spec's own packages.
    const upgraded = dpkgList(r).filter((p) => before.has(p.name) && before.get(p.name) !== p.version);
    expect(upgraded.length, "the updates and security suites had nothing newer").toBeGreaterThan(0);
    for (const p of upgraded)
      expect(spawnSync("dpkg", ["--compare-versions", before.get(p.name)!, "lt", p.version]).status).toBe(0);
    expect(boot.stdout).toMatch(new RegExp(`^${upgraded.length} upgraded, `, "m"));
    expect(boot.stdout).toContain(
      "leaven: rebooting into kernel 99.0.0-leaven-test; the bake continues after the reboot\n",
    );
    expect(boot.stdout).not.toContain("LEAVEN-BAKE-RESULT");
    expect(readFileSync(path.join(r, "systemctl-called"), "utf8")).toBe("reboot\n");
    expect(existsSync(path.join(r, "shutdown-called"))).toBe(false);
    expect(readFileSync(path.join(r, "etc/systemd/system/leaven-continue.service"), "utf8")).toContain(
      "ExecStart=/bin/bash /var/lib/leaven/continue.sh\n",
    );
    // A link to the unit as the instance sees it (absolute: read it rather than follow it from here).
    expect(
      readlinkSync(path.join(r, "etc/systemd/system/multi-user.target.wants/leaven-continue.service")),
    ).toBe("/etc/systemd/system/leaven-continue.service");

    // After the reboot the unit runs the rest of the bake.
    const after = runInChroot(r, "/var/lib/leaven/continue.sh");
    expect(after.status, `${after.stdout.slice(-3000)}\n${after.stderr.slice(-2000)}`).toBe(0);
    const markers = `${boot.stdout}${after.stdout}`
      .split("\n")
      .filter((l) => l.startsWith("LEAVEN-BAKE-RESULT"));
    expect(markers).toEqual([formatBakeMarker({ build: BUILD, result: "success" })]);
    expect(readFileSync(path.join(r, "shutdown-called"), "utf8")).toBe("-h now\n");
    // The manifest, printed once by the continuation: what the playbook installed, and what was removed gone.
    const read = parseConsoleManifest(`${boot.stdout}${after.stdout}`, "base", BUILD);
    if (!read.found) throw new Error(read.reason);
    const names = read.manifest.packages.map((p) => p.name);
    expect(read.manifest.packageManager).toBe("dpkg");
    expect(names).toEqual(expect.arrayContaining(["chrony", "less"]));
    expect(names).not.toContain("ansible-core");
    expect(readFileSync(path.join(r, "etc/acme/from-ansible"), "utf8")).toBe(`hello from ${BUILD}\n`);
    const packages = installed(r);
    expect(packages).toEqual(expect.arrayContaining(["chrony", "less"]));
    expect(packages).not.toContain("ansible-core");
    expect(packages).not.toContain("git");
    expect(existsSync(path.join(r, "run/leaven/ansible"))).toBe(false);
    expect(existsSync(path.join(r, "etc/systemd/system/leaven-continue.service"))).toBe(false);
    expect(() =>
      lstatSync(path.join(r, "etc/systemd/system/multi-user.target.wants/leaven-continue.service")),
    ).toThrow();
  }, 600_000);
});
