// What the HTTP endpoints read: a small interface so `leaven run` (controller/watch/) and the Kubernetes
// operator can both serve /status, /healthz, /readyz, /metrics and the web view from their own state.
import type { ChannelStatus, Phase, SpecStatus } from "../plan/status.ts";
import type { BuildHistory } from "../status/build-history.ts";

/** A spec's error as a file position, e.g. an unparseable YAML document that last defined it. */
export interface SpecError {
  file: string;
  line: number;
  column: number;
  message: string;
}

export interface SpecView {
  name: string;
  layer: SpecStatus["layer"];
  phase: Phase;
  message: string;
  parent?: { spec: string; channel: string; build?: string };
  desiredBuild?: string;
  channels: Record<string, ChannelStatus>;
  /** Builds observed, newest first. */
  builds: string[];
  /** Builds baked on a parent build that their parent channel no longer resolves to. */
  outdated?: string[];
  /** Where the spec is defined (a file path, or namespace/name for a custom resource). */
  source?: string;
  /** The spec's current input error, while its last good state is kept. */
  error?: SpecError;
}

export interface StatusSnapshot {
  installation: string;
  /** Wall-clock ISO time of the last finished pass. */
  lastPassAt?: string;
  passes: number;
  /** Whether anything is in flight (bakes, copies, promotions) or left to do. */
  inFlight: boolean;
  /** The last pass's or load's error, if it failed. */
  lastError?: string;
  /** Input errors not tied to one spec (file:line:column message). */
  diagnostics: string[];
  /** What the user should know that is not an error, e.g. that the specs directory holds no ImageSpec. */
  warnings?: string[];
  commit?: string;
  /**
   * Set when this replica of the operator stands by: another holds the Lease, reconciles and serves the
   * current status; this one's view is of its last pass as leader, if it ever led.
   */
  standby?: { lease: string; holder?: string };
  specs: SpecView[];
}

export interface Check {
  ok: boolean;
  reason: string;
}

export interface ServeSource {
  status(): StatusSnapshot;
  /** A spec's build history and per-region images; undefined for an unknown spec or before the first pass. */
  history(spec: string): BuildHistory | undefined;
  /** The process is alive and its loop not wedged (/healthz). */
  healthy(): Check;
  /** Specs loaded (at least one), first pass done and every region observed, lock held (/readyz). */
  ready(): Check;
  /** Called after every change of status (a pass, a reload); returns an unsubscribe function. */
  subscribe(listener: () => void): () => void;
}
