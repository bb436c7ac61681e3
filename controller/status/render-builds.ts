// `leaven builds SPEC` as text: one row per build, newest first, and under it what it was baked on and
// anything wrong with it. Pure: a function of the history.
import type { BuildHistory, BuildRecord, ChainLink } from "./build-history.ts";
import { shortVendorName, wrapIndented } from "./fit-text.ts";

export interface RenderBuildsOptions {
  /** Each foundation's source name pattern, so vendor image names can be shortened to what varies. */
  vendorPatterns?: ReadonlyMap<string, string>;
}

const INDENT = "    ";

/** `2026-11-20T10:02:33.000Z` → `2026-11-20 10:02`; the header says it is UTC. */
function minute(iso: string | undefined): string {
  if (!iso) return "-";
  const time = Date.parse(iso);
  return Number.isNaN(time) ? iso : new Date(time).toISOString().slice(0, 16).replace("T", " ");
}

/** `api-server 1.14.2+ab12cd34 ← ubuntu-base 2.3.1+5f2c91ab ← ubuntu-jammy ubuntu/images/…-20261120`. */
export function renderChain(
  chain: readonly ChainLink[],
  vendorPatterns?: ReadonlyMap<string, string>,
): string {
  return chainLinks(chain, vendorPatterns).join(" ← ");
}

function chainLinks(chain: readonly ChainLink[], vendorPatterns?: ReadonlyMap<string, string>): string[] {
  return chain.map((link) => {
    const build = link.foundation ? shortVendorName(link.build, vendorPatterns?.get(link.spec)) : link.build;
    return `${link.spec} ${build}${link.observed ? "" : " (no image left)"}`;
  });
}

/** The chain in lines of at most `width`, broken between links: `  ← parent build` continues it. */
function chainLines(
  chain: readonly ChainLink[],
  vendorPatterns: ReadonlyMap<string, string> | undefined,
  width: number,
): string[] {
  const lines: string[] = [];
  for (const link of chainLinks(chain, vendorPatterns)) {
    const last = lines.at(-1);
    if (last !== undefined && last.length + 3 + link.length <= width)
      lines[lines.length - 1] = `${last} ← ${link}`;
    else lines.push(last === undefined ? link : `  ← ${link}`);
  }
  return lines;
}

/** Room on a line of `leaven builds`: an 80-column terminal, one column spare, less the indent. */
const WIDTH = 79 - INDENT.length;

/** The REGIONS cell: one word when every region agrees, else how many are available. */
function regionsCell(build: BuildRecord): string {
  if (build.bake) return build.bake.state;
  const states = new Set(build.regions.map((r) => r.state));
  if (states.size <= 1) return build.regions[0]?.state ?? "-";
  const available = build.regions.filter((r) => r.state === "available").length;
  return `${available}/${build.regions.length} available`;
}

/** Channel names; one whose tag is on only some of the build's images says on how many. */
function channelsCell(build: BuildRecord): string {
  if (build.channels.length === 0) return "-";
  const withImage = build.regions.filter((r) => r.imageId !== undefined);
  return build.channels
    .map((channel) => {
      const tagged = withImage.filter((r) => r.channels.includes(channel)).length;
      return tagged < withImage.length ? `${channel} (${tagged}/${withImage.length})` : channel;
    })
    .join(", ");
}

function parentCell(build: BuildRecord): string {
  if (build.outdated === undefined) return "-";
  return build.outdated ? "outdated" : "current";
}

function details(build: BuildRecord, foundation: boolean, options: RenderBuildsOptions): string[] {
  // A foundation's row is a vendor image: its chain would only repeat the row, but a shortened name is
  // spelled out in full.
  const lines = foundation
    ? shortVendorName(build.build, options.vendorPatterns?.get(build.spec)) === build.build
      ? []
      : [build.build]
    : chainLines(build.chain, options.vendorPatterns, WIDTH);
  const states = new Set(build.regions.map((r) => r.state));
  if (!build.bake && states.size > 1)
    lines.push(`regions: ${build.regions.map((r) => `${r.region} ${r.state}`).join(", ")}`);
  if (build.bake?.state === "baking") lines.push(`baking on ${build.bake.instanceId}`);
  if (build.failure) lines.push(...wrapIndented(`failed: ${build.failure}`, WIDTH, 2));
  if (build.console) lines.push("last console lines:", ...build.console.map((l) => `  ${l}`));
  else if (build.bake?.state === "abandoned")
    lines.push(...wrapIndented(`abandoned: ${build.bake.reason}`, WIDTH, 2));
  if (build.outdated && build.parent) {
    const from = `${build.parent.spec}/${build.parent.channel}`;
    lines.push(`outdated: ${from} is now ${build.parentChannelNow}, not ${build.parent.build}`);
  }
  if (build.revoked) lines.push(`revoked: ${build.revoked}`);
  if (build.revokedParent) lines.push(`baked on revoked build ${build.revokedParent}`);
  return lines.map((line) => INDENT + line);
}

/** The history as `leaven builds` prints it. */
export function renderBuilds(history: BuildHistory, options: RenderBuildsOptions = {}): string {
  const where = history.regions.length > 0 ? ` in ${history.regions.join(", ")}` : "";
  const title = `Builds of ${history.spec} (${history.layer})${where}, newest first:`;
  if (history.builds.length === 0) return `${title}\n\n  none observed.\n`;

  // A foundation's builds are vendor images: baked on nothing, never outdated.
  const foundation = history.layer === "foundation";
  // The package columns only when some build has a manifest (a bucket is configured and holds them).
  const packages = history.builds.some((b) => b.packages !== undefined);
  const header = [
    "BUILD",
    "CREATED (UTC)",
    "REGIONS",
    "CHANNELS",
    ...(packages ? ["PACKAGES", "CHANGES"] : []),
    ...(foundation ? [] : ["PARENT"]),
  ];
  const rows = history.builds.map((b) => [
    foundation ? shortVendorName(b.build, options.vendorPatterns?.get(b.spec)) : b.build,
    minute(b.created),
    regionsCell(b),
    channelsCell(b),
    ...(packages
      ? [
          b.packages ? String(b.packages.count) : "-",
          b.packages?.changes !== undefined ? String(b.packages.changes) : "-",
        ]
      : []),
    ...(foundation ? [] : [parentCell(b)]),
  ]);
  // Widths by loop, not Math.max(...rows): a spec may have thousands of builds.
  const widths = header.map((h) => h.length);
  for (const row of rows) {
    for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i]!, cell.length);
  }
  const line = (cells: readonly string[]) =>
    cells
      .map((cell, i) => (i === cells.length - 1 ? cell : cell.padEnd(widths[i]!)))
      .join("  ")
      .trimEnd();
  const out = [title, "", line(header)];
  history.builds.forEach((build, i) => {
    out.push(line(rows[i]!), ...details(build, foundation, options));
  });
  return `${out.join("\n")}\n`;
}
