import type { ParseArgsConfig } from "node:util";

/** Streams a command writes to, injected so tests can drive the CLI in-process. */
export interface CliIo {
  stdout: NodeJS.WritableStream & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: NodeJS.WritableStream & { isTTY?: boolean; columns?: number };
  cwd: string;
  env: NodeJS.ProcessEnv;
}

export type OptionsConfig = NonNullable<ParseArgsConfig["options"]>;

export interface Command {
  name: string;
  summary: string;
  /** Usage line(s) shown by --help, after `leaven `. */
  usage: string;
  /** Longer help text: options and examples. */
  help: string;
  options: OptionsConfig;
  /** Returns the process exit code. */
  run(
    args: { values: Record<string, string | boolean | string[] | undefined>; positionals: string[] },
    io: CliIo,
  ): Promise<number>;
}

/** An error the user caused (bad flag, missing file): printed without a stack trace, exit 1. */
export class UserError extends Error {
  readonly exitCode: number;
  constructor(message: string, exitCode = 1) {
    super(message);
    this.name = "UserError";
    this.exitCode = exitCode;
  }
}
