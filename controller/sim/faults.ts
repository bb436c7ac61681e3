// Faults a test (sim.setFaults) or the CLI (--fault) switches on. Random choices come from a seeded
// PRNG so a given seed always fails the same requests.
import { Tag } from "../api/tags.ts";

export interface BakeFaultMatch {
  /** Matched against the `leaven.dev/spec` tag of the bake instance. */
  specs?: string[];
  /** Matched against the build id declared in the user data. */
  builds?: string[];
}

export interface Faults {
  bakeFailure?: BakeFaultMatch & { reason?: string };
  bakeHang?: BakeFaultMatch;
  /**
   * Volume bakes (run-command.ts): the chroot script of matching specs or builds prints the failure marker and
   * its command ends Failed. The spec is the script's `LEAVEN_SPEC=` line or the attached volume's spec tag.
   */
  volumeBakeFailure?: BakeFaultMatch & { reason?: string };
  /** Smoke checks of matching specs or builds fail (the check script exits non-zero). */
  smokeFailure?: BakeFaultMatch & { reason?: string };
  /** Fraction (0..1) of requests answered with InternalError (500) or Unavailable (503). */
  serverErrorRate?: number;
  /**
   * Fraction (0..1) of changing requests (EC2, SSM, DynamoDB) that take effect and are saved, and are then
   * answered 5xx (InternalError or ServiceUnavailable): the change went through but the answer was lost.
   */
  lostResponseRate?: number;
  /** Fraction (0..1) of requests throttled on top of the token buckets. */
  throttleRate?: number;
  /** Wall-clock milliseconds added to every response. */
  latencyMs?: number;
  /** CopyImage ignores TagSpecifications, as some EC2 look-alikes do: copies are born untagged. */
  dropCopyTags?: boolean;
  /** CreateTags answers success but silently drops tags whose key starts with one of these: a write that never sticks. */
  dropTags?: string[];
  /**
   * Other tools in the account draw this many tokens per second from every EC2 bucket of every region
   * (buckets.ts), so Leaven meets RequestLimitExceeded it did not cause. Counted in SimStats.throttledByNeighbour.
   */
  noisyNeighbour?: number;
  /** Bakes and checks launched while set print this many bytes to the console before their marker. */
  scriptOutputBytes?: number;
  /**
   * DynamoDB (dynamodb.ts): the next N requests of each named operation, e.g. `{ PutItem: 1 }`, take effect
   * and then lose their answer — the connection is closed without a response, as when a network drops it.
   */
  lostResponses?: Readonly<Record<string, number>>;
  /** PRNG seed for the error and throttle rates; same seed, same failing requests. */
  seed?: number;
}

/** mulberry32: small, fast and good enough for fault sampling. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function matches(
  match: BakeFaultMatch | undefined,
  tags: Readonly<Record<string, string>>,
  build: string,
): boolean {
  if (!match) return false;
  const spec = tags[Tag.spec];
  return (spec !== undefined && (match.specs ?? []).includes(spec)) || (match.builds ?? []).includes(build);
}

/** Whether a simulated check of this build passes, and why not. */
export function checkBehaviour(
  faults: Faults,
  tags: Readonly<Record<string, string>>,
  build: string,
): { passed: boolean; reason?: string } {
  if (!matches(faults.smokeFailure, tags, build)) return { passed: true };
  return { passed: false, reason: faults.smokeFailure?.reason ?? "the check script exited with status 1" };
}

export type BakeBehaviour = { kind: "success" } | { kind: "failure"; reason: string } | { kind: "hang" };

/** What the simulated bake script does for an instance with these tags and build id. */
export function bakeBehaviour(
  faults: Faults,
  tags: Readonly<Record<string, string>>,
  build: string,
): BakeBehaviour {
  if (matches(faults.bakeHang, tags, build)) return { kind: "hang" };
  if (matches(faults.bakeFailure, tags, build)) {
    return { kind: "failure", reason: faults.bakeFailure?.reason ?? "provision script exited with status 1" };
  }
  return { kind: "success" };
}

/** What the simulated chroot script of a volume bake does for this spec (if known) and build. */
export function volumeBakeBehaviour(
  faults: Faults,
  spec: string | undefined,
  build: string,
): { kind: "success" } | { kind: "failure"; reason: string } {
  const tags: Record<string, string> = spec !== undefined ? { [Tag.spec]: spec } : {};
  if (!matches(faults.volumeBakeFailure, tags, build)) return { kind: "success" };
  return {
    kind: "failure",
    reason: faults.volumeBakeFailure?.reason ?? "chroot provision script exited with status 1",
  };
}

/** Parses one CLI `--fault` value into the faults it adds: bake-fail=SPEC, volume-bake-fail=SPEC, bake-hang=SPEC, smoke-fail=SPEC, 5xx=0.1, lost-response=0.1, throttle=0.05, latency=50ms, noisy-neighbour=5. */
export function parseFaultFlag(flag: string, into: Faults = {}): Faults {
  const eq = flag.indexOf("=");
  const kind = eq === -1 ? flag : flag.slice(0, eq);
  const value = eq === -1 ? "" : flag.slice(eq + 1);
  const rate = (): number => {
    const n = Number(value);
    if (value === "" || !Number.isFinite(n) || n < 0 || n > 1) {
      throw new Error(`--fault ${kind}=${value}: expected a rate between 0 and 1, e.g. ${kind}=0.1.`);
    }
    return n;
  };
  const need = (): string => {
    if (value === "")
      throw new Error(`--fault ${kind}: expected a spec name or build id, e.g. ${kind}=my-spec.`);
    return value;
  };
  switch (kind) {
    case "bake-fail": {
      const name = need();
      into.bakeFailure = {
        ...into.bakeFailure,
        specs: [...(into.bakeFailure?.specs ?? []), name],
        builds: [...(into.bakeFailure?.builds ?? []), name],
      };
      return into;
    }
    case "volume-bake-fail": {
      const name = need();
      into.volumeBakeFailure = {
        ...into.volumeBakeFailure,
        specs: [...(into.volumeBakeFailure?.specs ?? []), name],
        builds: [...(into.volumeBakeFailure?.builds ?? []), name],
      };
      return into;
    }
    case "bake-hang": {
      const name = need();
      into.bakeHang = {
        specs: [...(into.bakeHang?.specs ?? []), name],
        builds: [...(into.bakeHang?.builds ?? []), name],
      };
      return into;
    }
    case "smoke-fail": {
      const name = need();
      into.smokeFailure = {
        ...into.smokeFailure,
        specs: [...(into.smokeFailure?.specs ?? []), name],
        builds: [...(into.smokeFailure?.builds ?? []), name],
      };
      return into;
    }
    case "5xx":
      into.serverErrorRate = rate();
      return into;
    case "lost-response":
      into.lostResponseRate = rate();
      return into;
    case "throttle":
      into.throttleRate = rate();
      return into;
    case "noisy-neighbour": {
      const n = Number(value);
      if (value === "" || !Number.isFinite(n) || n <= 0) {
        throw new Error(
          `--fault noisy-neighbour=${value}: expected the tokens per second other tools take from every bucket, e.g. noisy-neighbour=5.`,
        );
      }
      into.noisyNeighbour = n;
      return into;
    }
    case "latency": {
      const match = /^(\d+)(ms|s)?$/.exec(value);
      if (!match) throw new Error(`--fault latency=${value}: expected a duration such as 50ms or 1s.`);
      into.latencyMs = Number(match[1]) * (match[2] === "s" ? 1000 : 1);
      return into;
    }
    default:
      // Lists the kinds `apply --fault` has always named (test/cli/cloud-target.test.ts pins the wording); noisy-neighbour is in `leaven sim --help`.
      throw new Error(
        `--fault ${flag}: unknown fault "${kind}". Use bake-fail=SPEC, volume-bake-fail=SPEC, bake-hang=SPEC, smoke-fail=SPEC, 5xx=RATE, lost-response=RATE, throttle=RATE, noisy-neighbour=RATE or latency=50ms.`,
      );
  }
}
