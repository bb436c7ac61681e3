// Renders the volume bake's script: the bakery host runs it over SSM Run Command (AWS-RunShellScript)
// once the volume made from the parent image's root snapshot is attached. It finds the volume's root
// partition whatever the layout, mounts it, binds /dev /proc /sys /run, keeps DNS working, blocks service
// starts, then runs inside a chroot the same provisioning script the instance bake runs as user data
// (user-data.ts renderProvisioning, without the power-off). It unmounts everything in reverse order on
// every exit and prints the bake marker (bake-protocol.ts) on stdout, where GetCommandInvocation reads it.
// The package manifest the provisioning prints (of the chroot's own dpkg or rpm database) is held back and
// printed after the verdict, on success only: GetCommandInvocation keeps only the first 24,000 characters of
// stdout, which a manifest of some 700 packages (~17 KB) and the provisioning's output would push the
// marker out of; the whole stdout, manifest included, is in the command's S3 output (store-manifest.ts).
//
// For tests, LEAVEN_CHROOT_DIR names an already prepared root directory instead of a device: the script
// then mounts nothing of the volume itself but binds, provisions and cleans exactly as on a volume.
import { formatBakeMarker } from "../api/bake-protocol.ts";
import type { Provision } from "../api/types.generated.ts";
import { heredocDelimiter, renderProvisioning, shellQuote, UserDataError } from "./user-data.ts";

export interface ChrootScriptInput {
  buildId: string;
  spec: string;
  provision?: Provision;
  /** The device the volume was attached as, e.g. /dev/xvdf (on Nitro it shows up under an NVMe name). */
  device?: string;
  /** The EBS volume id: on Nitro hosts the device is found by it in /dev/disk/by-id (the NVMe serial). */
  volumeId?: string;
  /** Where the root is mounted on the bakery host; one per bake so bakes on one host do not collide. */
  mountPoint?: string;
}

const VOLUME_ID = /^vol-[0-9a-f]{8,17}$/;
const DEVICE = /^\/dev\/[A-Za-z0-9/_-]+$/;
const MOUNT_POINT = /^\/[A-Za-z0-9/_.+-]+$/;

function check(condition: boolean, spec: string, problem: string): void {
  if (!condition) throw new UserDataError(`spec ${JSON.stringify(spec)}: ${problem}`);
}

const HOST_FUNCTIONS = String.raw`leaven_host_report() {
  printf '%s\n' "$1"
}

# Mounts are recorded as they are made and undone in reverse order on every exit.
leaven_mounts=()
leaven_mount() {
  mount "$@"
  leaven_mounts+=("${"$"}{@: -1}")
}

leaven_unmount_all() {
  local i ok=0
  for ((i = ${"$"}{#leaven_mounts[@]} - 1; i >= 0; i--)); do
    umount "${"$"}{leaven_mounts[i]}" 2>/dev/null || umount -l "${"$"}{leaven_mounts[i]}" || ok=1
  done
  leaven_mounts=()
  return "$ok"
}

# The block device of the volume: by its id in the NVMe serial on Nitro hosts, else the attached name.
leaven_find_device() {
  local id_link="" n
  if [ -n "$LEAVEN_VOLUME_ID" ]; then
    id_link="/dev/disk/by-id/nvme-Amazon_Elastic_Block_Store_${"$"}{LEAVEN_VOLUME_ID/-/}"
  fi
  for ((n = 0; n < 60; n++)); do
    if [ -n "$id_link" ] && [ -e "$id_link" ]; then
      readlink -f "$id_link"
      return 0
    fi
    if [ -n "$LEAVEN_DEVICE" ] && [ -b "$LEAVEN_DEVICE" ]; then
      readlink -f "$LEAVEN_DEVICE"
      return 0
    fi
    sleep 1
  done
  echo "leaven: the volume ${"$"}{LEAVEN_VOLUME_ID:-} did not appear as ${"$"}{id_link:-$LEAVEN_DEVICE} within 60 s; is it attached to this host?" >&2
  return 1
}

# The root filesystem: the partition (or whole-disk filesystem) that holds /etc/os-release.
leaven_mount_root() {
  local device="$1" candidate fstype
  while read -r candidate; do
    fstype="$(blkid -o value -s TYPE "$candidate" 2>/dev/null || true)"
    case "$fstype" in
      "" | vfat | swap | LVM2_member | crypto_LUKS) continue ;;
    esac
    if mount "$candidate" "$LEAVEN_MOUNT" 2>/dev/null; then
      if [ -f "$LEAVEN_MOUNT/etc/os-release" ]; then
        leaven_mounts+=("$LEAVEN_MOUNT")
        echo "leaven: root filesystem $candidate ($fstype)" >&2
        return 0
      fi
      umount "$LEAVEN_MOUNT"
    fi
  done < <(lsblk -lnpo NAME "$device")
  echo "leaven: no partition of $device holds /etc/os-release; is it a Linux root volume?" >&2
  return 1
}

leaven_finish() {
  local status=$?
  trap - EXIT
  set +e
  leaven_restore
  if ! leaven_unmount_all; then
    echo "leaven: could not unmount everything under $LEAVEN_MOUNT" >&2
    [ "$status" -ne 0 ] || status=1
    leaven_step="unmount the volume"
  fi
  # Flushed before the verdict: the controller snapshots the volume as soon as it reads it, still attached.
  sync
  # The chroot reports its own verdict; the host reports what failed around it (the last marker wins).
  if [ "$status" -ne 0 ] && { [ "$leaven_inner_reported" != 1 ] || [ "$leaven_step" = "unmount the volume" ]; }; then
    leaven_host_report "$leaven_failure_prefix$leaven_step failed with exit status $status$leaven_failure_suffix"
  fi
  # The manifest after every verdict: a successful bake's image is what it lists.
  if [ -n "$leaven_manifest_held" ]; then
    [ "$status" -ne 0 ] || cat "$leaven_manifest_held"
    rm -f "$leaven_manifest_held"
  fi
  exit "$status"
}

# The chroot's stdout, but its manifest lines kept aside until the verdict is out.
leaven_hold_manifest() {
  local line
  while IFS= read -r line || [ -n "$line" ]; do
    case "$line" in
      LEAVEN-MANIFEST-*) printf '%s\n' "$line" >>"$leaven_manifest_held" ;;
      *) printf '%s\n' "$line" ;;
    esac
  done
}

# What the bake changed in the root for itself is put back: resolv.conf and policy-rc.d.
leaven_restore() {
  local etc="$LEAVEN_MOUNT/etc"
  rm -f "$LEAVEN_MOUNT/run/leaven/chroot-provision.sh"
  if [ "$leaven_resolv_saved" = 1 ]; then
    rm -f "$etc/resolv.conf"
    mv -T "$etc/resolv.conf.leaven-saved" "$etc/resolv.conf"
    leaven_resolv_saved=0
  fi
  if [ "$leaven_policy_written" = 1 ]; then
    rm -f "$LEAVEN_MOUNT/usr/sbin/policy-rc.d"
    if [ -e "$LEAVEN_MOUNT/usr/sbin/policy-rc.d.leaven-saved" ]; then
      mv -T "$LEAVEN_MOUNT/usr/sbin/policy-rc.d.leaven-saved" "$LEAVEN_MOUNT/usr/sbin/policy-rc.d"
    fi
    leaven_policy_written=0
  fi
}
`;

const HOST_STEPS = String.raw`leaven_step="make a file to hold the package manifest in"
leaven_manifest_held="$(mktemp -t leaven-manifest.XXXXXX)"
leaven_step="find the volume"
if [ -n "$LEAVEN_CHROOT_DIR" ]; then
  LEAVEN_MOUNT="$LEAVEN_CHROOT_DIR"
  [ -f "$LEAVEN_MOUNT/etc/os-release" ] || {
    echo "leaven: $LEAVEN_MOUNT holds no /etc/os-release; is it a Linux root?" >&2
    exit 1
  }
else
  leaven_device="$(leaven_find_device)"
  leaven_step="mount the root filesystem"
  mkdir -p "$LEAVEN_MOUNT"
  leaven_mount_root "$leaven_device"
fi

leaven_step="bind /dev /proc /sys /run"
for leaven_fs in dev dev/pts proc sys run; do
  mkdir -p "$LEAVEN_MOUNT/$leaven_fs"
  leaven_mount --bind "/$leaven_fs" "$LEAVEN_MOUNT/$leaven_fs"
done

# DNS: the image's resolv.conf is often a symlink into /run (systemd-resolved), which points at the
# host's /run here; put the host's resolver file in its place for the bake and restore it after.
leaven_step="keep resolv.conf working"
if [ -e "$LEAVEN_MOUNT/etc/resolv.conf" ] || [ -L "$LEAVEN_MOUNT/etc/resolv.conf" ]; then
  mv -T "$LEAVEN_MOUNT/etc/resolv.conf" "$LEAVEN_MOUNT/etc/resolv.conf.leaven-saved"
else
  : >"$LEAVEN_MOUNT/etc/resolv.conf.leaven-saved"
fi
leaven_resolv_saved=1
cp -L /etc/resolv.conf "$LEAVEN_MOUNT/etc/resolv.conf"

# No service may start in the chroot: policy-rc.d for Debian and Ubuntu's invoke-rc.d; systemctl does not
# start units in a chroot and SYSTEMD_OFFLINE=1 says so to the RPM scriptlets of systemd-based distros.
leaven_step="block service starts"
mkdir -p "$LEAVEN_MOUNT/usr/sbin"
if [ -e "$LEAVEN_MOUNT/usr/sbin/policy-rc.d" ]; then
  mv -T "$LEAVEN_MOUNT/usr/sbin/policy-rc.d" "$LEAVEN_MOUNT/usr/sbin/policy-rc.d.leaven-saved"
fi
leaven_policy_written=1
printf '%s\n' '#!/bin/sh' 'exit 101' >"$LEAVEN_MOUNT/usr/sbin/policy-rc.d"
chmod 0755 "$LEAVEN_MOUNT/usr/sbin/policy-rc.d"

leaven_step="copy the provisioning script into the root"
mkdir -p "$LEAVEN_MOUNT/run/leaven"
printf '%s' "$leaven_provision" >"$LEAVEN_MOUNT/run/leaven/chroot-provision.sh"

# The provisioning script reports its own verdict (success, or the failing step) on stdout.
leaven_step="run the provisioning script in the chroot"
# The host's chroot, found on the host's PATH; the provisioning gets a clean environment of the image's.
leaven_chroot="$(command -v chroot)"
leaven_inner_reported=1
env -i PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
  SYSTEMD_OFFLINE=1 "$leaven_chroot" "$LEAVEN_MOUNT" /bin/bash /run/leaven/chroot-provision.sh </dev/null |
  leaven_hold_manifest
`;

/** The bakery host's script for one volume bake of a spec's build. Same input, same bytes. */
export function renderChrootScript(input: ChrootScriptInput): string {
  const { spec } = input;
  if (input.volumeId !== undefined)
    check(VOLUME_ID.test(input.volumeId), spec, `volume id ${JSON.stringify(input.volumeId)} is not vol-…`);
  if (input.device !== undefined)
    check(DEVICE.test(input.device), spec, `device ${JSON.stringify(input.device)} must be /dev/…`);
  const mountPoint = input.mountPoint ?? `/mnt/leaven/${input.volumeId ?? "volume"}`;
  check(
    MOUNT_POINT.test(mountPoint),
    spec,
    `mount point ${JSON.stringify(mountPoint)} must be an absolute path`,
  );

  const provisioning = renderProvisioning(
    { buildId: input.buildId, spec, ...(input.provision ? { provision: input.provision } : {}) },
    {
      comment:
        "# Leaven volume bake, rendered from the ImageSpec; run in a chroot of the volume on the bakery host.",
      powerOff: false,
    },
  );
  const sentinel = "LEAVEN_REASON_SENTINEL";
  const failure = formatBakeMarker({ build: input.buildId, result: "failure", reason: sentinel });
  const [failurePrefix, failureSuffix] = failure.split(sentinel) as [string, string];
  const delimiter = heredocDelimiter(provisioning);

  return [
    "#!/bin/bash",
    "# Leaven volume bake, rendered from the ImageSpec; the bakery host runs it over SSM Run Command.",
    "set -euo pipefail",
    "umask 022",
    `LEAVEN_DEVICE=${shellQuote(input.device ?? "")}`,
    `LEAVEN_VOLUME_ID=${shellQuote(input.volumeId ?? "")}`,
    `LEAVEN_MOUNT=${shellQuote(mountPoint)}`,
    // biome-ignore lint/suspicious/noTemplateCurlyInString: a shell default, not a template.
    'LEAVEN_CHROOT_DIR="${LEAVEN_CHROOT_DIR:-}"',
    `leaven_failure_prefix=${shellQuote(failurePrefix)}`,
    `leaven_failure_suffix=${shellQuote(failureSuffix)}`,
    "leaven_step=start",
    "leaven_inner_reported=0",
    "leaven_resolv_saved=0",
    "leaven_policy_written=0",
    "leaven_manifest_held=",
    `leaven_provision="$(cat <<'${delimiter}'`,
    provisioning,
    delimiter,
    ')"',
    "",
    HOST_FUNCTIONS,
    "trap leaven_finish EXIT",
    "trap 'exit 143' TERM",
    "trap 'exit 130' INT",
    "",
    HOST_STEPS,
  ].join("\n");
}
