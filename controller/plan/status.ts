/** What the planner reports per spec; the status stage renders it to stdout, a file or a custom resource. */
export type Phase =
  | "Ready"
  | "Baking"
  | "Copying"
  | "Promoting"
  | "Verifying"
  | "Waiting"
  | "Stalled"
  | "Failed"
  | "Suspended"
  | "Blocked";

export interface ChannelStatus {
  /** Build the selector resolves to (for a foundation: the vendor image name). */
  build?: string;
  /** Image per region (only regions where that build has an available image). */
  images: Record<string, string>;
  /** Why the channel could not be resolved, when it could not. */
  message?: string;
}

export interface SpecStatus {
  name: string;
  /** "unknown" for a blocked spec whose document could not be read as a valid ImageSpec. */
  layer: "foundation" | "base" | "app" | "unknown";
  phase: Phase;
  message: string;
  /** The build the spec wants on its current recipe and parent. */
  desiredBuild?: string;
  parent?: { spec: string; channel: string; build?: string };
  channels: Record<string, ChannelStatus>;
  /** The desired build's failed bake: why, and the last console lines before it failed. */
  failure?: { build: string; reason: string; console?: string[] };
  /** Builds (or vendor images) observed for the spec, newest first. */
  builds: string[];
  /** Scheduled rebakes (spec.rebuild): the window the desired build belongs to, and when the next starts. */
  rebuild?: { schedule: string; epoch: string; next: string };
}

/** Phases in which the planner expects the world to change without the user acting. */
export function isProgressing(phase: Phase): boolean {
  return phase === "Baking" || phase === "Copying" || phase === "Promoting" || phase === "Verifying";
}
