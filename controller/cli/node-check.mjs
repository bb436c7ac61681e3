// Checks that this Node is new enough for Leaven before any TypeScript is loaded. A Node without type
// stripping fails on the first .ts file with ERR_UNKNOWN_FILE_EXTENSION and a stack trace, and one
// without Map.groupBy deep in a test, so this file is plain JavaScript in syntax old Nodes parse (no
// `?.`, `??` or top-level await) and imports only what they have. The version needed is package.json's
// `engines.node`. `node controller/cli/node-check.mjs` runs the check alone (npm test does, first).
import { readFileSync, realpathSync } from "node:fs";
import { pathToFileURL } from "node:url";

/** The lowest version package.json's `engines.node` (">=22.22") admits, as "22.22". */
export function requiredNode(engines) {
  const match = /^\s*>=\s*v?(\d+(?:\.\d+){0,2})\s*$/.exec(String(engines));
  if (!match) throw new Error('package.json engines.node must read ">=MAJOR.MINOR", not "' + engines + '"');
  return match[1];
}

function atLeast(version, required) {
  const have = String(version).replace(/^v/, "").split(".");
  const need = required.split(".");
  for (let i = 0; i < need.length; i++) {
    const a = Number(have[i] || 0);
    const b = Number(need[i]);
    if (a !== b) return a > b;
  }
  return true;
}

/**
 * What to tell the user when `runtime.version` is older than `required`, or undefined when it is new
 * enough. `runtime` is this process's by default; tests pass another.
 */
export function nodeProblem(required, runtime) {
  const r = runtime || {
    version: process.versions.node,
    platform: process.platform,
    arch: process.arch,
    execPath: process.execPath,
  };
  if (atLeast(r.version, required)) return undefined;
  // Every line but the commands to copy fits an 80-column terminal: a wrapped line cuts words in half.
  const lines = ["leaven: needs Node.js >= " + required + " (package.json engines), not " + r.version + "."];
  if (r.execPath) lines.push("This Node is " + r.execPath + ".");
  // The npm registry carries Node itself as node-<platform>-<arch> for Linux and macOS.
  if ((r.platform === "linux" || r.platform === "darwin") && (r.arch === "x64" || r.arch === "arm64")) {
    const pkg = "node-" + r.platform + "-" + r.arch;
    lines.push(
      "Install Node 24 with nvm (`nvm install 24`), from https://nodejs.org, or,",
      "without root, from npm:",
      "  npm install --prefix ~/.cache/leaven-node " + pkg + "@24",
      '  export PATH="$HOME/.cache/leaven-node/node_modules/' + pkg + '/bin:$PATH"',
    );
  } else {
    lines.push("Install Node 24 with nvm (`nvm install 24`) or from https://nodejs.org.");
  }
  lines.push("Then run it again (`node --version` shows which Node is first on PATH).");
  return lines.join("\n") + "\n";
}

/** The problem with this process's Node, from the package.json beside this checkout; undefined if none. */
export function checkThisNode() {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8"));
  return nodeProblem(requiredNode(pkg.engines && pkg.engines.node));
}

function isMain() {
  try {
    return (
      process.argv[1] !== undefined && pathToFileURL(realpathSync(process.argv[1])).href === import.meta.url
    );
  } catch (_error) {
    return false;
  }
}

if (isMain()) {
  const problem = checkThisNode();
  if (problem !== undefined) {
    process.stderr.write(problem);
    process.exitCode = 1;
  }
}
