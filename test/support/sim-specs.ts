// Specs that fit the simulator's seeded vendor images, for tests that run the controller against it.
import type { ImageSpecSpec } from "../../controller/api/types.generated.ts";
import type { ValidationResult, ValidSpec } from "../../controller/validation/result.ts";
import { spec } from "../plan/builders.ts";

/** Canonical's Ubuntu 22.04 amd64 images, seeded by the simulator in every region. */
export function ubuntuFoundation(regions: [string, ...string[]] = ["us-east-1"]): ValidSpec {
  return spec("ubuntu", {
    layer: "foundation",
    source: {
      owners: ["099720109477"],
      name: "ubuntu/images/hvm-ssd/ubuntu-jammy-22.04-amd64-server-*",
      architecture: "x86_64",
    },
    regions,
    channels: { release: { latest: true } },
  });
}

/** A base layer on ubuntu/release with candidate and release both following the newest build. */
export function baseSpec(name: string, overrides: Partial<ImageSpecSpec> = {}): ValidSpec {
  return spec(name, {
    layer: "base",
    parent: { spec: "ubuntu", channel: "release" },
    version: "1.0.0",
    provision: { packages: ["curl"] },
    regions: ["us-east-1", "eu-west-1"],
    channels: { candidate: { latest: true }, release: { latest: true } },
    ...overrides,
  });
}

/** What the loader would return for these (valid, parents-first) specs. */
export function validation(...specs: ValidSpec[]): ValidationResult {
  return { specs, diagnostics: [], blocked: new Map() };
}
