// Wall time, CPU and the true peak heap of one step, for cases that measure work on an estate in memory.
// The peak is traced, not sampled: V8's GC profiler records the heap before every collection, and the heap
// only grows between collections, so the largest "before" (or the heap at the end) is the peak, even for a
// synchronous step that a sampling timer could never interrupt.
import { writeFileSync } from "node:fs";
import { Session } from "node:inspector/promises";
import { join } from "node:path";
import { GCProfiler } from "node:v8";

export interface Measured<T> {
  value: T;
  wallMs: number;
  /** User + system CPU of the whole process during the step (the simulator's too, when it runs in-process). */
  cpuMs: number;
  /** Peak heap during the step, from the GC trace. */
  peakHeapBytes: number;
  /** Heap before the step, after a full GC: what the estate itself holds. */
  baseHeapBytes: number;
}

let profiled = 0;

/**
 * LEAVEN_BENCH_CPU_PROFILE=DIR writes a V8 CPU profile of each measured step to DIR (open it in Chrome's
 * DevTools, or summarise it with `node bench/profile-summary.ts FILE`): where a step's time goes, without
 * profiling the set-up around it.
 */
async function startProfile(): Promise<(() => Promise<void>) | undefined> {
  const dir = process.env.LEAVEN_BENCH_CPU_PROFILE;
  if (!dir) return undefined;
  const session = new Session();
  session.connect();
  await session.post("Profiler.enable");
  await session.post("Profiler.start");
  return async () => {
    const { profile } = await session.post("Profiler.stop");
    profiled += 1;
    writeFileSync(join(dir, `step-${profiled}.cpuprofile`), JSON.stringify(profile));
    session.disconnect();
  };
}

export async function measure<T>(step: () => T | Promise<T>): Promise<Measured<T>> {
  globalThis.gc?.();
  const stopProfile = await startProfile();
  const baseHeapBytes = process.memoryUsage().heapUsed;
  const profiler = new GCProfiler();
  profiler.start();
  const cpu = process.cpuUsage();
  const start = performance.now();
  let value: T;
  let end: number;
  let trace: ReturnType<GCProfiler["stop"]>;
  try {
    value = await step();
    end = performance.now();
  } finally {
    trace = profiler.stop();
    await stopProfile?.();
  }
  const used = process.cpuUsage(cpu);
  let peakHeapBytes = Math.max(baseHeapBytes, process.memoryUsage().heapUsed);
  for (const gc of trace?.statistics ?? [])
    peakHeapBytes = Math.max(peakHeapBytes, gc.beforeGC.heapStatistics.usedHeapSize);
  return {
    value,
    wallMs: end - start,
    cpuMs: (used.user + used.system) / 1000,
    peakHeapBytes,
    baseHeapBytes,
  };
}

export function megabytes(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MB`;
}
