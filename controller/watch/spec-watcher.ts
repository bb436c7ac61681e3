// Watches a specs directory with chokidar and says when it has settled: no change for `debounceMs`. Every
// change bumps a generation, so a reader that loaded the tree can tell whether anything moved while it
// was reading (an editor's write-to-temp-then-rename, a `git checkout` rewriting many files) and read again.
import { type FSWatcher, watch } from "chokidar";

export interface SpecWatcher {
  /** Bumped on every add, change, unlink (of files and directories). */
  readonly generation: number;
  /** True while a change is waiting for the debounce to settle. */
  readonly pending: boolean;
  /** Resolves once the tree has been quiet for the debounce after the latest change (at once if it has). */
  settled(): Promise<void>;
  /** Resolves at the next settled change, or when `signal` aborts. */
  nextChange(signal: AbortSignal): Promise<void>;
  /** Resolves once the initial scan is done. */
  ready(): Promise<void>;
  close(): Promise<void>;
}

/** Folders that change without the specs changing: the simulator's state, git's own files, node_modules. */
const IGNORED = /(^|[/\\])(\.leaven|\.git|node_modules)([/\\]|$)/;

export function watchSpecs(dir: string, options: { debounceMs: number }): SpecWatcher {
  let generation = 0;
  let timer: NodeJS.Timeout | undefined;
  let waiters: Array<() => void> = [];
  const watcher: FSWatcher = watch(dir, {
    ignoreInitial: true,
    ignored: (path) => IGNORED.test(path.slice(dir.length)),
    // Atomic writes (tmp + rename) show as unlink + add; chokidar's own atomic handling folds them.
    atomic: true,
    persistent: true,
  });
  const fire = () => {
    timer = undefined;
    const ready = waiters;
    waiters = [];
    for (const resolve of ready) resolve();
  };
  const onEvent = () => {
    generation++;
    if (timer) clearTimeout(timer);
    timer = setTimeout(fire, options.debounceMs);
  };
  for (const event of ["add", "change", "unlink", "addDir", "unlinkDir"] as const) watcher.on(event, onEvent);
  const ready = new Promise<void>((resolve) => watcher.once("ready", () => resolve()));
  return {
    get generation() {
      return generation;
    },
    get pending() {
      return timer !== undefined;
    },
    settled: () =>
      timer === undefined ? Promise.resolve() : new Promise<void>((resolve) => waiters.push(resolve)),
    nextChange: (signal) =>
      new Promise<void>((resolve) => {
        if (signal.aborted) return resolve();
        const done = () => {
          signal.removeEventListener("abort", done);
          // An aborted wait leaves no waiter behind: an idle controller waits once per resync.
          waiters = waiters.filter((waiter) => waiter !== done);
          resolve();
        };
        waiters.push(done);
        signal.addEventListener("abort", done, { once: true });
      }),
    ready: () => ready,
    close: async () => {
      if (timer) clearTimeout(timer);
      fire();
      await watcher.close();
    },
  };
}
