// Wall time and peak heap of one synchronous step, for cases that measure work on an estate already in memory.

export interface Measured<T> {
  value: T;
  wallMs: number;
  /** Peak heap during the step, sampled every few milliseconds and at its end. */
  peakHeapBytes: number;
  /** Heap before the step, after a full GC: what the estate itself holds. */
  baseHeapBytes: number;
}

/** Runs `step` once. Sampling needs the event loop, so an async step shows its peak better than a sync one. */
export async function measure<T>(step: () => T | Promise<T>): Promise<Measured<T>> {
  globalThis.gc?.();
  const baseHeapBytes = process.memoryUsage().heapUsed;
  let peakHeapBytes = baseHeapBytes;
  const sampler = setInterval(() => {
    peakHeapBytes = Math.max(peakHeapBytes, process.memoryUsage().heapUsed);
  }, 5);
  const start = performance.now();
  try {
    const value = await step();
    const wallMs = performance.now() - start;
    peakHeapBytes = Math.max(peakHeapBytes, process.memoryUsage().heapUsed);
    return { value, wallMs, peakHeapBytes, baseHeapBytes };
  } finally {
    clearInterval(sampler);
  }
}

export function megabytes(bytes: number): string {
  return `${Math.round(bytes / 1024 / 1024)} MB`;
}
