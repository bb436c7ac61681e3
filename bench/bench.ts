// `npm run bench`: runs each case in its own child process (so peak RSS is per case) and prints a table.
// With `--case <name>` it is the child: runs that one case and prints its result as JSON.
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { promisify } from "node:util";
import type { BenchResult } from "./case.ts";
import { cases } from "./cases/index.ts";

interface Measured extends BenchResult {
  name: string;
  size: string;
  /** Peak resident set size of the child, in bytes. */
  maxRssBytes: number;
}

const self = fileURLToPath(import.meta.url);

async function child(name: string): Promise<void> {
  const found = cases.find((c) => c.name === name);
  if (found === undefined)
    throw new Error(`no bench case "${name}"; cases: ${cases.map((c) => c.name).join(", ")}`);
  const result = await found.run();
  // resourceUsage().maxRSS is in kilobytes.
  const measured: Measured = {
    ...result,
    name: found.name,
    size: found.size,
    maxRssBytes: result.maxRssBytes ?? process.resourceUsage().maxRSS * 1024,
  };
  process.stdout.write(`${JSON.stringify(measured)}\n`);
}

async function runCase(name: string): Promise<Measured> {
  const { stdout } = await promisify(execFile)(process.execPath, ["--expose-gc", self, "--case", name], {
    maxBuffer: 16 * 1024 * 1024,
  });
  const last = stdout.trim().split("\n").pop() ?? "";
  return JSON.parse(last) as Measured;
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? "").length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd();
  return [line(rows[0]!), line(widths.map((w) => "-".repeat(w))), ...rows.slice(1).map(line)].join("\n");
}

async function main(): Promise<void> {
  const caseFlag = process.argv.indexOf("--case");
  if (caseFlag !== -1) {
    await child(process.argv[caseFlag + 1] ?? "");
    return;
  }
  const only = process.argv.slice(2);
  const rows = [["operation", "size", "wall time", "peak RSS", "notes"]];
  for (const c of cases) {
    if (only.length > 0 ? !only.some((o) => c.name.includes(o)) : c.optIn) continue;
    const m = await runCase(c.name);
    const notes = Object.entries(m.extra ?? {})
      .map(([k, v]) => `${k}=${v}`)
      .join(" ");
    rows.push([
      m.name,
      m.size,
      `${m.wallMs.toFixed(0)} ms`,
      `${(m.maxRssBytes / 1024 / 1024).toFixed(0)} MB`,
      notes,
    ]);
  }
  process.stdout.write(`${table(rows)}\n`);
}

await main();
