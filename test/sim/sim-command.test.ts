import { type ChildProcess, spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  CreateTagsCommand,
  DescribeImagesCommand,
  EC2Client,
  GetEbsEncryptionByDefaultCommand,
} from "@aws-sdk/client-ec2";
import { afterEach, expect, it } from "vitest";
import { CLOCK_PATH } from "../../controller/sim/clock-path.ts";

const main = join(import.meta.dirname, "../../controller/cli/main.ts");
const children: ChildProcess[] = [];
let dir: string | undefined;
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function startCli(args: string[]): Promise<{ child: ChildProcess; endpoint: string; output: () => string }> {
  const child = spawn(process.execPath, [main, "sim", ...args], { stdio: ["ignore", "pipe", "pipe"] });
  children.push(child);
  let output = "";
  return new Promise((resolve, reject) => {
    child.stdout!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
      const match = /endpoint: (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) resolve({ child, endpoint: match[1]!, output: () => output });
    });
    child.stderr!.on("data", (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on("exit", (code) => reject(new Error(`leaven sim exited with ${code}: ${output}`)));
  });
}

const client = (endpoint: string) =>
  new EC2Client({
    region: "us-east-1",
    endpoint,
    credentials: { accessKeyId: "AKIDSIM", secretAccessKey: "sim" },
    maxAttempts: 1,
  });

it("keeps every acknowledged change across a kill -9 of `leaven sim`", async () => {
  dir = mkdtempSync(join(tmpdir(), "leaven-sim-cli-"));
  const state = join(dir, "state.json");
  const first = await startCli(["--state", state, "--speed", "60", "--no-throttle"]);
  expect(first.output()).toContain(`state:    ${state}`);
  expect(first.output()).toContain("speed:    60x");
  const ec2 = client(first.endpoint);
  const image = (await ec2.send(new DescribeImagesCommand({ Owners: ["amazon"] }))).Images![0]!;
  await ec2.send(
    new CreateTagsCommand({ Resources: [image.ImageId!], Tags: [{ Key: "seen", Value: "yes" }] }),
  );
  first.child.kill("SIGKILL");
  await new Promise((resolve) => first.child.once("exit", resolve));

  const second = await startCli(["--state", state]);
  const tagged = await client(second.endpoint).send(
    new DescribeImagesCommand({ Filters: [{ Name: "tag:seen", Values: ["yes"] }], IncludeDeprecated: true }),
  );
  expect(tagged.Images!.map((i) => i.ImageId)).toEqual([image.ImageId]);
}, 30_000);

/** The standalone simulator's clock, as a client attached to it reads it. */
async function simClock(endpoint: string): Promise<number> {
  const response = await fetch(new URL(CLOCK_PATH, endpoint));
  return ((await response.json()) as { now: number }).now;
}

it("never sets its clock back across a kill -9 and a restart, and cleans killed writers' temp files", async () => {
  dir = mkdtempSync(join(tmpdir(), "leaven-sim-cli-"));
  const state = join(dir, "state.json");
  const first = await startCli(["--state", state, "--speed", "60"]);
  const ec2 = client(first.endpoint);
  const image = (await ec2.send(new DescribeImagesCommand({ Owners: ["amazon"] }))).Images![0]!;
  await ec2.send(new CreateTagsCommand({ Resources: [image.ImageId!], Tags: [{ Key: "k", Value: "v" }] }));
  // No change after this one: only the clock moves, for two wall seconds (two simulated minutes).
  await new Promise((resolve) => setTimeout(resolve, 2000));
  const beforeKill = await simClock(first.endpoint);
  first.child.kill("SIGKILL");
  await new Promise((resolve) => first.child.once("exit", resolve));
  const killedAt = Date.now();
  // A partial write of a simulator killed mid-save.
  const partial = join(dir, `state.json.${first.child.pid}.tmp`);
  writeFileSync(partial, "x".repeat(1_500_000));

  const second = await startCli(["--state", state, "--speed", "60"]);
  const afterRestart = await simClock(second.endpoint);
  expect(afterRestart).toBeGreaterThanOrEqual(beforeKill);
  // The clock ran on at 60x while stopped, as a client's copy of it did.
  expect(afterRestart - beforeKill).toBeGreaterThanOrEqual((Date.now() - killedAt) * 60 - 60_000);
  expect(second.output()).toContain("  cleaned:  1 partial state file(s) of killed simulators (1.5 MB)\n");
  expect(existsSync(partial)).toBe(false);
}, 30_000);

it("rejects a bad --fault flag with a helpful message", async () => {
  const child = spawn(process.execPath, [main, "sim", "--fault", "meteor=1"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise((resolve) => child.once("exit", resolve));
  expect(code).toBe(1);
  expect(stderr).toBe(
    'leaven sim: --fault meteor=1: unknown fault "meteor". Use bake-fail=SPEC, volume-bake-fail=SPEC, bake-hang=SPEC, smoke-fail=SPEC, 5xx=RATE, lost-response=RATE, throttle=RATE, noisy-neighbour=RATE or latency=50ms.\n',
  );
}, 30_000);

it("runs awkward with --awkward and says so; plain by default", async () => {
  dir = mkdtempSync(join(tmpdir(), "leaven-sim-cli-"));
  const awkward = await startCli(["--state", join(dir, "awkward.json"), "--awkward"]);
  expect(awkward.output()).toContain(
    "  awkward:  on: console (lag ≤ 180 s), token expiry, consistency (lag ≤ 5 s), consumer account, default EBS encryption\n",
  );
  expect(
    (await client(awkward.endpoint).send(new GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault,
  ).toBe(true);
  const plain = await startCli(["--state", join(dir, "plain.json"), "--no-awkward"]);
  expect(plain.output()).toContain("  awkward:  off\n");
  expect(
    (await client(plain.endpoint).send(new GetEbsEncryptionByDefaultCommand({}))).EbsEncryptionByDefault,
  ).toBe(false);
}, 30_000);

it("refuses --awkward with --no-awkward", async () => {
  const child = spawn(process.execPath, [main, "sim", "--awkward", "--no-awkward"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  children.push(child);
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  const code = await new Promise((resolve) => child.once("exit", resolve));
  expect(code).toBe(1);
  expect(stderr).toBe("leaven sim: --awkward and --no-awkward contradict each other; pass one.\n");
}, 30_000);
