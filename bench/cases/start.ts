// Whole-process start of the commands a person runs most on a checkout: validate, graph and plan on the
// examples, each beside `node -e 0` measured in the same run (what Node itself costs here). Median wall time
// and peak RSS of 5 runs each; plan runs on a fresh embedded simulator (its state in a temporary folder).
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import type { BenchCase } from "../case.ts";

const cli = fileURLToPath(new URL("../../controller/cli/main.ts", import.meta.url));
const examples = fileURLToPath(new URL("../../examples", import.meta.url));
const reportRss = `data:text/javascript,process.on("exit",()=>process.stderr.write("\\nleaven-bench-maxrss="+process.resourceUsage().maxRSS+"\\n"))`;
const RUNS = 5;

function measure(args: string[], cwd: string): { ms: number; rssMb: number } {
  const walls: number[] = [];
  let rss = 0;
  for (let i = 0; i < RUNS; i++) {
    const start = performance.now();
    const run = spawnSync(process.execPath, [`--import=${reportRss}`, ...args], { cwd, encoding: "utf8" });
    walls.push(performance.now() - start);
    rss = Math.max(rss, Number(/leaven-bench-maxrss=(\d+)/.exec(run.stderr)?.[1] ?? 0));
  }
  walls.sort((a, b) => a - b);
  return { ms: walls[Math.floor(RUNS / 2)]!, rssMb: rss / 1024 };
}

export const startCase: BenchCase = {
  name: "start (whole process)",
  size: "examples: 9 specs",
  async run() {
    const dir = mkdtempSync(join(tmpdir(), "leaven-bench-start-"));
    try {
      cpSync(examples, join(dir, "specs"), { recursive: true });
      const started = performance.now();
      const node = measure(["-e", "0"], dir);
      const rows: Record<string, string> = {
        "node -e 0": `${node.ms.toFixed(0)} ms ${node.rssMb.toFixed(0)} MB`,
      };
      for (const command of [
        ["validate", "specs"],
        ["graph", "specs"],
        ["plan", "specs", "--sim-state", join(dir, "sim.json")],
      ]) {
        const m = measure([cli, ...command], dir);
        rows[command[0]!] = `${m.ms.toFixed(0)} ms ${m.rssMb.toFixed(0)} MB`;
      }
      return { wallMs: performance.now() - started, extra: rows };
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
