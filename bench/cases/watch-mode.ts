// GitOps watch mode with 2,000 specs loaded: the time from a channel edit in one spec file to the first
// mutating EC2/SSM request. The real watch loop (chokidar, debounce, whole-tree reload, one Reconciler) runs
// in this process against the simulator over HTTP, on a converged estate written out as 100 YAML files.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { stringify } from "yaml";
import { Tag } from "../../controller/api/tags.ts";
import type { CloudPort } from "../../controller/cloud/port.ts";
import { Reconciler } from "../../controller/reconcile/reconciler.ts";
import { watchSpecs } from "../../controller/watch/spec-watcher.ts";
import { WatchLoop } from "../../controller/watch/watch-loop.ts";
import type { BenchCase } from "../case.ts";
import { BENCH_REGIONS, convergedEstate, estateSpecs } from "../estate.ts";
import { seed, seedPublished, silentLogger, simTarget, vendorImagesOf } from "../sim-estate.ts";

const SPECS = 2000;
const PER_FILE = 20;
const BUILDS = 5;
const EDITED = "app-7";
const DEBOUNCE_MS = 200;

/** The port with a hook on the first call that changes something (everything but describe/get/list). */
function watched(cloud: CloudPort, onMutating: (method: string) => void): CloudPort {
  return new Proxy(cloud, {
    get(target, property, receiver) {
      const value = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || typeof property !== "string") return value;
      const reads = /^(describe|get|list)/.test(property);
      return (...args: unknown[]) => {
        if (!reads) onMutating(property);
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}

export const watchModeCase: BenchCase = {
  name: "watch mode: channel edit to first cloud action",
  size: `${SPECS.toLocaleString("en")} specs / ${SPECS / PER_FILE} files × ${BENCH_REGIONS.length} regions × ${BUILDS} builds`,
  async run() {
    const target = await simTarget({ speed: 1 });
    const dir = mkdtempSync(join(tmpdir(), "leaven-bench-watch-"));
    let loop: WatchLoop | undefined;
    let running: Promise<void> | undefined;
    const watcher = watchSpecs(dir, { debounceMs: DEBOUNCE_MS });
    try {
      const specs = estateSpecs(SPECS, BENCH_REGIONS);
      const now = target.sim.clock.now();
      const estate = convergedEstate(specs, await vendorImagesOf(target, specs), now, BUILDS);
      seed(target.sim, estate.images);
      seedPublished(target.sim, specs, estate);
      let editedFile = "";
      for (let i = 0; i < specs.length; i += PER_FILE) {
        const chunk = specs.slice(i, i + PER_FILE);
        const file = join(dir, `specs-${String(i / PER_FILE).padStart(3, "0")}.yaml`);
        if (chunk.some((s) => s.name === EDITED)) editedFile = file;
        writeFileSync(file, chunk.map((s) => stringify(s.document)).join("---\n"));
      }
      let firstMutating: number | undefined;
      let firstMethod = "";
      const cloud = watched(target.cloud, (method) => {
        if (firstMutating !== undefined) return;
        firstMutating = performance.now();
        firstMethod = method;
      });
      const reconciler = new Reconciler({
        cloud,
        clock: target.sim.clock,
        logger: silentLogger,
        onPlan: () => {
          planAt ??= performance.now();
        },
      });
      let passes = 0;
      let loadedAt: number | undefined;
      let planAt: number | undefined;
      let settledPasses = 0;
      loop = new WatchLoop({
        dir,
        cwd: dir,
        reconciler,
        clock: target.sim.clock,
        wallNow: Date.now,
        logger: silentLogger,
        watcher,
        installation: "default",
        resyncMs: 60 * 60_000,
        pollIntervalMs: 1_000,
        lockHeld: () => true,
        onLoad: () => {
          loadedAt = performance.now();
        },
        onPass: (pass) => {
          passes++;
          if (pass.executed.length === 0) settledPasses++;
        },
      });
      running = loop.run();
      const convergeStart = performance.now();
      while (settledPasses === 0) {
        if (performance.now() - convergeStart > 600_000)
          throw new Error("the estate did not converge in 10 min");
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      const convergeMs = performance.now() - convergeStart;
      // A pass with nothing to do that found the estate quiet: the next pass can reuse its plan, as a
      // long-running controller's would.
      const older = estate.images.find((i) => i.tags[Tag.spec] === EDITED && i.tags[Tag.version] === "0.9.1");
      if (!older) throw new Error(`no older build of ${EDITED} in the estate`);
      await new Promise((resolve) => setTimeout(resolve, 500));
      firstMutating = undefined;
      planAt = undefined;
      const text = readFileSync(editedFile, "utf8");
      const marker = `name: ${EDITED}\n`;
      const at = text.indexOf(marker);
      // The spec's release channel, whatever its selector: pinned to an older build, as a rollback would.
      const channel = /( {4}release:\n)((?: {6}.*\n)+)/y;
      channel.lastIndex = text.indexOf("    release:\n", at);
      const found = at >= 0 ? channel.exec(text) : null;
      if (!found) throw new Error(`cannot find ${EDITED}'s release channel in ${editedFile}`);
      const edited = `${text.slice(0, found.index)}${found[1]}      build: "${older.tags[Tag.build]}"\n${text.slice(found.index + found[0].length)}`;
      const editStart = performance.now();
      writeFileSync(editedFile, edited);
      while (firstMutating === undefined) {
        if (performance.now() - editStart > 60_000)
          throw new Error("no cloud action within 60 s of the edit");
        await new Promise((resolve) => setTimeout(resolve, 1));
      }
      const wallMs = firstMutating - editStart;
      return {
        wallMs,
        extra: {
          images: estate.images.length.toLocaleString("en"),
          "edit to first action": `${wallMs.toFixed(0)} ms (${firstMethod}; debounce ${DEBOUNCE_MS} ms included; target < 1 s)`,
          "specs reloaded": `${((loadedAt ?? editStart) - editStart).toFixed(0)} ms`,
          planned: `${((planAt ?? editStart) - editStart).toFixed(0)} ms`,
          "initial convergence": `${(convergeMs / 1000).toFixed(1)} s, ${passes} passes`,
        },
      };
    } finally {
      loop?.stop();
      await running?.catch(() => undefined);
      await watcher.close();
      await target.close();
      rmSync(dir, { recursive: true, force: true });
    }
  },
};
