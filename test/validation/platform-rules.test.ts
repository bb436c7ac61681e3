// Rules a lineage's platform imposes: a base or app learns it from its foundation, and a recipe that makes
// no sense there is an error at the field that asks for it.
import { describe, expect, it } from "vitest";
import { run } from "../support/in-process-cli.ts";

describe("platform rules", () => {
  it("reports Linux-only recipe fields on a Windows lineage, and Windows paths on a Linux one, at file:line", async () => {
    const result = await run(["validate", "test/fixtures/invalid/windows.yaml"]);
    expect(result).toEqual({
      code: 1,
      stdout: "",
      stderr: [
        "test/fixtures/invalid/windows.yaml:24:5 spec.provision.repositories: windows-2022 is a Windows foundation: package repositories are apt or yum repositories, and a Windows bake installs Chocolatey packages; remove repositories (add a Chocolatey source with `choco source add` in the script instead)",
        'test/fixtures/invalid/windows.yaml:27:15 spec.provision.files[0].path: windows-2022 is a Windows foundation: "/etc/motd" is not a Windows path; on Windows a file path starts with a drive, such as C:\\ProgramData\\app\\app.conf',
        "test/fixtures/invalid/windows.yaml:30:9 spec.provision.files[1].mode: windows-2022 is a Windows foundation: mode is a Linux permission; Windows files take none: remove mode (set ACLs with icacls in the script)",
        "test/fixtures/invalid/windows.yaml:33:13 spec.bake.method: windows-2022 is a Windows foundation: Windows images bake with the instance method only; set bake.method: instance or remove it",
        "test/fixtures/invalid/windows.yaml:35:5 spec.checks.smoke: windows-2022 is a Windows foundation: smoke checks run a bash script, which a Windows image cannot; remove checks.smoke",
        `test/fixtures/invalid/windows.yaml:61:15 spec.provision.files[0].path: "C:\\Windows\\motd.txt" is a Windows path, but foundation "ubuntu" is linux; use an absolute path such as /etc/app.conf, or set platform: windows in ubuntu's source`,
        "6 errors: 2 specs valid, 2 invalid (1 file, 4 documents)",
        "",
      ].join("\n"),
    });
  });

  it("refuses the volume method on a Windows lineage and accepts it on a Linux one", async () => {
    const result = await run(["validate", "test/fixtures/invalid/windows.yaml"]);
    expect(result.stderr).toContain(
      "test/fixtures/invalid/windows.yaml:33:13 spec.bake.method: windows-2022 is a Windows foundation: Windows images bake with the instance method only",
    );
    expect(result.stderr).not.toMatch(/windows\.yaml:\d+:\d+ spec\.bake\.method: ubuntu/);
  });

  it("accepts a Windows lineage of Chocolatey packages, drive paths and PowerShell", async () => {
    expect((await run(["validate", "test/fixtures/windows"])).code).toBe(0);
  });
});
