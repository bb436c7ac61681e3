import { DescribeImagesCommand, EC2Client } from "@aws-sdk/client-ec2";
import { afterEach } from "vitest";
import { AWKWARD_NONE, type AwkwardOptions } from "../../controller/sim/awkward.ts";
import { ManualClock } from "../../controller/sim/manual-clock.ts";
import { type Simulator, type SimulatorOptions, startSimulator } from "../../controller/sim/server.ts";
import { CANONICAL_OWNER_ID } from "../../controller/sim/vendor-images.ts";

export const START = Date.UTC(2026, 10, 21, 12, 0, 0);
export const MINUTE = 60_000;

export interface TestSim {
  sim: Simulator;
  clock: ManualClock;
  client: EC2Client;
  clientFor(region: string): EC2Client;
}

/** A real EC2Client pointed at the simulator; one attempt, so errors and counters are exact. */
export function ec2Client(sim: Simulator, region = "eu-west-1", accessKeyId = "AKIDSIM"): EC2Client {
  return new EC2Client({
    region,
    endpoint: sim.endpoint,
    credentials: { accessKeyId, secretAccessKey: "sim" },
    maxAttempts: 1,
  });
}

/** A client signing as the awkward consumer account (SIM_CONSUMER_ACCOUNT_ID). */
export function consumerClient(sim: Simulator, region = "eu-west-1"): EC2Client {
  return ec2Client(sim, region, "AKIDCONSUMEREXAMPLE");
}

export async function startTestSim(options: SimulatorOptions = {}): Promise<TestSim> {
  const clock = options.clock instanceof ManualClock ? options.clock : new ManualClock(START);
  const sim = await startSimulator({ throttle: false, ...options, clock });
  return { sim, clock, client: ec2Client(sim), clientFor: (region) => ec2Client(sim, region) };
}

export interface WireError {
  code: string;
  status: number | undefined;
  message: string;
}

/** The EC2 error a call fails with, as the SDK surfaces it; fails the test if the call succeeds. */
export async function ec2Error(call: Promise<unknown>): Promise<WireError> {
  try {
    await call;
  } catch (error) {
    const e = error as { name: string; message: string; $metadata?: { httpStatusCode?: number } };
    return { code: e.name, status: e.$metadata?.httpStatusCode, message: e.message };
  }
  throw new Error("expected the call to fail, but it succeeded");
}

export const userData = (text: string): string => Buffer.from(text, "utf8").toString("base64");

/** Starts a simulator (see awkwardSims); `close` closes one before its test ends (a restart). */
export interface AwkwardSims {
  (options?: SimulatorOptions): Promise<TestSim>;
  close(t: TestSim): Promise<void>;
}

/**
 * For a test file of one awkward behaviour: starts simulators with only `awkward` on (over the options given),
 * each closed after its test. Call at the top of the file: it registers the afterEach.
 */
export function awkwardSims(awkward: Partial<AwkwardOptions>): AwkwardSims {
  const open: TestSim[] = [];
  afterEach(async () => {
    for (const t of open.splice(0)) await t.sim.close();
  });
  const start = async (options: SimulatorOptions = {}) => {
    const t = await startTestSim({ awkward: { ...AWKWARD_NONE, ...awkward }, ...options });
    open.push(t);
    return t;
  };
  return Object.assign(start, {
    close: async (t: TestSim) => {
      open.splice(open.indexOf(t), 1);
      await t.sim.close();
    },
  });
}

/** The simulator's newest Ubuntu 24.04 amd64 vendor image in the client's region. */
export async function nobleImage(t: TestSim): Promise<string> {
  const images = await t.client.send(
    new DescribeImagesCommand({
      Owners: [CANONICAL_OWNER_ID],
      Filters: [{ Name: "name", Values: ["ubuntu/images/hvm-ssd-gp3/ubuntu-noble-24.04-amd64-server-*"] }],
    }),
  );
  return images.Images![0]!.ImageId!;
}
