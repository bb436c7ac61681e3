import type { SpecStatus } from "../plan/status.ts";
import { textTable } from "./text-table.ts";

/** Every spec's channels and images per region: the table `apply` ends with. */
export function renderChannelTable(statuses: readonly SpecStatus[]): string {
  const rows: string[][] = [];
  for (const status of statuses) {
    const channels = Object.entries(status.channels);
    if (channels.length === 0) {
      rows.push([status.name, status.layer, "-", "-", "-", "-", status.phase]);
      continue;
    }
    for (const [channel, info] of channels) {
      const regions = Object.entries(info.images);
      if (regions.length === 0) {
        rows.push([
          status.name,
          status.layer,
          channel,
          info.build ?? "-",
          "-",
          "-",
          info.message ?? status.phase,
        ]);
        continue;
      }
      for (const [region, image] of regions) {
        rows.push([status.name, status.layer, channel, info.build ?? "-", region, image, status.phase]);
      }
    }
  }
  return textTable(["SPEC", "LAYER", "CHANNEL", "BUILD", "REGION", "IMAGE", "STATUS"], rows);
}
