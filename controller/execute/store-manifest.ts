// The store-manifest action's side effects: read the bake's console (an instance bake) or the bake command's
// output SSM wrote to the bucket (a volume bake), write the manifest and its CycloneDX SBOM to the manifests
// bucket — never over an object that is there, and never over one that is not Leaven's — and tag the home
// image so the planner stops asking. Idempotent: a kill -9 anywhere repeats the step from the console or
// the output object, and what was written already is left as it is.
import { DEFAULT_INSTALLATION } from "../api/installation.ts";
import {
  bakeOutputPrefix,
  encodeManifest,
  type ManifestRead,
  manifestKey,
  parseConsoleManifest,
  RUN_SHELL_SCRIPT_OUTPUT,
  sbomKey,
  toCycloneDx,
} from "../api/package-manifest.ts";
import { Tag } from "../api/tags.ts";
import type { ObjectStorePort, ObjectTags, PutObjectInput } from "../cloud/object-store-port.ts";
import { CloudError, type CloudPort } from "../cloud/port.ts";
import type { StoreManifestAction } from "../plan/actions.ts";

/** Where manifests go (leaven.yaml manifests), and the store that reaches the bucket. */
export interface ManifestTarget {
  store: ObjectStorePort;
  bucket: string;
  prefix?: string;
}

/** The tag written on the home image once its manifest is stored, or known to be missing. */
export const MANIFEST_STORED = "stored";
export const MANIFEST_NONE = "none";

export async function storeManifest(
  cloud: CloudPort,
  action: StoreManifestAction,
  target: ManifestTarget | undefined,
  installation: string | undefined,
): Promise<string | undefined> {
  if (!target)
    throw new CloudError(
      "NoManifestBucket",
      `not run: storing the manifest of ${action.spec} ${action.build} needs leaven.yaml's manifests: { bucket }`,
      400,
      false,
    );
  const { region, spec, build } = action;
  const read = action.volumeId
    ? await readCommandOutput(target, action.volumeId, spec, build)
    : parseConsoleManifest(
        await cloud.getConsoleOutput(region, action.instanceId ?? "", { latest: true }),
        spec,
        build,
      );
  if (!read.found) {
    // A bake that printed none (an image without dpkg or rpm, an older Leaven), a console EC2 no longer
    // keeps, or a command whose output SSM could not write: say so on the image, once, instead of holding
    // its instance or volume forever.
    await cloud.createTags(region, [action.imageId], { [Tag.manifest]: MANIFEST_NONE });
    return undefined;
  }
  const tags: ObjectTags = {
    [Tag.managedBy]: "leaven",
    [Tag.installation]: installation ?? DEFAULT_INSTALLATION,
    [Tag.spec]: spec,
    [Tag.build]: build,
  };
  const key = manifestKey(target.prefix, spec, build);
  const manifest = { ...read.manifest, parent: action.parent };
  await putOnce(target, installation, {
    bucket: target.bucket,
    key,
    body: encodeManifest(manifest),
    contentType: "application/json",
    contentEncoding: "gzip",
    tags,
  });
  await putOnce(target, installation, {
    bucket: target.bucket,
    key: sbomKey(target.prefix, spec, build),
    body: Buffer.from(`${JSON.stringify(toCycloneDx(manifest, undefined), null, 2)}\n`, "utf8"),
    contentType: "application/vnd.cyclonedx+json",
    tags,
  });
  await cloud.createTags(region, [action.imageId], { [Tag.manifest]: MANIFEST_STORED });
  return `s3://${target.bucket}/${key}`;
}

/**
 * The manifest in the output of the command that baked `volumeId`: SSM wrote each command's stdout to
 * BAKE-OUTPUT-PREFIX/COMMAND/INSTANCE/awsrunShellScript/0.awsrunShellScript/stdout. A command sent twice
 * (a lost SendCommand answer) printed the same build's manifest; the newest complete one is taken.
 */
async function readCommandOutput(
  target: ManifestTarget,
  volumeId: string,
  spec: string,
  build: string,
): Promise<ManifestRead> {
  const prefix = `${bakeOutputPrefix(target.prefix, spec, build, volumeId)}/`;
  const stdouts = (await target.store.listObjects(target.bucket, prefix))
    .filter((o) => o.key.endsWith(`/${RUN_SHELL_SCRIPT_OUTPUT}/stdout`))
    .sort((a, b) => (b.lastModified ?? 0) - (a.lastModified ?? 0) || b.key.localeCompare(a.key));
  let read: ManifestRead = {
    found: false,
    reason: `no command output under s3://${target.bucket}/${prefix} (the bakery host's role needs s3:PutObject there)`,
  };
  for (const object of stdouts) {
    const body = await target.store.getObject(target.bucket, object.key);
    if (!body) continue;
    read = parseConsoleManifest(Buffer.from(body).toString("utf8"), spec, build);
    if (read.found) return read;
  }
  return read;
}

/**
 * Writes the object unless one is at its key. One that is there is this build's from an earlier attempt when
 * it carries this installation's owner tags; otherwise it is someone else's, and is never replaced.
 */
async function putOnce(
  target: ManifestTarget,
  installation: string | undefined,
  input: PutObjectInput,
): Promise<void> {
  if ((await target.store.putObjectIfAbsent(input)) === "created") return;
  const tags = (await target.store.getObjectTags(input.bucket, input.key)) ?? {};
  const ours =
    tags[Tag.managedBy] === "leaven" &&
    (tags[Tag.installation] ?? DEFAULT_INSTALLATION) === (installation ?? DEFAULT_INSTALLATION);
  if (ours) return;
  throw new CloudError(
    "ForeignObject",
    `s3://${input.bucket}/${input.key} exists and is not this installation's (its ${Tag.managedBy} and ${Tag.installation} tags say ${JSON.stringify(tags[Tag.managedBy] ?? "nothing")}, ${JSON.stringify(tags[Tag.installation] ?? "nothing")}): Leaven never replaces it; move it away, or set manifests.prefix in leaven.yaml to a prefix of Leaven's own`,
    409,
    false,
  );
}
