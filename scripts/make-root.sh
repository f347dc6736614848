#!/bin/bash
# make-root.sh — create (or reuse) the Debian 13 "trixie" root with GIMP 3.0
# and the C build/test stack in which the GIMP 3 plug-in is built and tested.
# Runs on a Debian 12 (or 13) host as root. Idempotent: an existing root is
# reused in seconds and only missing packages are installed; ./run-tests
# calls it before every test run.
#
#   scripts/make-root.sh [--print-mirror]
#
#   ROOT=/var/cache/hippotag/debian13  where the root lives (default; outside
#                      any checkout, so every run and every clone reuses it)
#   MIRROR=URL         the Debian archive (default: the one the host's own apt
#                      sources use: deb822 *.sources files first, then the
#                      one-line sources.list and *.list files)
#   CLEAN=1            apt-get clean inside the root afterwards (~300 MB less)
#   HIPPOTAG_APT_ETC   the host's apt folder to read sources from (default
#                      /etc/apt; for tests)
#   --print-mirror     print the archive URL that would be used, and exit
#
# The host's own apt sources are never changed; trixie lives only inside
# $ROOT. /proc /sys /dev /dev/pts are mounted in a private mount namespace
# only while this script runs (the kernel drops them with the script, on
# every exit path). Two runs at once wait for each other (a lock beside the
# root). An interrupted first build is detected and started again.
#
# Exit status: 0 the root is ready; 1 it could not be made (the reason is
# printed); 2 usage; 75 it cannot be made on this machine (not root, or the
# archive cannot be reached): ./run-tests then skips the plug-in tests loudly.
set -euo pipefail
{ # Read whole before running, so editing this file mid-run is safe.

ROOT=${ROOT:-/var/cache/hippotag/debian13}
APT_ETC=${HIPPOTAG_APT_ETC:-/etc/apt}
PKGS="gimp libgimp-3.0-dev libgtk-3-dev libopenblas-dev libglib2.0-dev libgexiv2-dev
      libsqlite3-dev libjson-glib-dev nettle-dev meson ninja-build gcc pkg-config
      xvfb xauth python3 gir1.2-gimp-3.0 exiv2"
# for screenshots in the GUI test: import/convert (imagemagick), xwd (x11-apps), xwininfo (x11-utils);
# xdotool clicks and types in the plug-in's dialogs (tests/plugin/gui-e2e)
EXTRA_PKGS="imagemagick x11-apps x11-utils xdotool"
EX_UNAVAILABLE=75

log()  { echo "[make-root $(date +%T)] $*"; }
die()  { echo "make-root: ERROR: $*" >&2; exit 1; }
unavailable() { echo "make-root: CANNOT BUILD THE ROOT HERE: $*" >&2; exit $EX_UNAVAILABLE; }
step() { local s; s=$(date +%s); log "START $*"; "$@"; log "DONE  $* ($(( $(date +%s) - s )) s)"; }
# Any command that fails under set -e says where, instead of a silent exit.
trap 'rc=$?; echo "make-root: FAILED (exit $rc) at line $LINENO: $BASH_COMMAND" >&2' ERR

# The archive URL of the host's main Debian suite (not -security, -updates or
# -backports): deb822 paragraphs (Types: deb, Enabled not no) first, then
# one-line "deb [options] URI SUITE ..." lines. Prints nothing when none.
host_mirror() {
  local -a files=()
  local f
  for f in "$APT_ETC"/sources.list.d/*.sources; do [ -f "$f" ] && files+=("$f"); done
  [ -f "$APT_ETC/sources.list" ] && files+=("$APT_ETC/sources.list")
  for f in "$APT_ETC"/sources.list.d/*.list; do [ -f "$f" ] && files+=("$f"); done
  [ ${#files[@]} -gt 0 ] || return 0
  awk '
    function main_suite(s,   n, a, i) {
      n = split(s, a, /[ \t]+/)
      for (i = 1; i <= n; i++)
        if (a[i] != "" && a[i] !~ /-(security|updates|backports|proposed-updates)$/ && a[i] !~ /\//)
          return 1
      return 0
    }
    function web(u) { return u ~ /^https?:\/\// }
    function flush(   n, a, i) {
      if (types ~ /(^|[ \t])deb([ \t]|$)/ && tolower(enabled) != "no" && main_suite(suites)) {
        n = split(uris, a, /[ \t]+/)
        for (i = 1; i <= n; i++) if (web(a[i])) { print a[i]; found = 1; exit }
      }
      types = uris = suites = enabled = ""
    }
    FNR == 1 { if (deb822) flush(); deb822 = (FILENAME ~ /\.sources$/) }
    deb822 {
      if ($0 ~ /^[ \t]*$/) { flush(); next }
      if ($0 ~ /^#/) next
      if (match($0, /^[A-Za-z-]+:/)) {
        key = tolower(substr($0, 1, RLENGTH - 1)); val = substr($0, RLENGTH + 1)
        sub(/^[ \t]+/, "", val); sub(/[ \t]+$/, "", val)
        if (key == "types") types = val
        else if (key == "uris") uris = val
        else if (key == "suites") suites = val
        else if (key == "enabled") enabled = val
      }
      next
    }
    $1 == "deb" {
      i = 2
      if ($i ~ /^\[/) { while (i <= NF && $i !~ /\]$/) i++; i++ }
      if (i + 1 <= NF && web($i) && main_suite($(i + 1))) { print $i; found = 1; exit }
    }
    END { if (deb822 && !found) flush() }
  ' "${files[@]}"
}

if [ "${1:-}" = --print-mirror ]; then
  m=${MIRROR:-$(host_mirror)}
  [ -n "$m" ] || die "no Debian archive URL in $APT_ETC/sources.list.d/*.sources, $APT_ETC/sources.list or $APT_ETC/sources.list.d/*.list; set MIRROR"
  echo "$m"
  exit 0
fi
[ $# = 0 ] || { sed -n '2,/^set -e/p' "$0" | sed -e 's/^# \{0,1\}//' -e '/^set -e/d' >&2; exit 2; }

[ "$(id -u)" = 0 ] || unavailable "needs root (debootstrap, chroot and mounts); run it as root"
MIRROR=${MIRROR:-$(host_mirror)}
[ -n "$MIRROR" ] || die "cannot find the host's Debian archive URL in $APT_ETC/sources.list.d/*.sources, $APT_ETC/sources.list or $APT_ETC/sources.list.d/*.list; set MIRROR=URL"
log "archive: $MIRROR"

# Can the archive be reached at all? (bash's /dev/tcp: nothing to install)
reachable() {
  local rest host port
  rest=${MIRROR#*://}; host=${rest%%/*}; port=80
  case $MIRROR in https://*) port=443 ;; esac
  case $host in *:*) port=${host##*:}; host=${host%:*} ;; esac
  timeout 20 bash -c "exec 3<>/dev/tcp/$host/$port" 2>/dev/null
}

# ---------------------------------------------------------------- one run at a time
mkdir -p "$(dirname "$ROOT")"
exec 9>"$ROOT.lock"
if ! flock -n 9; then
  log "another make-root.sh is working on $ROOT: waiting (up to 30 min)"
  flock -w 1800 9 || die "$ROOT.lock is still held after 30 min"
fi

complete() { [ -x "$ROOT/usr/bin/apt-get" ] && grep -q '^13' "$ROOT/etc/debian_version" 2>/dev/null \
             && [ -f "$ROOT/.hippotag-bootstrapped" ]; }
installed_all() {
  [ -f "$ROOT/.hippotag-packages" ] && [ "$(cat "$ROOT/.hippotag-packages")" = "$(echo $PKGS $EXTRA_PKGS)" ] \
    && [ -x "$ROOT/usr/bin/gimp-console-3.0" ]
}
# Fast path: nothing to do, no mounts, no network.
if complete && installed_all; then
  log "reusing $ROOT (Debian $(cat "$ROOT/etc/debian_version"), all packages installed)"
  exit 0
fi

reachable || unavailable "the Debian archive $MIRROR cannot be reached from this machine"

# ---------------------------------------------------------------- 1. host: debootstrap
if ! command -v debootstrap >/dev/null; then
  step apt-get -o DPkg::Lock::Timeout=600 update -q
  step apt-get -o DPkg::Lock::Timeout=600 install -y -q debootstrap
fi

# ---------------------------------------------------------------- 2. trixie base system
mounted_under() { awk -v r="$1" '$2 == r || index($2, r "/") == 1 { found = 1 } END { exit !found }' /proc/mounts; }
if complete; then
  log "reusing $ROOT ($(cat "$ROOT/etc/debian_version"))"
else
  if [ -e "$ROOT" ]; then
    # A root made by an older make-root.sh has no stamp: keep it when it is
    # complete; anything else is an interrupted build of ours.
    if [ -x "$ROOT/usr/bin/apt-get" ] && grep -q '^13' "$ROOT/etc/debian_version" 2>/dev/null \
       && [ -x "$ROOT/usr/bin/dpkg" ]; then
      : > "$ROOT/.hippotag-bootstrapped"
    else
      mounted_under "$ROOT" && die "$ROOT is incomplete and something is mounted under it; unmount it and run again"
      log "$ROOT is incomplete (an interrupted build): starting it again"
      rm -rf "$ROOT"
    fi
  fi
  if ! complete; then
    partial=$ROOT.partial
    mounted_under "$partial" && die "something is mounted under $partial; unmount it and run again"
    rm -rf "$partial"
    # bookworm's debootstrap has a 'trixie' script and its keyring has the
    # trixie keys.
    step debootstrap --variant=minbase trixie "$partial" "$MIRROR" \
      || die "debootstrap trixie from $MIRROR failed (see above; the log is $partial/debootstrap/debootstrap.log)"
    : > "$partial/.hippotag-bootstrapped"
    mv "$partial" "$ROOT"
  fi
fi

# ---------------------------------------------------------------- 3. packages inside the root
cp /etc/resolv.conf "$ROOT/etc/resolv.conf"                       # DNS for apt in the root
printf '#!/bin/sh\nexit 101\n' > "$ROOT/usr/sbin/policy-rc.d"      # never start daemons
chmod +x "$ROOT/usr/sbin/policy-rc.d"
echo "deb $MIRROR trixie main" > "$ROOT/etc/apt/sources.list"
rm -f "$ROOT/.hippotag-packages"

# Runs in a private mount namespace: /proc /sys /dev /dev/pts of the root
# exist only for it.
install_in_root() {
  set -euo pipefail
  mount -t proc proc "$ROOT/proc"
  mount -t sysfs sysfs "$ROOT/sys"
  mount --bind /dev "$ROOT/dev"
  mount --bind /dev/pts "$ROOT/dev/pts"
  in_root() { chroot "$ROOT" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME=/root LANG=C.UTF-8 \
                     DEBIAN_FRONTEND=noninteractive "$@"; }
  log() { echo "[make-root $(date +%T)] $*"; }
  # an interrupted earlier install leaves dpkg half-done
  in_root dpkg --configure -a
  local ninst nwant
  ninst=$(in_root dpkg-query -W -f='${Status}\n' $PKGS $EXTRA_PKGS 2>/dev/null | grep -c ' installed$' || true)
  nwant=$(echo $PKGS $EXTRA_PKGS | wc -w)
  if [ "$ninst" -lt "$nwant" ]; then
    log "installing $((nwant - ninst)) of $nwant packages (and what they need) inside the root"
    in_root apt-get update -q
    in_root apt-get install -y -q --no-install-recommends -o Dpkg::Use-Pty=0 $PKGS $EXTRA_PKGS
  else
    log "all $nwant packages already installed"
  fi
  [ "${CLEAN:-0}" = 1 ] && in_root apt-get clean
  log "versions:"
  in_root sh -c 'gimp-console-3.0 --version;
    for p in gimp-3.0 gimpui-3.0 gegl-0.4 babl-0.1 gtk+-3.0 glib-2.0 openblas gexiv2 sqlite3; do
      printf "  pkg-config %-12s %s\n" "$p" "$(pkg-config --modversion $p)"; done
    printf "  meson %s, ninja %s, %s\n" "$(meson --version)" "$(ninja --version)" "$(gcc --version | head -1)"
    echo "  plug-in dir: $(pkg-config --variable=gimplibdir gimp-3.0)/plug-ins"'
}
export ROOT PKGS EXTRA_PKGS CLEAN
s=$(date +%s)
unshare --mount --propagation private -- bash -c "$(declare -f install_in_root); install_in_root" \
  || die "installing the packages inside $ROOT failed (see the apt output above)"
log "packages ($(( $(date +%s) - s )) s)"
echo $PKGS $EXTRA_PKGS > "$ROOT/.hippotag-packages"
log "disk: $(du -shx "$ROOT" | cut -f1) total, of which apt cache $(du -shx "$ROOT/var/cache/apt/archives" | cut -f1)"
log "ok: $ROOT"
exit 0
}
