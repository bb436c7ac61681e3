import type { PassResult } from "../reconcile/reconciler.ts";

/** Counts of what is in flight after a pass, from the statuses' phases. */
export function progressCounts(pass: PassResult): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const status of pass.statuses) counts[status.phase] = (counts[status.phase] ?? 0) + 1;
  return counts;
}

export function progressLine(pass: PassResult, simSeconds?: number): string {
  const counts = progressCounts(pass);
  const order = [
    "Ready",
    "Baking",
    "Copying",
    "Verifying",
    "Promoting",
    "Waiting",
    "Failed",
    "Stalled",
    "Blocked",
    "Suspended",
  ];
  const parts = order.filter((p) => counts[p]).map((p) => `${p.toLowerCase()} ${counts[p]}`);
  const time = simSeconds !== undefined ? ` t+${formatElapsed(simSeconds)}` : "";
  return `pass ${pass.number}${time}: ${parts.join(", ")}; ${pass.executed.length} action(s) run`;
}

export function formatElapsed(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.floor(seconds % 60);
  return m > 0 ? `${m}m${String(s).padStart(2, "0")}s` : `${s}s`;
}

/** A live view on a terminal: the block under the banner is redrawn after every pass. */
export class LiveView {
  private drawn = 0;
  private readonly stream: NodeJS.WritableStream;
  constructor(stream: NodeJS.WritableStream) {
    this.stream = stream;
  }
  draw(pass: PassResult, simSeconds: number): void {
    const lines = [progressLine(pass, simSeconds)];
    for (const status of pass.statuses) {
      if (status.phase === "Ready" || status.phase === "Suspended") continue;
      lines.push(`  ${status.name.padEnd(22)} ${status.phase.padEnd(9)} ${status.message.slice(0, 100)}`);
    }
    if (this.drawn > 0) this.stream.write(`\x1b[${this.drawn}A\x1b[J`);
    this.stream.write(`${lines.join("\n")}\n`);
    this.drawn = lines.length;
  }
}
