// GitOps watch mode's loop (`leaven run --specs DIR`): one Reconciler for the process lifetime, passes on
// every settled change of the checkout, on a periodic resync, and back to back while bakes and copies are
// in flight. It is also the ServeSource the HTTP endpoints read.
//
// A spec file that stops parsing keeps its last good state: the specs it defined when it last parsed are
// blocked (the planner leaves a blocked spec's images, instances and parameters alone) and reported with the
// file's error, instead of vanishing, which would read as "spec deleted" and retire its images.

import { emptyPaths } from "../cli/spec-loading.ts";
import type { Clock } from "../cloud/clock.ts";
import type { Logger } from "../log/logger.ts";
import type { SpecStatus } from "../plan/status.ts";
import { type PassResult, type Reconciler, settled } from "../reconcile/reconciler.ts";
import type { LeavenMetrics } from "../serve/metrics.ts";
import type { Check, ServeSource, SpecError, SpecView, StatusSnapshot } from "../serve/source.ts";
import { outdatedBuilds, passWarnings, specViewOf } from "../serve/spec-view.ts";
import type { ParseCache } from "../sources/file-source.ts";
import { type BuildHistory, buildHistory } from "../status/build-history.ts";
import { type LoadResult, loadSpecs } from "../validation/load-specs.ts";
import { formatDiagnostic, type ValidationResult } from "../validation/result.ts";
import type { SpecWatcher } from "./spec-watcher.ts";

export interface WatchLoopOptions {
  /** The specs directory, as loadSpecs takes it (relative to cwd, or absolute). */
  dir: string;
  cwd: string;
  reconciler: Reconciler;
  /** The cloud's clock: poll and resync intervals are in its time (the simulator's runs faster). */
  clock: Clock;
  /** Wall time, for /healthz and the last pass's time. */
  wallNow: () => number;
  logger: Logger;
  watcher: SpecWatcher;
  installation: string;
  /** A pass and a reload of every spec at least this often (cloud clock). */
  resyncMs: number;
  /** Between passes while something is in flight and the last pass did nothing (cloud clock). */
  pollIntervalMs: number;
  /** Whether the installation's lock is still this process's (/readyz). */
  lockHeld: () => boolean;
  /** The specs' git commit, read again after every reload (a checkout moves HEAD). */
  commitOf?: () => string | undefined;
  metrics?: LeavenMetrics;
  /** A pass running longer than this (wall time) makes /healthz fail. Default 15 minutes. */
  wedgeMs?: number;
  /** Called with every pass, after the loop's state is updated. */
  onPass?: (pass: PassResult) => void;
  /** Called with every load of the specs, after the loop's state is updated. */
  onLoad?: (load: LoadResult) => void;
  /**
   * Called with `no ImageSpec in DIR: what was searched` on the first load that finds no ImageSpec and on
   * each load after that finds none when the one before did (the directory became empty). Without it,
   * the loop logs a warning.
   */
  onEmpty?: (message: string) => void;
}

export class WatchLoop implements ServeSource {
  private readonly options: WatchLoopOptions;
  private validation: ValidationResult = { specs: [], diagnostics: [], blocked: new Map() };
  /** Names each file defined the last time it parsed (valid or not), by the file as diagnostics show it. */
  private readonly fileSpecs = new Map<string, Set<string>>();
  /** Errors per spec of the current load (its own, or its file's when the file no longer parses). */
  private specErrors = new Map<string, SpecError>();
  /** Every spec's last status that was not "Blocked": what a blocked spec keeps showing. */
  private readonly lastGood = new Map<string, SpecStatus>();
  private sources = new Map<string, string>();
  private lastPass?: PassResult;
  /** Per spec, its builds baked on a parent build its parent channel no longer resolves to. */
  private outdated = new Map<string, string[]>();
  private lastPassAt?: number;
  private passStartedAt?: number;
  private lastError?: string;
  private loaded = false;
  private loadedGeneration = -1;
  private commit?: string;
  /** While the last load found no ImageSpec: what was searched. No pass runs then (see run()). */
  private empty?: string;
  private readonly listeners = new Set<() => void>();
  /** Files parsed on the last load: a reload parses only the files whose text changed. */
  private readonly parseCache: ParseCache = new Map();
  private readonly stopping = new AbortController();

  constructor(options: WatchLoopOptions) {
    this.options = options;
  }

  /** Ends the loop after the current pass (and wakes it if it is waiting). */
  stop(): void {
    this.stopping.abort();
  }

  get stopped(): boolean {
    return this.stopping.signal.aborted;
  }

  /** The specs the next pass is planned from. */
  current(): ValidationResult {
    return this.validation;
  }

  async run(): Promise<void> {
    const { clock, watcher, logger } = this.options;
    await watcher.ready();
    await this.reload("start");
    while (!this.stopped) {
      // With no ImageSpec, every image of the installation would look like a deleted spec's (as apply
      // refuses to plan from nothing): no pass until a spec is added; a change or a resync reloads.
      const idle = this.empty !== undefined;
      const pass = idle ? undefined : await this.pass();
      if (this.stopped) break;
      const busy = pass !== undefined && settled(pass) === undefined;
      const changed = watcher.pending || watcher.generation !== this.loadedGeneration;
      // Straight on after a pass that acted (as apply does); a poll later while something is in flight.
      // A pass that failed (an unreachable endpoint) is tried again a poll later, not a resync later.
      const retry = pass === undefined && !idle;
      const waitMs =
        busy && pass.executed.length > 0
          ? 0
          : busy || retry
            ? Math.min(this.options.pollIntervalMs, pass?.nextLook?.ms ?? Number.POSITIVE_INFINITY)
            : this.options.resyncMs;
      let why: "change" | "resync" | "poll" = changed ? "change" : busy || retry ? "poll" : "resync";
      if (!changed && waitMs > 0) {
        const waiting = new AbortController();
        const stop = () => waiting.abort();
        this.stopping.signal.addEventListener("abort", stop, { once: true });
        let woken = false;
        await Promise.race([
          clock.sleep(waitMs, waiting.signal),
          watcher.nextChange(waiting.signal).then(() => {
            woken = !waiting.signal.aborted;
          }),
        ]);
        waiting.abort();
        this.stopping.signal.removeEventListener("abort", stop);
        if (woken || watcher.generation !== this.loadedGeneration) why = "change";
      }
      if (this.stopped) break;
      if (why === "change" || why === "resync") await this.reload(why);
      else logger.debug("polling: bakes and copies in flight");
    }
  }

  /** Reads the whole tree once it has settled; again if anything changed while it was being read. */
  private async reload(why: string): Promise<void> {
    const { watcher, logger, dir, cwd } = this.options;
    for (;;) {
      await watcher.settled();
      const generation = watcher.generation;
      const started = this.options.wallNow();
      let load: LoadResult;
      try {
        load = await loadSpecs([dir], { cwd, parseCache: this.parseCache });
      } catch (error) {
        // The directory itself is gone or unreadable: keep planning from the last load.
        this.lastError = `cannot read ${dir}: ${(error as Error).message}`;
        logger.error("specs not reloaded; the last load is kept", { dir, error: (error as Error).message });
        this.options.metrics?.recordLoadError();
        this.loadedGeneration = generation;
        this.notify();
        return;
      }
      if (watcher.pending || watcher.generation !== generation) {
        logger.debug("specs changed while being read: reading again", { dir });
        continue;
      }
      const wasEmpty = this.loaded ? this.empty !== undefined : false;
      this.accept(load);
      this.empty = load.imageSpecFiles.length === 0 ? emptyPaths([dir], load, cwd)[0]?.message : undefined;
      this.loadedGeneration = generation;
      this.commit = this.options.commitOf?.();
      this.options.reconciler.setCommit(this.commit);
      logger.info("specs loaded", {
        why,
        specs: load.specs.length,
        blocked: this.validation.blocked.size,
        errors: load.diagnostics.filter((d) => d.severity === "error").length,
        files: load.files.length,
        ms: this.options.wallNow() - started,
        ...(this.commit ? { commit: this.commit } : {}),
      });
      for (const [spec, error] of this.specErrors)
        logger.warn("spec not reconciled: its last good state is kept", {
          spec,
          file: error.file,
          line: error.line,
          column: error.column,
          error: error.message,
        });
      if (this.empty !== undefined && !wasEmpty) {
        if (this.options.onEmpty) this.options.onEmpty(this.empty);
        else logger.warn("no ImageSpec to reconcile: waiting for one to be added", { dir, why: this.empty });
      }
      this.options.onLoad?.(load);
      this.notify();
      return;
    }
  }

  /** Takes a load as the specs to plan from, blocking what an unparseable file last defined. */
  private accept(load: LoadResult): void {
    const errors = load.diagnostics.filter((d) => d.severity === "error");
    if (errors.length > 0) this.options.metrics?.recordLoadError();
    const known = new Set([...load.specs.map((s) => s.name), ...load.blocked.keys()]);
    // Files with an error no spec could be named for: they did not parse (or a document lost its name).
    const unreadable = new Map<string, (typeof errors)[number]>();
    for (const error of errors)
      if (error.spec === undefined && !unreadable.has(error.position.file))
        unreadable.set(error.position.file, error);
    const blocked = new Map(load.blocked);
    const specErrors = new Map<string, SpecError>();
    for (const [file, error] of unreadable) {
      for (const name of this.fileSpecs.get(file) ?? []) {
        if (known.has(name)) continue;
        const where = `${error.position.file}:${error.position.line}:${error.position.column}`;
        blocked.set(name, `${where}: ${error.message}; its last good state is kept until the file is fixed`);
        specErrors.set(name, { ...error.position, message: error.message });
      }
    }
    for (const error of errors)
      if (error.spec !== undefined && !specErrors.has(error.spec))
        specErrors.set(error.spec, { ...error.position, message: error.message });
    // What each readable file defines now, invalid specs included (a later parse error blocks them too).
    const defined = new Map<string, Set<string>>();
    const sources = new Map<string, string>();
    const note = (file: string, name: string) => {
      const names = defined.get(file) ?? new Set<string>();
      names.add(name);
      defined.set(file, names);
      sources.set(name, file);
    };
    for (const spec of load.specs) note(spec.position.file, spec.name);
    for (const diagnostic of load.diagnostics)
      if (diagnostic.spec !== undefined) note(diagnostic.position.file, diagnostic.spec);
    for (const file of [...this.fileSpecs.keys()])
      if (!load.files.includes(file)) this.fileSpecs.delete(file);
    for (const file of load.files) {
      if (unreadable.has(file)) {
        for (const name of this.fileSpecs.get(file) ?? []) if (!sources.has(name)) sources.set(name, file);
        // Names it still yields (a broken document whose name was recovered) join the last good ones.
        const names = this.fileSpecs.get(file) ?? new Set<string>();
        for (const name of defined.get(file) ?? []) names.add(name);
        this.fileSpecs.set(file, names);
      } else this.fileSpecs.set(file, defined.get(file) ?? new Set());
    }
    this.validation = { specs: load.specs, diagnostics: load.diagnostics, blocked };
    this.specErrors = specErrors;
    this.sources = sources;
    this.loaded = true;
    if (this.lastError?.startsWith("cannot read ")) this.lastError = undefined;
  }

  private async pass(): Promise<PassResult | undefined> {
    const { reconciler, wallNow, logger } = this.options;
    const started = wallNow();
    this.passStartedAt = started;
    try {
      const pass = await reconciler.pass(this.validation);
      this.lastPass = pass;
      this.lastPassAt = wallNow();
      if (this.lastError !== undefined && !this.lastError.startsWith("cannot read "))
        this.lastError = undefined;
      for (const status of pass.statuses)
        if (status.phase !== "Blocked") this.lastGood.set(status.name, status);
      this.outdated = outdatedBuilds(pass);
      this.options.metrics?.recordPass(pass, (this.lastPassAt - started) / 1000);
      this.options.onPass?.(pass);
      return pass;
    } catch (error) {
      this.lastError = `pass failed: ${(error as Error).message}`;
      logger.error("pass failed", { error: (error as Error).message });
      return undefined;
    } finally {
      this.passStartedAt = undefined;
      this.notify();
    }
  }

  private notify(): void {
    for (const listener of this.listeners) listener();
  }

  subscribe(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** The last pass's statuses, with a blocked spec showing its last good channels and builds. */
  private statuses(): SpecStatus[] {
    // The last pass's specs are no longer in the checkout, and nothing is planned meanwhile.
    if (this.empty !== undefined) return [];
    const statuses = this.lastPass?.statuses ?? [];
    return statuses.map((status) => {
      if (status.phase !== "Blocked") return status;
      const good = this.lastGood.get(status.name);
      return good ? { ...good, phase: "Blocked", message: status.message } : status;
    });
  }

  status(): StatusSnapshot {
    const specs: SpecView[] = this.statuses().map((status) =>
      specViewOf(status, {
        outdated: this.outdated.get(status.name),
        source: this.sources.get(status.name),
        error: this.specErrors.get(status.name),
      }),
    );
    const diagnostics = this.validation.diagnostics
      .filter((d) => d.severity === "error" && d.spec === undefined)
      .map(formatDiagnostic);
    const warnings: string[] = [];
    if (this.empty !== undefined) warnings.push(`${this.empty}; nothing to reconcile until one is added`);
    warnings.push(...passWarnings(this.lastPass, this.validation));
    return {
      installation: this.options.installation,
      ...(this.lastPassAt !== undefined ? { lastPassAt: new Date(this.lastPassAt).toISOString() } : {}),
      passes: this.lastPass?.number ?? 0,
      inFlight:
        this.empty === undefined && this.lastPass !== undefined && settled(this.lastPass) === undefined,
      ...(this.lastError ? { lastError: this.lastError } : {}),
      ...(warnings.length > 0 ? { warnings } : {}),
      diagnostics,
      ...(this.commit ? { commit: this.commit } : {}),
      specs,
    };
  }

  history(spec: string): BuildHistory | undefined {
    const pass = this.lastPass;
    if (!pass) return undefined;
    const statuses = this.statuses();
    if (!statuses.some((s) => s.name === spec)) return undefined;
    return buildHistory({
      spec,
      inventory: pass.inventory,
      statuses,
      now: this.options.clock.now(),
      installation: this.options.installation,
    });
  }

  healthy(): Check {
    const wedgeMs = this.options.wedgeMs ?? 15 * 60_000;
    if (this.passStartedAt !== undefined && this.options.wallNow() - this.passStartedAt > wedgeMs)
      return {
        ok: false,
        reason: `a pass has been running for more than ${Math.round(wedgeMs / 1000)} s`,
      };
    if (this.stopped) return { ok: false, reason: "stopping" };
    return { ok: true, reason: this.passStartedAt !== undefined ? "pass running" : "waiting" };
  }

  ready(): Check {
    if (!this.options.lockHeld()) return { ok: false, reason: "the installation's lock is not held" };
    if (!this.loaded) return { ok: false, reason: "specs not loaded yet" };
    // Not ready with nothing to manage: a wrong --specs path must not look like a healthy rollout.
    if (this.empty !== undefined)
      return { ok: false, reason: `${this.empty}; nothing to reconcile until one is added` };
    if (!this.lastPass) return { ok: false, reason: "first pass not done yet" };
    // Ready means the world was seen: as plan and apply exit 1 when a region could not be observed.
    if (this.lastError?.startsWith("pass failed")) return { ok: false, reason: this.lastError };
    const unseen = [...this.lastPass.inventory.regionErrors].sort(([a], [b]) => (a < b ? -1 : 1));
    if (unseen.length > 0)
      return {
        ok: false,
        reason: unseen.map(([region, error]) => `${region} could not be observed: ${error}`).join("; "),
      };
    return { ok: true, reason: `pass ${this.lastPass.number} done` };
  }
}
