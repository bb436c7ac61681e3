import type { SpecStatus } from "../plan/status.ts";
import { shortVendorName } from "./fit-text.ts";
import { textTable } from "./text-table.ts";

/** Every spec's channels and images per region: `status --wide` and `apply --wide`. */
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

/**
 * The table `apply` ends with: one row per spec, one column per channel, each cell the channel's build and
 * in how many of the spec's regions it has an image, e.g. `1.14.2+b2a7f678 ✓2/2` (every region) or
 * `1.14.2+b2a7f678 1/2` (copies still missing); `-` where the spec has no such channel or it resolves to
 * nothing. Vendor image names are shortened to what varies. Fits 80 columns for specs with a couple of
 * channels; `--wide` is the per-region listing with image ids (`renderChannelTable`).
 */
export function renderChannelMatrix(
  statuses: readonly SpecStatus[],
  regions: ReadonlyMap<string, readonly string[]>,
  vendorPatterns: ReadonlyMap<string, string> = new Map(),
): string {
  const channels: string[] = [];
  for (const status of statuses)
    for (const channel of Object.keys(status.channels))
      if (!channels.includes(channel)) channels.push(channel);
  const rows = statuses.map((status) => {
    const pattern = status.layer === "foundation" ? vendorPatterns.get(status.name) : undefined;
    const specRegions = regions.get(status.name) ?? [];
    return [
      status.name,
      ...channels.map((channel) => {
        const info = status.channels[channel];
        if (!info?.build) return "-";
        const total = specRegions.length || Object.keys(info.images).length;
        const ready = specRegions.length
          ? specRegions.filter((r) => info.images[r] !== undefined).length
          : Object.keys(info.images).length;
        return `${shortVendorName(info.build, pattern)} ${ready === total && total > 0 ? "✓" : ""}${ready}/${total}`;
      }),
    ];
  });
  if (channels.length === 0)
    return textTable(
      ["SPEC", "CHANNELS"],
      rows.map((row) => [...row, "-"]),
    );
  return textTable(["SPEC", ...channels], rows);
}
