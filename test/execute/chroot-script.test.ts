// The chroot script's structure: it passes shellcheck, embeds exactly the provisioning the user data runs,
// finds the volume by its id on Nitro hosts, and on an AL2023-like tree (dnf, no apt) provisions with dnf.
import { spawnSync } from "node:child_process";
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { formatBakeMarker } from "../../controller/api/bake-protocol.ts";
import type { Provision } from "../../controller/api/types.generated.ts";
import { renderChrootScript } from "../../controller/execute/chroot-script.ts";
import { renderProvisioning, renderUserData } from "../../controller/execute/user-data.ts";

const BUILD = "3.1.0+0ddba11";
const provision: Provision = {
  packages: ["chrony=4.3", "amazon-ssm-agent"],
  repositories: [{ name: "acme", url: "https://pkg.acme.dev/rpm" }],
  files: [{ path: "/etc/acme/agent.conf", content: "level=1\n", mode: "0640", owner: "root:root" }],
  script: "touch /etc/acme/provisioned\n",
};

/** The provisioning script the chroot script writes into the root, as it embeds it. */
function embedded(script: string): string {
  const start = script.indexOf("\n", script.indexOf(`leaven_provision="$(cat <<'`)) + 1;
  const delimiter = /leaven_provision="\$\(cat <<'([A-Z_0-9]+)'/.exec(script)?.[1] ?? "";
  return script.slice(start, script.indexOf(`\n${delimiter}\n`, start));
}

describe("renderChrootScript", () => {
  const variants: [string, Provision | undefined][] = [
    ["no provision", undefined],
    ["full provision", provision],
    ["a script only", { script: "exit 0" }],
  ];

  const shellcheck = spawnSync("shellcheck", ["--version"]).status === 0;
  it.skipIf(!shellcheck).each(variants)(
    "passes shellcheck for %s, outside and inside the chroot",
    (_n, p) => {
      const script = renderChrootScript({
        buildId: BUILD,
        spec: "base",
        volumeId: "vol-0123456789abcdef0",
        ...(p ? { provision: p } : {}),
      });
      for (const text of [script, embedded(script)]) {
        // SC2016 ("expressions don't expand in single quotes") is the point of quoting user strings.
        const result = spawnSync("shellcheck", ["-s", "bash", "-e", "SC2016", "-"], {
          input: text,
          encoding: "utf8",
        });
        expect(result.stdout).toBe("");
        expect(result.status).toBe(0);
      }
    },
  );

  it("embeds the instance bake's provisioning byte for byte, less the power-off", () => {
    const script = renderChrootScript({ buildId: BUILD, spec: "base", provision, device: "/dev/xvdf" });
    const inner = embedded(script);
    expect(inner).toBe(
      renderProvisioning(
        { buildId: BUILD, spec: "base", provision },
        {
          comment:
            "# Leaven volume bake, rendered from the ImageSpec; run in a chroot of the volume on the bakery host.",
          powerOff: false,
        },
      ),
    );
    const userData = renderUserData({ buildId: BUILD, spec: "base", provision }).split("\n");
    const differ = userData.filter((line) => !inner.split("\n").includes(line));
    expect(differ).toEqual([
      "# Leaven bake script, rendered from the ImageSpec; cloud-init runs it once on the bake instance.",
      "# Runs on every exit: a failure reports the step and status; either way the instance powers off.",
      "  shutdown -h now || poweroff",
    ]);
  });

  it("finds the volume by its id in the NVMe serial, else by the attached device name", () => {
    const script = renderChrootScript({
      buildId: BUILD,
      spec: "base",
      device: "/dev/xvdf",
      volumeId: "vol-0123456789abcdef0",
    });
    expect(script).toContain("LEAVEN_DEVICE=/dev/xvdf\n");
    expect(script).toContain("LEAVEN_VOLUME_ID=vol-0123456789abcdef0\n");
    expect(script).toContain(
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, not a template.
      'id_link="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${LEAVEN_VOLUME_ID/-/}"',
    );
    expect(script).toContain("LEAVEN_MOUNT=/mnt/leaven/vol-0123456789abcdef0\n");
  });

  it.each([
    [{ volumeId: "vol-x; rm -rf /" }, 'spec "s": volume id "vol-x; rm -rf /" is not vol-…'],
    [{ device: "xvdf" }, 'spec "s": device "xvdf" must be /dev/…'],
    [{ mountPoint: "mnt/x" }, 'spec "s": mount point "mnt/x" must be an absolute path'],
  ])("refuses %j", (input, message) => {
    expect(() => renderChrootScript({ buildId: BUILD, spec: "s", ...input })).toThrow(message);
  });
});

// ---- An AL2023-like tree: dnf, no apt-get ----------------------------------------------------------------
// No RPM mirror is reachable, so the tree holds the host's bash and coreutils (with their libraries) and a
// dnf that records its calls; the chroot script runs against it in directory mode, exactly as on a volume.

const trees: string[] = [];
afterEach(() => {
  for (const dir of trees.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const TOOLS = ["bash", "cat", "mkdir", "rm", "find", "truncate", "chmod", "chown", "sync", "touch"];

function copyWithLibraries(root: string, binary: string): void {
  const targets = [binary];
  const ldd = spawnSync("ldd", [binary], { encoding: "utf8" }).stdout;
  for (const match of ldd.matchAll(/(\/\S+) \(0x/g)) targets.push(match[1] as string);
  for (const file of targets) {
    const to = path.join(root, file);
    mkdirSync(path.dirname(to), { recursive: true });
    if (!existsSync(to)) copyFileSync(file, to);
    chmodSync(to, 0o755);
  }
}

function al2023Tree(): string {
  const root = mkdtempSync(path.join(tmpdir(), "leaven-al2023-"));
  trees.push(root);
  for (const tool of TOOLS) {
    const found = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    copyWithLibraries(root, found);
    const inUsrBin = path.join(root, "usr/bin", tool);
    if (!existsSync(inUsrBin)) {
      mkdirSync(path.dirname(inUsrBin), { recursive: true });
      copyFileSync(path.join(root, found), inUsrBin);
      chmodSync(inUsrBin, 0o755);
    }
  }
  mkdirSync(path.join(root, "bin"), { recursive: true });
  if (!existsSync(path.join(root, "bin/bash")))
    copyFileSync(path.join(root, "usr/bin/bash"), path.join(root, "bin/bash"));
  chmodSync(path.join(root, "bin/bash"), 0o755);
  const files: Record<string, string> = {
    "etc/os-release": 'NAME="Amazon Linux"\nVERSION="2023"\nID="amzn"\n',
    "etc/passwd": "root:x:0:0:root:/root:/bin/bash\n",
    "etc/group": "root:x:0:\n",
    "etc/machine-id": "0123456789abcdef0123456789abcdef\n",
    "etc/ssh/ssh_host_rsa_key": "secret",
    "usr/bin/dnf":
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, not a template.
      "#!/bin/bash\nprintf '%s\\n' \"dnf $* SYSTEMD_OFFLINE=${SYSTEMD_OFFLINE:-unset}\" >>/dnf-calls\n",
  };
  for (const [rel, content] of Object.entries(files)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), content);
  }
  chmodSync(path.join(root, "usr/bin/dnf"), 0o755);
  return root;
}

describe.skipIf(process.getuid?.() !== 0)(
  "the chroot script on an AL2023-like tree (needs root for chroot and mount)",
  () => {
    it("provisions with dnf (name-version, the yum repository), services offline, and reports success", () => {
      const root = al2023Tree();
      const script = renderChrootScript({
        buildId: BUILD,
        spec: "al-base",
        provision,
        mountPoint: "/mnt/unused",
      });
      const result = spawnSync("bash", ["-c", script], {
        encoding: "utf8",
        // Not a socket on stdin: bash would take itself for a remote shell and read ~/.bashrc.
        stdio: ["ignore", "pipe", "pipe"],
        env: { ...process.env, LEAVEN_CHROOT_DIR: root },
      });
      expect(result.stderr).toBe("");
      expect(result.status).toBe(0);
      expect(result.stdout).toBe(`${formatBakeMarker({ build: BUILD, result: "success" })}\n`);
      expect(readFileSync(path.join(root, "dnf-calls"), "utf8")).toBe(
        "dnf install -y chrony-4.3 amazon-ssm-agent SYSTEMD_OFFLINE=1\ndnf clean all SYSTEMD_OFFLINE=1\n",
      );
      expect(readFileSync(path.join(root, "etc/yum.repos.d/acme.repo"), "utf8")).toBe(
        "[acme]\nname=acme\nbaseurl=https://pkg.acme.dev/rpm\nenabled=1\ngpgcheck=0\n",
      );
      expect(existsSync(path.join(root, "etc/acme/provisioned"))).toBe(true);
      expect(readFileSync(path.join(root, "etc/machine-id"), "utf8")).toBe("");
      expect(existsSync(path.join(root, "etc/ssh/ssh_host_rsa_key"))).toBe(false);
      expect(existsSync(path.join(root, "usr/sbin/policy-rc.d"))).toBe(false);
      expect(readFileSync("/proc/self/mounts", "utf8")).not.toContain(root);
    });
  },
);

// ---- The host side, with the block-device tools shimmed ----------------------------------------------------
// lsblk, blkid, mount, umount and chroot record their calls; mount "mounts" a partition by creating the tree
// it holds under the mount point, so the layout search, the binds and the unmount order are observable.

const LAYOUT_SHIMS: Record<string, string> = {
  // A GPT disk: an EFI system partition, a data partition, then the root.
  lsblk:
    "#!/bin/bash\nprintf '%s\\n' /dev/nvme1n1 /dev/nvme1n1p1 /dev/nvme1n1p2 /dev/nvme1n1p3 /dev/nvme1n1p4\n",
  blkid:
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell expansion, not a template.
    '#!/bin/bash\ncase "${*: -1}" in /dev/nvme1n1p1) echo vfat ;; /dev/nvme1n1p2) echo swap ;; /dev/nvme1n1p3) echo ext4 ;; /dev/nvme1n1p4) echo xfs ;; esac\n',
  mount:
    '#!/bin/bash\nprintf \'%s\\n\' "mount $*" >>"$CALLS"\nif [ "$1" = "$LEAVEN_TEST_ROOT_PART" ]; then mkdir -p "$2/etc"; echo ID=debian >"$2/etc/os-release"; echo "nameserver 10.0.0.2" >"$2/etc/resolv.conf"; fi\n',
  umount: '#!/bin/bash\nprintf \'%s\\n\' "umount $*" >>"$CALLS"\n',
  chroot:
    '#!/bin/bash\nprintf \'%s\\n\' "chroot $*" >>"$CALLS"\necho "LEAVEN-BAKE-RESULT build=$LEAVEN_TEST_BUILD result=success"\n',
  sleep: "#!/bin/bash\n",
};

function hostSandbox(rootPartition: string) {
  const dir = mkdtempSync(path.join(tmpdir(), "leaven-host-"));
  trees.push(dir);
  const bin = path.join(dir, "bin");
  mkdirSync(bin);
  for (const [name, source] of Object.entries(LAYOUT_SHIMS)) {
    // chroot runs under env -i: the shims carry the calls file and the build in their text.
    writeFileSync(
      path.join(bin, name),
      source.replaceAll('"$CALLS"', `'${path.join(dir, "calls")}'`).replaceAll("$LEAVEN_TEST_BUILD", BUILD),
    );
    chmodSync(path.join(bin, name), 0o755);
  }
  const mnt = path.join(dir, "mnt");
  const calls = path.join(dir, "calls");
  // Any block device of this machine stands for the attached volume: only its existence is checked.
  const device = ["/dev/loop0", "/dev/sda", "/dev/vda", "/dev/nvme0n1", "/dev/xvda"].find(
    (d) => spawnSync("test", ["-b", d]).status === 0,
  );
  return {
    mnt,
    device,
    run(script: string) {
      const result = spawnSync("bash", ["-c", script], {
        encoding: "utf8",
        // Not a socket on stdin: bash would take itself for a remote shell and read ~/.bashrc.
        stdio: ["ignore", "pipe", "pipe"],
        env: {
          PATH: `${bin}:${process.env.PATH}`,
          LEAVEN_TEST_ROOT_PART: rootPartition,
        },
      });
      const recorded = existsSync(calls) ? readFileSync(calls, "utf8").split("\n").filter(Boolean) : [];
      return { ...result, calls: recorded.map((c) => c.replaceAll(mnt, "MNT")) };
    },
  };
}

describe("the host side of the chroot script, on a partitioned volume", () => {
  it("skips the EFI and swap partitions, takes the one with /etc/os-release, binds, and unmounts in reverse", () => {
    const box = hostSandbox("/dev/nvme1n1p4");
    expect(box.device).toBeDefined();
    const script = renderChrootScript({ buildId: BUILD, spec: "s", device: box.device, mountPoint: box.mnt });
    const { status, stdout, stderr, calls } = box.run(script);
    expect(stderr).toBe("leaven: root filesystem /dev/nvme1n1p4 (xfs)\n");
    expect(status).toBe(0);
    expect(stdout).toBe(`${formatBakeMarker({ build: BUILD, result: "success" })}\n`);
    expect(calls).toEqual([
      "mount /dev/nvme1n1p3 MNT",
      "umount MNT",
      "mount /dev/nvme1n1p4 MNT",
      "mount --bind /dev MNT/dev",
      "mount --bind /dev/pts MNT/dev/pts",
      "mount --bind /proc MNT/proc",
      "mount --bind /sys MNT/sys",
      "mount --bind /run MNT/run",
      "chroot MNT /bin/bash /run/leaven/chroot-provision.sh",
      "umount MNT/run",
      "umount MNT/sys",
      "umount MNT/proc",
      "umount MNT/dev/pts",
      "umount MNT/dev",
      "umount MNT",
    ]);
    // The image's own resolver file is back, and nothing the bake put in place for itself is left.
    expect(readFileSync(path.join(box.mnt, "etc/resolv.conf"), "utf8")).toBe("nameserver 10.0.0.2\n");
    expect(existsSync(path.join(box.mnt, "usr/sbin/policy-rc.d"))).toBe(false);
    expect(existsSync(path.join(box.mnt, "run/leaven/chroot-provision.sh"))).toBe(false);
  });

  it("fails with the failure marker when no partition holds a Linux root, and unmounts what it tried", () => {
    const box = hostSandbox("none");
    const script = renderChrootScript({ buildId: BUILD, spec: "s", device: box.device, mountPoint: box.mnt });
    const { status, stdout, stderr, calls } = box.run(script);
    expect(status).toBe(1);
    expect(stderr).toBe(
      `leaven: no partition of ${box.device} holds /etc/os-release; is it a Linux root volume?\n`,
    );
    expect(stdout).toBe(
      `${formatBakeMarker({ build: BUILD, result: "failure", reason: "mount the root filesystem failed with exit status 1" })}\n`,
    );
    expect(calls).toEqual([
      "mount /dev/nvme1n1p3 MNT",
      "umount MNT",
      "mount /dev/nvme1n1p4 MNT",
      "umount MNT",
    ]);
  });

  it("fails saying so when the volume never appears", () => {
    const box = hostSandbox("none");
    const script = renderChrootScript({
      buildId: BUILD,
      spec: "s",
      device: "/dev/xvdz",
      volumeId: "vol-0feedfacefeedface",
      mountPoint: box.mnt,
    });
    const { status, stdout, stderr, calls } = box.run(script);
    expect(status).toBe(1);
    expect(stderr).toBe(
      "leaven: the volume vol-0feedfacefeedface did not appear as /dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_vol0feedfacefeedface within 60 s; is it attached to this host?\n",
    );
    expect(stdout).toBe(
      `${formatBakeMarker({ build: BUILD, result: "failure", reason: "find the volume failed with exit status 1" })}\n`,
    );
    expect(calls).toEqual([]);
  });
});
