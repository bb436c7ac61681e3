// `leaven sim`: runs the embedded EC2-compatible simulator standalone until SIGINT/SIGTERM.

import { resolve } from "node:path";
import { awkwardSummary } from "../../sim/awkward.ts";
import { type Faults, parseFaultFlag } from "../../sim/faults.ts";
import type { Simulator } from "../../sim/server.ts";
import { DEFAULT_STATE_FILE, prepareStateFolder } from "../../sim/state-folder.ts";
import { type Command, UserError } from "../command.ts";

function positiveNumber(flag: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isFinite(n) || n <= 0) throw new UserError(`--${flag} ${value}: expected a positive number.`);
  return n;
}

function port(value: string | undefined): number {
  if (value === undefined) return 0;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0 || n > 65535)
    throw new UserError(`--port ${value}: expected a port between 0 and 65535.`);
  return n;
}

function megabytes(bytes: number): string {
  return `${(bytes / 1_000_000).toFixed(1)} MB`;
}

function faultsFrom(flags: string[]): Faults {
  const faults: Faults = {};
  for (const flag of flags) {
    try {
      parseFaultFlag(flag, faults);
    } catch (error) {
      throw new UserError((error as Error).message);
    }
  }
  return faults;
}

function waitForSignal(): Promise<NodeJS.Signals> {
  return new Promise((resolveSignal) => {
    const done = (signal: NodeJS.Signals) => {
      process.off("SIGINT", done);
      process.off("SIGTERM", done);
      resolveSignal(signal);
    };
    process.on("SIGINT", done);
    process.on("SIGTERM", done);
  });
}

export const simCommand: Command = {
  name: "sim",
  summary: "Run the embedded EC2-compatible simulator (for local runs, demos and tests).",
  usage:
    "sim [--port N] [--state FILE] [--speed N] [--no-throttle] [--awkward | --no-awkward] [--fault KIND=VALUE]...",
  help: `Options:
  --port N            Port on 127.0.0.1 (default: any free port).
  --state FILE        World state file, rewritten atomically after every change (default .leaven/sim-state.json);
                        FILE.clock notes the clock every second. Partial temp files of killed simulators
                        (FILE.PID.tmp) are deleted at start.
  --speed N           Simulated time runs N times faster than wall time (default 60). The clock keeps
                        running while the simulator is stopped, as its clients' copies of it do: a
                        restart (even after kill -9) continues it and never goes back. Delete FILE
                        and FILE.clock to start a new world.
  --no-throttle       Turn off EC2's request token buckets (one per account, region and action).
  --awkward           Behave as awkwardly as EC2 does (default off; --no-awkward says so explicitly):
                        console output only as EC2 last posted it, up to 3 min after a state change,
                        kept 1 h; Latest=true only on Nitro types; client tokens forgotten 24 h
                        after what they made is gone; new ids invisible for up to 5 s and snapshots
                        in use 60 s after their image is deregistered; a second account 777788889999
                        (access keys AKIDCONSUMER…); EBS encryption by default with aws/ebs.
  --fault KIND=VALUE  Inject a fault; repeatable:
                        bake-fail=SPEC|BUILD   bakes of that spec (leaven.dev/spec tag) or build fail
                        volume-bake-fail=SPEC|BUILD  volume bakes of that spec or build fail
                                               (the Run Command prints the failure marker)
                        bake-hang=SPEC|BUILD   those bakes never finish
                        smoke-fail=SPEC|BUILD  smoke checks of that spec's (or build's) images fail
                        5xx=RATE               fraction of requests answered InternalError/Unavailable
                        lost-response=RATE     fraction of changing requests done, then answered
                                               InternalError/ServiceUnavailable (the answer is lost)
                        throttle=RATE          fraction of requests answered RequestLimitExceeded
                        latency=50ms           added to every response
                        noisy-neighbour=RATE   other tools take RATE tokens a second from every bucket
Examples:
  leaven sim --port 4566
  leaven sim --speed 600 --fault bake-fail=api-server --fault 5xx=0.05
  leaven sim --awkward --fault noisy-neighbour=1
  leaven sim --fault lost-response=0.1   # then: leaven apply DIR --sim-endpoint URL
`,
  options: {
    port: { type: "string" },
    state: { type: "string" },
    speed: { type: "string" },
    "no-throttle": { type: "boolean" },
    awkward: { type: "boolean" },
    "no-awkward": { type: "boolean" },
    fault: { type: "string", multiple: true },
  },
  async run({ values }, io) {
    const statePath = resolve(io.cwd, typeof values.state === "string" ? values.state : DEFAULT_STATE_FILE);
    prepareStateFolder(statePath);
    const speed = positiveNumber("speed", values.speed as string | undefined, 60);
    const faults = faultsFrom((values.fault as string[] | undefined) ?? []);
    const throttle = values["no-throttle"] !== true;
    if (values.awkward === true && values["no-awkward"] === true)
      throw new UserError("--awkward and --no-awkward contradict each other; pass one.");
    const awkward = values.awkward === true;
    let sim: Simulator;
    try {
      const { startSimulator } = await import("../../sim/server.ts");
      sim = await startSimulator({
        port: port(values.port as string | undefined),
        statePath,
        speed,
        throttle,
        faults,
        awkward,
        clockRunsWhileStopped: true,
      });
    } catch (error) {
      if (error instanceof UserError) throw error;
      throw new UserError(`could not start the simulator: ${(error as Error).message}`);
    }
    io.stdout.write(
      [
        "EC2 simulator listening",
        `  endpoint: ${sim.endpoint}`,
        `  state:    ${statePath}`,
        `  speed:    ${speed}x (simulated time now ${new Date(sim.clock.now()).toISOString()})`,
        `  throttle: ${throttle ? "on (EC2 token buckets)" : "off"}`,
        `  awkward:  ${awkward ? `on: ${awkwardSummary(sim.awkward).join(", ")}` : "off"}`,
        ...(Object.keys(faults).length > 0 ? [`  faults:   ${JSON.stringify(faults)}`] : []),
        ...(sim.removedTempFiles.files.length > 0
          ? [
              `  cleaned:  ${sim.removedTempFiles.files.length} partial state file(s) of killed simulators (${megabytes(sim.removedTempFiles.bytes)})`,
            ]
          : []),
        `Point clients at it: AWS_ENDPOINT_URL_EC2=${sim.endpoint} (any credentials). Stop with Ctrl-C.`,
        "",
      ].join("\n"),
    );
    const signal = await waitForSignal();
    await sim.close();
    io.stdout.write(`EC2 simulator stopped (${signal}); state saved to ${statePath}\n`);
    return 0;
  },
};
