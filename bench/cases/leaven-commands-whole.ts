// `leaven builds` and `leaven status` as whole commands over the 400k-image estate: load the YAML, observe
// every region over HTTP (the bulk of the time, as in the steady-state case), plan, compute, render. Minutes
// of setup and observation, so they run only when named: `npm run bench -- "whole command"`.
import type { BenchCase } from "../case.ts";
import { BENCH_REGIONS } from "../estate.ts";
import { wholeCommand } from "../whole-command.ts";

const SPECS = 2000;
const BUILDS = 20;
const size = `${SPECS.toLocaleString("en")} specs × ${BENCH_REGIONS.length} regions × ${BUILDS} builds`;

export const leavenBuildsWholeCase: BenchCase = {
  name: "leaven builds (whole command)",
  size,
  optIn: true,
  async run() {
    const run = await wholeCommand((dir) => ["builds", "app-7", dir], { specs: SPECS, builds: BUILDS });
    if (run.code !== 0) throw new Error(`leaven builds exited ${run.code}:\n${run.stdout.slice(0, 2000)}`);
    return {
      wallMs: run.wallMs,
      maxRssBytes: run.maxRssBytes,
      extra: {
        images: run.images.toLocaleString("en"),
        builds: String(run.stdout.split("\n").filter((line) => /^\d/.test(line)).length),
        "RSS of": "the command's process",
      },
    };
  },
};

export const leavenStatusWholeCase: BenchCase = {
  name: "leaven status (whole command)",
  size,
  optIn: true,
  async run() {
    const run = await wholeCommand((dir) => ["status", dir], { specs: SPECS, builds: BUILDS });
    if (run.code !== 0) throw new Error(`leaven status exited ${run.code}:\n${run.stdout.slice(-2000)}`);
    return {
      wallMs: run.wallMs,
      maxRssBytes: run.maxRssBytes,
      extra: {
        images: run.images.toLocaleString("en"),
        summary: JSON.stringify(run.stdout.trimEnd().split("\n").at(-1)),
        "RSS of": "the command's process",
      },
    };
  },
};
