// Renders the bake script: the user data cloud-init runs once on the bake instance. It provisions the
// instance from the spec, cleans it for imaging, prints the bake marker (bake-protocol.ts) to the console
// and powers off; the controller reads the marker back with GetConsoleOutput. Any failure prints the
// failure marker with the failing step and exit status, and still powers off.
//
// Every path the script writes is prefixed with $LEAVEN_ROOT (empty on a real instance) so tests can run
// the exact rendered bytes in a sandbox.
import path from "node:path";
import { BUILD_ID_ASSIGNMENT, formatBakeMarker } from "../api/bake-protocol.ts";
import { MANIFEST_BEGIN, MANIFEST_END, MANIFEST_PART } from "../api/package-manifest.ts";
import type { Ansible, Provision, Repository, S3Object, File as SpecFile } from "../api/types.generated.ts";

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
const APT_OPTIONS = "-o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold";
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
  const s3Objects = [
    ...(provision?.files ?? []).flatMap((f) => (f.s3 ? [f.s3] : [])),
    ...(provision?.ansible?.s3 ? [provision.ansible.s3] : []),
  ];
  for (const object of s3Objects) {
    check(
      /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(object.bucket),
      spec,
      `S3 bucket ${JSON.stringify(object.bucket)} is not a bucket name`,
    );
    check(
      /^[0-9a-f]{64}$/.test(object.sha256),
      spec,
      `S3 object ${object.key}: sha256 must be 64 hex digits`,
    );
  }
  const ansible = provision?.ansible;
  if (ansible) {
    check(
      !ansible.playbook.startsWith("/") && !ansible.playbook.split("/").includes(".."),
      spec,
      `ansible playbook ${JSON.stringify(ansible.playbook)} must be a path inside the repository, without ".."`,
    );
    if (ansible.repository) {
      check(
        NO_WHITESPACE.test(ansible.repository.url),
        spec,
        "ansible repository url must not contain spaces",
      );
      check(
        /^[0-9a-f]{40}$/.test(ansible.repository.ref),
        spec,
        "ansible repository ref must be a 40-character commit id",
      );
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

/** Fails the step, saying why, on an image without apt-get, dnf or yum. */
function requirePackageManager(): string[] {
  return [
    step("detect the package manager"),
    'if [ -z "$leaven_pm" ]; then',
    "  echo 'leaven: no supported package manager (apt-get, dnf or yum) on this image' >&2",
    "  exit 1",
    "fi",
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
          `apt-get install -y ${APT_OPTIONS} ${packages.map(shellQuote).join(" ")}`,
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
    ...requirePackageManager(),
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
  if (file.s3 !== undefined) {
    lines.push(s3Get(file.s3, target));
  } else if (file.content === undefined || file.content === "") {
    lines.push(`: >${target}`);
  } else {
    const content = file.content;
    lines.push(...heredoc(`cat >${target}`, content));
    // A heredoc always ends in a newline; take it back off when the content has none.
    if (!content.endsWith("\n")) lines.push(`truncate -s -1 ${target}`);
  }
  if (file.mode !== undefined) lines.push(`chmod ${shellQuote(file.mode)} ${target}`);
  if (file.owner !== undefined) lines.push(`chown ${shellQuote(file.owner)} ${target}`);
  return lines;
}

/** Fetches a pinned S3 object to `target` (a rooted path) and checks its SHA-256. */
function s3Get(object: S3Object, target: string): string {
  return `leaven_s3_get ${shellQuote(object.bucket)} ${shellQuote(object.key)} ${shellQuote(object.versionId ?? "")} ${object.sha256} ${target}`;
}

/** Every installed package updated, before the spec's packages: the distribution's fixes since the parent. */
function upgradeSection(): string[] {
  return [
    "",
    "# Every installed package updated first (provision.upgrade), keeping changed configuration files.",
    ...requirePackageManager(),
    step("upgrade every installed package"),
    'if [ "$leaven_pm" = apt-get ]; then',
    "  export DEBIAN_FRONTEND=noninteractive",
    "  apt-get update",
    `  apt-get -y ${APT_OPTIONS} full-upgrade`,
    "else",
    '  "$leaven_pm" upgrade -y',
    "fi",
  ];
}

/** Installs the packages `names` for the bake when `command` is missing; records them to remove afterwards. */
const BAKE_TOOLS = String.raw`leaven_bake_tools=()
leaven_need() {
  local command="$1"
  shift
  command -v "$command" >/dev/null 2>&1 && return 0
  if [ "$leaven_pm" = apt-get ]; then
    export DEBIAN_FRONTEND=noninteractive
    compgen -G "$LEAVEN_ROOT/var/lib/apt/lists/*_Packages" >/dev/null || apt-get update
    apt-get install -y --no-install-recommends "$@"
  elif [ -n "$leaven_pm" ]; then
    "$leaven_pm" install -y "$@"
  else
    echo "leaven: $command is needed for the bake and there is no package manager to install it" >&2
    return 1
  fi
  leaven_bake_tools+=("$@")
}

leaven_remove_bake_tools() {
  [ "${"$"}{#leaven_bake_tools[@]}" -gt 0 ] || return 0
  if [ "$leaven_pm" = apt-get ]; then
    apt-get purge -y --auto-remove "${"$"}{leaven_bake_tools[@]}"
  else
    "$leaven_pm" remove -y "${"$"}{leaven_bake_tools[@]}"
  fi
}

leaven_s3_get() {
  leaven_need aws awscli
  local args=(s3api get-object --bucket "$1" --key "$2")
  [ -z "$3" ] || args+=(--version-id "$3")
  aws "${"$"}{args[@]}" "$5" >/dev/null
  if ! printf '%s  %s
' "$4" "$5" | sha256sum -c --quiet - >/dev/null 2>&1; then
    echo "leaven: s3://$1/$2 is not the object the recipe names (its sha256 differs from $4)" >&2
    return 1
  fi
}
`;

/** The playbook run locally (provision.ansible), with Ansible (and git) installed for the bake only. */
function ansibleSection(ansible: Ansible): string[] {
  const dir = rooted("/run/leaven/ansible");
  const playbook = `${dir}/${ansible.playbook}`;
  const lines = [
    "",
    "# The Ansible playbook, run locally; Ansible is removed again unless the image had it.",
  ];
  lines.push(step("install ansible for the bake"));
  lines.push("leaven_need ansible-playbook ansible-core");
  lines.push(`rm -rf ${dir}`, `mkdir -p ${dir}`);
  if (ansible.repository) {
    lines.push(step("fetch the playbook repository"));
    lines.push("leaven_need git git");
    lines.push(`git clone --quiet --no-checkout ${shellQuote(ansible.repository.url)} ${dir}`);
    lines.push(`git -C ${dir} checkout --quiet --detach ${ansible.repository.ref}`);
  } else if (ansible.s3) {
    lines.push(step("fetch the playbook from S3"));
    const download = rooted("/run/leaven/ansible-playbook.download");
    lines.push(s3Get(ansible.s3, download));
    lines.push(
      /\.(tar\.gz|tgz)$/.test(ansible.s3.key)
        ? `tar -xzf ${download} -C ${dir} && rm -f ${download}`
        : `mv ${download} ${playbook}`,
    );
  }
  const vars = ansible.extraVars ?? {};
  const varsFile = rooted("/run/leaven/ansible-vars.json");
  if (Object.keys(vars).length > 0) lines.push(...heredoc(`cat >${varsFile}`, `${JSON.stringify(vars)}\n`));
  lines.push(step("run the ansible playbook"));
  lines.push(
    `ANSIBLE_NOCOLOR=1 ansible-playbook -c local -i localhost, ${Object.keys(vars).length > 0 ? `--extra-vars @${varsFile} ` : ""}${playbook} </dev/null`,
  );
  lines.push(`rm -rf ${dir} ${varsFile}`);
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

/**
 * Lists the installed packages and the kernel (api/package-manifest.ts) and prints them, gzip+base64 in
 * numbered lines between marker lines, for the controller to store. A manifest that cannot be made does
 * not fail the bake: the image is good, and the controller records that it has no manifest.
 */
const MANIFEST = String.raw`leaven_manifest() {
  local body="$LEAVEN_ROOT/run/leaven/manifest.b64" kernel n=0 line
  kernel="$({ find "$LEAVEN_ROOT/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n 1; } 2>/dev/null || true)"
  [ -n "$kernel" ] || kernel="$(uname -r 2>/dev/null || true)"
  mkdir -p "$LEAVEN_ROOT/run/leaven" || return 1
  if [ -d "$LEAVEN_ROOT/var/lib/dpkg" ] && command -v dpkg-query >/dev/null 2>&1; then
    { printf 'manager\tdpkg\nkernel\t%s\n' "$kernel"
      dpkg-query --admindir="$LEAVEN_ROOT/var/lib/dpkg" -W -f='${"$"}{db:Status-Abbrev}\t${"$"}{Package}\t${"$"}{Version}\t${"$"}{Architecture}\t${"$"}{source:Package}\n' |
        awk -F'\t' -v OFS='\t' '$1 ~ /^ii/ { print "p", $2, $3, $4, $5 }'
    } | gzip -9n | base64 -w 76 >"$body" || return 1
  elif [ -d "$LEAVEN_ROOT/var/lib/rpm" ] && command -v rpm >/dev/null 2>&1; then
    { printf 'manager\trpm\nkernel\t%s\n' "$kernel"
      rpm --root "${"$"}{LEAVEN_ROOT:-/}" -qa --qf 'p\t%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\n'
    } | gzip -9n | base64 -w 76 >"$body" || return 1
  else
    # No package database (a sandbox, an unusual image): no manifest; the controller says so.
    return 0
  fi
  leaven_report "${MANIFEST_BEGIN} build=$LEAVEN_BUILD_ID"
  while IFS= read -r line; do
    n=$((n + 1))
    leaven_report "${MANIFEST_PART} build=$LEAVEN_BUILD_ID $n $line"
  done <"$body"
  leaven_report "${MANIFEST_END} build=$LEAVEN_BUILD_ID parts=$n sha256=$(sha256sum <"$body" | cut -d' ' -f1)"
  rm -f "$body"
}
leaven_manifest || echo "leaven: listing the installed packages failed: no package manifest" >&2
`;

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
  const tools = needsBakeTools(provision);
  const header = (comment: string) => [
    "#!/bin/bash",
    comment,
    `${BUILD_ID_ASSIGNMENT}${shellQuote(input.buildId)}`,
    `LEAVEN_SPEC=${shellQuote(input.spec)}`,
    PRELUDE,
    ...(tools ? [BAKE_TOOLS] : []),
    ...finishFunction(failurePrefix, failureSuffix, options.powerOff),
  ];
  const rest = [
    ...packagesSection(provision),
    ...((provision.files ?? []).length
      ? ["", "# Files, after packages so they override packaged defaults."]
      : []),
    ...(provision.files ?? []).flatMap(fileSection),
    ...(provision.ansible ? ansibleSection(provision.ansible) : []),
    ...(provision.script !== undefined && provision.script.trim() !== ""
      ? scriptSection(provision.script)
      : []),
    ...(tools ? ["", step("remove what was installed for the bake only"), "leaven_remove_bake_tools"] : []),
    "",
    "# The package manifest: what the image holds, once provisioning is done.",
    step("list the installed packages"),
    MANIFEST,
    "# Clean the instance for imaging: nothing of this boot may leak into instances launched from it.",
    step("clean the instance for imaging"),
    CLEANUP,
    step("report success"),
    "leaven_done=1",
    `leaven_report ${shellQuote(success)}`,
    "",
  ];
  if (!provision.upgrade) return [...header(options.comment), ...rest].join("\n");
  // A chroot boots nothing: the image boots the new kernel on its first launch.
  if (!options.powerOff) return [...header(options.comment), ...upgradeSection(), ...rest].join("\n");
  // An instance bake reboots into a kernel the upgrade installed, and the rest of the bake runs after the
  // reboot from a oneshot unit, which removes itself; the marker is printed once, at the very end.
  const continuation = [
    ...header(
      "# Leaven bake, continued after the upgrade (and the reboot into its kernel, if there was one).",
    ),
    step("remove the continuation unit"),
    `rm -f ${rooted(CONTINUE_UNIT)} ${rooted("/etc/systemd/system/multi-user.target.wants/leaven-continue.service")}`,
    ...rest,
  ].join("\n");
  return [
    ...header(options.comment),
    ...upgradeSection(),
    "",
    "# The rest of the bake, run now, or after a reboot into a newly installed kernel.",
    step("write the rest of the bake"),
    `mkdir -p ${rooted(path.posix.dirname(CONTINUE_SCRIPT))}`,
    ...heredoc(`cat >${rooted(CONTINUE_SCRIPT)}`, continuation),
    step("check for a new kernel"),
    `leaven_kernel="$({ find "$LEAVEN_ROOT/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\\n' 2>/dev/null || true; } | sed 's/^vmlinuz-//' | sort -V | tail -n 1)"`,
    'if [ -n "$leaven_kernel" ] && [ "$leaven_kernel" != "$(uname -r)" ]; then',
    "  leaven_step='reboot into the new kernel'",
    `  mkdir -p ${rooted("/etc/systemd/system/multi-user.target.wants")}`,
    ...heredoc(`  cat >${rooted(CONTINUE_UNIT)}`, CONTINUE_UNIT_TEXT),
    `  ln -sf ${CONTINUE_UNIT} ${rooted("/etc/systemd/system/multi-user.target.wants/leaven-continue.service")}`,
    '  leaven_report "leaven: rebooting into kernel $leaven_kernel; the bake continues after the reboot"',
    "  leaven_done=1",
    "  trap - EXIT",
    "  sync",
    "  systemctl reboot || reboot",
    "  exit 0",
    "fi",
    `exec bash ${rooted(CONTINUE_SCRIPT)} </dev/null`,
    "",
  ].join("\n");
}

const CONTINUE_SCRIPT = "/var/lib/leaven/continue.sh";
const CONTINUE_UNIT = "/etc/systemd/system/leaven-continue.service";
const CONTINUE_UNIT_TEXT = `[Unit]
Description=Leaven bake, continued after the reboot into a new kernel
After=network-online.target
Wants=network-online.target

[Service]
Type=oneshot
ExecStart=/bin/bash ${CONTINUE_SCRIPT}
StandardOutput=journal+console
StandardError=journal+console

[Install]
WantedBy=multi-user.target
`;

function needsBakeTools(provision: Provision): boolean {
  return provision.ansible !== undefined || (provision.files ?? []).some((f) => f.s3 !== undefined);
}
