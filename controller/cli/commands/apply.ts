import { createLogger } from "../../log/logger.ts";
import { type PassResult, Reconciler } from "../../reconcile/reconciler.ts";
import { renderChannelTable } from "../../status/channel-table.ts";
import { formatElapsed, LiveView, progressLine } from "../../status/progress.ts";
import { summarize } from "../../status/render-plan.ts";
import { cloudHelp, cloudOptions, openCloud } from "../cloud-target.ts";
import type { Command } from "../command.ts";
import { loadForReconcile, specsCommit } from "../spec-loading.ts";

export const applyCommand: Command = {
  name: "apply",
  summary: "Reconcile: bake, copy, promote and clean up until the images match the specs.",
  usage: "apply [paths…] [--once] [--retry SPEC] [cloud options]",
  help: `Loops observe → plan → execute until every spec is converged or nothing more can happen without you
(a failed bake, a channel waiting for a build that does not exist). Re-reads the spec files every pass.
Exit 0 when converged, 1 when something failed or is stalled.

Options:
  --once                 Run a single pass and exit.
  --retry SPEC           Try a failed build of SPEC again (a failed build is otherwise not retried). Repeatable.
  --log-format text|json Log format. Default: text on a terminal, json otherwise.
${cloudHelp}`,
  options: {
    ...cloudOptions,
    once: { type: "boolean" },
    retry: { type: "string", multiple: true },
    "log-format": { type: "string" },
  },
  async run({ values, positionals }, io) {
    const tty = io.stdout.isTTY === true;
    const format = values["log-format"] as string | undefined;
    const json = format ? format === "json" : !tty;
    const logger = createLogger(tty ? io.stderr : io.stdout, { json, level: tty ? "warn" : "info" });
    const first = await loadForReconcile(positionals, io, logger);
    const target = await openCloud(values, positionals, io.cwd, logger);
    let stop = false;
    const onSignal = () => {
      stop = true;
    };
    process.once("SIGINT", onSignal);
    process.once("SIGTERM", onSignal);
    try {
      io.stderr.write(`${target.banner}\n`);
      const commit = specsCommit(positionals, io.cwd);
      const startedAt = target.clock.now();
      const live = tty ? new LiveView(io.stdout) : undefined;
      const wallStart = Date.now();
      const reconciler = new Reconciler({
        cloud: target.cloud,
        clock: target.clock,
        logger,
        ...(commit ? { commit } : {}),
        retry: (values.retry as string[] | undefined) ?? [],
        pollIntervalMs: target.kind === "sim" ? 10_000 : 15_000,
        onPass: (pass: PassResult) => {
          const elapsed = (target.clock.now() - startedAt) / 1000;
          if (live) live.draw(pass, elapsed);
          else
            logger.info(progressLine(pass, elapsed), {
              pass: pass.number,
              actions: pass.executed.length,
              ...(pass.executed.length > 0 ? { summary: summarize(pass.executed) } : {}),
            });
        },
      });
      let firstPass = true;
      const { outcome, last } = await reconciler.run(
        async () => {
          if (firstPass) {
            firstPass = false;
            return first;
          }
          return loadForReconcile(positionals, { ...io, stderr: devNull }, logger);
        },
        { once: values.once === true, shouldStop: () => stop },
      );
      const simElapsed = (target.clock.now() - startedAt) / 1000;
      const wall = (Date.now() - wallStart) / 1000;
      io.stdout.write(`\n${renderChannelTable(last.statuses)}`);
      const notReady = last.statuses.filter((s) => s.phase !== "Ready" && s.phase !== "Suspended");
      for (const status of notReady) io.stdout.write(`${status.name}: ${status.phase} — ${status.message}\n`);
      const timing =
        target.kind === "sim"
          ? `${formatElapsed(simElapsed)} of simulated time in ${formatElapsed(wall)}`
          : `${formatElapsed(wall)}`;
      const requests = target.adapter.stats();
      io.stdout.write(
        `\n${outcome === "converged" ? "Converged" : outcome === "stalled" ? "Stalled" : "Stopped"} after ${last.number} pass(es), ${timing}; ${requests.requests} EC2 requests (${requests.mutating} mutating, ${requests.throttled} throttled).\n`,
      );
      const invalid = first.diagnostics.some((d) => d.severity === "error");
      return outcome === "converged" && !invalid
        ? 0
        : values.once && outcome === "interrupted" && !invalid
          ? 0
          : 1;
    } finally {
      process.off("SIGINT", onSignal);
      process.off("SIGTERM", onSignal);
      await target.close();
    }
  },
};

const devNull = { write: () => true } as unknown as NodeJS.WritableStream;
