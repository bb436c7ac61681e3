#!/usr/bin/env node
// The `leaven` bin: checks the Node version (node-check.mjs, plain JavaScript that an old Node can run),
// then loads the CLI, which is TypeScript that only a new enough Node runs.
import { checkThisNode } from "./node-check.mjs";

const problem = checkThisNode();
if (problem === undefined) {
  import("./main.ts");
} else {
  process.stderr.write(problem);
  process.exitCode = 1;
}
