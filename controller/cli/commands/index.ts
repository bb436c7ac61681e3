import type { Command } from "../command.ts";
import { applyCommand } from "./apply.ts";
import { planCommand } from "./plan.ts";

/** Every CLI command, in the order `leaven --help` lists them. Each lives in its own module. */
export const commands: Command[] = [planCommand, applyCommand];
