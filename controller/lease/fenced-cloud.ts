// A cloud port that refuses to change anything once the run no longer holds its installation's lock: the
// last line of "a holder that lost the lease never keeps mutating". Reads go through (observing is
// harmless); every other call — run, create, copy, tag, deregister, delete, put — is refused with a
// CloudError before a request is sent. A call already sent when the lease is lost is not recalled.
import { CloudError, type CloudPort } from "../cloud/port.ts";

/** Calls that only read. Anything not listed is treated as mutating, so a new port method is fenced by default. */
const READS = new Set<string>([
  "describeRegions",
  "describeImages",
  "describeInstances",
  "describeSnapshots",
  "getConsoleOutput",
  "describeLaunchPermissions",
  "describeVolumePermissions",
  "describeLaunchTemplateImages",
  "describeLaunchTemplates",
  "getParameters",
  "getParametersByPath",
  "describeParameters",
  "listTagsForResource",
  "describeVolumes",
  "getCommandInvocation",
  "listCommands",
]);

export const LOCK_LOST_CODE = "LeavenLockLost";

/** `cloud`, with every mutating call refused while `problem()` gives a reason (e.g. Lease.problem). */
export function fenceCloud(cloud: CloudPort, problem: () => string | undefined): CloudPort {
  return new Proxy(cloud, {
    get(target, property, receiver) {
      const value: unknown = Reflect.get(target, property, receiver);
      if (typeof value !== "function" || typeof property !== "string" || READS.has(property)) {
        return typeof value === "function" ? value.bind(target) : value;
      }
      return (...args: unknown[]) => {
        const why = problem();
        if (why !== undefined)
          return Promise.reject(new CloudError(LOCK_LOST_CODE, `not sent: ${why}`, 0, true));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
}
