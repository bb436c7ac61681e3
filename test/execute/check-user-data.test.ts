// The smoke check's user data, run for real by bash with recording shims for sync and shutdown: its exit
// status is the verdict, printed as the check marker on stdout and the console, and it always powers off.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { formatCheckMarker, parseCheckMarker } from "../../controller/api/check-protocol.ts";
import { renderCheckUserData } from "../../controller/execute/check-user-data.ts";
import { USER_DATA_LIMIT_BYTES, UserDataError } from "../../controller/execute/user-data.ts";
import { tempDir } from "../support/temp-dir.ts";

const BUILD = "2.3.0+5f2c91ab";
const shellcheck = spawnSync("shellcheck", ["--version"]).status === 0;

function runScript(script: string): {
  status: number | null;
  stdout: string;
  console: string;
  calls: string[];
  root: string;
} {
  const dir = tempDir("leaven-check-");
  const root = path.join(dir, "root");
  const bin = path.join(dir, "bin");
  mkdirSync(path.join(root, "dev"), { recursive: true });
  mkdirSync(bin);
  writeFileSync(path.join(root, "dev/console"), "");
  const calls = path.join(dir, "calls.log");
  for (const name of ["sync", "shutdown", "poweroff"]) {
    writeFileSync(path.join(bin, name), `#!/bin/bash\necho "${name} $*" >>"${calls}"\n`);
    chmodSync(path.join(bin, name), 0o755);
  }
  const result = spawnSync("bash", ["-s"], {
    input: script,
    encoding: "utf8",
    env: { PATH: `${bin}:/usr/bin:/bin`, LEAVEN_ROOT: root },
  });
  const log = (() => {
    try {
      return readFileSync(calls, "utf8");
    } catch {
      return "";
    }
  })();
  return {
    status: result.status,
    stdout: result.stdout,
    console: readFileSync(path.join(root, "dev/console"), "utf8"),
    calls: log.split("\n").filter(Boolean),
    root,
  };
}

describe("renderCheckUserData", () => {
  it("passes when the check script exits 0, and powers off", () => {
    const script = renderCheckUserData({
      check: "smoke",
      buildId: BUILD,
      spec: "base",
      script: "echo checking\nexit 0\n",
    });
    const run = runScript(script);
    const passed = formatCheckMarker({ check: "smoke", build: BUILD, result: "passed" });
    expect(run.stdout).toBe(`checking\n${passed}\n`);
    expect(run.console).toBe(`${passed}\n`);
    expect(run.calls).toEqual(["sync ", "shutdown -h now"]);
    expect(parseCheckMarker(run.stdout, "smoke", BUILD)).toEqual({
      check: "smoke",
      build: BUILD,
      result: "passed",
    });
  });

  it("fails with the exit status when the check script fails, keeping what it printed as the console tail", () => {
    const script = renderCheckUserData({
      check: "smoke",
      buildId: BUILD,
      spec: "base",
      script: "echo 'acme-agent: inactive'\nexit 3",
    });
    const run = runScript(script);
    const failed = formatCheckMarker({
      check: "smoke",
      build: BUILD,
      result: "failed",
      reason: "the check script exited with status 3",
    });
    expect(run.stdout).toBe(`acme-agent: inactive\n${failed}\n`);
    expect(run.calls).toEqual(["sync ", "shutdown -h now"]);
    expect(parseCheckMarker(run.stdout, "smoke", BUILD)).toEqual({
      check: "smoke",
      build: BUILD,
      result: "failed",
      reason: "the check script exited with status 3",
      tail: ["acme-agent: inactive"],
    });
  });

  it("runs the script as its own file, so a script that ends the heredoc early cannot break out", () => {
    const tricky = "cat <<'LEAVEN_EOF'\nLEAVEN_EOF\necho \"it's fine\"\n";
    const run = runScript(
      renderCheckUserData({ check: "smoke", buildId: BUILD, spec: "o'brien", script: tricky }),
    );
    expect(run.stdout).toContain("it's fine\n");
    expect(run.stdout).toContain(formatCheckMarker({ check: "smoke", build: BUILD, result: "passed" }));
    expect(readFileSync(path.join(run.root, "run/leaven/check.sh"), "utf8")).toBe(tricky.slice(0, -1) + "\n");
  });

  it("declares the check, the build and the spec so the simulator and a person can tell what it is", () => {
    const script = renderCheckUserData({ check: "smoke", buildId: BUILD, spec: "base", script: "true" });
    expect(script.split("\n").slice(0, 5)).toEqual([
      "#!/bin/bash",
      "# Leaven smoke check, rendered from the ImageSpec; cloud-init runs it once on the check instance.",
      "LEAVEN_CHECK=smoke",
      `LEAVEN_CHECK_BUILD=${BUILD}`,
      "LEAVEN_SPEC=base",
    ]);
    expect(renderCheckUserData({ check: "smoke", buildId: BUILD, spec: "base", script: "true" })).toBe(
      script,
    );
  });

  it("refuses a script over EC2's user-data limit, naming the spec and the size", () => {
    const big = "x".repeat(USER_DATA_LIMIT_BYTES);
    expect(() => renderCheckUserData({ check: "smoke", buildId: BUILD, spec: "base", script: big })).toThrow(
      new UserDataError(
        `spec "base": the smoke check script is ${Buffer.byteLength(renderUnchecked(big))} bytes, over EC2's 16384-byte user-data limit`,
      ),
    );
  });

  it.skipIf(!shellcheck && !process.env.CI)("passes shellcheck", () => {
    const script = renderCheckUserData({
      check: "smoke",
      buildId: BUILD,
      spec: "base",
      script: "systemctl is-active acme\n",
    });
    const result = spawnSync("shellcheck", ["-s", "bash", "-"], { input: script, encoding: "utf8" });
    expect(result.stdout).toBe("");
    expect(result.status).toBe(0);
  });
});

/** The script's size without the limit check: the number the error names. */
function renderUnchecked(script: string): string {
  try {
    return renderCheckUserData({
      check: "smoke",
      buildId: BUILD,
      spec: "base",
      script: script.slice(0, 100),
    }).replace(script.slice(0, 100), script);
  } catch {
    return "";
  }
}
