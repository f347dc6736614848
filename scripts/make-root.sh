#!/bin/bash
# make-root.sh — create (or reuse) a Debian 13 "trixie" chroot with GIMP 3.0 and the
# C build/test stack for GIMP 3 plug-ins.  Runs on a Debian 12 host as root.  Idempotent:
# an existing root is reused and only missing packages are installed.
#
#   ROOT=/var/cache/hippotag/debian13  (default)
#   MIRROR=<the Debian archive URL the host's own apt sources use> (default)
#   CLEAN=1  -> apt-get clean inside the root afterwards (saves ~300 MB of .debs)
#
# The host's own apt sources are NOT touched; trixie lives only inside $ROOT.
# /proc /sys /dev /dev/pts are bind-mounted only while this script runs.
set -euo pipefail

ROOT=${ROOT:-/var/cache/hippotag/debian13}
# the same Debian archive the host already uses (deb822 sources first, then one-line sources)
host_mirror() {
  awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null | head -1
  awk '$1=="deb"{for(i=2;i<=NF;i++) if($i ~ /^https?:/){print $i; exit}}' /etc/apt/sources.list 2>/dev/null | head -1
  true   # a missing sources file is not an error
}
MIRROR=${MIRROR:-$(host_mirror | head -1)}
[ -n "$MIRROR" ] || { echo "cannot find the host's Debian archive URL; set MIRROR" >&2; exit 1; }
PKGS="gimp libgimp-3.0-dev libgtk-3-dev libopenblas-dev libglib2.0-dev libgexiv2-dev
      libsqlite3-dev libjson-glib-dev meson ninja-build gcc pkg-config xvfb xauth
      python3 gir1.2-gimp-3.0 exiv2"
# for screenshots in the GUI test: import/convert (imagemagick), xwd (x11-apps), xwininfo (x11-utils);
# xdotool clicks and types in the plug-in's dialogs (tests/plugin/gui-e2e)
EXTRA_PKGS="imagemagick x11-apps x11-utils xdotool"

log()  { echo "[make-root $(date +%T)] $*"; }
step() { local s; s=$(date +%s); log "START $*"; "$@"; log "DONE  $* ($(( $(date +%s) - s )) s)"; }

[ "$(id -u)" = 0 ] || { echo "must run as root" >&2; exit 1; }

# ---------------------------------------------------------------- chroot mounts
MOUNTED=()
mount_root() {
  local m
  for m in proc sys dev dev/pts; do
    mountpoint -q "$ROOT/$m" && continue
    mkdir -p "$ROOT/$m"
    case $m in
      proc) mount -t proc  proc  "$ROOT/proc" ;;
      sys)  mount -t sysfs sysfs "$ROOT/sys" ;;
      *)    mount --bind "/$m" "$ROOT/$m" ;;
    esac
    MOUNTED+=("$ROOT/$m")
  done
}
umount_root() {   # only what this script mounted, innermost first
  local i
  for (( i=${#MOUNTED[@]}-1; i>=0; i-- )); do
    umount "${MOUNTED[$i]}" 2>/dev/null || umount -l "${MOUNTED[$i]}" || true
  done
  MOUNTED=()
}
trap umount_root EXIT
in_root() { chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
                   DEBIAN_FRONTEND=noninteractive "$@"; }

# ---------------------------------------------------------------- 1. host: debootstrap
if ! command -v debootstrap >/dev/null; then
  step apt-get update
  step apt-get install -y debootstrap
fi

# ---------------------------------------------------------------- 2. trixie base system
if [ -x "$ROOT/usr/bin/apt-get" ] && grep -q '^13' "$ROOT/etc/debian_version" 2>/dev/null; then
  log "reusing existing root $ROOT ($(cat "$ROOT/etc/debian_version"))"
else
  [ -e "$ROOT" ] && [ -n "$(ls -A "$ROOT" 2>/dev/null)" ] && {
    echo "$ROOT exists but is not a complete trixie root; remove it first (umount anything under it!)" >&2; exit 1; }
  # bookworm's debootstrap 1.0.128 has a 'trixie' script (symlink to sid) and
  # /usr/share/keyrings/debian-archive-keyring.gpg already contains the trixie keys.
  step debootstrap --variant=minbase trixie "$ROOT" "$MIRROR"
fi

# ---------------------------------------------------------------- 3. packages inside the root
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"                       # DNS for apt in the chroot
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"      # never start daemons
chmod +x "$ROOT/usr/sbin/policy-rc.d"
echo "deb $MIRROR trixie main" > "$ROOT/etc/apt/sources.list"
mount_root

ninst=$(in_root dpkg-query -W -f='${Status}\n' $PKGS $EXTRA_PKGS 2>/dev/null | grep -c ' installed$' || true)
nwant=$(echo $PKGS $EXTRA_PKGS | wc -w)
if [ "$ninst" -lt "$nwant" ]; then
  step in_root apt-get update
  in_root apt-get install --no-install-recommends --assume-no $PKGS $EXTRA_PKGS 2>/dev/null \
     | grep -E 'newly installed|Need to get|After this' || true
  step in_root apt-get install -y --no-install-recommends $PKGS $EXTRA_PKGS
else
  log "all $nwant packages already installed"
fi
[ "${CLEAN:-0}" = 1 ] && step in_root apt-get clean

# ---------------------------------------------------------------- 4. report
log "versions:"
in_root sh -c 'gimp-console-3.0 --version;
  for p in gimp-3.0 gimpui-3.0 gegl-0.4 babl-0.1 gtk+-3.0 glib-2.0 openblas gexiv2 sqlite3; do
    printf "  pkg-config %-12s %s\n" "$p" "$(pkg-config --modversion $p)"; done
  printf "  meson %s, ninja %s, %s\n" "$(meson --version)" "$(ninja --version)" "$(gcc --version | head -1)"
  echo "  plug-in dir: $(pkg-config --variable=gimplibdir gimp-3.0)/plug-ins"'
umount_root
log "disk: $(du -shx "$ROOT" | cut -f1) total, of which apt cache $(du -shx "$ROOT/var/cache/apt/archives" | cut -f1)"
log "ok: $ROOT"
