// DescribeRegions: every region of the simulated partition is enabled and needs no opt-in.
import type { ActionHandler } from "./context.ts";
import { invalidParameterValue } from "./errors.ts";
import { compileFilters } from "./filters.ts";
import { filtersOf } from "./query-protocol.ts";
import { SIM_REGIONS } from "./regions.ts";

export const describeRegions: ActionHandler = (ctx) => {
  const names = ctx.params.list("RegionName");
  const unknown = names.filter((name) => !SIM_REGIONS.includes(name));
  if (unknown.length > 0) throw invalidParameterValue(`Invalid region names: ${unknown.join(", ")}`);
  const predicate = compileFilters(
    filtersOf(ctx.params),
    {
      "region-name": (r: string) => r,
      endpoint: (r: string) => `ec2.${r}.amazonaws.com`,
      "opt-in-status": () => "opt-in-not-required",
    },
    () => ({}),
  );
  const regions = (names.length > 0 ? names : SIM_REGIONS).filter(predicate);
  return {
    regionInfo: regions.map((regionName) => ({
      regionName,
      regionEndpoint: `ec2.${regionName}.amazonaws.com`,
      optInStatus: "opt-in-not-required",
    })),
  };
};
