import { EC2Client } from "@aws-sdk/client-ec2";
import { ManualClock } from "../../controller/sim/manual-clock.ts";
import { type Simulator, type SimulatorOptions, startSimulator } from "../../controller/sim/server.ts";

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
