#!/bin/bash
# Leaven bake script, rendered from the ImageSpec; cloud-init runs it once on the bake instance.
LEAVEN_BUILD_ID=1.0.0+0badcafe
LEAVEN_SPEC=bare
set -euo pipefail
umask 022
LEAVEN_ROOT="${LEAVEN_ROOT:-}"
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

# Runs on every exit: a failure reports the step and status; either way the instance powers off.
leaven_finish() {
  local status=$?
  trap - EXIT
  set +e
  if [ "$leaven_done" != 1 ]; then
    [ "$status" -ne 0 ] || status=1
    leaven_report 'LEAVEN-BAKE-RESULT build=1.0.0+0badcafe result=failure reason="'"$leaven_step failed with exit status $status"'"'
  fi
  sync
  shutdown -h now || poweroff
  exit "$status"
}
trap leaven_finish EXIT
trap 'exit 143' TERM
trap 'exit 130' INT

leaven_pm="$(leaven_detect_pm)"

# The package manifest: what the image holds, once provisioning is done.
leaven_step='list the installed packages'
leaven_manifest() {
  local body="$LEAVEN_ROOT/run/leaven/manifest.b64" kernel n=0 line
  kernel="$({ find "$LEAVEN_ROOT/boot" -maxdepth 1 -name 'vmlinuz-*' -printf '%f\n' | sed 's/^vmlinuz-//' | sort -V | tail -n 1; } 2>/dev/null || true)"
  [ -n "$kernel" ] || kernel="$(uname -r 2>/dev/null || true)"
  mkdir -p "$LEAVEN_ROOT/run/leaven" || return 1
  if [ -d "$LEAVEN_ROOT/var/lib/dpkg" ] && command -v dpkg-query >/dev/null 2>&1; then
    { printf 'manager\tdpkg\nkernel\t%s\n' "$kernel"
      dpkg-query --admindir="$LEAVEN_ROOT/var/lib/dpkg" -W -f='${db:Status-Abbrev}\t${Package}\t${Version}\t${Architecture}\t${source:Package}\n' |
        awk -F'\t' -v OFS='\t' '$1 ~ /^ii/ { print "p", $2, $3, $4, $5 }'
    } | gzip -9n | base64 -w 76 >"$body" || return 1
  elif [ -d "$LEAVEN_ROOT/var/lib/rpm" ] && command -v rpm >/dev/null 2>&1; then
    { printf 'manager\trpm\nkernel\t%s\n' "$kernel"
      rpm --root "${LEAVEN_ROOT:-/}" -qa --qf 'p\t%{NAME}\t%|EPOCH?{%{EPOCH}:}:{}|%{VERSION}-%{RELEASE}\t%{ARCH}\t%{SOURCERPM}\n'
    } | gzip -9n | base64 -w 76 >"$body" || return 1
  else
    # No package database (a sandbox, an unusual image): no manifest; the controller says so.
    return 0
  fi
  leaven_report "LEAVEN-MANIFEST-BEGIN build=$LEAVEN_BUILD_ID"
  while IFS= read -r line; do
    n=$((n + 1))
    leaven_report "LEAVEN-MANIFEST-PART build=$LEAVEN_BUILD_ID $n $line"
  done <"$body"
  leaven_report "LEAVEN-MANIFEST-END build=$LEAVEN_BUILD_ID parts=$n sha256=$(sha256sum <"$body" | cut -d' ' -f1)"
  rm -f "$body"
}
leaven_manifest || echo "leaven: listing the installed packages failed: no package manifest" >&2

# Clean the instance for imaging: nothing of this boot may leak into instances launched from it.
leaven_step='clean the instance for imaging'
case "$leaven_pm" in
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

leaven_step='report success'
leaven_done=1
leaven_report 'LEAVEN-BAKE-RESULT build=1.0.0+0badcafe result=success'
