// `leaven contains PACKAGE [VERSION_RANGE] [paths…]`: which images hold a package (the CVE question).
import { cloudHelp, cloudOptions } from "../cloud-target.ts";
import type { Command } from "../command.ts";

export const containsCommand: Command = {
  name: "contains",
  summary: "List the specs, builds, channels and regions whose images contain a package (version range).",
  usage:
    "contains PACKAGE [VERSION_RANGE] [paths…] [--channel NAME] [--all-builds] [--output text|json] [cloud options]",
  help: `Answers "which images still have openssl 3.0.2-0ubuntu1.15?" from the builds' package manifests in
the manifests bucket of leaven.yaml, without launching anything: every build whose manifest holds
PACKAGE — a binary package of that name, or one built from a source package of that name (openssl
finds libssl3 too) — in VERSION_RANGE when one is given, with the channels and regions its images are
in now (read from the image tags). Only builds with images are looked at, their manifests found by
key; --all-builds lists the bucket for every build's, those no image is left of too. Manifests read
are indexed under .leaven/manifests beside the specs, so the next run reads only new ones.

VERSION_RANGE is a version (exactly), or comparisons in dpkg's order: "<3.0.13", ">=3.0 <3.1".
Exits 1 when a region's images could not be listed: the answer leaves out what is there.

Options:
  --channel NAME         Only builds in this channel (in some region), e.g. release.
  --all-builds           Every build with a manifest in the bucket, with images or not.
  -o, --output <format>  text (default), or json: one entry per build and package.
${cloudHelp}
Examples:
  leaven contains openssl examples
  leaven contains openssl "<3.0.13-0ubuntu3.2" examples --channel release
`,
  options: {
    ...cloudOptions,
    channel: { type: "string" },
    "all-builds": { type: "boolean" },
    output: { type: "string", short: "o" },
  },
  run: (args, io) => import("./contains-run.ts").then((m) => m.runContains(args, io)),
};
