import type { Command } from "../command.ts";
import { applyCommand } from "./apply.ts";
import { buildsCommand } from "./builds.ts";
import { containsCommand } from "./contains.ts";
import { diffCommand } from "./diff.ts";
import { graphCommand } from "./graph.ts";
import { operatorCommand } from "./operator.ts";
import { planCommand } from "./plan.ts";
import { promoteCommand } from "./promote.ts";
import { runCommand } from "./run.ts";
import { simCommand } from "./sim.ts";
import { statusCommand } from "./status.ts";
import { validateCommand } from "./validate.ts";

/** Every CLI command, in the order `leaven --help` lists them. Each lives in its own module: NAME.ts the name, help and options, NAME-run.ts (loaded when it runs) the rest, so a command compiles only what it uses. */
export const commands: Command[] = [
  validateCommand,
  graphCommand,
  planCommand,
  promoteCommand,
  applyCommand,
  runCommand,
  statusCommand,
  buildsCommand,
  diffCommand,
  containsCommand,
  operatorCommand,
  simCommand,
];
