import { fenceCloud } from "../../lease/fenced-cloud.ts";
import { createLogger, isLevel, LEVELS, type Level } from "../../log/logger.ts";
import { type PassResult, Reconciler } from "../../reconcile/reconciler.ts";
import { renderChannelMatrix, renderChannelTable } from "../../status/channel-table.ts";
import { fitWithWhere, vendorPatternsOf, wrapIndented } from "../../status/fit-text.ts";
import { formatElapsed, LiveView, PhaseTracker, passLog, phaseChangeText } from "../../status/progress.ts";
import { withoutRegionErrors } from "../../status/render-plan.ts";
import { verdictOf } from "../../status/verdict.ts";
import { parseDuration } from "../../validation/durations.ts";
import type { ValidationResult } from "../../validation/result.ts";
import { openCloud, reconcilerTarget, withWhere, writeBanner } from "../cloud-target.ts";
import type { CliIo } from "../command.ts";
import { type Command, UserError } from "../command.ts";
import type { HeldLock } from "../lock-target.ts";
import { checkRetryNames, checkRetryPhases } from "../retry-check.ts";
import { loadForReconcile, specsCommit } from "../spec-loading.ts";

/** Runs `leaven apply` (the descriptor, help and options are in apply.ts). */
export async function runApply(
  { values, positionals }: Parameters<Command["run"]>[0],
  io: CliIo,
): Promise<number> {
  const tty = io.stdout.isTTY === true;
  const format = values["log-format"] as string | undefined;
  const json = format ? format === "json" : !tty;
  const level = levelOf(values["log-level"] as string | undefined) ?? (tty ? "warn" : "info");
  let live: LiveView | undefined;
  // On one terminal, lines written under the live block would be overwritten by its next redraw: the
  // logger prints above it instead.
  const logStream =
    tty && io.stderr.isTTY
      ? { isTTY: true, write: (text: string) => (live ? live.print(text) : io.stderr.write(text)) }
      : tty
        ? io.stderr
        : io.stdout;
  const lines = createLogger(logStream, { json, level });
  // The live view prints each failed action itself, stamped, above its block: the reconciler's error line
  // for it (the same words and its fields) would say it twice.
  const logger: typeof lines = {
    ...lines,
    error: (msg, fields) => {
      if (live && !json && fields?.kind !== undefined && fields.spec !== undefined) return;
      lines.error(msg, fields);
    },
  };
  const first = await loadForReconcile(positionals, io, logger);
  const retry = (values.retry as string[] | undefined) ?? [];
  checkRetryNames(retry, first);
  const lockTimeoutMs = lockTimeoutOf(values["lock-timeout"] as string | undefined);
  const target = await openCloud(values, positionals, io.cwd, logger);
  let stop = false;
  const onSignal = () => {
    stop = true;
  };
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  let held: HeldLock | undefined;
  try {
    writeBanner(io.stderr, target.banner);
    // Nothing is observed or changed before this run holds its installation's lock.
    const { holdLock } = await import("../lock-target.ts");
    held = await holdLock(target, {
      command: "apply",
      ...(lockTimeoutMs !== undefined ? { timeoutMs: lockTimeoutMs } : {}),
      logger,
      onWait: (message) => io.stderr.write(`leaven apply: ${message}\n`),
      onLost: (reason) =>
        logger.error("lost the installation's lock: stopping; nothing more is changed", {
          installation: target.installation,
          reason,
        }),
    });
    const lease = held.lease;
    const commit = specsCommit(positionals, io.cwd);
    const startedAt = target.clock.now();
    live = tty ? new LiveView(io.stdout, { simulated: target.kind === "sim" }) : undefined;
    const phases = new PhaseTracker();
    const wallStart = Date.now();
    const reconciler = new Reconciler({
      // Every mutating call is refused once the lease is lost (lease/fenced-cloud.ts).
      ...reconcilerTarget(
        target,
        fenceCloud(target.cloud, () => lease.problem()),
      ),
      logger,
      ...(commit ? { commit } : {}),
      retry,
      noDelete: values["no-delete"] === true,
      pollIntervalMs: target.kind === "sim" ? 10_000 : 15_000,
      onPass: (pass: PassResult) => {
        const elapsed = (target.clock.now() - startedAt) / 1000;
        if (live) {
          live.update(pass, elapsed);
          return;
        }
        const entry = passLog(pass, elapsed);
        logger[entry.level](entry.msg, entry.fields);
        for (const change of phases.update(pass.statuses))
          logger.info(phaseChangeText(change), {
            spec: change.spec,
            phase: change.to,
            ...(change.from ? { from: change.from } : {}),
            message: change.message,
          });
      },
    });
    if (retry.length > 0) {
      // Judged before anything changes: a refused --retry must not leave a half-run apply behind.
      const { withoutRetry } = await reconciler.plan(first);
      checkRetryPhases(retry, withoutRetry.statuses);
    }
    let firstPass = true;
    // The specs the last pass was planned from: the verdict judges those, not the first load.
    let latest: ValidationResult = first;
    const { outcome, last } = await reconciler.run(
      async () => {
        if (firstPass) {
          firstPass = false;
          return first;
        }
        latest = await loadForReconcile(positionals, { ...io, stderr: devNull }, logger);
        return latest;
      },
      { once: values.once === true, shouldStop: () => stop || !lease.held() },
    );
    const lost = lease.problem();
    const simElapsed = (target.clock.now() - startedAt) / 1000;
    const wall = (Date.now() - wallStart) / 1000;
    const timing =
      target.kind === "sim"
        ? `in ${formatElapsed(wall)} (${formatElapsed(simElapsed)} of simulated time)`
        : `in ${formatElapsed(wall)}`;
    const requests = target.adapter.stats();
    const verdict = verdictOf({
      command: "apply",
      diagnostics: latest.diagnostics,
      statuses: last.statuses,
      actions: last.executed,
      regionErrors: last.inventory.regionErrors,
    });
    live?.clear();
    const table =
      values.wide === true
        ? renderChannelTable(last.statuses)
        : renderChannelMatrix(
            last.statuses,
            new Map(latest.specs.map((s) => [s.name, s.document.spec.regions])),
            vendorPatternsOf(latest.specs),
          );
    io.stdout.write(`\n${table}`);
    // On a terminal the closing lines fit its width (one column spare, as the live view leaves): a wrapped
    // last line is hard to read. Piped, each stays one line, for grep.
    const width = tty ? Math.max(40, (io.stdout.columns ?? 80) - 1) : Number.POSITIVE_INFINITY;
    const notReady = last.statuses.filter((s) => s.phase !== "Ready" && s.phase !== "Suspended");
    for (const status of notReady) {
      const line = `${status.name}: ${status.phase} — ${withoutRegionErrors(status.message, verdict)}`;
      for (const row of wrapIndented(line, width, 2)) io.stdout.write(`${row}\n`);
    }
    // The reconciler converges on the valid specs; the verdict also weighs invalid input and blindness.
    const ended =
      outcome === "interrupted" ? "Stopped" : verdict.state === "problems" ? "Stalled" : "Converged";
    const passes = `${last.number} ${last.number === 1 ? "pass" : "passes"}`;
    const where = tty
      ? fitWithWhere(verdict.headline, target.where, width)
      : [withWhere(verdict.headline, target.where)];
    io.stdout.write(
      `\n${ended} after ${passes} ${timing}.\n${requests.requests} AWS requests (${requests.mutating} mutating, ${requests.throttled} throttled).\n${where.join("\n")}\n`,
    );
    if (lost !== undefined) {
      io.stderr.write(
        `leaven apply: stopped: ${lost}; this run changed nothing after that. Another run of installation ${target.installation} may be acting now; run apply again once it is done.\n`,
      );
      return 1;
    }
    if (verdict.state === "problems") return 1;
    // Stopped by a signal (or a pass limit) before converging is not success; --once asks for one pass.
    return outcome === "interrupted" && !values.once ? 1 : 0;
  } finally {
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
    await held?.release();
    await target.close();
  }
}

const devNull = { write: () => true } as unknown as NodeJS.WritableStream;

/** --log-level: undefined when not given; anything but a level is refused, naming the levels. */
function levelOf(value: string | undefined): Level | undefined {
  if (value === undefined) return undefined;
  if (isLevel(value)) return value;
  throw new UserError(`--log-level must be one of ${LEVELS.join(", ")}, not "${value}".`);
}

/** --lock-timeout: a duration (0 and 0s: do not wait); undefined when not given (wait as long as it takes). */
function lockTimeoutOf(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value === "0") return 0;
  try {
    return parseDuration(value);
  } catch (error) {
    throw new UserError(`--lock-timeout: ${(error as Error).message}.`);
  }
}
