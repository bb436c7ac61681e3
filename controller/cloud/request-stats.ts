// Counts the HTTP requests the AWS adapter actually sends, per region and action. The benchmark and tests
// use it to prove budgets such as "a steady-state pass is one DescribeImages walk per region and zero
// mutating calls".
import { actionClassOf, isReadClass } from "./rate-limits.ts";

export interface ActionCounts {
  /** HTTP requests sent, retries included. */
  requests: number;
  /** Requests answered with a throttling error. */
  throttled: number;
  /** Attempts that failed and were tried again. */
  retried: number;
}

export interface RegionStats extends ActionCounts {
  /** Requests of actions other than Describe* / Get*. */
  mutating: number;
  byAction: Record<string, ActionCounts>;
}

export interface RequestStats extends ActionCounts {
  mutating: number;
  byRegion: Record<string, RegionStats>;
}

/** EC2's Describe* and Get*, and SSM's get, describe and list calls read; everything else changes something. */
export function isMutatingAction(action: string): boolean {
  return !isReadClass(actionClassOf(action));
}

export interface RequestRecorder {
  request(region: string, action: string): void;
  throttled(region: string, action: string): void;
  retried(region: string, action: string): void;
  /** A deep copy: later requests do not change it. */
  snapshot(): RequestStats;
  reset(): void;
}

function emptyCounts(): ActionCounts {
  return { requests: 0, throttled: 0, retried: 0 };
}

export function createRequestRecorder(): RequestRecorder {
  let stats: RequestStats = { ...emptyCounts(), mutating: 0, byRegion: {} };

  const countsFor = (region: string, action: string): [RegionStats, ActionCounts] => {
    let regionStats = stats.byRegion[region];
    if (!regionStats) {
      regionStats = { ...emptyCounts(), mutating: 0, byAction: {} };
      stats.byRegion[region] = regionStats;
    }
    let actionStats = regionStats.byAction[action];
    if (!actionStats) {
      actionStats = emptyCounts();
      regionStats.byAction[action] = actionStats;
    }
    return [regionStats, actionStats];
  };

  const bump = (region: string, action: string, key: keyof ActionCounts) => {
    const [regionStats, actionStats] = countsFor(region, action);
    stats[key]++;
    regionStats[key]++;
    actionStats[key]++;
  };

  return {
    request(region, action) {
      bump(region, action, "requests");
      if (isMutatingAction(action)) {
        stats.mutating++;
        countsFor(region, action)[0].mutating++;
      }
    },
    throttled: (region, action) => bump(region, action, "throttled"),
    retried: (region, action) => bump(region, action, "retried"),
    snapshot: () => structuredClone(stats),
    reset() {
      stats = { ...emptyCounts(), mutating: 0, byRegion: {} };
    },
  };
}
