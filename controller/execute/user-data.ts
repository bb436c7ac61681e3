// Renders the bake script: the user data cloud-init runs once on the bake instance. It provisions the
// instance from the spec, cleans it for imaging, prints the bake marker (bake-protocol.ts) to the console
// and powers off; the controller reads the marker back with GetConsoleOutput. Any failure prints the
// failure marker with the failing step and exit status, and still powers off.
//
// Every path the script writes is prefixed with $LEAVEN_ROOT (empty on a real instance) so tests can run
// the exact rendered bytes in a sandbox.
import path from "node:path";
import { BUILD_ID_ASSIGNMENT, formatBakeMarker } from "../api/bake-protocol.ts";
import type { Provision, Repository, File as SpecFile } from "../api/types.generated.ts";

export interface UserDataInput {
  buildId: string;
  spec: string;
  provision?: Provision;
}

/** EC2 limits user data to 16 KB before base64 encoding. */
export const USER_DATA_LIMIT_BYTES = 16 * 1024;

export class UserDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "UserDataError";
  }
}

const SAFE_WORD = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** Quotes a string as one shell word: bare when it is plainly safe, otherwise single-quoted. */
export function shellQuote(value: string): string {
  if (value.includes("\0")) throw new UserDataError("a shell word cannot contain a NUL byte");
  if (value === "") return "''";
  if (SAFE_WORD.test(value)) return value;
  return `'${value.replaceAll("'", `'\\''`)}'`;
}

/** A heredoc delimiter that does not occur anywhere in the content, so the content cannot end it early. */
export function heredocDelimiter(content: string): string {
  let delimiter = "LEAVEN_EOF";
  for (let n = 1; content.includes(delimiter); n++) delimiter = `LEAVEN_EOF_${n}`;
  return delimiter;
}

/** `name=version` as apt writes it becomes dnf/yum's `name-version`. */
export function rpmPackageName(pkg: string): string {
  const eq = pkg.indexOf("=");
  return eq < 0 ? pkg : `${pkg.slice(0, eq)}-${pkg.slice(eq + 1)}`;
}

/** A path under $LEAVEN_ROOT, as a shell word. */
function rooted(absolutePath: string): string {
  return `"$LEAVEN_ROOT"${shellQuote(absolutePath)}`;
}

/** Sets the step the failure marker names; the label is stored JSON-escaped so the marker stays parseable. */
function step(label: string): string {
  return `leaven_step=${shellQuote(JSON.stringify(label).slice(1, -1))}`;
}

function heredoc(command: string, content: string): string[] {
  const delimiter = heredocDelimiter(content);
  const body = content.endsWith("\n") ? content.slice(0, -1) : content;
  return [`${command} <<'${delimiter}'`, body, delimiter];
}

const NO_WHITESPACE = /^\S+$/;
const BUILD_ID_PATTERN = /^[A-Za-z0-9][A-Za-z0-9._+:@-]*$/;
const MODE_PATTERN = /^0?[0-7]{3}$/;

function check(condition: boolean, spec: string, problem: string): void {
  if (!condition) throw new UserDataError(`spec ${JSON.stringify(spec)}: ${problem}`);
}

function validate(input: UserDataInput): void {
  const { spec, provision } = input;
  check(
    BUILD_ID_PATTERN.test(input.buildId),
    spec,
    `build id ${JSON.stringify(input.buildId)} must be letters, digits and . _ + : @ - only`,
  );
  for (const pkg of provision?.packages ?? []) {
    check(
      // A leading "=" would become "-…" once rewritten as name-version for dnf/yum: an option, not a package.
      NO_WHITESPACE.test(pkg) && !pkg.startsWith("-") && !pkg.startsWith("="),
      spec,
      `package ${JSON.stringify(pkg)} must be name or name=version, without spaces or a leading "-" or "="`,
    );
  }
  for (const repo of provision?.repositories ?? []) {
    const where = `repository ${JSON.stringify(repo.name)}`;
    check(
      /^[A-Za-z0-9][-A-Za-z0-9_.]*$/.test(repo.name),
      spec,
      `${where}: name must be letters, digits, - _ .`,
    );
    for (const [field, value] of [
      ["url", repo.url],
      ["gpgKey", repo.gpgKey],
      ["distribution", repo.distribution],
      ...(repo.components ?? []).map((c) => ["components", c] as const),
    ] as const) {
      if (value !== undefined)
        check(NO_WHITESPACE.test(value), spec, `${where}: ${field} must not contain spaces`);
    }
  }
  for (const file of provision?.files ?? []) {
    const where = `file ${JSON.stringify(file.path)}`;
    check(path.posix.isAbsolute(file.path), spec, `${where}: path must be absolute`);
    if (file.mode !== undefined)
      check(MODE_PATTERN.test(file.mode), spec, `${where}: mode must be octal like 0644`);
    if (file.owner !== undefined) {
      check(
        NO_WHITESPACE.test(file.owner) && !file.owner.startsWith("-"),
        spec,
        `${where}: owner must be user or user:group`,
      );
    }
  }
}

function aptRepository(repo: Repository): string[] {
  const keyring = `/etc/apt/keyrings/${repo.name}.asc`;
  const options = repo.gpgKey ? ` [signed-by=${keyring}]` : "";
  // Without a distribution the repository is a flat one ("deb URL ./"), which takes no components.
  const suite = repo.distribution ? [repo.distribution, ...(repo.components ?? [])].join(" ") : "./";
  return [
    step(`add apt repository ${repo.name}`),
    ...(repo.gpgKey
      ? [
          `mkdir -p ${rooted("/etc/apt/keyrings")}`,
          `leaven_fetch ${shellQuote(repo.gpgKey)} ${rooted(keyring)}`,
        ]
      : []),
    `mkdir -p ${rooted("/etc/apt/sources.list.d")}`,
    `printf '%s\\n' ${shellQuote(`deb${options} ${repo.url} ${suite}`)} >${rooted(`/etc/apt/sources.list.d/${repo.name}.list`)}`,
  ];
}

function rpmRepository(repo: Repository): string[] {
  const lines = [
    `[${repo.name}]`,
    `name=${repo.name}`,
    `baseurl=${repo.url}`,
    "enabled=1",
    ...(repo.gpgKey ? ["gpgcheck=1", `gpgkey=${repo.gpgKey}`] : ["gpgcheck=0"]),
  ];
  return [
    step(`add yum repository ${repo.name}`),
    `mkdir -p ${rooted("/etc/yum.repos.d")}`,
    `printf '%s\\n' ${lines.map(shellQuote).join(" ")} >${rooted(`/etc/yum.repos.d/${repo.name}.repo`)}`,
  ];
}

function packagesSection(provision: Provision): string[] {
  const packages = provision.packages ?? [];
  const repositories = provision.repositories ?? [];
  if (packages.length === 0 && repositories.length === 0) return [];
  const indent = (lines: string[]) => lines.map((line) => `  ${line}`);
  const apt = [
    "export DEBIAN_FRONTEND=noninteractive",
    ...repositories.flatMap(aptRepository),
    ...(packages.length
      ? [
          step("update the apt package index"),
          "apt-get update",
          step("install packages"),
          `apt-get install -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold ${packages.map(shellQuote).join(" ")}`,
        ]
      : []),
  ];
  const rpm = [
    ...repositories.flatMap(rpmRepository),
    ...(packages.length
      ? [
          step("install packages"),
          `"$leaven_pm" install -y ${packages.map(rpmPackageName).map(shellQuote).join(" ")}`,
        ]
      : []),
  ];
  return [
    "",
    "# Packages, after their repositories.",
    step("detect the package manager"),
    'if [ -z "$leaven_pm" ]; then',
    "  echo 'leaven: no supported package manager (apt-get, dnf or yum) on this image' >&2",
    "  exit 1",
    "fi",
    'if [ "$leaven_pm" = apt-get ]; then',
    ...indent(apt),
    "else",
    ...indent(rpm.length ? rpm : [":"]),
    "fi",
  ];
}

function fileSection(file: SpecFile): string[] {
  const target = rooted(file.path);
  const lines = [step(`write file ${file.path}`), `mkdir -p ${rooted(path.posix.dirname(file.path))}`];
  if (file.content === "") {
    lines.push(`: >${target}`);
  } else {
    lines.push(...heredoc(`cat >${target}`, file.content));
    // A heredoc always ends in a newline; take it back off when the content has none.
    if (!file.content.endsWith("\n")) lines.push(`truncate -s -1 ${target}`);
  }
  if (file.mode !== undefined) lines.push(`chmod ${shellQuote(file.mode)} ${target}`);
  if (file.owner !== undefined) lines.push(`chown ${shellQuote(file.owner)} ${target}`);
  return lines;
}

function scriptSection(script: string): string[] {
  const file = "/run/leaven/provision.sh";
  return [
    "",
    "# The spec's script, as its own bash process: its exit status is the step's.",
    step("run the provision script"),
    `mkdir -p ${rooted(path.posix.dirname(file))}`,
    ...heredoc(`cat >${rooted(file)}`, script),
    `bash ${rooted(file)} </dev/null`,
    `rm -f ${rooted(file)}`,
  ];
}

const PRELUDE = String.raw`set -euo pipefail
umask 022
LEAVEN_ROOT="${"$"}{LEAVEN_ROOT:-}"
export LEAVEN_BUILD_ID LEAVEN_SPEC
leaven_step=start
leaven_done=0

leaven_report() {
  printf '%s\n' "$1"
  { printf '%s\n' "$1" >"$LEAVEN_ROOT/dev/console"; } 2>/dev/null || true
}

leaven_fetch() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsSL --retry 5 -o "$2" "$1"
  elif command -v wget >/dev/null 2>&1; then
    wget -q -O "$2" "$1"
  else
    echo "leaven: neither curl nor wget is installed to fetch $1" >&2
    return 1
  fi
}

leaven_detect_pm() {
  local pm
  for pm in apt-get dnf yum; do
    if command -v "$pm" >/dev/null 2>&1; then
      echo "$pm"
      return 0
    fi
  done
}
`;

function finishFunction(failurePrefix: string, failureSuffix: string, powerOff: boolean): string[] {
  return [
    powerOff
      ? "# Runs on every exit: a failure reports the step and status; either way the instance powers off."
      : "# Runs on every exit: a failure reports the step and status.",
    "leaven_finish() {",
    "  local status=$?",
    "  trap - EXIT",
    "  set +e",
    '  if [ "$leaven_done" != 1 ]; then',
    '    [ "$status" -ne 0 ] || status=1',
    `    leaven_report ${shellQuote(failurePrefix)}"$leaven_step failed with exit status $status"${shellQuote(failureSuffix)}`,
    "  fi",
    "  sync",
    ...(powerOff ? ["  shutdown -h now || poweroff"] : []),
    '  exit "$status"',
    "}",
    "trap leaven_finish EXIT",
    // Signals end the script through exit, so the EXIT trap reports them too.
    "trap 'exit 143' TERM",
    "trap 'exit 130' INT",
    "",
    'leaven_pm="$(leaven_detect_pm)"',
  ];
}

const CLEANUP = String.raw`case "$leaven_pm" in
  apt-get)
    apt-get clean
    rm -rf "$LEAVEN_ROOT"/var/lib/apt/lists/*
    ;;
  dnf | yum)
    "$leaven_pm" clean all
    ;;
esac
if command -v cloud-init >/dev/null 2>&1; then
  cloud-init clean --logs --seed
else
  rm -rf "$LEAVEN_ROOT/var/lib/cloud"
fi
rm -f "$LEAVEN_ROOT"/etc/ssh/ssh_host_*
if [ -f "$LEAVEN_ROOT/etc/machine-id" ]; then
  truncate -s 0 "$LEAVEN_ROOT/etc/machine-id"
fi
if [ -d "$LEAVEN_ROOT/var/log" ]; then
  find "$LEAVEN_ROOT/var/log" -type f \( -name '*.gz' -o -name '*.[0-9]' -o -name '*.old' \) -delete
  find "$LEAVEN_ROOT/var/log" -type f -exec truncate -s 0 {} +
fi
rm -f "$LEAVEN_ROOT"/root/.bash_history "$LEAVEN_ROOT"/home/*/.bash_history
for leaven_tmp in "$LEAVEN_ROOT/tmp" "$LEAVEN_ROOT/var/tmp"; do
  if [ -d "$leaven_tmp" ]; then
    find "$leaven_tmp" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  fi
done
`;

/** The bake script for one build of a spec. Same input, same bytes. */
export function renderUserData(input: UserDataInput): string {
  return withinUserDataLimit(input.spec, renderUserDataOfAnySize(input), "a package");
}

/** The bake script as it is, or a UserDataError when it is over EC2's user-data limit. */
export function withinUserDataLimit(spec: string, script: string, packaging: string): string {
  const bytes = Buffer.byteLength(script, "utf8");
  if (bytes > USER_DATA_LIMIT_BYTES) {
    throw new UserDataError(
      `spec ${JSON.stringify(spec)}: the bake script is ${bytes} bytes, over EC2's ${USER_DATA_LIMIT_BYTES}-byte user-data limit; ` +
        `ship large files in ${packaging} or fetch them from the provision script`,
    );
  }
  return script;
}

/** renderUserData without the size limit, for validation to measure a recipe (validation/user-data-size.ts). */
export function renderUserDataOfAnySize(input: UserDataInput): string {
  return renderProvisioning(input, {
    comment:
      "# Leaven bake script, rendered from the ImageSpec; cloud-init runs it once on the bake instance.",
    powerOff: true,
  });
}

export interface ProvisioningOptions {
  /** The script's second line: who runs it, and where. */
  comment: string;
  /** Power the machine off at the end: a bake instance does, a chroot on the bakery host must not. */
  powerOff: boolean;
}

/**
 * The provisioning script both bake methods run: the instance bake as user data, the volume bake inside
 * the chroot (chroot-script.ts). One renderer, so both provision and clean exactly alike.
 */
export function renderProvisioning(input: UserDataInput, options: ProvisioningOptions): string {
  validate(input);
  const provision = input.provision ?? {};
  const sentinel = "LEAVEN_REASON_SENTINEL";
  const failure = formatBakeMarker({ build: input.buildId, result: "failure", reason: sentinel });
  const [failurePrefix, failureSuffix] = failure.split(sentinel) as [string, string];
  const success = formatBakeMarker({ build: input.buildId, result: "success" });

  const lines = [
    "#!/bin/bash",
    options.comment,
    `${BUILD_ID_ASSIGNMENT}${shellQuote(input.buildId)}`,
    `LEAVEN_SPEC=${shellQuote(input.spec)}`,
    PRELUDE,
    ...finishFunction(failurePrefix, failureSuffix, options.powerOff),
    ...packagesSection(provision),
    ...((provision.files ?? []).length
      ? ["", "# Files, after packages so they override packaged defaults."]
      : []),
    ...(provision.files ?? []).flatMap(fileSection),
    ...(provision.script !== undefined && provision.script.trim() !== ""
      ? scriptSection(provision.script)
      : []),
    "",
    "# Clean the instance for imaging: nothing of this boot may leak into instances launched from it.",
    step("clean the instance for imaging"),
    CLEANUP,
    step("report success"),
    "leaven_done=1",
    `leaven_report ${shellQuote(success)}`,
    "",
  ];
  return lines.join("\n");
}
