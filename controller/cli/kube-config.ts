import { KubeConfig } from "@kubernetes/client-node";
import { UserError } from "./command.ts";

/** --kubeconfig PATH, else in-cluster, $KUBECONFIG or ~/.kube/config; refused when no cluster is configured. */
export function loadKubeConfig(path: string | undefined): KubeConfig {
  const kubeConfig = new KubeConfig();
  try {
    if (path) kubeConfig.loadFromFile(path);
    else kubeConfig.loadFromDefault();
  } catch (error) {
    throw new UserError(
      `cannot read the kubeconfig${path ? ` ${path}` : ""}: ${(error as Error).message}; pass --kubeconfig or run in a cluster.`,
    );
  }
  if (!kubeConfig.getCurrentCluster())
    throw new UserError("no Kubernetes cluster configured: pass --kubeconfig PATH or run in a cluster.");
  return kubeConfig;
}

/** The current context's namespace, or "default". */
export function contextNamespace(kubeConfig: KubeConfig): string | undefined {
  return kubeConfig.getContextObject(kubeConfig.getCurrentContext())?.namespace;
}
