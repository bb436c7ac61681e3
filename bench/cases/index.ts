import type { BenchCase } from "../case.ts";
import { bakeMethodsCase } from "./bake-methods.ts";
import { driftRepairCase } from "./drift.ts";
import { examplesRebakeCase } from "./examples-rebake.ts";
import { fanOutAwkwardCase, fanOutCase, fanOutNoisyCase } from "./fan-out.ts";
import { fullWalkCase } from "./full-walk.ts";
import { inventoryPassesCase } from "./inventory-passes.ts";
import { leavenBuildsCase } from "./leaven-builds.ts";
import { leavenBuildsWholeCase, leavenStatusWholeCase } from "./leaven-commands-whole.ts";
import { leavenContainsCase } from "./leaven-contains.ts";
import { leavenStatusCase } from "./leaven-status.ts";
import { loadOneBigFileCase } from "./load-one-big-file.ts";
import { loadValidateGraphCase } from "./load-validate-graph.ts";
import { operatorCase } from "./operator.ts";
import { planLargeCase, planMillionCase } from "./plan-large.ts";
import { retireExpiredCase } from "./retire-expired.ts";
import { startCase } from "./start.ts";
import { steadyStateRequestsCase } from "./steady-state-requests.ts";
import { watchModeCase } from "./watch-mode.ts";

/** Every benchmark case, in the order the table lists them (opt-in ones only when named). */
export const cases: BenchCase[] = [
  startCase,
  loadValidateGraphCase,
  loadOneBigFileCase,
  planLargeCase,
  planMillionCase,
  steadyStateRequestsCase,
  inventoryPassesCase,
  fullWalkCase,
  fanOutCase,
  fanOutAwkwardCase,
  fanOutNoisyCase,
  retireExpiredCase,
  driftRepairCase,
  leavenBuildsCase,
  leavenStatusCase,
  leavenBuildsWholeCase,
  leavenStatusWholeCase,
  leavenContainsCase,
  watchModeCase,
  operatorCase,
  bakeMethodsCase,
  examplesRebakeCase,
];
