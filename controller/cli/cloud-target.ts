import { existsSync, readFileSync, statSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { DEFAULT_INSTALLATION, installationProblem } from "../api/installation.ts";
// The AWS SDK and the simulator are loaded only when a command opens a cloud (dynamic imports in
// openCloud): `leaven validate` and `leaven graph` never pay for them.
import type { AwsCloud } from "../cloud/aws-adapter.ts";
import type { Clock } from "../cloud/clock.ts";
import { acceleratedClock, systemClock } from "../cloud/clock.ts";
import type { CloudPort } from "../cloud/port.ts";
import type { ManifestTarget } from "../execute/store-manifest.ts";
import { DEFAULT_LEASE_TTL_MS, DEFAULT_LOCK_TABLE } from "../lease/defaults.ts";
import type { Logger } from "../log/logger.ts";
import type { ReconcilerOptions } from "../reconcile/reconciler.ts";
import { CLOCK_PATH } from "../sim/clock-path.ts";
import { type Faults, parseFaultFlag } from "../sim/faults.ts";
import type { Simulator } from "../sim/server.ts";
import { DEFAULT_STATE_FILE, prepareStateFolder } from "../sim/state-folder.ts";
import { displayPath } from "../sources/discover.ts";
import { wrapIndented } from "../status/fit-text.ts";
import { parseDuration } from "../validation/durations.ts";
import type { BakeryConfig } from "../validation/leaven-config.ts";
import { type LeavenConfig, validateLeavenConfig } from "../validation/leaven-config.ts";
import { type Diagnostic, formatDiagnostic } from "../validation/result.ts";
import { UserError } from "./command.ts";

const CLOUDS = ["aws", "simulator", "sim"];

/** Options shared by every command that talks to a cloud. */
export const cloudOptions = {
  cloud: { type: "string" },
  region: { type: "string" },
  profile: { type: "string" },
  endpoint: { type: "string" },
  "sim-state": { type: "string" },
  "sim-speed": { type: "string" },
  "sim-endpoint": { type: "string" },
  "sim-awkward": { type: "boolean" },
  "no-sim-awkward": { type: "boolean" },
  fault: { type: "string", multiple: true },
  installation: { type: "string" },
} as const;

export const cloudHelp = `Cloud:
  --installation NAME    This controller's installation: recorded on everything it creates; any other
                         installation's resources are foreign. Default: leaven.yaml's installation, or "default".
  --cloud aws|simulator  Where images live: your AWS account, or the embedded EC2 simulator (also: sim). Default:
                         what leaven.yaml beside the specs says (it must say); the simulator when there is none.
  --region REGION        Default region for AWS credentials and endpoints (aws).
  --profile NAME         Named AWS profile (aws); otherwise the default credential chain.
  --endpoint URL         EC2 endpoint override (aws), e.g. a VPC endpoint or a standalone \`leaven sim\`.
  --sim-state FILE       Simulator state file. Default: .leaven/sim-state.json beside the specs.
  --sim-speed N          Simulator clock speed relative to wall time. Default: 60.
  --sim-endpoint URL     Use a running \`leaven sim\` instead of starting one in-process.
  --no-sim-awkward       The embedded simulator without EC2's awkward ways (console posted late, ids not visible
                         at once, tokens that expire, default EBS encryption, a consumer account): faster, kinder.
                         Default: awkward, as EC2 is (leaven.yaml: sim: { awkward: false }).
  --fault SPEC           Simulator fault (repeatable): bake-fail=SPEC, volume-bake-fail=SPEC, bake-hang=SPEC, smoke-fail=SPEC, 5xx=0.1, throttle=0.05,
                         lost-response=0.1 (changes done, then answered 5xx), noisy-neighbour=1 (other tools
                         drawing tokens per second), latency=50ms.
`;

export interface CloudTarget {
  /** Rate-limited port used by the observer and the executor. */
  cloud: CloudPort;
  /** The adapter underneath, with its request statistics. */
  adapter: AwsCloud;
  clock: Clock;
  kind: "sim" | "aws";
  banner: string;
  /**
   * Where this run acts, for the last line of plan and apply: "on the embedded simulator — not AWS", or
   * "on AWS account 111122223333 / profile images-admin".
   */
  where: string;
  simulator?: Simulator;
  /** This controller's installation (--installation, leaven.yaml's installation, or "default"). */
  installation: string;
  /** leaven.yaml's bakery: the host of volume bakes. */
  bakery?: BakeryConfig;
  /** Where the installation's lock lives and how long a lease lasts (controller/cli/lock-target.ts). */
  lock: LockSettings;
  /** The package manifests' bucket and its store, when leaven.yaml names one (manifests: { bucket }). */
  manifests?: ManifestTarget;
  close(): Promise<void>;
}

/**
 * What every command gives its Reconciler from the cloud target: the cloud, clock and installation, and
 * leaven.yaml's manifests bucket and bakery. A command that holds the lock passes its fenced cloud instead.
 */
export function reconcilerTarget(
  target: CloudTarget,
  cloud: CloudPort = target.cloud,
): Pick<ReconcilerOptions, "cloud" | "clock" | "installation" | "manifests" | "bakery"> {
  return {
    cloud,
    clock: target.clock,
    installation: target.installation,
    ...(target.manifests ? { manifests: target.manifests } : {}),
    ...(target.bakery ? { bakery: target.bakery } : {}),
  };
}

/** The manifests store of leaven.yaml's manifests, on AWS or on the simulator's S3 (the bucket created there). */
async function openManifests(
  config: LeavenConfig,
  target: { region?: string; profile?: string; simEndpoint?: string },
): Promise<ManifestTarget | undefined> {
  const manifests = config.manifests;
  if (!manifests) return undefined;
  const { createS3ObjectStore } = await import("../cloud/s3-adapter.ts");
  const { S3_PATH } = await import("../sim/s3.ts");
  const region =
    manifests.region ??
    target.region ??
    process.env.AWS_REGION ??
    process.env.AWS_DEFAULT_REGION ??
    "us-east-1";
  const endpoint = target.simEndpoint ? `${target.simEndpoint}${S3_PATH}` : manifests.endpoint;
  const store = createS3ObjectStore({
    region: target.simEndpoint ? (manifests.region ?? "us-east-1") : region,
    ...(endpoint ? { endpoint } : {}),
    ...(target.simEndpoint
      ? { credentials: simCredentials }
      : target.profile
        ? { profile: target.profile }
        : {}),
  });
  // On the simulator the bucket is part of the simulated world; on AWS the platform team owns it.
  if (target.simEndpoint) await store.createBucketIfMissing(manifests.bucket);
  return { store, bucket: manifests.bucket, ...(manifests.prefix ? { prefix: manifests.prefix } : {}) };
}

/** The installation lock's DynamoDB table and lease, as leaven.yaml and the target resolve them. */
export interface LockSettings {
  table: string;
  region: string;
  /** The DynamoDB endpoint: lock.endpoint, else --endpoint, else the simulator's; AWS's own when absent. */
  endpoint?: string;
  profile?: string;
  credentials?: { accessKeyId: string; secretAccessKey: string };
  /** Lease time to live on the target's clock (lock.ttl, default 90s). */
  ttlMs: number;
  /** The target's clock speed relative to wall time (the simulator's --sim-speed; 1 on AWS). */
  speed: number;
  /** Create the table when missing: only on the simulator (on AWS the platform team owns it). */
  createTable: boolean;
}

/**
 * leaven.yaml beside the specs (in the first path, or its directory) configures the target; refused, with
 * every problem at its line, when it is not valid. `cloudGiven`: --cloud was passed, so the file need not
 * name the cloud. Paths in messages are relative to `cwd` when given and inside it.
 */
/** The problems of the leaven.yaml beside the specs (none when there is no such file), for `leaven validate`. */
export function leavenConfigDiagnostics(firstPath: string, cwd: string): Diagnostic[] {
  const dir = existsSync(firstPath) && statSync(firstPath).isDirectory() ? firstPath : dirname(firstPath);
  const file = join(dir, "leaven.yaml");
  if (!existsSync(file)) return [];
  return validateLeavenConfig(readFileSync(file, "utf8"), displayPath(file, cwd)).diagnostics;
}

export function readLeavenConfig(
  firstPath: string,
  options: { cwd?: string; cloudGiven?: boolean } = {},
): { config: LeavenConfig; dir: string; file?: string } {
  const dir = existsSync(firstPath) && statSync(firstPath).isDirectory() ? firstPath : dirname(firstPath);
  const file = join(dir, "leaven.yaml");
  if (!existsSync(file)) return { config: {}, dir };
  const shown = options.cwd === undefined ? file : displayPath(file, options.cwd);
  const { config, diagnostics } = validateLeavenConfig(readFileSync(file, "utf8"), shown, {
    cloudGiven: options.cloudGiven === true,
  });
  if (diagnostics.length > 0) throw new UserError(diagnostics.map(formatDiagnostic).join("\n"));
  return { config, dir, file };
}

/** --installation, else leaven.yaml's, else the default; refused with the rule when not tag-safe. */
function installationOf(values: Values, config: LeavenConfig): string {
  const flag = values.installation as string | undefined;
  if (flag !== undefined) {
    const problem = installationProblem(flag);
    if (problem) throw new UserError(`--installation: ${problem}.`);
    return flag;
  }
  return config.installation ?? DEFAULT_INSTALLATION;
}

function lockSettings(
  config: LeavenConfig,
  target: { region?: string; endpoint?: string; profile?: string; speed: number; sim: boolean },
): LockSettings {
  const region =
    config.lock?.region ??
    target.region ??
    process.env.AWS_REGION ??
    process.env.AWS_DEFAULT_REGION ??
    "us-east-1";
  const endpoint = config.lock?.endpoint ?? target.endpoint;
  return {
    table: config.lock?.table ?? DEFAULT_LOCK_TABLE,
    region: target.sim ? (config.lock?.region ?? "us-east-1") : region,
    ...(endpoint ? { endpoint } : {}),
    ...(target.profile ? { profile: target.profile } : {}),
    ...(target.sim ? { credentials: simCredentials } : {}),
    ttlMs: config.lock?.ttl ? parseDuration(config.lock.ttl) : DEFAULT_LEASE_TTL_MS,
    speed: target.speed,
    createTable: target.sim,
  };
}

type Values = Record<string, string | boolean | string[] | undefined>;

export async function openCloud(
  values: Values,
  paths: string[],
  cwd: string,
  logger: Logger,
): Promise<CloudTarget> {
  const [{ createAwsCloud }, { RegionRateLimiter }] = await Promise.all([
    import("../cloud/aws-adapter.ts"),
    import("../cloud/region-rate-limiter.ts"),
  ]);
  const flag = values.cloud as string | undefined;
  if (flag !== undefined && !CLOUDS.includes(flag))
    throw new UserError(`--cloud must be aws or simulator (sim for short), not "${flag}".`);
  const { config, dir } = readLeavenConfig(resolve(cwd, paths[0] ?? "."), {
    cwd,
    cloudGiven: flag !== undefined,
  });
  // The simulator is the default only where nothing says otherwise: no flag and no leaven.yaml.
  const kind = (flag ?? config.cloud ?? "sim") === "aws" ? "aws" : "sim";
  const installation = installationOf(values, config);

  if (kind === "aws") {
    const endpoint = (values.endpoint as string | undefined) ?? config.endpoint;
    const profile = (values.profile as string | undefined) ?? config.profile;
    const region = (values.region as string | undefined) ?? config.region;
    if (region) process.env.AWS_REGION ??= region;
    // Once, before any observation: no credentials is one clear error, not one per spec and region.
    const { probeCredentials } = await import("./aws-credentials.ts");
    const { accountId } = await probeCredentials({
      ...(profile ? { profile } : {}),
      region: region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? "us-east-1",
    });
    const adapter = createAwsCloud({
      ...(endpoint ? { endpoint } : {}),
      ...(profile ? { profile } : {}),
      logger,
      limiter: new RegionRateLimiter(systemClock),
    });
    const clock = systemClock;
    const manifests = await openManifests(config, {
      ...(region ? { region } : {}),
      ...(profile ? { profile } : {}),
    });
    return {
      cloud: adapter,
      adapter,
      clock,
      kind,
      installation,
      ...(manifests ? { manifests } : {}),
      ...(config.bakery ? { bakery: config.bakery } : {}),
      lock: lockSettings(config, {
        ...(region ? { region } : {}),
        ...(endpoint ? { endpoint } : {}),
        ...(profile ? { profile } : {}),
        speed: 1,
        sim: false,
      }),
      banner: `Cloud: AWS${accountId ? ` account ${accountId}` : ""}${profile ? ` (profile ${profile})` : ""}${endpoint ? ` via ${endpoint}` : ""}`,
      where: awsWhere(accountId, profile ?? process.env.AWS_PROFILE, endpoint),
      close: async () => {
        manifests?.store.close();
        adapter.close();
      },
    };
  }

  const speedText = (values["sim-speed"] as string | undefined) ?? String(config.sim?.speed ?? 60);
  const speed = Number(speedText);
  if (!Number.isFinite(speed) || speed <= 0)
    throw new UserError(`--sim-speed must be a positive number, not "${speedText}".`);
  let faults: Faults = {};
  try {
    for (const flag of (values.fault as string[] | undefined) ?? []) faults = parseFaultFlag(flag, faults);
  } catch (error) {
    throw new UserError((error as Error).message);
  }
  const external = values["sim-endpoint"] as string | undefined;
  if (external) {
    if (values.fault)
      throw new UserError("--fault configures the embedded simulator; pass it to `leaven sim` instead.");
    const { clock, speed: externalSpeed } = await simulatorClock(external);
    const adapter = createAwsCloud({
      endpoint: external,
      credentials: simCredentials,
      logger,
      clock,
      limiter: new RegionRateLimiter(clock),
    });
    const manifests = await openManifests(config, { simEndpoint: external });
    return {
      cloud: adapter,
      adapter,
      clock,
      kind: "sim",
      installation,
      ...(manifests ? { manifests } : {}),
      ...(config.bakery ? { bakery: config.bakery } : {}),
      lock: lockSettings(config, { endpoint: external, speed: externalSpeed, sim: true }),
      banner: `Cloud: Leaven EC2 simulator at ${external} (started separately)`,
      where: `on the Leaven simulator at ${external} — not AWS`,
      close: async () => {
        manifests?.store.close();
        adapter.close();
      },
    };
  }
  // A flag is relative to where the command runs; a path in leaven.yaml to the file that names it.
  const simStateFlag = values["sim-state"] as string | undefined;
  const statePath = simStateFlag
    ? resolve(cwd, simStateFlag)
    : resolve(dir, config.sim?.state ?? DEFAULT_STATE_FILE);
  if (values["sim-awkward"] === true && values["no-sim-awkward"] === true)
    throw new UserError("--sim-awkward and --no-sim-awkward contradict each other; pass one.");
  const awkward =
    values["no-sim-awkward"] === true
      ? false
      : values["sim-awkward"] === true || config.sim?.awkward !== false;
  prepareStateFolder(statePath);
  const { startSimulator } = await import("../sim/server.ts");
  const simulator = await startSimulator({ statePath, speed, faults, awkward });
  const adapter = createAwsCloud({
    endpoint: simulator.endpoint,
    credentials: simCredentials,
    clock: simulator.clock,
    logger,
    limiter: new RegionRateLimiter(simulator.clock),
  });
  const manifests = await openManifests(config, { simEndpoint: simulator.endpoint });
  return {
    cloud: adapter,
    adapter,
    clock: simulator.clock,
    kind: "sim",
    simulator,
    installation,
    ...(manifests ? { manifests } : {}),
    ...(config.bakery ? { bakery: config.bakery } : {}),
    lock: lockSettings(config, { endpoint: simulator.endpoint, speed, sim: true }),
    where: "on the embedded simulator — not AWS",
    banner:
      `Cloud: embedded EC2 simulator at ${simulator.endpoint} — not AWS. State: ${statePath}.\n` +
      `       Its clock runs ${speed}x faster than AWS's (a 5-minute bake takes ${Math.round(300 / speed)} s); --cloud aws targets AWS.\n` +
      `       ${awkward ? AWKWARD_BANNER : KIND_BANNER}`,
    close: async () => {
      manifests?.store.close();
      adapter.close();
      await simulator.close();
    },
  };
}

/**
 * Writes the cloud banner. On a terminal each line is wrapped at words within its width, continuing in
 * the banner's indent: the terminal's own wrap would cut paths and words in half. Piped, as it is.
 */
export function writeBanner(
  stream: NodeJS.WritableStream & { isTTY?: boolean; columns?: number },
  banner: string,
): void {
  if (!stream.isTTY) {
    stream.write(`${banner}\n`);
    return;
  }
  const width = Math.max(40, (stream.columns ?? 80) - 1);
  const rows = banner.split("\n").flatMap((line) => {
    const lead = /^ */.exec(line)![0];
    return wrapIndented(line.trimStart(), width - lead.length, BANNER_INDENT - lead.length).map(
      (row) => lead + row,
    );
  });
  stream.write(`${rows.join("\n")}\n`);
}

/** Where the banner's continuation lines start: under the text after "Cloud: ". */
const BANNER_INDENT = 7;

/** A summary line with where it happened: "Plan: 2 to bake; on the embedded simulator — not AWS." */
export function withWhere(line: string, where: string): string {
  return `${line.replace(/\.$/, "")}; ${where}.`;
}

/** `text` (lines ending in newlines) with withWhere applied to its last line. */
export function lastLineWithWhere(text: string, where: string): string {
  const body = text.endsWith("\n") ? text.slice(0, -1) : text;
  const cut = body.lastIndexOf("\n") + 1;
  return `${body.slice(0, cut)}${withWhere(body.slice(cut), where)}\n`;
}

function awsWhere(
  accountId: string | undefined,
  profile: string | undefined,
  endpoint: string | undefined,
): string {
  const account = accountId ? `AWS account ${accountId}` : "AWS";
  const who = profile ? ` / profile ${profile}` : accountId ? "" : " (the default credential chain)";
  return `on ${account}${who}${endpoint ? ` via ${endpoint}` : ""}`;
}

/** A standalone simulator runs its own accelerated clock: follow it, so timeouts and ages agree. */
async function simulatorClock(endpoint: string): Promise<{ clock: Clock; speed: number }> {
  let answer: { now: number; speed: number };
  try {
    const response = await fetch(new URL(CLOCK_PATH, endpoint));
    answer = (await response.json()) as { now: number; speed: number };
  } catch (error) {
    throw new UserError(
      `cannot reach the simulator at ${endpoint} (${(error as Error).message}); start it with \`leaven sim\`.`,
    );
  }
  return { clock: acceleratedClock(answer.speed, answer.now), speed: answer.speed };
}

export const AWKWARD_BANNER =
  "Awkward like EC2: consoles posted late, new ids visible after a while, tokens that expire, EBS encrypted by default; --no-sim-awkward for a kinder one.";
export const KIND_BANNER =
  "Kinder than EC2 (--no-sim-awkward): consoles and new ids at once, no default encryption; a green run says less about AWS.";

/** The simulator checks the SigV4 scope for the region, not the secret. */
const simCredentials = { accessKeyId: "AKIDLEAVENSIM", secretAccessKey: "leaven-sim" };
