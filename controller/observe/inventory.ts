import type { BakeOutcome } from "../api/bake-protocol.ts";
import type { CloudImage, CloudInstance } from "../cloud/port.ts";

/** Everything one pass observed in the cloud. The planner reads only this (and the specs and the clock). */
export interface Inventory {
  /** Regions whose Leaven images were walked this pass. */
  regions: string[];
  /** Leaven-owned images (owner tag present) in every walked region, including copies. */
  images: CloudImage[];
  /** Leaven bake instances in the regions listed in `instanceRegions`. */
  instances: CloudInstance[];
  /** Regions whose bake instances were observed; the planner never launches a bake where it did not look. */
  instanceRegions: string[];
  /** Bake outcome read from the console of stopped bake instances, by instance id. */
  consoles: Map<string, BakeOutcome | undefined>;
  /** Vendor images matching each foundation's source, by foundation spec name (all observed regions). */
  vendorImages: Map<string, CloudImage[]>;
  /** Regions that could not be observed this pass, with the reason: nothing is planned there. */
  regionErrors: Map<string, string>;
}

export function emptyInventory(): Inventory {
  return {
    regions: [],
    images: [],
    instances: [],
    instanceRegions: [],
    consoles: new Map(),
    vendorImages: new Map(),
    regionErrors: new Map(),
  };
}
