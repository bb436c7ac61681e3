// The shape of one benchmark case. Each case runs in its own child process, so peak RSS is its own.

export interface BenchResult {
  /** Wall time of the measured part only (setup such as generating inputs is excluded). */
  wallMs: number;
  /** Extra columns or notes, e.g. { specs: "5000", diagnostics: "0" }. */
  extra?: Record<string, string>;
  /** Peak RSS of what was measured, when that is another process (default: the case's own process). */
  maxRssBytes?: number;
}

export interface BenchCase {
  /** Unique name, shown in the operation column. */
  name: string;
  /** Input size in words, e.g. "5,000 specs / 20 files". */
  size: string;
  /** Too slow for every run: only when a `npm run bench -- <filter>` names it. */
  optIn?: boolean;
  run(): Promise<BenchResult>;
}
