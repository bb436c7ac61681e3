// The volume bake's package manifest: the chroot script prints it after its verdict, SSM writes the command's
// whole output to the manifests bucket (SendCommand OutputS3BucketName, set by the executor), and once the
// image is registered it is stored exactly as an instance bake's (execute/store-manifest.ts). Planned from
// the image alone — its bake-volume tag names the volume, and so the output's key prefix — so a kill -9
// between RegisterImage and the manifest stored plans it again, and the conditional writes store it once.
import { Tag } from "../api/tags.ts";
import type { CloudImage } from "../cloud/port.ts";
import type { StoreManifestAction } from "./actions.ts";
import type { VolumeBakeContext } from "./volume-bake.ts";

/** The store-manifest action the home image still needs, or undefined (stored, none, no bucket, no volume). */
export function volumeManifestAction(
  ctx: Pick<VolumeBakeContext, "manifests" | "doc" | "build" | "homeRegion" | "parent">,
  image: CloudImage,
): StoreManifestAction | undefined {
  const volumeId = image.tags[Tag.bakeVolume];
  if (!ctx.manifests || !volumeId || image.tags[Tag.manifest] || image.state === "failed") return undefined;
  return {
    kind: "store-manifest",
    spec: ctx.doc.metadata.name,
    build: ctx.build,
    region: ctx.homeRegion,
    imageId: image.imageId,
    volumeId,
    parent: { spec: ctx.parent.spec, build: ctx.parent.build },
    reason: `the package manifest of ${ctx.build} is in the output of the bake command on ${volumeId}`,
  };
}
