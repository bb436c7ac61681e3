// Clocks are injected so tests and the simulator's accelerated time are deterministic.
export interface Clock {
  now(): number;
  /** Resolves after `ms` of this clock's time. */
  sleep(ms: number): Promise<void>;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms))),
};

/** A clock running `factor` times faster than wall time, starting at `start`. */
export function acceleratedClock(factor: number, start: number = Date.now()): Clock {
  const wallStart = Date.now();
  return {
    now: () => start + (Date.now() - wallStart) * factor,
    sleep: (ms) => new Promise((resolve) => setTimeout(resolve, Math.max(0, ms / factor))),
  };
}
