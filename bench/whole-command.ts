// Runs a leaven command as a user would — its own process, specs read from YAML files, the 400k-image estate
// observed over HTTP from a simulator seeded with it — and measures its wall time and peak RSS.
import { spawn } from "node:child_process";
import { mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { stringify } from "yaml";
import { BENCH_REGIONS, convergedEstate, estateSpecs } from "./estate.ts";
import { seed, simTarget, vendorImagesOf } from "./sim-estate.ts";

const cli = fileURLToPath(new URL("../controller/cli/main.ts", import.meta.url));

/** Loaded into the command's process: reports its peak RSS (kilobytes) on stderr as it exits. */
const reportRss = `data:text/javascript,process.on("exit",()=>process.stderr.write("\\nleaven-bench-maxrss="+process.resourceUsage().maxRSS+"\\n"))`;

export interface CommandRun {
  code: number | null;
  wallMs: number;
  maxRssBytes: number;
  stdout: string;
  stderr: string;
  images: number;
}

export function runCommand(args: string[]): Promise<Omit<CommandRun, "images">> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const child = spawn(process.execPath, [`--import=${reportRss}`, cli, ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => {
      stdout += chunk.toString();
    });
    child.stderr.on("data", (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on("error", reject);
    child.on("close", (code) => {
      const wallMs = performance.now() - start;
      const rss = /leaven-bench-maxrss=(\d+)/.exec(stderr);
      if (!rss)
        return reject(new Error(`leaven ${args[0]} reported no RSS; stderr:\n${stderr.slice(-2000)}`));
      resolve({ code, wallMs, maxRssBytes: Number(rss[1]) * 1024, stdout, stderr });
    });
  });
}

/**
 * Seeds a simulator with the converged estate, writes its specs as YAML (20 files), runs
 * `leaven <args> <specs dir> --sim-endpoint <simulator>` and measures it. Setup is not timed.
 */
export async function wholeCommand(
  args: (dir: string) => string[],
  options: { specs: number; builds: number },
): Promise<CommandRun> {
  const target = await simTarget({ speed: 1 });
  const dir = await mkdtemp(join(tmpdir(), "leaven-bench-"));
  try {
    const specs = estateSpecs(options.specs, BENCH_REGIONS);
    const now = target.sim.clock.now();
    const estate = convergedEstate(specs, await vendorImagesOf(target, specs), now, options.builds);
    seed(target.sim, estate.images);
    const files = new Map<string, string[]>();
    specs.forEach((spec, i) => {
      const file = `specs-${String(i % 20).padStart(2, "0")}.yaml`;
      files.set(file, [...(files.get(file) ?? []), stringify(spec.document)]);
    });
    for (const [file, docs] of files) await writeFile(join(dir, file), docs.join("---\n"));
    const run = await runCommand([...args(dir), "--sim-endpoint", target.sim.endpoint]);
    return { ...run, images: estate.images.length };
  } finally {
    await rm(dir, { recursive: true, force: true });
    await target.close();
  }
}
