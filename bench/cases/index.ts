import type { BenchCase } from "../case.ts";
import { fanOutCase } from "./fan-out.ts";
import { loadValidateGraphCase } from "./load-validate-graph.ts";
import { planLargeCase } from "./plan-large.ts";
import { steadyStateRequestsCase } from "./steady-state-requests.ts";

/** Every benchmark case, in the order the table lists them. */
export const cases: BenchCase[] = [loadValidateGraphCase, planLargeCase, steadyStateRequestsCase, fanOutCase];
