// Drives `leaven run` as a child process against a standalone simulator in the test's process (so the test
// reads the simulated world directly), and reads its HTTP endpoints.
import type { StatusSnapshot } from "../../controller/serve/source.ts";
import type { Simulator } from "../../controller/sim/server.ts";
import { startCli, waitFor } from "./cli-process.ts";

export interface RunProcess {
  url: string;
  child: ReturnType<typeof startCli>;
  /** The JSON log lines so far. */
  logs(): Array<Record<string, unknown>>;
  status(): Promise<StatusSnapshot>;
  /** Polls /status until `predicate` holds; rejects with the last status after `timeoutMs`. */
  waitStatus(predicate: (status: StatusSnapshot) => boolean, timeoutMs?: number): Promise<StatusSnapshot>;
  stop(): Promise<number | null>;
}

export async function startRun(
  cwd: string,
  sim: Simulator,
  extra: string[] = [],
  env: NodeJS.ProcessEnv = process.env,
): Promise<RunProcess> {
  const args = ["run", "--specs", "specs", "--listen", "127.0.0.1:0", "--sim-endpoint", sim.endpoint];
  const child = startCli([...args, "--log-format", "json", ...extra], cwd, env);
  await waitFor(child.errors, (text) => /serving http:\/\/\S+\//.test(text));
  const url = /serving (http:\/\/\S+)\//.exec(child.errors())![1]!;
  const status = async () => (await (await fetch(`${url}/status`)).json()) as StatusSnapshot;
  return {
    url,
    child,
    logs: () =>
      child
        .output()
        .split("\n")
        .filter((line) => line.startsWith("{"))
        .map((line) => JSON.parse(line) as Record<string, unknown>),
    status,
    async waitStatus(predicate, timeoutMs = 45_000) {
      const start = Date.now();
      let last: StatusSnapshot | undefined;
      for (;;) {
        last = await status();
        if (predicate(last)) return last;
        if (Date.now() - start > timeoutMs)
          throw new Error(
            `timed out waiting for /status; last:\n${JSON.stringify(last, null, 1).slice(0, 4000)}\nstderr:\n${child.errors().slice(-2000)}`,
          );
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
    },
    async stop() {
      child.child.kill("SIGTERM");
      return (await child.done).code;
    },
  };
}

/** Every spec Ready and nothing in flight. */
export function converged(status: StatusSnapshot): boolean {
  return (
    status.passes > 0 &&
    !status.inFlight &&
    status.specs.length > 0 &&
    status.specs.every((s) => s.phase === "Ready")
  );
}
