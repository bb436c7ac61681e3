import { describe, expect, it } from "vitest";
import { parse } from "yaml";
import { buildIdFromUserData, parseBakeMarker } from "../../controller/api/bake-protocol.ts";
import type { Provision } from "../../controller/api/types.generated.ts";
import { UserDataError } from "../../controller/execute/user-data.ts";
import {
  isWindowsUserData,
  psQuote,
  renderWindowsUserData,
} from "../../controller/execute/windows-user-data.ts";

const BUILD = "1.2.0+abcd1234";

function render(provision: Parameters<typeof renderWindowsUserData>[0]["provision"]) {
  return renderWindowsUserData({ buildId: BUILD, spec: "win-app", ...(provision ? { provision } : {}) });
}

/** The PowerShell of the one executeScript task, as EC2Launch v2 reads it from the YAML. */
function powershell(userData: string): string {
  const doc = parse(userData) as {
    version: number;
    tasks: Array<{ task: string; inputs: Array<{ frequency: string; type: string; content: string }> }>;
  };
  expect(doc.version).toBe(1.1);
  expect(doc.tasks).toHaveLength(1);
  expect(doc.tasks[0]!.task).toBe("executeScript");
  expect(doc.tasks[0]!.inputs).toHaveLength(1);
  expect(doc.tasks[0]!.inputs[0]!.type).toBe("powershell");
  expect(doc.tasks[0]!.inputs[0]!.frequency).toBe("once");
  return doc.tasks[0]!.inputs[0]!.content;
}

/**
 * pwsh is not in Debian's archive, so the script is checked structurally: outside string literals and
 * comments, braces and parentheses balance; every string literal closes; and none of bash's idioms appear.
 */
function structuralProblems(script: string): string[] {
  const problems: string[] = [];
  const stack: string[] = [];
  const pairs: Record<string, string> = { "}": "{", ")": "(", "]": "[" };
  let i = 0;
  while (i < script.length) {
    const c = script[i]!;
    if (script.startsWith("<#", i)) {
      const end = script.indexOf("#>", i + 2);
      if (end < 0) return [...problems, "unclosed <# comment"];
      i = end + 2;
    } else if (c === "#") {
      const end = script.indexOf("\n", i);
      i = end < 0 ? script.length : end;
    } else if (c === "'") {
      let j = i + 1;
      for (;;) {
        if (j >= script.length) return [...problems, `unclosed ' string at ${i}`];
        if (script[j] === "'" && script[j + 1] === "'") j += 2;
        else if (script[j] === "'") break;
        else j++;
      }
      i = j + 1;
    } else if (c === '"') {
      let j = i + 1;
      while (j < script.length && script[j] !== '"') j += script[j] === "`" ? 2 : 1;
      if (j >= script.length) return [...problems, `unclosed " string at ${i}`];
      i = j + 1;
    } else {
      if ("{([".includes(c)) stack.push(c);
      if ("})]".includes(c) && stack.pop() !== pairs[c]) problems.push(`unbalanced ${c} at ${i}`);
      i++;
    }
  }
  if (stack.length > 0) problems.push(`unclosed ${stack.join("")}`);
  for (const bashism of [/^set -e/m, /\bfi$/m, /\bthen$/m, /&&/, /\|\|/, /\$\{\w+:-/, /<<'?\w+/])
    if (bashism.test(script)) problems.push(`bash idiom ${bashism.source}`);
  return problems;
}

const RECIPES: Record<string, Provision | undefined> = {
  empty: undefined,
  packages: { packages: ["git", "nodejs-lts=20.11.0"] },
  files: {
    files: [
      { path: "C:\\ProgramData\\web\\app.conf", content: "listen = 8080\nname = 'it''s'\n" },
      { path: "D:/data/empty.txt", content: "" },
    ],
  },
  script: { script: 'Write-Output "hello"\nif ($true) { exit 0 }\n' },
  everything: {
    packages: ["7zip"],
    files: [{ path: "C:\\web\\index.html", content: "<h1>}{ \"' @'\n'@</h1>" }],
    script: "Install-WindowsFeature Web-Server\n",
  },
};

describe("the Windows bake script", () => {
  it.each(Object.entries(RECIPES))("%s: EC2Launch v2 YAML around well-formed PowerShell", (_, provision) => {
    const userData = render(provision);
    const script = powershell(userData);
    expect(structuralProblems(script)).toEqual([]);
    expect(isWindowsUserData(userData)).toBe(true);
    expect(buildIdFromUserData(userData)).toBe(BUILD);
    // Sysprep is the last thing the script does: it shuts the instance down.
    expect(script.trimEnd().split("\n").at(-1)).toBe(
      '& "$env:ProgramFiles\\Amazon\\EC2Launch\\EC2Launch.exe" sysprep --clean --shutdown',
    );
    expect(script).toContain("Write-LeavenReport 'LEAVEN-BAKE-RESULT build=1.2.0+abcd1234 result=success'");
    expect(script).toContain(
      "Write-LeavenReport ('LEAVEN-BAKE-RESULT build=1.2.0+abcd1234 result=failure reason=' + (ConvertTo-Json -Compress $reason))",
    );
    expect(script).toContain("New-Object System.IO.Ports.SerialPort 'COM1'");
  });

  it("installs Chocolatey only when the image lacks it, then each package with its version", () => {
    const script = powershell(render(RECIPES.packages));
    expect(script).toContain("if (-not (Get-Command choco.exe -ErrorAction SilentlyContinue)) {");
    expect(script).toContain("& choco.exe install 'git' --yes --no-progress\n");
    expect(script).toContain("& choco.exe install 'nodejs-lts' '--version=20.11.0' --yes --no-progress\n");
    expect(script).toContain(
      'if (@(0, 1641, 3010) -notcontains $LASTEXITCODE) { throw "choco install exited with status $LASTEXITCODE" }',
    );
    expect(script.indexOf("install Chocolatey")).toBeLessThan(script.indexOf("choco.exe install 'git'"));
  });

  it("needs no Chocolatey when there are no packages", () => {
    const script = powershell(render(RECIPES.files));
    expect(script).not.toContain("choco.exe install");
    expect(script).not.toContain("install Chocolatey");
  });

  it("writes each file's exact bytes, and runs the script as its own process", () => {
    const script = powershell(render(RECIPES.everything));
    const encoded = Buffer.from("<h1>}{ \"' @'\n'@</h1>").toString("base64");
    expect(script).toContain(`Write-LeavenFile 'C:\\web\\index.html' '${encoded}'`);
    const scriptBytes = Buffer.from("Install-WindowsFeature Web-Server\n").toString("base64");
    expect(script).toContain(`Write-LeavenFile 'C:\\ProgramData\\Leaven\\provision.ps1' '${scriptBytes}'`);
    expect(script).toContain(
      "& powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File 'C:\\ProgramData\\Leaven\\provision.ps1'",
    );
    // Packages, then files, then the script, then the success marker, then Sysprep.
    const order = [
      "choco.exe install '7zip'",
      "Write-LeavenFile 'C:\\web",
      "-File 'C:\\ProgramData",
      "result=success",
      "sysprep",
    ].map((s) => script.indexOf(s));
    expect(order).toEqual([...order].sort((a, b) => a - b));
    expect(order).not.toContain(-1);
  });

  it("renders the same bytes for the same input", () => {
    expect(render(RECIPES.everything)).toBe(render(RECIPES.everything));
  });

  it("prints a failure marker the controller parses, with the failing step", () => {
    // What the catch block prints for a failed choco install (ConvertTo-Json of the reason).
    const reason = JSON.stringify("install package git failed: choco install exited with status 1");
    const line = `LEAVEN-BAKE-RESULT build=${BUILD} result=failure reason=${reason}`;
    expect(parseBakeMarker(`EC2Launch: running\r\n${line}\r\n`, BUILD)).toMatchObject({
      result: "failure",
      reason: "install package git failed: choco install exited with status 1",
    });
  });

  it.each([
    [{ files: [{ path: "/etc/motd", content: "" }] }, '"/etc/motd" is not a Windows path'],
    [{ files: [{ path: "C:\\a", content: "", mode: "0644" }] }, "mode is a Linux permission"],
    [{ packages: ["-force"] }, 'Chocolatey package "-force" must be name or name=version'],
  ] as Array<[Provision, string]>)("refuses %j", (provision, message) => {
    expect(() => render(provision)).toThrow(UserDataError);
    expect(() => render(provision)).toThrow(message);
  });

  it("refuses a script over EC2's 16 KB user-data limit", () => {
    expect(() => render({ script: "x".repeat(13_000) })).toThrow(
      /the bake script is \d+ bytes, over EC2's 16384-byte user-data limit/,
    );
  });

  it("quotes PowerShell literals so nothing in them expands", () => {
    expect(psQuote("it's $HOME")).toBe("'it''s $HOME'");
    expect(psQuote("\u2019")).toBe("'\u2019\u2019'");
  });
});
