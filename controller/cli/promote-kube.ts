// `leaven promote … --kube`: the promotion in the cluster (controller/operator/promote-in-cluster.ts).
import { promoteInCluster } from "../operator/promote-in-cluster.ts";
import { type CliIo, UserError } from "./command.ts";
import { contextNamespace, loadKubeConfig } from "./kube-config.ts";

export async function promoteKube(
  values: Record<string, string | boolean | string[] | undefined>,
  positionals: string[],
  io: CliIo,
): Promise<number> {
  const [spec, ...rest] = positionals;
  const channel = values.channel as string | undefined;
  const to = values.to as string | undefined;
  if (spec === undefined || channel === undefined || to === undefined)
    throw new UserError(
      "name the spec, the channel and the build, e.g. `leaven promote ubuntu-base --channel release --to candidate --kube`; see --help.",
    );
  if (rest.length > 0)
    throw new UserError(
      `--kube promotes the resource in the cluster and takes no paths, got: ${rest.join(" ")}.`,
    );
  const kubeConfig = loadKubeConfig(values.kubeconfig as string | undefined);
  const namespace = (values.namespace as string | undefined) ?? contextNamespace(kubeConfig) ?? "default";
  const result = await promoteInCluster({
    kubeConfig,
    namespace,
    spec,
    channel,
    to,
    dryRun: values["dry-run"] === true,
  });
  if (!result.ok) throw new UserError(result.error);
  if (result.patch && values["dry-run"] === true) io.stdout.write(`${JSON.stringify(result.patch.spec)}\n`);
  io.stdout.write(`${result.message}\n`);
  return 0;
}
