#!/bin/bash
# Tests of the set-up scripts that a fresh machine depends on (TAP):
# scripts/make-root.sh finds the host's Debian archive in deb822 and
# one-line apt sources (and says why when it cannot, never a silent exit),
# and scripts/link-gimp-plugin puts the plug-in where GIMP 3 looks for the
# user who runs it. (That GIMP really finds it there is checked inside the
# Debian 13 root by tests/plugin/run-e2e.)
set -u
src=${HIPPOTAG_SRCDIR:-$(cd "$(dirname "$0")/.." && pwd)}
n=0; failed=0
ok()   { n=$((n + 1)); echo "ok $n - $1"; }
fail() { n=$((n + 1)); failed=$((failed + 1)); echo "not ok $n - $1"; }
diag() { sed 's/^/# /'; }
work=$(mktemp -d "${TMPDIR:-/tmp}/hippotag-test-scripts.XXXXXX")
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"

# mirror CASE EXPECTED: make-root.sh --print-mirror on the apt folder
# $work/CASE; EXPECTED "" means it must fail with a message.
mirror() {
  local case=$1 want=$2 out rc
  # under the strictest shell options a caller might have
  out=$(env -u MIRROR HIPPOTAG_APT_ETC="$work/$case" SHELLOPTS= \
        bash -o errexit -o nounset -o pipefail -O inherit_errexit \
        "$src/scripts/make-root.sh" --print-mirror 2>"$work/$case.err")
  rc=$?
  if [ -n "$want" ]; then
    if [ $rc = 0 ] && [ "$out" = "$want" ]; then ok "archive from $case: $out"
    else fail "archive from $case: got '$out' (exit $rc), want '$want'"; diag < "$work/$case.err"; fi
  else
    if [ $rc = 1 ] && [ -z "$out" ] && grep -q 'set MIRROR' "$work/$case.err"; then
      ok "no archive in $case: exit 1 with a reason ($(head -c 80 "$work/$case.err"))"
    else fail "no archive in $case: exit $rc, output '$out'"; diag < "$work/$case.err"; fi
  fi
}

# deb822 only, as Debian 12 installs it (security paragraph second)
mkdir -p "$work/deb822/sources.list.d"
cat > "$work/deb822/sources.list.d/debian.sources" <<'EOF'
Types: deb
# http://snapshot.debian.org/archive/debian/20250520T000000Z
URIs: http://deb.debian.org/debian
Suites: bookworm bookworm-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: http://deb.debian.org/debian-security
Suites: bookworm-security
Components: main
EOF
mirror deb822 http://deb.debian.org/debian

# deb822: a disabled paragraph, a deb-src one and the security suite first
mkdir -p "$work/deb822-order/sources.list.d"
cat > "$work/deb822-order/sources.list.d/a.sources" <<'EOF'
Types: deb
URIs: https://security.example.org/debian-security
Suites: bookworm-security
Components: main

Types: deb
URIs: http://disabled.example.org/debian
Suites: bookworm
Enabled: no

Types: deb-src
URIs: http://src.example.org/debian
Suites: bookworm
EOF
cat > "$work/deb822-order/sources.list.d/b.sources" <<'EOF'
Types: deb deb-src
URIs: https://mirror.example.org/debian http://second.example.org/debian
Suites: bookworm
Components: main contrib
EOF
mirror deb822-order https://mirror.example.org/debian

# one-line sources only, with options and the security line first
mkdir -p "$work/oneline"
cat > "$work/oneline/sources.list" <<'EOF'
# comment
deb http://security.debian.org/debian-security bookworm-security main
deb-src http://src.example.org/debian bookworm main
deb [arch=amd64 signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://ftp.example.org/debian bookworm main
EOF
mirror oneline http://ftp.example.org/debian

# a *.list file in sources.list.d only
mkdir -p "$work/list-d/sources.list.d"
echo 'deb http://list.example.org/debian bookworm main' > "$work/list-d/sources.list.d/x.list"
mirror list-d http://list.example.org/debian

# both kinds: deb822 first
mkdir -p "$work/both/sources.list.d"
cp "$work/deb822/sources.list.d/debian.sources" "$work/both/sources.list.d/"
cp "$work/oneline/sources.list" "$work/both/"
mirror both http://deb.debian.org/debian

# nothing usable: an empty folder, and files with only security or cdrom
mkdir -p "$work/none/sources.list.d"
mirror none ""
mkdir -p "$work/unusable/sources.list.d"
printf 'deb cdrom:[Debian]/ bookworm main\ndeb http://s.example.org/debian-security bookworm-security main\n' \
  > "$work/unusable/sources.list"
mirror unusable ""

# MIRROR wins over the sources
out=$(MIRROR=http://given.example.org/debian HIPPOTAG_APT_ETC="$work/none" \
      bash "$src/scripts/make-root.sh" --print-mirror 2>&1)
[ "$out" = http://given.example.org/debian ] && ok "MIRROR overrides the sources" \
  || fail "MIRROR overrides the sources (got '$out')"

# not root: exit 75 (cannot be built here) with the reason, nothing made
if [ "$(id -u)" = 0 ] && command -v setpriv >/dev/null; then
  out=$(ROOT=$work/never-made setpriv --reuid=65534 --regid=65534 --clear-groups \
        bash "$src/scripts/make-root.sh" 2>&1)
  rc=$?
  if [ $rc = 75 ] && grep -q 'needs root' <<<"$out" && [ ! -e "$work/never-made" ]; then
    ok "make-root.sh as a normal user: exit 75, says it needs root"
  else fail "make-root.sh as a normal user: exit $rc"; echo "$out" | diag; fi
else
  ok "make-root.sh as a normal user: this run is not root, checked by being one # SKIP not root"
fi

# link-gimp-plugin: GIMP's own rule for the profile
dir() { env -u SUDO_USER "$@" bash "$src/scripts/link-gimp-plugin" --print-dir; }
got=$(dir HOME=/h/home XDG_CONFIG_HOME= GIMP3_DIRECTORY=)
[ "$got" = /h/home/.config/GIMP/3.0/plug-ins/hippotag ] && ok "profile from HOME: $got" \
  || fail "profile from HOME: got $got"
got=$(dir HOME=/h/home XDG_CONFIG_HOME=/h/xdg GIMP3_DIRECTORY=)
[ "$got" = /h/xdg/GIMP/3.0/plug-ins/hippotag ] && ok "profile from XDG_CONFIG_HOME: $got" \
  || fail "profile from XDG_CONFIG_HOME: got $got"
got=$(dir HOME=/h/home XDG_CONFIG_HOME=/h/xdg GIMP3_DIRECTORY=/h/gimp3)
[ "$got" = /h/gimp3/plug-ins/hippotag ] && ok "profile from GIMP3_DIRECTORY: $got" \
  || fail "profile from GIMP3_DIRECTORY: got $got"
got=$(env -u SUDO_USER HOME=/h/home bash "$src/scripts/link-gimp-plugin" --gimp-dir /given --print-dir)
[ "$got" = /given/plug-ins/hippotag ] && ok "--gimp-dir overrides: $got" || fail "--gimp-dir overrides: got $got"
got=$(env -u SUDO_USER HOME=relative XDG_CONFIG_HOME= GIMP3_DIRECTORY= bash "$src/scripts/link-gimp-plugin" --print-dir 2>&1)
[ $? = 1 ] && ok "a relative profile is refused with a reason" || fail "a relative profile: got $got"
# under sudo: the calling user's own login environment, not root's
if [ "$(id -u)" = 0 ] && getent passwd nobody >/dev/null; then
  nobody_home=$(getent passwd nobody | cut -d: -f6)
  got=$(SUDO_USER=nobody HOME=/root XDG_CONFIG_HOME=/root/xdg GIMP3_DIRECTORY= \
        bash "$src/scripts/link-gimp-plugin" --print-dir 2>&1)
  [ "$got" = "$nobody_home/.config/GIMP/3.0/plug-ins/hippotag" ] \
    && ok "under sudo: the calling user's profile ($got), not root's" \
    || fail "under sudo: got $got, want $nobody_home/.config/GIMP/3.0/plug-ins/hippotag"
fi
# a real link, and the folders made
touch "$work/exe" && chmod +x "$work/exe"
env -u SUDO_USER HOME="$work/home" XDG_CONFIG_HOME= GIMP3_DIRECTORY= \
  bash "$src/scripts/link-gimp-plugin" "$work/exe" > "$work/link.out" 2>&1
[ "$(readlink "$work/home/.config/GIMP/3.0/plug-ins/hippotag/hippotag")" = "$work/exe" ] \
  && ok "links PROFILE/plug-ins/hippotag/hippotag to the executable" \
  || { fail "the link"; diag < "$work/link.out"; }

echo "1..$n"
[ $failed = 0 ]
