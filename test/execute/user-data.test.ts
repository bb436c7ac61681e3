import { spawnSync } from "node:child_process";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import {
  buildIdFromUserData,
  formatBakeMarker,
  parseBakeMarker,
} from "../../controller/api/bake-protocol.ts";
import type { Provision } from "../../controller/api/types.generated.ts";
import {
  heredocDelimiter,
  renderProvisioning,
  renderUserData,
  rpmPackageName,
  shellQuote,
  USER_DATA_LIMIT_BYTES,
  UserDataError,
} from "../../controller/execute/user-data.ts";

const BUILD = "2.3.0+5f2c91ab";

const fullProvision: Provision = {
  packages: ["acme-base=2.3.0", "curl"],
  repositories: [
    {
      name: "acme",
      url: "https://pkg.acme.dev/apt",
      distribution: "jammy",
      components: ["main", "extra"],
      gpgKey: "https://pkg.acme.dev/key.asc",
    },
  ],
  files: [
    {
      path: "/etc/acme/it's $HOME.conf",
      content: "a=1\nLEAVEN_EOF\n$HOME `id` '\"\n",
      mode: "0600",
      owner: "root:root",
    },
    { path: "/etc/acme/no-newline", content: "last line without newline", mode: "644" },
    { path: "/etc/acme/empty", content: "" },
  ],
  script:
    'systemctl enable acme-agent\necho "build $LEAVEN_BUILD_ID of $LEAVEN_SPEC" >"$LEAVEN_ROOT/etc/acme/stamp"\n',
};

describe("shellQuote", () => {
  it.each([
    ["plain", "plain"],
    ["", "''"],
    ["acme-base=2.3.0", "acme-base=2.3.0"],
    ["/etc/apt/keyrings", "/etc/apt/keyrings"],
    ["two words", "'two words'"],
    ["it's", "'it'\\''s'"],
    ["$HOME", "'$HOME'"],
    ["a;rm -rf /", "'a;rm -rf /'"],
  ])("quotes %j as %s", (input, expected) => {
    expect(shellQuote(input)).toBe(expected);
  });

  it("refuses a NUL byte, which no shell word can hold", () => {
    expect(() => shellQuote("a\0b")).toThrow("a shell word cannot contain a NUL byte");
  });

  it("round-trips hostile strings through a real bash unchanged", () => {
    const hostile = [
      "it's",
      "'",
      "''''",
      '"double" and \\backslash\\',
      // biome-ignore lint/suspicious/noTemplateCurlyInString: a literal shell expansion is the point.
      "$(touch /tmp/leaven-pwned) `touch /tmp/leaven-pwned` ${HOME} $HOME",
      "line one\nline two\n",
      "tab\there; rm -rf / & echo | cat > /dev/null",
      "glob * ? [a-z] ~root {a,b}",
      "!history !! -dash",
      "ünïcödé ✓ \u0001\u007f",
      " leading and trailing spaces ",
    ];
    const script = hostile.map((s) => `printf '%s\\0' ${shellQuote(s)}`).join("\n");
    const result = spawnSync("bash", ["-c", script], { encoding: "utf8" });
    expect(result.status).toBe(0);
    expect(result.stdout.split("\0").slice(0, -1)).toEqual(hostile);
    expect(existsSync("/tmp/leaven-pwned")).toBe(false);
  });
});

describe("heredocDelimiter", () => {
  it.each([
    ["plain content", "LEAVEN_EOF"],
    ["has LEAVEN_EOF inside", "LEAVEN_EOF_1"],
    ["LEAVEN_EOF\nLEAVEN_EOF_1\n", "LEAVEN_EOF_2"],
  ])("for %j is %s", (content, expected) => {
    expect(heredocDelimiter(content)).toBe(expected);
  });
});

describe("rpmPackageName", () => {
  it.each([
    ["curl", "curl"],
    ["acme-base=2.3.0", "acme-base-2.3.0"],
    ["nginx=1:1.24.0-1.el9", "nginx-1:1.24.0-1.el9"],
  ])("turns %s into %s", (input, expected) => {
    expect(rpmPackageName(input)).toBe(expected);
  });
});

describe("renderUserData", () => {
  it("starts with a bash shebang and declares the build id on its own line", () => {
    const script = renderUserData({ buildId: BUILD, spec: "base" });
    const lines = script.split("\n");
    expect(lines[0]).toBe("#!/bin/bash");
    expect(lines).toContain(`LEAVEN_BUILD_ID=${BUILD}`);
    expect(lines).toContain("set -euo pipefail");
    expect(buildIdFromUserData(script)).toBe(BUILD);
  });

  it("is deterministic: same input, same bytes", () => {
    const a = renderUserData({ buildId: BUILD, spec: "base", provision: fullProvision });
    const b = renderUserData({ buildId: BUILD, spec: "base", provision: structuredClone(fullProvision) });
    expect(a).toBe(b);
  });

  it("leaves the package steps out when nothing is installed", () => {
    const script = renderUserData({ buildId: BUILD, spec: "bare", provision: { script: "true" } });
    expect(script).not.toContain("apt-get install");
    expect(script).not.toContain("detect the package manager");
  });

  it("writes apt lines with name=version and dnf/yum lines with name-version", () => {
    const script = renderUserData({ buildId: BUILD, spec: "base", provision: fullProvision });
    expect(script).toContain(
      "apt-get install -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold acme-base=2.3.0 curl",
    );
    expect(script).toContain('"$leaven_pm" install -y acme-base-2.3.0 curl');
    expect(script).toContain(
      "'deb [signed-by=/etc/apt/keyrings/acme.asc] https://pkg.acme.dev/apt jammy main extra'",
    );
  });

  it("throws naming the spec when the script would exceed EC2's user-data limit", () => {
    const big = "x".repeat(USER_DATA_LIMIT_BYTES);
    expect(() =>
      renderUserData({
        buildId: BUILD,
        spec: "huge",
        provision: { files: [{ path: "/opt/big", content: big }] },
      }),
    ).toThrow(
      /^spec "huge": the bake script is \d+ bytes, over EC2's 16384-byte user-data limit; ship large files in a package or fetch them from the provision script$/,
    );
  });

  it.each<[string, Provision, string]>([
    [
      "a package with a leading dash",
      { packages: ["--allow-unauthenticated"] },
      'spec "s": package "--allow-unauthenticated" must be name or name=version, without spaces or a leading "-" or "="',
    ],
    [
      "a package with a leading equals sign (dnf/yum would read name-version as an option)",
      { packages: ["=-setopt=gpgcheck=0"] },
      'spec "s": package "=-setopt=gpgcheck=0" must be name or name=version, without spaces or a leading "-" or "="',
    ],
    [
      "a package with spaces",
      { packages: ["a b"] },
      'spec "s": package "a b" must be name or name=version, without spaces or a leading "-" or "="',
    ],
    [
      "a relative file path",
      { files: [{ path: "etc/x", content: "" }] },
      'spec "s": file "etc/x": path must be absolute',
    ],
    [
      "a bad mode",
      { files: [{ path: "/x", content: "", mode: "u+x" }] },
      'spec "s": file "/x": mode must be octal like 0644',
    ],
    [
      "a repository url with a newline",
      { repositories: [{ name: "r", url: "https://x\n[evil]" }] },
      'spec "s": repository "r": url must not contain spaces',
    ],
    [
      "a repository name with a slash",
      { repositories: [{ name: "../r", url: "https://x" }] },
      'spec "s": repository "../r": name must be letters, digits, - _ .',
    ],
    [
      "a repository name that climbs out of sources.list.d after a plain start",
      { repositories: [{ name: "acme/../../cron.d/x", url: "https://x" }] },
      'spec "s": repository "acme/../../cron.d/x": name must be letters, digits, - _ .',
    ],
    [
      "a mode with a sticky bit in front",
      { files: [{ path: "/x", content: "", mode: "10644" }] },
      'spec "s": file "/x": mode must be octal like 0644',
    ],
    [
      "a mode with a digit too many (setuid and setgid bits)",
      { files: [{ path: "/x", content: "", mode: "06444" }] },
      'spec "s": file "/x": mode must be octal like 0644',
    ],
    [
      "an owner that chown would read as an option",
      { files: [{ path: "/x", content: "", owner: "-R" }] },
      'spec "s": file "/x": owner must be user or user:group',
    ],
    [
      "an owner with a space",
      { files: [{ path: "/x", content: "", owner: "root admin" }] },
      'spec "s": file "/x": owner must be user or user:group',
    ],
  ])("rejects %s", (_what, provision, message) => {
    expect(() => renderUserData({ buildId: BUILD, spec: "s", provision })).toThrow(message);
  });

  it("throws a UserDataError, which prints with its name", () => {
    let thrown: unknown;
    try {
      renderUserData({ buildId: BUILD, spec: "s", provision: { packages: ["-x"] } });
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(UserDataError);
    expect(String(thrown)).toBe(
      'UserDataError: spec "s": package "-x" must be name or name=version, without spaces or a leading "-" or "="',
    );
  });

  it("accepts a script of exactly EC2's 16384-byte limit and refuses one byte more", () => {
    const render = (content: string) =>
      renderUserData({ buildId: BUILD, spec: "s", provision: { files: [{ path: "/opt/f", content }] } });
    const padding = USER_DATA_LIMIT_BYTES - Buffer.byteLength(render("x"));
    const atLimit = "x".repeat(1 + padding);
    expect(Buffer.byteLength(render(atLimit))).toBe(USER_DATA_LIMIT_BYTES);
    expect(() => render(`${atLimit}x`)).toThrow(
      `spec "s": the bake script is ${USER_DATA_LIMIT_BYTES + 1} bytes, over EC2's 16384-byte user-data limit`,
    );
  });

  it("renders a blank provision script as no script at all", () => {
    const none = renderUserData({ buildId: BUILD, spec: "s" });
    expect(renderUserData({ buildId: BUILD, spec: "s", provision: { script: " \n\t\n" } })).toBe(none);
    expect(none).not.toContain("provision.sh");
  });

  it("rejects a build id the marker could not carry", () => {
    expect(() => renderUserData({ buildId: "1.0 x", spec: "s" })).toThrow(
      'spec "s": build id "1.0 x" must be letters, digits and . _ + : @ - only',
    );
  });

  const variants: [string, Provision | undefined][] = [
    ["no provision", undefined],
    ["full provision", fullProvision],
    ["repositories only, no distribution", { repositories: [{ name: "flat", url: "https://x/repo" }] }],
    ["a script only", { script: "exit 0" }],
  ];

  it.each(variants)("renders valid bash syntax (bash -n) for %s", (_name, provision) => {
    const script = renderUserData({ buildId: BUILD, spec: "base", ...(provision ? { provision } : {}) });
    const result = spawnSync("bash", ["-n"], { input: script, encoding: "utf8" });
    expect(result.stderr).toBe("");
    expect(result.status).toBe(0);
  });

  const shellcheck = spawnSync("shellcheck", ["--version"]).status === 0;
  it.skipIf(!shellcheck).each(variants)("passes shellcheck for %s", (_name, provision) => {
    const script = renderUserData({ buildId: BUILD, spec: "base", ...(provision ? { provision } : {}) });
    // SC2016 ("expressions don't expand in single quotes") is the point of quoting user strings.
    const result = spawnSync("shellcheck", ["-s", "bash", "-e", "SC2016", "-"], {
      input: script,
      encoding: "utf8",
    });
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });
});

// ---- Running the rendered script in a sandbox -------------------------------------------------------
// Commands that would change the machine are shims that record their arguments; the script's paths are
// redirected under a temporary LEAVEN_ROOT; PATH holds only the shims and a few coreutils, so the package
// manager detected is exactly the one shimmed.

const COREUTILS = [
  "bash",
  "cat",
  "mkdir",
  "rm",
  "find",
  "truncate",
  "chmod",
  "ls",
  "touch",
  "sed",
  "sort",
  "tail",
  "uname",
  "sha256sum",
  "ln",
  "mv",
];
const sandboxes: string[] = [];

afterEach(() => {
  for (const dir of sandboxes.splice(0)) rmSync(dir, { recursive: true, force: true });
});

interface Sandbox {
  root: string;
  run(script: string): { status: number | null; stdout: string; stderr: string; calls: string[] };
}

function whichReal(tool: string): string {
  for (const dir of ["/usr/bin", "/bin", "/usr/local/bin"]) {
    const candidate = path.join(dir, tool);
    if (existsSync(candidate)) return candidate;
  }
  throw new Error(`the sandbox needs ${tool} on this machine`);
}

const RECORD = `#!/bin/bash\nprintf '%s\\n' "\${0##*/}\${*:+ $*}" >>"$LEAVEN_TEST_CALLS"\n`;

function createSandbox(shims: string[], overrides: Record<string, string> = {}): Sandbox {
  const dir = mkdtempSync(path.join(tmpdir(), "leaven-user-data-"));
  sandboxes.push(dir);
  const root = path.join(dir, "root");
  const bin = path.join(dir, "bin");
  const coreutils = path.join(dir, "coreutils");
  for (const d of [root, bin, coreutils]) mkdirSync(d);
  for (const tool of COREUTILS) symlinkSync(whichReal(tool), path.join(coreutils, tool));
  const shimSources: Record<string, string> = {
    // curl records its call and writes a fake key to its -o target.
    curl: `${RECORD}while [ $# -gt 0 ]; do if [ "$1" = -o ]; then printf 'KEY for %s\\n' "$3" >"$2"; fi; shift; done\n`,
    ...overrides,
  };
  for (const name of shims) {
    const file = path.join(bin, name);
    writeFileSync(file, shimSources[name] ?? RECORD);
    chmodSync(file, 0o755);
  }
  // A machine worth cleaning.
  const seed: Record<string, string> = {
    "dev/console": "",
    "etc/machine-id": "0123456789abcdef0123456789abcdef\n",
    "etc/ssh/ssh_host_ed25519_key": "secret",
    "etc/ssh/sshd_config": "PermitRootLogin no\n",
    "var/log/syslog": "boot noise\n",
    "var/log/syslog.1": "older noise\n",
    "var/log/apt/history.log.gz": "gz",
    "var/lib/cloud/instance/boot-finished": "x",
    "var/lib/apt/lists/archive_jammy_InRelease": "lists",
    "root/.bash_history": "ls\n",
    "home/ubuntu/.bash_history": "sudo -i\n",
    "tmp/junk/file": "junk",
    "tmp/.hidden": "junk",
    "var/tmp/junk": "junk",
  };
  for (const [rel, content] of Object.entries(seed)) {
    mkdirSync(path.dirname(path.join(root, rel)), { recursive: true });
    writeFileSync(path.join(root, rel), content);
  }
  const calls = path.join(dir, "calls.log");
  return {
    root,
    run(script) {
      const scriptFile = path.join(dir, "user-data.sh");
      writeFileSync(scriptFile, script);
      // The script wipes $LEAVEN_ROOT's /tmp, /var/log and more: never let it run against the real root.
      expect(root.startsWith(tmpdir()) && root.length > tmpdir().length + 5).toBe(true);
      const result = spawnSync(path.join(coreutils, "bash"), [scriptFile], {
        env: { PATH: `${bin}:${coreutils}`, LEAVEN_ROOT: root, LEAVEN_TEST_CALLS: calls },
        encoding: "utf8",
      });
      const recorded = existsSync(calls) ? readFileSync(calls, "utf8").split("\n").filter(Boolean) : [];
      return { status: result.status, stdout: result.stdout, stderr: result.stderr, calls: recorded };
    },
  };
}

const read = (root: string, rel: string) => readFileSync(path.join(root, rel), "utf8");
const modeOf = (root: string, rel: string) => statSync(path.join(root, rel)).mode & 0o777;

describe("the rendered script, run by bash in a sandbox", () => {
  it("provisions with apt, cleans the machine, prints the success marker and powers off", () => {
    const box = createSandbox([
      "apt-get",
      "dnf",
      "yum",
      "cloud-init",
      "systemctl",
      "chown",
      "curl",
      "sync",
      "shutdown",
    ]);
    const { status, stdout, stderr, calls } = box.run(
      renderUserData({ buildId: BUILD, spec: "base", provision: fullProvision }),
    );
    expect(stderr).toBe("");
    expect(status).toBe(0);
    expect(calls).toEqual([
      `curl -fsSL --retry 5 -o ${box.root}/etc/apt/keyrings/acme.asc https://pkg.acme.dev/key.asc`,
      "apt-get update",
      "apt-get install -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold acme-base=2.3.0 curl",
      `chown root:root ${box.root}/etc/acme/it's $HOME.conf`,
      "systemctl enable acme-agent",
      "apt-get clean",
      "cloud-init clean --logs --seed",
      "sync",
      "shutdown -h now",
    ]);
    // Repositories.
    expect(read(box.root, "etc/apt/keyrings/acme.asc")).toBe(`KEY for https://pkg.acme.dev/key.asc\n`);
    expect(read(box.root, "etc/apt/sources.list.d/acme.list")).toBe(
      "deb [signed-by=/etc/apt/keyrings/acme.asc] https://pkg.acme.dev/apt jammy main extra\n",
    );
    // Files, byte for byte, with their modes.
    expect(read(box.root, "etc/acme/it's $HOME.conf")).toBe("a=1\nLEAVEN_EOF\n$HOME `id` '\"\n");
    expect(modeOf(box.root, "etc/acme/it's $HOME.conf")).toBe(0o600);
    expect(read(box.root, "etc/acme/no-newline")).toBe("last line without newline");
    expect(modeOf(box.root, "etc/acme/no-newline")).toBe(0o644);
    expect(read(box.root, "etc/acme/empty")).toBe("");
    // The provision script ran as its own process, saw the build, and was removed afterwards.
    expect(read(box.root, "etc/acme/stamp")).toBe(`build ${BUILD} of base\n`);
    expect(existsSync(path.join(box.root, "run/leaven/provision.sh"))).toBe(false);
    // Cleaned for imaging.
    expect(read(box.root, "etc/machine-id")).toBe("");
    expect(existsSync(path.join(box.root, "etc/ssh/ssh_host_ed25519_key"))).toBe(false);
    expect(read(box.root, "etc/ssh/sshd_config")).toBe("PermitRootLogin no\n");
    expect(read(box.root, "var/log/syslog")).toBe("");
    expect(existsSync(path.join(box.root, "var/log/syslog.1"))).toBe(false);
    expect(existsSync(path.join(box.root, "var/log/apt/history.log.gz"))).toBe(false);
    expect(existsSync(path.join(box.root, "var/lib/apt/lists/archive_jammy_InRelease"))).toBe(false);
    expect(existsSync(path.join(box.root, "root/.bash_history"))).toBe(false);
    expect(existsSync(path.join(box.root, "home/ubuntu/.bash_history"))).toBe(false);
    expect(existsSync(path.join(box.root, "tmp/junk"))).toBe(false);
    expect(existsSync(path.join(box.root, "tmp/.hidden"))).toBe(false);
    expect(existsSync(path.join(box.root, "var/tmp/junk"))).toBe(false);
    // cloud-init's own clean was used, so its directory is cloud-init's business.
    expect(existsSync(path.join(box.root, "var/lib/cloud/instance/boot-finished"))).toBe(true);
    // The marker, on stdout and on the console.
    const success = formatBakeMarker({ build: BUILD, result: "success" });
    expect(stdout.trimEnd().split("\n").at(-1)).toBe(success);
    expect(read(box.root, "dev/console")).toBe(`${success}\n`);
    expect(parseBakeMarker(stdout, BUILD)).toEqual({ build: BUILD, result: "success" });
  });

  it.each(["dnf", "yum"])("provisions with %s using name-version and a .repo file", (pm) => {
    const box = createSandbox([pm, "systemctl", "chown", "curl", "sync", "shutdown"]);
    const { status, stdout, calls } = box.run(
      renderUserData({ buildId: BUILD, spec: "base", provision: fullProvision }),
    );
    expect(status).toBe(0);
    expect(calls).toEqual([
      `${pm} install -y acme-base-2.3.0 curl`,
      `chown root:root ${box.root}/etc/acme/it's $HOME.conf`,
      "systemctl enable acme-agent",
      `${pm} clean all`,
      "sync",
      "shutdown -h now",
    ]);
    expect(read(box.root, "etc/yum.repos.d/acme.repo")).toBe(
      "[acme]\nname=acme\nbaseurl=https://pkg.acme.dev/apt\nenabled=1\ngpgcheck=1\ngpgkey=https://pkg.acme.dev/key.asc\n",
    );
    // Without cloud-init on the image its state directory is removed by hand.
    expect(existsSync(path.join(box.root, "var/lib/cloud"))).toBe(false);
    expect(parseBakeMarker(stdout, BUILD)).toEqual({ build: BUILD, result: "success" });
  });

  it("fails the bake when the spec's script exits non-zero, naming the step and status, and still powers off", () => {
    const box = createSandbox(["apt-get", "sync", "shutdown"]);
    const { status, stdout, calls } = box.run(
      renderUserData({ buildId: BUILD, spec: "app", provision: { script: "echo working\nexit 3\n" } }),
    );
    expect(status).toBe(3);
    const reason = "run the provision script failed with exit status 3";
    expect(stdout).toBe(`working\n${formatBakeMarker({ build: BUILD, result: "failure", reason })}\n`);
    expect(read(box.root, "dev/console")).toBe(
      `${formatBakeMarker({ build: BUILD, result: "failure", reason })}\n`,
    );
    // What the script printed before it failed comes back as the console tail shown in the status.
    expect(parseBakeMarker(stdout, BUILD)).toEqual({
      build: BUILD,
      result: "failure",
      reason,
      tail: ["working"],
    });
    expect(calls).toEqual(["sync", "shutdown -h now"]);
    // Nothing was cleaned: the failed instance is kept as it was for debugging.
    expect(read(box.root, "etc/machine-id")).not.toBe("");
  });

  it("falls back to poweroff when shutdown fails", () => {
    const box = createSandbox(["sync", "shutdown", "poweroff"], { shutdown: `${RECORD}exit 1\n` });
    const { status, calls } = box.run(
      renderUserData({ buildId: BUILD, spec: "app", provision: { script: "exit 0" } }),
    );
    expect(status).toBe(0);
    expect(calls).toEqual(["sync", "shutdown -h now", "poweroff"]);
  });

  it("reports a failing package install with its exit status", () => {
    const box = createSandbox(["apt-get", "sync", "shutdown"], {
      "apt-get": `${RECORD}if [ "$1" = install ]; then echo 'E: Unable to locate package acme-base' >&2; exit 100; fi\n`,
    });
    const { status, stdout, stderr } = box.run(
      renderUserData({ buildId: BUILD, spec: "base", provision: { packages: ["acme-base=2.3.0"] } }),
    );
    expect(status).toBe(100);
    expect(stderr).toBe("E: Unable to locate package acme-base\n");
    expect(parseBakeMarker(stdout, BUILD)).toEqual({
      build: BUILD,
      result: "failure",
      reason: "install packages failed with exit status 100",
    });
  });

  it("fails clearly on an image without apt-get, dnf or yum", () => {
    const box = createSandbox(["sync", "shutdown"]);
    const { status, stdout, stderr } = box.run(
      renderUserData({ buildId: BUILD, spec: "base", provision: { packages: ["curl"] } }),
    );
    expect(status).toBe(1);
    expect(stderr).toBe("leaven: no supported package manager (apt-get, dnf or yum) on this image\n");
    expect(parseBakeMarker(stdout, BUILD)?.reason).toBe(
      "detect the package manager failed with exit status 1",
    );
  });

  it("keeps the failure reason parseable when it carries quotes and backslashes from a path", () => {
    const box = createSandbox(["sync", "shutdown"]);
    // /etc/blocker is a file, so creating a directory under it fails.
    writeFileSync(path.join(box.root, "etc/blocker"), "");
    const file = '/etc/blocker/we"ird\\name';
    const { status, stdout } = box.run(
      renderUserData({ buildId: BUILD, spec: "base", provision: { files: [{ path: file, content: "x" }] } }),
    );
    expect(status).toBe(1);
    expect(parseBakeMarker(stdout, BUILD)).toEqual({
      build: BUILD,
      result: "failure",
      reason: `write file ${file} failed with exit status 1`,
    });
  });

  it("bakes a spec without provision: cleans the machine and reports success", () => {
    const box = createSandbox(["apt-get", "cloud-init", "sync", "shutdown"]);
    const { status, stdout, stderr, calls } = box.run(renderUserData({ buildId: BUILD, spec: "bare" }));
    expect(stderr).toBe("");
    expect(status).toBe(0);
    expect(calls).toEqual(["apt-get clean", "cloud-init clean --logs --seed", "sync", "shutdown -h now"]);
    expect(read(box.root, "etc/machine-id")).toBe("");
    expect(stdout).toBe(`${formatBakeMarker({ build: BUILD, result: "success" })}\n`);
  });

  const repositoriesOnly: Provision = {
    repositories: [
      { name: "flat", url: "https://pkg.acme.dev/flat" },
      { name: "suite", url: "https://pkg.acme.dev/apt", distribution: "jammy" },
    ],
  };

  it("adds apt repositories without packages: a flat one as ./, a suite without components, no key fetched", () => {
    const box = createSandbox(["apt-get", "curl", "sync", "shutdown"]);
    const { status, stderr, calls } = box.run(
      renderUserData({ buildId: BUILD, spec: "base", provision: repositoriesOnly }),
    );
    expect(stderr).toBe("");
    expect(status).toBe(0);
    // Nothing to install, so no index update either.
    expect(calls).toEqual(["apt-get clean", "sync", "shutdown -h now"]);
    expect(read(box.root, "etc/apt/sources.list.d/flat.list")).toBe("deb https://pkg.acme.dev/flat ./\n");
    expect(read(box.root, "etc/apt/sources.list.d/suite.list")).toBe("deb https://pkg.acme.dev/apt jammy\n");
    expect(existsSync(path.join(box.root, "etc/apt/keyrings"))).toBe(false);
  });

  it("adds a yum repository without a key with gpgcheck=0", () => {
    const box = createSandbox(["dnf", "sync", "shutdown"]);
    const { status, stderr, calls } = box.run(
      renderUserData({ buildId: BUILD, spec: "base", provision: repositoriesOnly }),
    );
    expect(stderr).toBe("");
    expect(status).toBe(0);
    expect(calls).toEqual(["dnf clean all", "sync", "shutdown -h now"]);
    expect(read(box.root, "etc/yum.repos.d/flat.repo")).toBe(
      "[flat]\nname=flat\nbaseurl=https://pkg.acme.dev/flat\nenabled=1\ngpgcheck=0\n",
    );
  });

  it("runs apt-get non-interactively, so no debconf prompt can hang the bake", () => {
    const box = createSandbox(["apt-get", "sync", "shutdown"], {
      "apt-get": `#!/bin/bash\nprintf '%s\\n' "apt-get $1 DEBIAN_FRONTEND=\${DEBIAN_FRONTEND:-unset}" >>"$LEAVEN_TEST_CALLS"\n`,
    });
    const { status, calls } = box.run(
      renderUserData({ buildId: BUILD, spec: "base", provision: { packages: ["curl"] } }),
    );
    expect(status).toBe(0);
    expect(calls.filter((c) => c.startsWith("apt-get"))).toEqual([
      "apt-get update DEBIAN_FRONTEND=noninteractive",
      "apt-get install DEBIAN_FRONTEND=noninteractive",
      "apt-get clean DEBIAN_FRONTEND=noninteractive",
    ]);
  });

  /** A shim that records its call and fails with `code` when its first argument is `when`. */
  const failing = (when: string, code: number) => `${RECORD}if [ "$1" = ${when} ]; then exit ${code}; fi\n`;

  it.each<[string, string[], Record<string, string>, Provision, string]>([
    [
      "a repository key that cannot be downloaded",
      ["apt-get", "curl"],
      { curl: `${RECORD}exit 22\n` },
      fullProvision,
      "add apt repository acme failed with exit status 22",
    ],
    [
      "an apt index update that fails",
      ["apt-get"],
      { "apt-get": failing("update", 100) },
      { packages: ["curl"] },
      "update the apt package index failed with exit status 100",
    ],
    [
      "a dnf install that fails",
      ["dnf"],
      { dnf: failing("install", 1) },
      { packages: ["curl"] },
      "install packages failed with exit status 1",
    ],
    [
      "cloud-init's own clean that fails",
      ["cloud-init"],
      { "cloud-init": failing("clean", 1) },
      {},
      "clean the instance for imaging failed with exit status 1",
    ],
  ])("fails the bake naming the step for %s", (_what, tools, overrides, provision, reason) => {
    const box = createSandbox([...tools, "sync", "shutdown"], overrides);
    const { stdout, calls } = box.run(renderUserData({ buildId: BUILD, spec: "base", provision }));
    expect(parseBakeMarker(stdout, BUILD)).toMatchObject({ build: BUILD, result: "failure", reason });
    expect(calls.slice(-2)).toEqual(["sync", "shutdown -h now"]);
  });

  it("fails the bake naming the yum repository whose file cannot be written", () => {
    const box = createSandbox(["yum", "sync", "shutdown"]);
    writeFileSync(path.join(box.root, "etc/yum.repos.d"), "not a directory");
    const { status, stdout } = box.run(
      renderUserData({ buildId: BUILD, spec: "base", provision: repositoriesOnly }),
    );
    expect(status).toBe(1);
    expect(parseBakeMarker(stdout, BUILD)?.reason).toBe("add yum repository flat failed with exit status 1");
  });

  it("powers off even when sync fails after a failed bake", () => {
    const box = createSandbox(["sync", "shutdown"], { sync: `${RECORD}exit 1\n` });
    const { status, stdout, calls } = box.run(
      renderUserData({ buildId: BUILD, spec: "app", provision: { script: "exit 4" } }),
    );
    expect(status).toBe(4);
    expect(parseBakeMarker(stdout, BUILD)?.reason).toBe("run the provision script failed with exit status 4");
    expect(calls).toEqual(["sync", "shutdown -h now"]);
  });

  it.each([
    ["TERM", 143],
    ["INT", 130],
  ])("reports a bake ended by SIG%s with exit status %i, and still powers off", (signal, code) => {
    const box = createSandbox(["sync", "shutdown"]);
    // The provision script signals the bake script that runs it (as shutdown or a Ctrl-C would).
    const { status, stdout, calls } = box.run(
      renderUserData({ buildId: BUILD, spec: "app", provision: { script: `kill -${signal} "$PPID"\n` } }),
    );
    expect(status).toBe(code);
    expect(parseBakeMarker(stdout, BUILD)).toEqual({
      build: BUILD,
      result: "failure",
      reason: `run the provision script failed with exit status ${code}`,
    });
    expect(calls).toEqual(["sync", "shutdown -h now"]);
  });
});

// ---- Golden scripts ---------------------------------------------------------------------------------
// The exact bytes cloud-init runs on every bake instance, for two small inputs. The files are reviewed
// artifacts: when a change to user-data.ts changes them, read the diff, then update the file by hand
// (or rewrite it with LEAVEN_UPDATE_GOLDEN=1 and review `git diff`).

const GOLDEN = path.join(import.meta.dirname, "golden");

const goldenInputs: [string, Parameters<typeof renderUserData>[0]][] = [
  ["bake-script-minimal.sh", { buildId: "1.0.0+0badcafe", spec: "bare" }],
  [
    "bake-script-provisioned.sh",
    {
      buildId: "2.3.0+5f2c91ab",
      spec: "api-server",
      provision: {
        packages: ["acme-agent=1.2.0"],
        repositories: [
          {
            name: "acme",
            url: "https://pkg.acme.dev/apt",
            distribution: "jammy",
            components: ["main"],
            gpgKey: "https://pkg.acme.dev/key.asc",
          },
          { name: "flat", url: "https://pkg.acme.dev/flat" },
        ],
        files: [
          { path: "/etc/acme/agent.conf", content: "level=1", mode: "0640", owner: "acme:acme" },
          { path: "/etc/acme/empty", content: "" },
        ],
        script: "systemctl enable acme-agent\n",
      },
    },
  ],
];

describe("the rendered script, byte for byte", () => {
  it.each(goldenInputs)("matches golden/%s", (file, input) => {
    const script = renderUserData(input);
    if (process.env.LEAVEN_UPDATE_GOLDEN === "1") writeFileSync(path.join(GOLDEN, file), script);
    expect(script).toBe(readFileSync(path.join(GOLDEN, file), "utf8"));
  });
});

describe("upgrade, files from S3 and the reboot continuation, run by bash in a sandbox", () => {
  const HELLO_SHA = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824";
  // aws records its call and writes "hello" (no newline) to the output file, its last argument.
  const aws = `${RECORD}printf hello >"\${@: -1}"\n`;

  it("upgrades every package before the spec's, and with no new kernel carries straight on", () => {
    const box = createSandbox(["dnf", "sync", "shutdown", "cloud-init"]);
    const { status, stdout, calls } = box.run(
      renderUserData({ buildId: BUILD, spec: "base", provision: { upgrade: true, packages: ["curl"] } }),
    );
    expect(status).toBe(0);
    expect(calls).toEqual([
      "dnf upgrade -y",
      "dnf install -y curl",
      "dnf clean all",
      "cloud-init clean --logs --seed",
      "sync",
      "shutdown -h now",
    ]);
    expect(stdout.split("\n").filter((l) => l.startsWith("LEAVEN-BAKE-RESULT"))).toEqual([
      formatBakeMarker({ build: BUILD, result: "success" }),
    ]);
    expect(existsSync(path.join(box.root, "etc/systemd/system/leaven-continue.service"))).toBe(false);
  });

  it("with a new kernel installs the continuation unit, reboots, and prints no marker until the rest has run", () => {
    const box = createSandbox(["apt-get", "systemctl", "sync", "shutdown", "cloud-init"]);
    mkdirSync(path.join(box.root, "boot"), { recursive: true });
    writeFileSync(path.join(box.root, "boot/vmlinuz-99.1.0-test"), "");
    const first = box.run(renderUserData({ buildId: BUILD, spec: "base", provision: { upgrade: true } }));
    expect(first.status, first.stderr + first.stdout).toBe(0);
    expect(first.calls).toEqual([
      "apt-get update",
      "apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold full-upgrade",
      "sync",
      "systemctl reboot",
    ]);
    expect(first.stdout).toContain(
      "leaven: rebooting into kernel 99.1.0-test; the bake continues after the reboot\n",
    );
    expect(first.stdout).not.toContain("LEAVEN-BAKE-RESULT");
    expect(read(box.root, "etc/systemd/system/leaven-continue.service")).toContain(
      "WantedBy=multi-user.target\n",
    );
    const rest = read(box.root, "var/lib/leaven/continue.sh");
    expect(rest).toContain(`LEAVEN_BUILD_ID=${BUILD}`);
    expect(rest).not.toContain("full-upgrade");
  });

  it("a chroot (the volume bake) upgrades but never reboots", () => {
    const script = renderProvisioning(
      { buildId: BUILD, spec: "base", provision: { upgrade: true } },
      { comment: "# chroot", powerOff: false },
    );
    expect(script).toContain("full-upgrade");
    expect(script).not.toContain("reboot");
    expect(script).not.toContain("continue.sh");
  });

  it("fetches a file from S3 at its version and checks its sha256", () => {
    const box = createSandbox(["apt-get", "aws", "sync", "shutdown", "cloud-init"], { aws });
    const { status, calls } = box.run(
      renderUserData({
        buildId: BUILD,
        spec: "base",
        provision: {
          files: [
            {
              path: "/etc/acme/token",
              s3: { bucket: "acme-bake", key: "tokens/a", versionId: "v7", sha256: HELLO_SHA },
              mode: "0600",
            },
          ],
        },
      }),
    );
    expect(status).toBe(0);
    expect(calls[0]).toBe(
      `aws s3api get-object --bucket acme-bake --key tokens/a --version-id v7 ${box.root}/etc/acme/token`,
    );
    expect(read(box.root, "etc/acme/token")).toBe("hello");
    expect(modeOf(box.root, "etc/acme/token")).toBe(0o600);
  });

  it("fails the bake, naming the object, when the S3 object is not the one the recipe pins", () => {
    const box = createSandbox(["apt-get", "aws", "sync", "shutdown"], { aws });
    const { status, stdout, stderr } = box.run(
      renderUserData({
        buildId: BUILD,
        spec: "base",
        provision: {
          files: [{ path: "/etc/x", s3: { bucket: "acme-bake", key: "x", sha256: "0".repeat(64) } }],
        },
      }),
    );
    expect(status).toBe(1);
    expect(stderr).toContain(
      `leaven: s3://acme-bake/x is not the object the recipe names (its sha256 differs from ${"0".repeat(64)})`,
    );
    expect(parseBakeMarker(stdout, BUILD)).toMatchObject({
      result: "failure",
      reason: "write file /etc/x failed with exit status 1",
    });
  });
});
