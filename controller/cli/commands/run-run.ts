// `leaven run --specs DIR`: GitOps watch mode. Holds the installation's lock for its lifetime, watches the
// checkout, reconciles on every settled change and on a periodic resync, and serves /metrics, /healthz,
// /readyz, /status and the web view.
import { existsSync, statSync } from "node:fs";
import { resolve } from "node:path";
import { fenceCloud } from "../../lease/fenced-cloud.ts";
import { createLogger } from "../../log/logger.ts";
import { Reconciler } from "../../reconcile/reconciler.ts";
import { LeavenMetrics } from "../../serve/metrics.ts";
import { parseListen, startServer } from "../../serve/server.ts";
import { fittedWrite } from "../../status/fit-text.ts";
import { passLog } from "../../status/progress.ts";
import { parseDuration } from "../../validation/durations.ts";
import { formatDiagnostic } from "../../validation/result.ts";
import { watchSpecs } from "../../watch/spec-watcher.ts";
import { WatchLoop } from "../../watch/watch-loop.ts";
import { openCloud, reconcilerTarget, writeBanner } from "../cloud-target.ts";
import type { CliIo } from "../command.ts";
import { type Command, UserError } from "../command.ts";
import type { HeldLock } from "../lock-target.ts";
import { specsCommit } from "../spec-loading.ts";

/** Runs `leaven run` (the descriptor, help and options are in run.ts). */
export async function runRun(
  { values, positionals }: Parameters<Command["run"]>[0],
  io: CliIo,
): Promise<number> {
  const specsFlag = (values.specs as string | undefined) ?? positionals[0];
  if (!specsFlag) throw new UserError("needs --specs DIR (the specs checkout to watch).");
  const dir = resolve(io.cwd, specsFlag);
  if (!existsSync(dir) || !statSync(dir).isDirectory())
    throw new UserError(`--specs ${specsFlag}: not a directory.`);
  const listen = (values.listen as string | undefined) ?? "127.0.0.1:8080";
  try {
    parseListen(listen);
  } catch (error) {
    throw new UserError(`${(error as Error).message}.`);
  }
  const resyncMs = durationFlag("resync", values.resync as string | undefined, 10 * 60_000);
  const debounceText = (values.debounce as string | undefined) ?? "200";
  const debounceMs = Number(debounceText);
  if (!Number.isInteger(debounceMs) || debounceMs < 0)
    throw new UserError(`--debounce must be a whole number of milliseconds, not "${debounceText}".`);
  const lockTimeoutMs =
    values["lock-timeout"] === undefined
      ? undefined
      : values["lock-timeout"] === "0"
        ? 0
        : durationFlag("lock-timeout", values["lock-timeout"] as string, 0);
  const tty = io.stdout.isTTY === true;
  const format = values["log-format"] as string | undefined;
  const json = format ? format === "json" : !tty;
  const logger = createLogger(io.stdout, { json, level: "info" });
  const target = await openCloud(values, [specsFlag], io.cwd, logger);
  let held: HeldLock | undefined;
  let loop: WatchLoop | undefined;
  let lost: string | undefined;
  const onSignal = () => loop?.stop();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const watcher = watchSpecs(dir, { debounceMs });
  let server: Awaited<ReturnType<typeof startServer>> | undefined;
  try {
    writeBanner(io.stderr, target.banner);
    const { holdLock } = await import("../lock-target.ts");
    held = await holdLock(target, {
      command: "run",
      ...(lockTimeoutMs !== undefined ? { timeoutMs: lockTimeoutMs } : {}),
      logger,
      onWait: (message) => io.stderr.write(`leaven run: ${message}\n`),
      onLost: (reason) => {
        lost = reason;
        logger.error("lost the installation's lock: stopping; nothing more is changed", {
          installation: target.installation,
          reason,
        });
        loop?.stop();
      },
    });
    const lease = held.lease;
    const commit = specsCommit([dir], io.cwd);
    const reconciler = new Reconciler({
      ...reconcilerTarget(
        target,
        fenceCloud(target.cloud, () => lease.problem()),
      ),
      logger,
      ...(commit ? { commit } : {}),
      retry: (values.retry as string[] | undefined) ?? [],
      noDelete: values["no-delete"] === true,
      pollIntervalMs: target.kind === "sim" ? 10_000 : 15_000,
    });
    const metrics = new LeavenMetrics(() => target.adapter.stats());
    const startedAt = target.clock.now();
    loop = new WatchLoop({
      dir: specsFlag,
      cwd: io.cwd,
      reconciler,
      clock: target.clock,
      wallNow: Date.now,
      logger,
      watcher,
      installation: target.installation,
      resyncMs,
      pollIntervalMs: target.kind === "sim" ? 10_000 : 15_000,
      lockHeld: () => lease.held(),
      commitOf: () => specsCommit([dir], io.cwd),
      metrics,
      onLoad: (load) => {
        for (const diagnostic of load.diagnostics)
          if (diagnostic.severity === "error") fittedWrite(io.stderr, `${formatDiagnostic(diagnostic)}\n`);
      },
      // The same words as validate, plan and apply; the run keeps watching for a spec to be added. The
      // JSON log has it too; a terminal's text log would only say it twice.
      onEmpty: (message) => {
        fittedWrite(io.stderr, `warning: ${message}\n`);
        if (json)
          logger.warn("no ImageSpec to reconcile: waiting for one to be added", { dir, why: message });
      },
      onPass: (pass) => {
        // A pass that only looked is a debug-level heartbeat; each action has its own line.
        const entry = passLog(pass, (target.clock.now() - startedAt) / 1000);
        logger[entry.level](entry.msg, entry.fields);
      },
    });
    if (lost !== undefined) loop.stop();
    try {
      server = await startServer({ source: loop, metrics, listen, logger });
    } catch (error) {
      // Before the first pass: nothing was changed (the lock is released on the way out).
      throw new UserError(`cannot listen on ${listen}: ${(error as Error).message}; nothing was changed.`);
    }
    io.stderr.write(`leaven run: watching ${dir}; serving ${server.url}/\n`);
    logger.info("serving", { url: server.url, specs: dir, installation: target.installation });
    await loop.run();
    if (lost !== undefined) {
      io.stderr.write(
        `leaven run: stopped: ${lost}; nothing was changed after that. Another controller of installation ${target.installation} may be acting now.\n`,
      );
      return 1;
    }
    return 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await server?.close();
    await watcher.close();
    await held?.release();
    await target.close();
  }
}

function durationFlag(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  try {
    return parseDuration(value);
  } catch (error) {
    throw new UserError(`--${name}: ${(error as Error).message}.`);
  }
}
