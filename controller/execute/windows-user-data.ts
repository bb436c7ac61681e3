// Renders the bake script of a Windows lineage: EC2Launch v2 user data (a YAML task document) whose one
// executeScript task runs PowerShell once on the bake instance. It installs Chocolatey unless the image has
// it, installs the spec's packages with it, writes the files, runs the spec's PowerShell script, and prints
// the bake marker (bake-protocol.ts) to COM1 — the serial port EC2 returns from GetConsoleOutput — then
// generalises the instance with Sysprep through EC2Launch, which shuts it down so the image can be taken.
// A failure prints the failure marker with the failing step and shuts down without Sysprep: the controller
// reads the marker and terminates the instance.
//
// COM1 rather than EC2Launch's console log: EC2Launch v2 does not copy a script's output to the console,
// but it does write its own messages to COM1, and so may a script; the marker is also written to the
// script's output so it lands in EC2Launch's agent log for a person debugging the instance.
//
// File contents and the spec's script are embedded base64-encoded: no quoting or here-string terminator in
// them can change the script around them (at the cost of a third more bytes against the 16 KB limit).
import { BUILD_ID_ASSIGNMENT, formatBakeMarker } from "../api/bake-protocol.ts";
import type { Provision } from "../api/types.generated.ts";
import type { FieldPath } from "../sources/source-document.ts";
import { UserDataError, type UserDataInput, withinUserDataLimit } from "./user-data.ts";

/** A Windows absolute path: a drive letter, a colon and a backslash (or slash), e.g. C:\ProgramData\app. */
export const WINDOWS_PATH = /^[A-Za-z]:[\\/]/;

const NO_WHITESPACE = /^\S+$/;
const BUILD_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+:@-]*$/;
/** Where the spec's script is written to run as its own PowerShell process. */
export const WINDOWS_SCRIPT_PATH = "C:\\ProgramData\\Leaven\\provision.ps1";
/** Chocolatey's exit statuses that mean installed: 0, and 1641/3010 (installed, a reboot is pending). */
const CHOCO_SUCCESS = [0, 1641, 3010];

/** What a Windows bake cannot do with a recipe, each at the field that asks for it. */
export interface WindowsRecipeProblem {
  path: FieldPath;
  target: "value" | "key";
  message: string;
}

/** The parts of a recipe that make no sense on Windows; shared by the renderer and validation. */
export function windowsRecipeProblems(provision: Provision | undefined): WindowsRecipeProblem[] {
  const problems: WindowsRecipeProblem[] = [];
  const at = (...rest: Array<string | number>): FieldPath => ["spec", "provision", ...rest];
  (provision?.packages ?? []).forEach((pkg, i) => {
    if (!NO_WHITESPACE.test(pkg) || pkg.startsWith("-") || pkg.startsWith("="))
      problems.push({
        path: at("packages", i),
        target: "value",
        message: `Chocolatey package ${JSON.stringify(pkg)} must be name or name=version, without spaces or a leading "-" or "="`,
      });
  });
  if (provision?.repositories !== undefined)
    problems.push({
      path: at("repositories"),
      target: "key",
      message:
        "package repositories are apt or yum repositories, and a Windows bake installs Chocolatey packages; remove repositories (add a Chocolatey source with `choco source add` in the script instead)",
    });
  (provision?.files ?? []).forEach((file, i) => {
    if (!WINDOWS_PATH.test(file.path))
      problems.push({
        path: at("files", i, "path"),
        target: "value",
        message: `"${file.path}" is not a Windows path; on Windows a file path starts with a drive, such as C:\\ProgramData\\app\\app.conf`,
      });
    if (file.mode !== undefined)
      problems.push({
        path: at("files", i, "mode"),
        target: "key",
        message:
          "mode is a Linux permission; Windows files take none: remove mode (set ACLs with icacls in the script)",
      });
    if (file.owner !== undefined)
      problems.push({
        path: at("files", i, "owner"),
        target: "key",
        message:
          "owner is a Linux user:group; Windows files take none: remove owner (set it with icacls /setowner in the script)",
      });
    if (file.s3 !== undefined)
      problems.push({
        path: at("files", i, "s3"),
        target: "key",
        message:
          "files from S3 are fetched by the Linux bake script; on Windows set content, or fetch the object with Read-S3Object in the script",
      });
  });
  if (provision?.upgrade !== undefined)
    problems.push({
      path: at("upgrade"),
      target: "key",
      message:
        "upgrade runs apt or dnf; on Windows remove it (install updates with PSWindowsUpdate in the script)",
    });
  if (provision?.ansible !== undefined)
    problems.push({
      path: at("ansible"),
      target: "key",
      message:
        "ansible runs a playbook locally on a Linux bake; on Windows remove it (run the script instead)",
    });
  return problems;
}

/** Quotes a string as a PowerShell single-quoted literal: nothing inside is expanded. */
export function psQuote(value: string): string {
  if (value.includes("\0")) throw new UserDataError("a PowerShell string cannot contain a NUL byte");
  // PowerShell also ends a single-quoted string at the typographic quotes ‘ ’ ‚ ‛; doubling escapes each.
  return `'${value.replace(/['\u2018\u2019\u201a\u201b]/g, (q) => q + q)}'`;
}

function base64(content: string): string {
  return Buffer.from(content, "utf8").toString("base64");
}

function step(label: string): string {
  return `$LeavenStep = ${psQuote(label)}`;
}

function chocolateySection(packages: readonly string[]): string[] {
  if (packages.length === 0) return [];
  const lines = [
    "",
    "  # Chocolatey: the image's own when it has one (offline-safe), else the official installer.",
    `  ${step("install Chocolatey")}`,
    "  if (-not (Get-Command choco.exe -ErrorAction SilentlyContinue)) {",
    "    [Net.ServicePointManager]::SecurityProtocol = [Net.ServicePointManager]::SecurityProtocol -bor [Net.SecurityProtocolType]::Tls12",
    "    Invoke-Expression ((New-Object Net.WebClient).DownloadString('https://community.chocolatey.org/install.ps1'))",
    '    $env:Path = "$env:Path;$env:ProgramData\\chocolatey\\bin"',
    "  }",
  ];
  for (const pkg of packages) {
    const eq = pkg.indexOf("=");
    const name = eq < 0 ? pkg : pkg.slice(0, eq);
    const version = eq < 0 ? [] : [psQuote(`--version=${pkg.slice(eq + 1)}`)];
    lines.push(
      `  ${step(`install package ${pkg}`)}`,
      `  & choco.exe install ${psQuote(name)} ${[...version, "--yes", "--no-progress"].join(" ")}`,
      `  if (@(${CHOCO_SUCCESS.join(", ")}) -notcontains $LASTEXITCODE) { throw "choco install exited with status $LASTEXITCODE" }`,
    );
  }
  return lines;
}

function filesSection(provision: Provision): string[] {
  const files = provision.files ?? [];
  if (files.length === 0) return [];
  const lines = ["", "  # Files, after packages so they override packaged defaults."];
  for (const file of files) {
    lines.push(
      `  ${step(`write file ${file.path}`)}`,
      `  Write-LeavenFile ${psQuote(file.path)} ${psQuote(base64(file.content ?? ""))}`,
    );
  }
  return lines;
}

function scriptSection(script: string): string[] {
  if (script.trim() === "") return [];
  return [
    "",
    "  # The spec's script, as its own PowerShell process: its exit status is the step's.",
    `  ${step("run the provision script")}`,
    `  Write-LeavenFile ${psQuote(WINDOWS_SCRIPT_PATH)} ${psQuote(base64(script))}`,
    `  & powershell.exe -NoProfile -NonInteractive -ExecutionPolicy Bypass -File ${psQuote(WINDOWS_SCRIPT_PATH)}`,
    '  if ($LASTEXITCODE -ne 0) { throw "the script exited with status $LASTEXITCODE" }',
    `  Remove-Item -LiteralPath ${psQuote(WINDOWS_SCRIPT_PATH)} -Force`,
  ];
}

const FUNCTIONS = String.raw`$ErrorActionPreference = 'Stop'
$ProgressPreference = 'SilentlyContinue'
$LeavenStep = 'start'

# The marker goes to COM1, the console GetConsoleOutput returns, and to the output EC2Launch logs.
function Write-LeavenReport([string]$Line) {
  Write-Output $Line
  try {
    $port = New-Object System.IO.Ports.SerialPort 'COM1', 115200, 'None', 8, 'One'
    $port.Open()
    $port.WriteLine($Line)
    $port.Close()
  } catch {
    Write-Output "leaven: could not write to COM1: $($_.Exception.Message)"
  }
}

function Write-LeavenFile([string]$Path, [string]$Content) {
  $parent = Split-Path -Parent $Path
  if ($parent -and -not (Test-Path -LiteralPath $parent)) {
    New-Item -ItemType Directory -Force -Path $parent | Out-Null
  }
  [IO.File]::WriteAllBytes($Path, [Convert]::FromBase64String($Content))
}`;

const CLEANUP = String.raw`  if (Get-Command choco.exe -ErrorAction SilentlyContinue) {
    Remove-Item -Recurse -Force -ErrorAction SilentlyContinue "$env:TEMP\chocolatey", "$env:ProgramData\chocolatey\logs\*"
  }
  Remove-Item -Recurse -Force -ErrorAction SilentlyContinue "$env:TEMP\*", "$env:windir\Temp\*"`;

/** The EC2Launch v2 user data of one Windows build of a spec. Same input, same bytes. */
export function renderWindowsUserData(input: UserDataInput): string {
  return withinUserDataLimit(input.spec, renderWindowsUserDataOfAnySize(input), "a Chocolatey package");
}

/** renderWindowsUserData without the size limit, for validation to measure a recipe. */
export function renderWindowsUserDataOfAnySize(input: UserDataInput): string {
  if (!BUILD_ID_PATTERN.test(input.buildId))
    throw new UserDataError(
      `spec ${JSON.stringify(input.spec)}: build id ${JSON.stringify(input.buildId)} must be letters, digits and . _ + : @ - only`,
    );
  const [first] = windowsRecipeProblems(input.provision);
  if (first !== undefined) throw new UserDataError(`spec ${JSON.stringify(input.spec)}: ${first.message}`);
  const provision = input.provision ?? {};
  const sentinel = "LEAVEN_REASON_SENTINEL";
  const failurePrefix = formatBakeMarker({ build: input.buildId, result: "failure", reason: sentinel }).split(
    `"${sentinel}"`,
  )[0]!;
  const success = formatBakeMarker({ build: input.buildId, result: "success" });

  const script = [
    "# Leaven bake script, rendered from the ImageSpec; EC2Launch v2 runs it once on the bake instance.",
    // A comment block holds the build id on a line of its own, as bake-protocol.ts reads it.
    "<#",
    `${BUILD_ID_ASSIGNMENT}${input.buildId}`,
    "#>",
    `$env:LEAVEN_BUILD_ID = ${psQuote(input.buildId)}`,
    `$env:LEAVEN_SPEC = ${psQuote(input.spec)}`,
    FUNCTIONS,
    "",
    "try {",
    ...chocolateySection(provision.packages ?? []),
    ...filesSection(provision),
    ...scriptSection(provision.script ?? ""),
    "",
    "  # Clean the instance for imaging; Sysprep below resets its identity.",
    `  ${step("clean the instance for imaging")}`,
    CLEANUP,
    `  ${step("report success")}`,
    `  Write-LeavenReport ${psQuote(success)}`,
    "} catch {",
    '  $reason = "$LeavenStep failed: $($_.Exception.Message)"',
    `  Write-LeavenReport (${psQuote(failurePrefix)} + (ConvertTo-Json -Compress $reason))`,
    "  Stop-Computer -Force",
    "  exit 1",
    "}",
    "",
    "# Generalise last: Sysprep through EC2Launch resets the identity and shuts the instance down.",
    '& "$env:ProgramFiles\\Amazon\\EC2Launch\\EC2Launch.exe" sysprep --clean --shutdown',
  ];
  const indented = script
    .flatMap((line) => line.split("\n"))
    .map((line) => (line === "" ? "" : `          ${line}`));
  return [
    "version: 1.1",
    "tasks:",
    "  - task: executeScript",
    "    inputs:",
    "      - frequency: once",
    "        type: powershell",
    "        runAs: localSystem",
    "        content: |-",
    ...indented,
    "",
  ].join("\n");
}

/** Whether user data is an EC2Launch v2 document Leaven rendered (the simulator runs it as Windows). */
export function isWindowsUserData(userData: string): boolean {
  return userData.startsWith("version: 1.1\ntasks:\n") && userData.includes("EC2Launch.exe");
}
