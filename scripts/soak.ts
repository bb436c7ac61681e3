// `npm run soak [-- N]`: the random-history property of test/reconcile/histories.test.ts over many more
// histories (default 10,000) than `npm test` runs (200), with the counts at the end. Exits 1 on the first
// violated invariant, with fast-check's shrunk counterexample and the seed to replay it.
import fc from "fast-check";
import { historyArb, runHistory } from "../test/support/histories.ts";

const runs = Number(process.argv[2] ?? process.env.LEAVEN_HISTORIES ?? 10_000);
const seed = Number(process.env.LEAVEN_FC_SEED ?? Date.now() % 2 ** 31);
const started = performance.now();
let done = 0;
let passes = 0;
let writes = 0;
let deregistered = 0;
let registered = 0;

console.log(`soak: ${runs} random histories against the simulator, seed ${seed}`);
try {
  await fc.assert(
    fc.asyncProperty(historyArb, async (steps) => {
      const report = await runHistory(steps);
      done++;
      passes += report.passes;
      writes += report.writes;
      deregistered += report.deregistered;
      registered += report.registered;
      if (done % 500 === 0)
        console.log(`  ${done} histories, ${((performance.now() - started) / 1000).toFixed(0)} s`);
    }),
    { numRuns: runs, seed },
  );
} catch (error) {
  console.error(error instanceof Error ? error.message : String(error));
  // fast-check's report names the history; the violated invariant is its cause.
  const cause = error instanceof Error ? error.cause : undefined;
  if (cause) console.error(`\nviolated: ${cause instanceof Error ? cause.message : String(cause)}`);
  process.exit(1);
}
const seconds = (performance.now() - started) / 1000;
console.log(
  [
    "",
    "| histories | passes | mutating requests | images deregistered | volume bakes registered | violations | wall time |",
    "|---|---|---|---|---|---|---|",
    `| ${done} | ${passes} | ${writes} | ${deregistered} | ${registered} | 0 | ${seconds.toFixed(0)} s |`,
  ].join("\n"),
);
