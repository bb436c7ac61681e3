// A kubeconfig for the in-process server: plain HTTP on loopback, no credentials, namespace default.
import { writeFileSync } from "node:fs";

export function kubeconfigYaml(serverUrl: string, namespace = "default"): string {
  return [
    "apiVersion: v1",
    "kind: Config",
    "clusters:",
    "  - name: leaven-test",
    "    cluster:",
    `      server: ${serverUrl}`,
    // Plain HTTP: @kubernetes/client-node refuses it unless TLS verification is (vacuously) skipped.
    "      insecure-skip-tls-verify: true",
    "contexts:",
    "  - name: leaven-test",
    "    context:",
    "      cluster: leaven-test",
    "      user: leaven-test",
    `      namespace: ${namespace}`,
    "current-context: leaven-test",
    "preferences: {}",
    "users:",
    "  - name: leaven-test",
    "    user: {}",
    "",
  ].join("\n");
}

/** Writes the kubeconfig to `path` (mode 0600, as kubectl prefers) and returns the path. */
export function writeKubeconfig(serverUrl: string, path: string, namespace?: string): string {
  writeFileSync(path, kubeconfigYaml(serverUrl, namespace), { mode: 0o600 });
  return path;
}
