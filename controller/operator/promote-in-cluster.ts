// `leaven promote SPEC --channel C --to … --kube`: the promotion as a merge patch of the channel field of
// the ImageSpec in the cluster (what `kubectl patch --type merge` would send), with the resource's
// resourceVersion so a concurrent edit is refused rather than overwritten. The operator does the rest; a
// build that does not exist is reported in the resource's status while the channel stays where it is.
import { CustomObjectsApi, type KubeConfig, PatchStrategy, setHeaderOptions } from "@kubernetes/client-node";
import { CHOICE_KEYS, type NewSelector } from "../sources/edit-channel.ts";
import { isBuildId } from "../validation/build-id.ts";
import type { ImageSpecObject } from "./cluster-specs.ts";
import { GROUP, PLURAL, VERSION } from "./imagespec-informers.ts";
import { statusCodeOf } from "./leader-election.ts";

const mergePatch = setHeaderOptions("Content-Type", PatchStrategy.MergePatch);

export interface PromoteInClusterRequest {
  kubeConfig: KubeConfig;
  namespace: string;
  spec: string;
  channel: string;
  /** A build id, `latest`, or another channel of the spec (the build it is on now, from the status). */
  to: string;
  dryRun?: boolean;
}

export type PromoteInClusterResult =
  | { ok: true; changed: boolean; message: string; patch?: Record<string, unknown> }
  | { ok: false; error: string };

type Channels = Record<string, Record<string, unknown>>;

export async function promoteInCluster(request: PromoteInClusterRequest): Promise<PromoteInClusterResult> {
  const { namespace, spec, channel, to } = request;
  const api = request.kubeConfig.makeApiClient(CustomObjectsApi);
  const ref = { group: GROUP, version: VERSION, plural: PLURAL, namespace, name: spec };
  let object: ImageSpecObject;
  try {
    object = (await api.getNamespacedCustomObject(ref)) as ImageSpecObject;
  } catch (error) {
    if (statusCodeOf(error) === 404)
      return {
        ok: false,
        error: `no ImageSpec ${spec} in namespace ${namespace}; \`kubectl get imagespecs -A\` lists them, --namespace picks another. Nothing was changed.`,
      };
    throw error;
  }
  const channels = ((object.spec as { channels?: Channels } | undefined)?.channels ?? {}) as Channels;
  const statusChannels = (object.status?.channels ?? {}) as Record<string, { build?: string }>;
  let selector: NewSelector;
  let why = "";
  if (to === "latest") selector = { latest: true };
  else if (to in channels) {
    const build = statusChannels[to]?.build;
    if (build === undefined)
      return {
        ok: false,
        error: `channel ${to} of ${spec} is on no build now (its status names none: ${String(object.status?.message ?? "not reconciled yet")}), so there is nothing to pin. Nothing was changed.`,
      };
    selector = { build };
    why = `, the build ${to} is on`;
  } else if (isBuildId(to)) selector = { build: to };
  else
    return {
      ok: false,
      error: `--to ${to} is neither a build id (VERSION+HASH, e.g. 2.3.0+5f2c91ab), latest, nor a channel of ${spec} (${Object.keys(channels).join(", ") || "it has none"}). Nothing was changed.`,
    };

  const current = channels[channel];
  const already =
    current !== undefined &&
    ("build" in selector ? current.build === selector.build : current.latest === true) &&
    CHOICE_KEYS.filter((k) => k !== ("build" in selector ? "build" : "latest")).every(
      (k) => current[k] === undefined,
    );
  const where = `${namespace}/${spec} ${channel}`;
  if (already)
    return {
      ok: true,
      changed: false,
      message:
        "build" in selector
          ? `${where} already pins ${selector.build}${why}; nothing to change.`
          : `${where} already selects the latest ready build; nothing to change.`,
    };
  // Only the selector's choice changes; other keys (parentIn, minAge, requires) stay.
  const choice: Record<string, unknown> = Object.fromEntries(CHOICE_KEYS.map((k) => [k, null]));
  Object.assign(choice, selector);
  const patch = {
    metadata: { resourceVersion: object.metadata?.resourceVersion },
    spec: { channels: { [channel]: choice } },
  };
  const what = "build" in selector ? `pins ${selector.build}${why}` : "selects the latest ready build";
  if (request.dryRun) return { ok: true, changed: false, message: `would patch: ${where} ${what}.`, patch };
  try {
    await api.patchNamespacedCustomObject({ ...ref, body: patch }, mergePatch);
  } catch (error) {
    if (statusCodeOf(error) === 409)
      return {
        ok: false,
        error: `${namespace}/${spec} changed while it was being promoted; run the promotion again. Nothing was changed.`,
      };
    const body = (error as { body?: unknown }).body;
    return {
      ok: false,
      error: `the API server refused the patch of ${namespace}/${spec}: ${typeof body === "string" ? body : String(error)}. Nothing was changed.`,
    };
  }
  return {
    ok: true,
    changed: true,
    message: `${where} ${what}; the operator moves the channel (kubectl get imagespec ${spec} -n ${namespace} -w).`,
    patch,
  };
}
