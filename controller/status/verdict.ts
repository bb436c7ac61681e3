// The one answer to "can I trust this run?", shared by `leaven plan` and `leaven apply`: their exit status
// and the headline they end with. Terraform's contract: 0 only when everything is in place and nothing is
// to be done; 2 (plan --detailed-exitcode) when there is work to do or in flight; 1 when Leaven is blind,
// the input is invalid, or something cannot move without the user. A CI job gating on it must never go
// green while Leaven could not look, or while a bake is failed.
import type { Action } from "../plan/actions.ts";
import type { SpecStatus } from "../plan/status.ts";
import type { Diagnostic } from "../validation/result.ts";
import { explainObservationError } from "./observation-error.ts";
import { summarize } from "./render-plan.ts";

export interface VerdictInput {
  /** Words the headline for `plan` (what would happen) or `apply` (what happened). */
  command: "plan" | "apply";
  /** Validation diagnostics of the specs the statuses were planned from. */
  diagnostics: readonly Diagnostic[];
  statuses: readonly SpecStatus[];
  /** plan: the actions apply would take; apply: the actions its last pass executed. */
  actions: readonly Action[];
  /** Regions (or vendor image lookups in them) that could not be observed, with the error. */
  regionErrors: ReadonlyMap<string, string>;
}

export type ProblemKind = "unobservable" | "invalid" | "blocked" | "failed" | "stalled" | "waiting";

export interface Problem {
  kind: ProblemKind;
  /** A clause naming the cause and whom it affects, e.g. "1 spec failed: ledger". */
  message: string;
  /** Every spec concerned (the message names the first few). */
  specs: string[];
  /** Every region concerned (unobservable). */
  regions: string[];
  /** Files with invalid input that no spec can be named for (invalid). */
  files: string[];
  /** The observer's error, as recorded (unobservable). */
  error?: string;
}

/** converged: nothing to do, all Ready/Suspended; changes: actions; in-progress: bakes, copies, moves in flight. */
export type VerdictState = "converged" | "changes" | "in-progress" | "problems";

export interface Verdict {
  state: VerdictState;
  exitCode: {
    /** Without --detailed-exitcode (and for apply): 1 on a problem, else 0. */
    plain: 0 | 1;
    /** With --detailed-exitcode: 0 converged, 2 changes or work in progress, 1 on a problem. */
    detailed: 0 | 1 | 2;
  };
  /** One line, said once: the problems, else the plan's summary, else that nothing is to be done. */
  headline: string;
  problems: Problem[];
}

/** How many specs a headline names before "and N more": a 5,000-spec estate must still get one line. */
const NAMED = 5;

function specs(n: number): string {
  return `${n} spec${n === 1 ? "" : "s"}`;
}

function names(list: readonly string[]): string {
  const shown = list.slice(0, NAMED).join(", ");
  return list.length > NAMED ? `${shown} and ${list.length - NAMED} more` : shown;
}

function problem(kind: ProblemKind, message: string, fields: Partial<Problem> = {}): Problem {
  return { kind, message, specs: [], regions: [], files: [], ...fields };
}

function sentence(clauses: readonly string[]): string {
  const text = clauses.join("; ");
  const capitalized = text.charAt(0).toUpperCase() + text.slice(1);
  return /[.?!]$/.test(capitalized) ? capitalized : `${capitalized}.`;
}

/** Regions sharing one error are one problem: "cannot observe eu-west-1, us-east-1: no AWS credentials (…)". */
function unobservable(regionErrors: ReadonlyMap<string, string>): Problem[] {
  const byError = new Map<string, string[]>();
  for (const region of [...regionErrors.keys()].sort()) {
    const error = regionErrors.get(region)!;
    byError.set(error, [...(byError.get(error) ?? []), region]);
  }
  return [...byError].map(([error, regions]) =>
    problem("unobservable", `cannot observe ${regions.join(", ")}: ${explainObservationError(error)}`, {
      regions,
      error,
    }),
  );
}

type Standing = "ready" | "progressing" | "waiting" | "blocked" | "failed" | "stalled";

/** Every phase has a standing; a phase added to the planner fails to compile here until it gets one. */
function standingOf(phase: SpecStatus["phase"]): Standing {
  switch (phase) {
    case "Ready":
    case "Suspended":
      return "ready";
    case "Baking":
    case "Copying":
    case "Verifying":
    case "Promoting":
      return "progressing";
    case "Waiting":
      return "waiting";
    case "Blocked":
      return "blocked";
    case "Failed":
      return "failed";
    case "Stalled":
      return "stalled";
    default: {
      const unknown: never = phase;
      throw new Error(`no verdict standing for phase ${String(unknown)}`);
    }
  }
}

/** Decides exit status, headline and problems from what one plan (or apply's last pass) found. Pure. */
export function verdictOf(input: VerdictInput): Verdict {
  const by = (standing: Standing, phase?: SpecStatus["phase"]) =>
    input.statuses
      .filter((s) => standingOf(s.phase) === standing && (phase === undefined || s.phase === phase))
      .map((s) => s.name);
  const blocked = by("blocked");
  const blockedNames = new Set(blocked);

  const problems = unobservable(input.regionErrors);
  // Errors no blocked spec accounts for: a document too broken to name its spec, or a spec's own error.
  const stray = input.diagnostics.filter(
    (d) => d.severity === "error" && (d.spec === undefined || !blockedNames.has(d.spec)),
  );
  if (stray.length > 0) {
    const files = [...new Set(stray.map((d) => d.position.file))];
    problems.push(problem("invalid", `invalid input in ${names(files)}`, { files }));
  }
  if (blocked.length > 0)
    problems.push(
      problem("blocked", `${specs(blocked.length)} blocked by invalid input: ${names(blocked)}`, {
        specs: blocked,
      }),
    );
  const failed = by("failed");
  if (failed.length > 0)
    problems.push(problem("failed", `${specs(failed.length)} failed: ${names(failed)}`, { specs: failed }));
  const stalled = by("stalled");
  if (stalled.length > 0)
    problems.push(
      problem("stalled", `${specs(stalled.length)} stalled: ${names(stalled)}`, { specs: stalled }),
    );

  const progress = (
    [
      ["Baking", "baking"],
      ["Copying", "copying"],
      ["Verifying", "verifying"],
      ["Promoting", "promoting"],
    ] as const
  ).flatMap(([phase, verb]) => {
    const list = by("progressing", phase);
    return list.length > 0 ? [`${specs(list.length)} ${verb}: ${names(list)}`] : [];
  });
  // Waiting with nothing to do and nothing in flight is what the reconciler calls stalled: nothing will
  // move it this run. When another problem exists, the waiting specs are (almost always) waiting on it.
  const waiting = by("waiting");
  if (problems.length === 0 && input.actions.length === 0 && progress.length === 0 && waiting.length > 0)
    problems.push(
      problem("waiting", `${specs(waiting.length)} waiting with nothing in progress: ${names(waiting)}`, {
        specs: waiting,
      }),
    );

  if (problems.length > 0) {
    return {
      state: "problems",
      exitCode: { plain: 1, detailed: 1 },
      headline: sentence(problems.map((p) => p.message)),
      problems,
    };
  }
  if (input.actions.length > 0 || progress.length > 0) {
    const headline =
      input.command === "apply"
        ? `Not finished: ${progress.length > 0 ? progress.join("; ") : `${summarize(input.actions)} this pass`}. Run apply again to continue.`
        : input.actions.length > 0
          ? `Plan: ${summarize(input.actions)}.`
          : `Nothing to do until work in progress finishes: ${progress.join("; ")}.`;
    return {
      state: input.actions.length > 0 ? "changes" : "in-progress",
      exitCode: { plain: 0, detailed: 2 },
      headline,
      problems,
    };
  }
  return {
    state: "converged",
    exitCode: { plain: 0, detailed: 0 },
    headline:
      input.command === "apply" ? "The images match the specs." : "No changes. The images match the specs.",
    problems,
  };
}

/** The exit status of a run: --detailed-exitcode tells changes (2) from nothing to do (0). */
export function exitCodeOf(verdict: Verdict, detailed: boolean): 0 | 1 | 2 {
  return detailed ? verdict.exitCode.detailed : verdict.exitCode.plain;
}
