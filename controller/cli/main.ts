#!/usr/bin/env node
// Node's module compile cache (in the OS's temporary folder) spares every later run the compile of the
// modules it loads; enabled before anything else is imported, so run-cli comes in dynamically.
import { enableCompileCache } from "node:module";

enableCompileCache?.();
const { runCli } = await import("./run-cli.ts");

const code = await runCli(process.argv.slice(2), {
  stdout: process.stdout,
  stderr: process.stderr,
  cwd: process.cwd(),
  env: process.env,
});
process.exitCode = code;
