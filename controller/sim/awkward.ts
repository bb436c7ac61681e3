// "As awkward as EC2" (SimulatorOptions.awkward): behaviours of the real service that a controller must
// survive but that make unit tests noisy, so each is off unless asked for. `true` switches all of them on
// with the defaults below; an object starts from those and overrides what it names, so
// `{ consistency: false }` is everything but eventual consistency and `{ ...AWKWARD_NONE, console: true }`
// is the console buffer alone.

const SECOND = 1000;
const MINUTE = 60 * SECOND;
const HOUR = 60 * MINUTE;

export interface AwkwardOptions {
  /**
   * GetConsoleOutput answers what EC2 last posted: a post follows each transition to running, stopped or
   * terminated after a random lag of up to `consoleLagMs`, and is kept `consoleRetentionMs` after the last
   * one. `Latest=true` reads the live console on Nitro instance types and is refused on Xen ones.
   */
  console: boolean;
  /** Default 3 minutes; EC2 has been reported to take up to 20. */
  consoleLagMs: number;
  /** Default 1 hour: EC2 keeps the output "for at least one hour after the most recent post". */
  consoleRetentionMs: number;
  /**
   * ClientTokens expire: a RunInstances token `tokenLifetimeMs` after all its instances terminated (then the
   * same token launches anew), a CopyImage token that long after the copy it made was deregistered.
   */
  tokenExpiry: boolean;
  /** Default 24 hours. */
  tokenLifetimeMs: number;
  /**
   * Eventual consistency: a new image, instance, snapshot or SSM command is invisible to every call but the one that
   * created it (and its idempotent repeats) for a random time of up to `consistencyLagMs`, and a snapshot
   * stays in use for `snapshotInUseMs` after its image was deregistered.
   */
  consistency: boolean;
  /** Default 5 seconds. */
  consistencyLagMs: number;
  /** Default 60 seconds. */
  snapshotInUseMs: number;
  /**
   * A second account, SIM_CONSUMER_ACCOUNT_ID, for requests signed with an access key id starting
   * `AKIDCONSUMER` (accounts.ts); every other key is the owner, SIM_ACCOUNT_ID.
   */
  consumerAccount: boolean;
  /** Organization and OU ARNs the consumer account belongs to, for launch permissions by organization. */
  consumerOrganizations: string[];
  /**
   * EBS encryption by default is on in every region of a new world: volumes, and so images made from them,
   * are encrypted with the account's AWS managed key (`alias/aws/ebs`) unless the request names a key.
   */
  defaultEncryption: boolean;
}

export const AWKWARD_DEFAULTS: Readonly<AwkwardOptions> = {
  console: true,
  consoleLagMs: 3 * MINUTE,
  consoleRetentionMs: HOUR,
  tokenExpiry: true,
  tokenLifetimeMs: 24 * HOUR,
  consistency: true,
  consistencyLagMs: 5 * SECOND,
  snapshotInUseMs: MINUTE,
  consumerAccount: true,
  consumerOrganizations: [],
  defaultEncryption: true,
};

/** Every behaviour off, with the default parameters: the simulator's exact, unsurprising mode. */
export const AWKWARD_NONE: Readonly<AwkwardOptions> = {
  ...AWKWARD_DEFAULTS,
  console: false,
  tokenExpiry: false,
  consistency: false,
  consumerAccount: false,
  defaultEncryption: false,
};

/** `undefined`/`false` → none, `true` → all defaults, an object → the defaults with its overrides. */
export function resolveAwkward(option: boolean | Partial<AwkwardOptions> | undefined): AwkwardOptions {
  if (option === undefined || option === false) return { ...AWKWARD_NONE, consumerOrganizations: [] };
  const resolved: AwkwardOptions = { ...AWKWARD_DEFAULTS, consumerOrganizations: [] };
  if (option === true) return resolved;
  for (const [key, value] of Object.entries(option)) {
    if (value !== undefined) (resolved as unknown as Record<string, unknown>)[key] = value;
  }
  for (const key of [
    "consoleLagMs",
    "consoleRetentionMs",
    "tokenLifetimeMs",
    "consistencyLagMs",
    "snapshotInUseMs",
  ] as const) {
    const value = resolved[key];
    if (!Number.isFinite(value) || value < 0) {
      throw new Error(`awkward.${key} must be a duration in milliseconds, not ${String(value)}.`);
    }
  }
  return resolved;
}

/** The switches that are on, for banners and logs. */
export function awkwardSummary(options: AwkwardOptions): string[] {
  const on: string[] = [];
  if (options.console) on.push(`console (lag ≤ ${options.consoleLagMs / 1000} s)`);
  if (options.tokenExpiry) on.push("token expiry");
  if (options.consistency) on.push(`consistency (lag ≤ ${options.consistencyLagMs / 1000} s)`);
  if (options.consumerAccount) on.push("consumer account");
  if (options.defaultEncryption) on.push("default EBS encryption");
  return on;
}
