// Vendor foundation images seeded in every region: Canonical's Ubuntu LTS and Amazon Linux 2023, each
// with several dated releases before the simulator's epoch, the oldest already deprecated. Ids are
// derived from region + name, so they are stable across restarts and distinct per region.
import { createHash } from "node:crypto";
import type { SimImage } from "./world.ts";

export const CANONICAL_OWNER_ID = "099720109477";
export const AMAZON_OWNER_ID = "137112412989";
/** Amazon publishes its Windows AMIs from another account, under the same `amazon` alias. */
export const AMAZON_WINDOWS_OWNER_ID = "801119661308";

/** Owner aliases accepted in `Owner.N` and the `owner-alias` filter. */
export const OWNER_ALIASES: Readonly<Record<string, string>> = { amazon: AMAZON_OWNER_ID };
/** Every account an alias stands for in DescribeImages' `Owner.N`: `amazon` is both of Amazon's. */
export const OWNER_ALIAS_ACCOUNTS: Readonly<Record<string, readonly string[]>> = {
  amazon: [AMAZON_OWNER_ID, AMAZON_WINDOWS_OWNER_ID],
};

const DAY = 86_400_000;
const RELEASES = 6;
const RELEASE_SPACING_DAYS = 21;
/** The oldest releases are deprecated; AWS deprecates the rest two years after creation. */
const DEPRECATED_RELEASES = 2;
const TWO_YEARS = 730 * DAY;

interface Family {
  ownerId: string;
  ownerAlias?: string;
  platform?: "windows";
  offsetDays: number;
  architecture: "x86_64" | "arm64";
  name(date: string, release: number): string;
  description(date: string, release: number): string;
  /** The public SSM parameters (`/aws/service/...`) that point at the family's newest image. */
  parameters: string[];
  /** Whether an image name is one of this family's releases. */
  matches(name: string): boolean;
}

const ubuntuArch = (architecture: "x86_64" | "arm64") => (architecture === "x86_64" ? "amd64" : "arm64");

function ubuntu(
  series: string,
  version: string,
  volume: string,
  architecture: "x86_64" | "arm64",
  offsetDays: number,
): Family {
  const arch = ubuntuArch(architecture);
  const prefix = `ubuntu/images/${volume}/ubuntu-${series}-${version}-${arch}-server-`;
  // Canonical publishes the same pointer under the version and the code name.
  const ebs = volume === "hvm-ssd-gp3" ? "ebs-gp3" : "ebs-gp2";
  return {
    ownerId: CANONICAL_OWNER_ID,
    offsetDays,
    architecture,
    parameters: [version, series].map(
      (release) => `/aws/service/canonical/ubuntu/server/${release}/stable/current/${arch}/hvm/${ebs}/ami-id`,
    ),
    matches: (name) => name.startsWith(prefix) && /^\d{8}$/.test(name.slice(prefix.length)),
    name: (date) => `${prefix}${date}`,
    description: (date) =>
      `Canonical, Ubuntu, ${version} LTS, ${arch} ${series} image build on ${date.slice(0, 4)}-${date.slice(4, 6)}-${date.slice(6)}`,
  };
}

function al2023(architecture: "x86_64" | "arm64", offsetDays: number): Family {
  const version = (date: string, release: number) => `2023.${6 - Math.floor(release / 2)}.${date}.0`;
  return {
    ownerId: AMAZON_OWNER_ID,
    ownerAlias: "amazon",
    offsetDays,
    architecture,
    parameters: ["default", "6.1"].map(
      (kernel) => `/aws/service/ami-amazon-linux-latest/al2023-ami-kernel-${kernel}-${architecture}`,
    ),
    matches: (name) => new RegExp(`^al2023-ami-2023\\.[0-9.]+-kernel-6\\.1-${architecture}$`).test(name),
    name: (date, release) => `al2023-ami-${version(date, release)}-kernel-6.1-${architecture}`,
    description: (date, release) =>
      `Amazon Linux 2023 AMI ${version(date, release)} ${architecture} HVM kernel-6.1`,
  };
}

/** Amazon's Windows Server base images, e.g. Windows_Server-2022-English-Full-Base-2026.11.13. */
function windowsServer(edition: string, offsetDays: number): Family {
  const prefix = `Windows_Server-${edition}-English-Full-Base-`;
  const dotted = (date: string) => `${date.slice(0, 4)}.${date.slice(4, 6)}.${date.slice(6)}`;
  return {
    ownerId: AMAZON_WINDOWS_OWNER_ID,
    ownerAlias: "amazon",
    platform: "windows",
    offsetDays,
    architecture: "x86_64",
    parameters: [`/aws/service/ami-windows-latest/Windows_Server-${edition}-English-Full-Base`],
    matches: (name) => name.startsWith(prefix) && /^\d{4}\.\d{2}\.\d{2}$/.test(name.slice(prefix.length)),
    name: (date) => `${prefix}${dotted(date)}`,
    description: (date) =>
      `Microsoft Windows Server ${edition} Full Locale English AMI provided by Amazon, ${dotted(date)}`,
  };
}

const FAMILIES: readonly Family[] = [
  ubuntu("jammy", "22.04", "hvm-ssd", "x86_64", 2),
  ubuntu("jammy", "22.04", "hvm-ssd", "arm64", 2),
  ubuntu("noble", "24.04", "hvm-ssd-gp3", "x86_64", 5),
  ubuntu("noble", "24.04", "hvm-ssd-gp3", "arm64", 5),
  al2023("x86_64", 9),
  al2023("arm64", 9),
  windowsServer("2022", 12),
];

function hashId(prefix: string, input: string): string {
  return `${prefix}-${createHash("sha256").update(input).digest("hex").slice(0, 17)}`;
}

function yyyymmdd(time: number): string {
  return new Date(time).toISOString().slice(0, 10).replaceAll("-", "");
}

/** The vendor images of one region, created `RELEASE_SPACING_DAYS` apart before `epoch`. */
export function vendorImages(region: string, epoch: number): SimImage[] {
  const images: SimImage[] = [];
  for (const family of FAMILIES) {
    for (let release = 0; release < RELEASES; release++) {
      const creationDate = epoch - (family.offsetDays + release * RELEASE_SPACING_DAYS) * DAY;
      const date = yyyymmdd(creationDate);
      const name = family.name(date, release);
      const deprecated = release >= RELEASES - DEPRECATED_RELEASES;
      images.push({
        imageId: hashId("ami", `${region}/${name}`),
        name,
        description: family.description(date, release),
        ownerId: family.ownerId,
        ...(family.ownerAlias ? { ownerAlias: family.ownerAlias } : {}),
        ...(family.platform ? { platform: family.platform } : {}),
        architecture: family.architecture,
        isPublic: true,
        creationDate,
        timeline: [{ at: creationDate, state: "available" }],
        deprecationTime: deprecated ? epoch - DAY : creationDate + TWO_YEARS,
        rootDeviceName: family.ownerId === AMAZON_OWNER_ID ? "/dev/xvda" : "/dev/sda1",
        volumeSize: family.platform === "windows" ? 30 : 8,
        snapshotIds: [hashId("snap", `${region}/${name}`)],
        tags: {},
        launchPermissions: [{ group: "all" }],
      });
    }
  }
  return images;
}

/** A public parameter of the vendors' (`/aws/service/...`): the newest image of its family in each region. */
export interface PublicImageParameter {
  name: string;
  ownerId: string;
  matches(imageName: string): boolean;
}

/** Every public image parameter the simulator serves, derived from the families above. */
export const PUBLIC_IMAGE_PARAMETERS: readonly PublicImageParameter[] = FAMILIES.flatMap((family) =>
  family.parameters.map((name) => ({ name, ownerId: family.ownerId, matches: family.matches })),
);
