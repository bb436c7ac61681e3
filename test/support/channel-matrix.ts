// Reads the table `apply` ends with (status/channel-table.ts renderChannelMatrix): one row per spec, one
// column per channel, each cell `BUILD ✓READY/TOTAL` or `-`.

/** The cell of `spec`'s `channel`: its build and regions with an image; undefined when the table has none. */
export function matrixCell(
  stdout: string,
  spec: string,
  channel: string,
): { build: string; ready: number; total: number } | undefined {
  const lines = stdout.split("\n");
  const header = lines.findLastIndex((line) => /^SPEC {2}/.test(line));
  if (header === -1) return undefined;
  const column = lines[header]!.split(/ {2,}/).indexOf(channel);
  const row = lines.slice(header + 2).find((line) => line.split(/ {2,}/)[0] === spec);
  const cell = column > 0 ? row?.split(/ {2,}/)[column] : undefined;
  const match = cell && /^(\S+) ✓?(\d+)\/(\d+)$/.exec(cell);
  if (!match) return undefined;
  return { build: match[1]!, ready: Number(match[2]), total: Number(match[3]) };
}

/** The build `spec`'s `channel` is on, from apply's table. */
export function matrixBuild(stdout: string, spec: string, channel: string): string | undefined {
  return matrixCell(stdout, spec, channel)?.build;
}
