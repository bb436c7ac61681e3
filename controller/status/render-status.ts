// `leaven status`: one row per spec — phase, regions ready, what each channel is on — that fits an 80-column
// terminal, with the message of a spec that is not Ready under its row. `--wide` is the long per-region
// listing. Pure: functions of the plan's statuses.
import type { Phase, SpecStatus } from "../plan/status.ts";
import { renderChannelTable } from "./channel-table.ts";
import { flowItems, shortVendorName, truncateAtWord, wrapWords } from "./fit-text.ts";

export interface StatusViewInput {
  statuses: readonly SpecStatus[];
  /** Each valid spec's regions (a blocked spec's are unknown). */
  regions: ReadonlyMap<string, readonly string[]>;
  /** Each foundation's source name pattern, so vendor image names can be shortened to what varies. */
  vendorPatterns?: ReadonlyMap<string, string>;
  /** What is wrong beyond the phases, e.g. a region that could not be observed: the last line(s). */
  problems?: string;
  /** Where the statuses were observed ("on the embedded simulator — not AWS"): said on the summary line. */
  where?: string;
}

/** The summary line, saying where when told, wrapped at words. */
function summaryLines(input: StatusViewInput, width: number): string[] {
  const summary = phaseSummary(input.statuses);
  return input.where ? wrapWords(`${summary.replace(/\.$/, "")}; ${input.where}.`, width) : [summary];
}

export interface RegionsReady {
  /** Regions in which every channel of the spec has an image: where its images can be launched. */
  ready: number;
  total: number;
  /** The spec's regions that are not ready, in its order. */
  notReady: string[];
}

/**
 * A region is ready when every channel has an image there: consumers of any channel find one. Undefined
 * without channels (none declared, or none known because the spec's regions could not be observed).
 */
export function regionsReady(status: SpecStatus, regions: readonly string[]): RegionsReady | undefined {
  const channels = Object.values(status.channels);
  if (channels.length === 0) return undefined;
  const notReady = regions.filter((region) => channels.some((c) => c.images[region] === undefined));
  return { ready: regions.length - notReady.length, total: regions.length, notReady };
}

/**
 * Channels grouped by the build they are on, in the spec's channel order: `candidate,release 1.4.0+ab12cd34`
 * or `candidate 1.5.0+0f1e2d3c` and `release 1.4.0+ab12cd34`; a channel that resolves to nothing shows `-`.
 */
export function channelGroups(status: SpecStatus, vendorPatterns?: ReadonlyMap<string, string>): string[] {
  const groups = new Map<string, string[]>();
  for (const [channel, info] of Object.entries(status.channels)) {
    const build = info.build ?? "-";
    groups.set(build, [...(groups.get(build) ?? []), channel]);
  }
  const pattern = status.layer === "foundation" ? vendorPatterns?.get(status.name) : undefined;
  return [...groups].map(
    ([build, channels]) => `${channels.join(",")} ${build === "-" ? "-" : shortVendorName(build, pattern)}`,
  );
}

/** "9 specs: 7 Ready, 1 Baking, 1 Failed." in the planner's phase order. */
export function phaseSummary(statuses: readonly SpecStatus[]): string {
  const order: Phase[] = [
    "Ready",
    "Suspended",
    "Promoting",
    "Verifying",
    "Copying",
    "Baking",
    "Waiting",
    "Stalled",
    "Failed",
    "Blocked",
  ];
  const counts = new Map<Phase, number>();
  for (const status of statuses) counts.set(status.phase, (counts.get(status.phase) ?? 0) + 1);
  const parts = order.filter((p) => counts.has(p)).map((p) => `${counts.get(p)} ${p}`);
  const n = statuses.length;
  return n === 0 ? "No specs." : `${n} spec${n === 1 ? "" : "s"}: ${parts.join(", ")}.`;
}

/**
 * The overview, at most `width` columns per line as long as the spec names leave the channels 20 of them:
 * channel groups wrap under their column, a message is truncated at a word boundary (the full text is in
 * `--wide` and `--output json`).
 */
export function renderStatus(input: StatusViewInput, width = 80): string {
  const header = ["SPEC", "PHASE", "READY"];
  const rows = input.statuses.map((status) => {
    const regions = input.regions.get(status.name);
    const ready = regions && regionsReady(status, regions);
    return [status.name, status.phase, ready ? `${ready.ready}/${ready.total}` : "-"];
  });
  const widths = header.map((h) => h.length);
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i]!, cell.length);
  }
  const lead = widths.reduce((sum, w) => sum + w + 2, 0);
  const channelWidth = Math.max(20, width - lead);
  const pad = (cells: readonly string[]) => cells.map((cell, i) => cell.padEnd(widths[i]!)).join("  ");

  const out = [`${pad(header)}  CHANNELS`];
  input.statuses.forEach((status, i) => {
    const groups = channelGroups(status, input.vendorPatterns);
    const lines = groups.length > 0 ? flowItems(groups, channelWidth, "  ") : ["-"];
    out.push(`${pad(rows[i]!)}  ${lines[0]}`.trimEnd());
    for (const more of lines.slice(1)) out.push(`${" ".repeat(lead)}${more}`);
    if (status.phase !== "Ready") out.push(`  ${truncateAtWord(status.message, width - 2)}`);
  });
  out.push("", ...summaryLines(input, width));
  if (input.problems) out.push(...wrapWords(input.problems, width));
  return `${out.join("\n")}\n`;
}

/** `--wide`: every spec's channels and images per region, then the full message of every spec not Ready. */
export function renderStatusWide(input: StatusViewInput): string {
  const out = [renderChannelTable(input.statuses).trimEnd()];
  const notReady = input.statuses.filter((s) => s.phase !== "Ready");
  if (notReady.length > 0) {
    out.push("", "Specs not ready:");
    const width = Math.max(...notReady.map((s) => s.name.length));
    for (const status of notReady)
      out.push(`  ${status.name.padEnd(width)}  ${status.phase.padEnd(9)}  ${status.message}`);
  }
  out.push("", ...summaryLines(input, Number.POSITIVE_INFINITY));
  if (input.problems) out.push(input.problems);
  return `${out.join("\n")}\n`;
}

/** `--output json`: the statuses with each spec's regions ready. */
export function statusToJson(input: StatusViewInput): unknown {
  return {
    specs: input.statuses.map((status) => {
      const specRegions = input.regions.get(status.name);
      const regions = specRegions && regionsReady(status, specRegions);
      return { ...status, ...(regions ? { regions } : {}) };
    }),
    summary: phaseSummary(input.statuses),
  };
}
