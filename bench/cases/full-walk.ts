// A full walk of the 400k-image estate — every region's owner-tag DescribeImages walk, concurrently, through
// the AWS adapter (the SDK's EC2 client) — against a simulator in another process, so that wall time, CPU
// and peak RSS are Leaven's client alone, as against EC2. Today's figures when the issue was filed: 53–58 s
// wall and 1.6–1.7 GB peak RSS for the pass (simulator in-process); target: half.
import { createAwsCloud } from "../../controller/cloud/aws-adapter.ts";
import { systemClock } from "../../controller/cloud/clock.ts";
import { RegionRateLimiter } from "../../controller/cloud/region-rate-limiter.ts";
import { walkOwnedImages } from "../../controller/observe/observe.ts";
import type { BenchCase } from "../case.ts";
import { startChildSim } from "../child-sim.ts";
import { BENCH_REGIONS } from "../estate.ts";
import { measure, megabytes } from "../measure.ts";

export const fullWalkCase: BenchCase = {
  name: "full walk (images, simulator out of process)",
  size: `2,000 specs × ${BENCH_REGIONS.length} regions × 20 builds`,
  async run() {
    const sim = await startChildSim(2000, 20);
    try {
      const { endpoint, images } = sim;
      const rssBefore = process.resourceUsage().maxRSS * 1024;
      const walkWith = async (fastDescribeImages: boolean) => {
        const cloud = createAwsCloud({
          endpoint,
          credentials: { accessKeyId: "AKIDBENCH", secretAccessKey: "bench" },
          clock: systemClock,
          limiter: new RegionRateLimiter(systemClock),
          fastDescribeImages,
        });
        const m = await measure(async () => {
          const walked = await Promise.all(BENCH_REGIONS.map((region) => walkOwnedImages(cloud, region)));
          return walked.reduce((n, list) => n + list.length, 0);
        });
        const stats = cloud.stats();
        cloud.close();
        const describe = Object.values(stats.byRegion).reduce(
          (sum, r) => sum + (r.byAction.DescribeImages?.requests ?? 0),
          0,
        );
        return { m, describe, stats };
      };
      // Leaven's scanner first, so the process's peak RSS is the scanner's walk; then the SDK's reader.
      const { m: walk, describe, stats } = await walkWith(true);
      const scannerRss = process.resourceUsage().maxRSS * 1024;
      const sdk = await walkWith(false);
      return {
        wallMs: walk.wallMs,
        maxRssBytes: scannerRss,
        extra: {
          images: `${walk.value.toLocaleString("en")} of ${images.toLocaleString("en")}`,
          CPU: `${walk.cpuMs.toFixed(0)} ms`,
          "heap peak (GC-traced)": megabytes(walk.peakHeapBytes),
          "RSS before the walk": megabytes(rssBefore),
          DescribeImages: `${describe} (retried ${stats.retried}, throttled ${stats.throttled})`,
          "with the SDK's deserialiser": `${sdk.m.wallMs.toFixed(0)} ms wall, ${sdk.m.cpuMs.toFixed(0)} ms CPU, heap peak ${megabytes(sdk.m.peakHeapBytes)}, ${sdk.describe} pages`,
          target: "half of 53–58 s and 1.7 GB",
        },
      };
    } finally {
      sim.close();
    }
  },
};
