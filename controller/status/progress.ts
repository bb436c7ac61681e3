// How a running apply shows its progress: on a terminal a live block (a header and the specs in flight)
// redrawn after each pass, with what was done printed above it into the scrollback; off a terminal one log
// line per pass that did something (passes that did nothing are debug-level heartbeats).
import { isProgressing, type Phase, type SpecStatus } from "../plan/status.ts";
import type { PassResult } from "../reconcile/reconciler.ts";
import { actionEvent, describeActions } from "./action-text.ts";
import { truncateAtWord, wrapIndented, wrapWords } from "./fit-text.ts";

const PHASE_ORDER: readonly Phase[] = [
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

/** Counts of what is in flight after a pass, from the statuses' phases. */
export function progressCounts(pass: { statuses: readonly SpecStatus[] }): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const status of pass.statuses) counts[status.phase] = (counts[status.phase] ?? 0) + 1;
  return counts;
}

/** "ready 2, baking 2, waiting 5", in the order a spec goes through its phases. */
export function phaseCounts(statuses: readonly SpecStatus[]): string {
  const counts = progressCounts({ statuses });
  return PHASE_ORDER.filter((p) => counts[p])
    .map((p) => `${p.toLowerCase()} ${counts[p]}`)
    .join(", ");
}

function actionsRun(n: number): string {
  return `${n} action${n === 1 ? "" : "s"} run`;
}

/** "pass 8 t+6m53s: ready 2, baking 2, waiting 5; 4 actions run" (the count only when something ran). */
export function progressLine(pass: PassResult, simSeconds?: number): string {
  const time = simSeconds !== undefined ? ` t+${formatElapsed(simSeconds)}` : "";
  const done = pass.executed.length > 0 ? `; ${actionsRun(pass.executed.length)}` : "";
  return `pass ${pass.number}${time}: ${phaseCounts(pass.statuses)}${done}`;
}

export function formatElapsed(seconds: number): string {
  const m = Math.floor(seconds / 60);
  const s = Math.floor(seconds % 60);
  return m > 0 ? `${m}m${String(s).padStart(2, "0")}s` : `${s}s`;
}

/**
 * The log line for a pass off a terminal: info when it ran actions (each also has its own line), with what
 * they did in words; debug for a heartbeat that only looked.
 */
export function passLog(
  pass: PassResult,
  clockSeconds: number,
): { level: "info" | "debug"; msg: string; fields: Record<string, unknown> } {
  const ran = pass.executed.length > 0;
  return {
    level: ran ? "info" : "debug",
    msg: progressLine(pass, clockSeconds),
    fields: {
      pass: pass.number,
      actions: pass.executed.length,
      ...(ran
        ? { summary: describeActions(pass.executed, pass.results, pass.inventory.images, { ids: false }) }
        : {}),
    },
  };
}

export interface PhaseChange {
  spec: string;
  /** Absent on the first pass: the phase the run found the spec in. */
  from?: Phase;
  to: Phase;
  message: string;
}

/** A status message's first clause, which says what the spec is doing; the rest is about each channel. */
export function headlineOf(message: string): string {
  return message.split("; ")[0]!;
}

/** "api-server: Waiting → Baking — 1.14.2+b2a7f678: launching the bake instance" (no message once Ready). */
export function phaseChangeText(change: PhaseChange): string {
  const phase = change.from ? `${change.from} → ${change.to}` : change.to;
  const quiet = change.to === "Ready" || change.to === "Suspended" || change.message === "";
  return `${change.spec}: ${phase}${quiet ? "" : ` — ${headlineOf(change.message)}`}`;
}

/**
 * Each spec's phase from pass to pass. The first pass reports the specs that are not Ready (what this run
 * has to do); later passes report every change.
 */
export class PhaseTracker {
  private last?: Map<string, Phase>;

  update(statuses: readonly SpecStatus[]): PhaseChange[] {
    const previous = this.last;
    this.last = new Map(statuses.map((s) => [s.name, s.phase]));
    const changes: PhaseChange[] = [];
    for (const status of statuses) {
      const before = previous?.get(status.name);
      if (previous === undefined) {
        if (status.phase === "Ready" || status.phase === "Suspended") continue;
      } else if (before === status.phase) continue;
      changes.push({
        spec: status.name,
        ...(before ? { from: before } : {}),
        to: status.phase,
        message: status.message,
      });
    }
    return changes;
  }
}

/** What the live view needs of a terminal: Node's tty.WriteStream has these. */
export interface TerminalStream {
  write(text: string): unknown;
  columns?: number;
  rows?: number;
  /** tty.WriteStream emits "resize" after its columns and rows change. */
  on?(event: "resize", listener: () => void): unknown;
  off?(event: "resize", listener: () => void): unknown;
}

export interface LiveViewOptions {
  /** On the simulator: the header gives the simulated time beside the elapsed (wall) time. */
  simulated: boolean;
  /** Wall-clock time in ms (tests fix it). */
  wallNow?: () => number;
}

/** Phases a spec is shown in, one line each; Waiting specs share one line; Ready and Suspended are not shown. */
function shownAlone(phase: Phase): boolean {
  return isProgressing(phase) || phase === "Failed" || phase === "Stalled" || phase === "Blocked";
}

/**
 * A live view on a terminal: a block of lines under the banner — a header (pass, elapsed and simulated
 * time, counts by phase) and one line per spec in flight — redrawn after every pass. What each pass did is
 * printed above the block, where it stays in the scrollback. Every line of the block is cut to the
 * terminal's width (at a word, with an ellipsis), so each takes exactly one row and the redraw moves the
 * cursor up exactly over it: a wrapped line would leave its first half behind on the screen. When the
 * terminal narrows, it re-wraps the rows already drawn: the redraw counts the rows each drawn line takes
 * at the width of now, and a resize redraws the block at once, cut to the new width.
 */
export class LiveView {
  private readonly stream: TerminalStream;
  private readonly options: LiveViewOptions;
  private readonly phases = new PhaseTracker();
  private readonly wallStart: number;
  /** The lines of the block, as laid out for the last pass. */
  private block: string[] = [];
  /** The block's lines as they are on the screen: one row each at the width they were drawn for. */
  private drawn: string[] = [];
  private last?: { pass: PassResult; clockSeconds: number };
  private readonly onResize = () => {
    if (this.last) this.block = this.layout(this.last.pass, this.last.clockSeconds, this.width());
    this.render([]);
  };

  constructor(stream: TerminalStream, options: LiveViewOptions) {
    this.stream = stream;
    this.options = options;
    this.wallStart = this.wallNow();
    stream.on?.("resize", this.onResize);
  }

  private wallNow(): number {
    return (this.options.wallNow ?? Date.now)();
  }

  /**
   * Room on a line: one column short of the terminal's width, because some terminals wrap as soon as the
   * last column is written.
   */
  private width(): number {
    return Math.max(20, (this.stream.columns ?? 80) - 1);
  }

  /** Prints `text` (lines, e.g. a warning) above the block, into the scrollback, and redraws the block. */
  print(text: string): void {
    const width = this.width();
    const lines = text
      .replace(/\n$/, "")
      .split("\n")
      // A JSON line (--log-format json) is left for the terminal to wrap: re-wrapping at spaces would change it.
      .flatMap((line) => (line.startsWith("{") ? [line] : wrapIndented(line, width, 2)));
    this.render(lines);
  }

  /** After a pass: what it did into the scrollback, then the block redrawn from its statuses. */
  update(pass: PassResult, clockSeconds: number): void {
    const width = this.width();
    // One column for every stamp up to t+99m59s, so the actions line up under each other.
    const stamp = `${`t+${formatElapsed(clockSeconds)}`.padEnd(8)}  `;
    const logged: string[] = [];
    const say = (text: string) => {
      const [first, ...rest] = wrapWords(text, width - stamp.length);
      logged.push(stamp + first, ...rest.map((line) => " ".repeat(stamp.length) + line));
    };
    // Ids and Leaven's notes to itself are in the JSON log (--log-format json); here, one row per action.
    const sentences = describeActions(pass.executed, pass.results, pass.inventory.images, {
      ids: false,
      bookkeeping: false,
    });
    for (const sentence of sentences) say(sentence);
    for (const result of pass.results) {
      if (result.ok) continue;
      for (const action of result.actions) say(actionEvent(action, result, pass.inventory.images).msg);
    }
    for (const change of this.phases.update(pass.statuses)) {
      // The block shows what is in flight; the scrollback keeps where each spec ended up.
      if (change.from !== undefined && (change.to === "Ready" || !isProgressing(change.to)))
        say(phaseChangeText(change));
    }
    this.last = { pass, clockSeconds };
    this.block = this.layout(pass, clockSeconds, width);
    this.render(logged);
  }

  /** Takes the block off the screen (before the final table); the view is done with the terminal. */
  clear(): void {
    this.stream.off?.("resize", this.onResize);
    this.last = undefined;
    this.block = [];
    this.render([]);
  }

  private layout(pass: PassResult, clockSeconds: number, width: number): string[] {
    const elapsed = formatElapsed((this.wallNow() - this.wallStart) / 1000);
    const time = this.options.simulated
      ? `${elapsed} elapsed · sim t+${formatElapsed(clockSeconds)}`
      : `${elapsed} elapsed`;
    const header = truncateAtWord(`pass ${pass.number} · ${time} · ${phaseCounts(pass.statuses)}`, width);
    const shown = pass.statuses.filter((s) => shownAlone(s.phase));
    const waiting = pass.statuses.filter((s) => s.phase === "Waiting").map((s) => s.name);
    const nameWidth = Math.max(0, ...shown.map((s) => s.name.length));
    const phaseWidth = Math.max(0, ...shown.map((s) => s.phase.length));
    const lines = shown.map((status) => {
      const lead = `  ${status.name.padEnd(nameWidth)}  ${status.phase.padEnd(phaseWidth)}  `;
      return truncateAtWord(lead + truncateAtWord(headlineOf(status.message), width - lead.length), width);
    });
    if (waiting.length > 0)
      lines.push(truncateAtWord(`  waiting for a parent: ${waiting.join(", ")}`, width));
    // A block taller than the screen cannot be redrawn in place: the cursor stops at the top row.
    const room = this.stream.rows ? Math.max(1, this.stream.rows - 2) : Number.POSITIVE_INFINITY;
    if (lines.length > room)
      lines.splice(room - 1, lines.length, `  … and ${lines.length - room + 1} more in flight`);
    return [header, ...lines];
  }

  private render(logged: readonly string[]): void {
    // A terminal narrowed since the last draw has re-wrapped each drawn line onto as many rows as it now
    // needs (a line of exactly the width takes one row: the wrap is deferred).
    const columns = this.stream.columns ?? 80;
    const rows = this.drawn.reduce((sum, line) => sum + Math.max(1, Math.ceil(line.length / columns)), 0);
    let out = rows > 0 ? `\r\x1b[${rows}A\x1b[J` : "";
    for (const line of [...logged, ...this.block]) out += `${line}\n`;
    if (out !== "") this.stream.write(out);
    this.drawn = [...this.block];
  }
}
