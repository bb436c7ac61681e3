// Runs the CLI in-process with captured stdout/stderr (faster than a child process, same code path).
import { Writable } from "node:stream";
import { fileURLToPath } from "node:url";
import { runCli } from "../../controller/cli/run-cli.ts";

export const root = fileURLToPath(new URL("../..", import.meta.url));

/** A writable stream that keeps what is written to it. */
export function sink(): { stream: Writable; text: () => string } {
  let text = "";
  const stream = new Writable({
    write(chunk, _encoding, done) {
      text += String(chunk);
      done();
    },
  });
  return { stream, text: () => text };
}

export async function run(
  args: string[],
  cwd = root,
): Promise<{ code: number; stdout: string; stderr: string }> {
  const stdout = sink();
  const stderr = sink();
  const code = await runCli(args, { stdout: stdout.stream, stderr: stderr.stream, cwd, env: {} });
  return { code, stdout: stdout.text(), stderr: stderr.text() };
}
