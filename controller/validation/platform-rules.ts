// Rules that depend on the lineage's platform (its foundation's spec.source.platform): a Windows recipe is
// Chocolatey packages, drive paths and PowerShell; a Linux recipe takes no drive paths. Checked across
// specs, since a base or app learns its platform from its foundation.
import type { Provision } from "../api/types.generated.ts";
import { USER_DATA_LIMIT_BYTES } from "../execute/user-data.ts";
import {
  renderWindowsUserDataOfAnySize,
  WINDOWS_PATH,
  windowsRecipeProblems,
} from "../execute/windows-user-data.ts";
import type { Platform } from "../lineage/platform.ts";
import { type Fields, fields, type Problem, text } from "./problem.ts";

/** A build id as long as any of the spec's (VERSION+HASH8): the rendered size does not depend on the hash. */
const HASH = "00000000";

export function checkPlatformRules(document: Fields, platform: Platform, foundation: string): Problem[] {
  const spec = fields(document.spec);
  if (spec === undefined || text(spec.layer) === "foundation") return [];
  const provision = fields(spec.provision) as Provision | undefined;
  if (platform === "linux") {
    const files = Array.isArray(provision?.files) ? provision.files : [];
    return files.flatMap((file, i): Problem[] => {
      const path = text(fields(file)?.path);
      return path !== undefined && WINDOWS_PATH.test(path)
        ? [
            {
              path: ["spec", "provision", "files", i, "path"],
              target: "value",
              message: `"${path}" is a Windows path, but foundation "${foundation}" is linux; use an absolute path such as /etc/app.conf, or set platform: windows in ${foundation}'s source`,
            },
          ]
        : [];
    });
  }
  const problems: Problem[] = windowsRecipeProblems(provision).map((p) => ({
    ...p,
    message: `${foundation} is a Windows foundation: ${p.message}`,
  }));
  const method = text(fields(spec.bake)?.method);
  if (method !== undefined && method !== "instance")
    problems.push({
      path: ["spec", "bake", "method"],
      target: "value",
      message: `${foundation} is a Windows foundation: Windows images bake with the instance method only; set bake.method: instance or remove it`,
    });
  if (fields(spec.checks)?.smoke !== undefined)
    problems.push({
      path: ["spec", "checks", "smoke"],
      target: "key",
      message: `${foundation} is a Windows foundation: smoke checks run a bash script, which a Windows image cannot; remove checks.smoke`,
    });
  if (problems.length === 0 && provision !== undefined) {
    const name = text(fields(document.metadata)?.name) ?? "";
    const buildId = `${text(spec.version) ?? "0.0.0"}+${HASH}`;
    const bytes = Buffer.byteLength(renderWindowsUserDataOfAnySize({ buildId, spec: name, provision }));
    if (bytes > USER_DATA_LIMIT_BYTES)
      problems.push({
        path: ["spec", "provision"],
        target: "key",
        message: `the Windows bake script would be ${bytes} bytes, over EC2's ${USER_DATA_LIMIT_BYTES}-byte user-data limit (file contents and the script are embedded base64-encoded); ship large files in a Chocolatey package, or fetch them from the provision script`,
      });
  }
  return problems;
}
