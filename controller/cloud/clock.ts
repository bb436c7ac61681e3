// Clocks are injected so tests and the simulator's accelerated time are deterministic.
export interface Clock {
  now(): number;
  /** Resolves after `ms` of this clock's time, or early (without error) once `signal` aborts. */
  sleep(ms: number, signal?: AbortSignal): Promise<void>;
}

/** Resolves after `wallMs` of wall time, or as soon as `signal` aborts; its timer is cleared then. */
function wallSleep(wallMs: number, signal?: AbortSignal): Promise<void> {
  if (signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, Math.max(0, wallMs));
    signal?.addEventListener("abort", done, { once: true });
  });
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms, signal) => wallSleep(ms, signal),
};

/** A clock running `factor` times faster than wall time, starting at `start`. */
export function acceleratedClock(factor: number, start: number = Date.now()): Clock {
  const wallStart = Date.now();
  return {
    now: () => start + (Date.now() - wallStart) * factor,
    sleep: (ms, signal) => wallSleep(ms / factor, signal),
  };
}
