#!/usr/bin/env bash
# Install test of the Debian packages in a minimal Debian 12 root made with debootstrap
# (cached in the build folder): install, use, purge. Needs root; exits 77 (skipped)
# otherwise. Usage: install-test.sh BUILD_DIR
set -euo pipefail

build=$(realpath "$1")
if [[ $(id -u) -ne 0 ]]; then
  echo "install-test: needs root (debootstrap, chroot, mounts); skipped"
  exit 77
fi
for tool in debootstrap chroot dpkg-deb; do
  command -v "$tool" >/dev/null || { echo "install-test: $tool missing (scripts/install-deps)"; exit 1; }
done

work="$build/package-test"
cache="$work/debian12-minbase"
root="$work/root"
mkdir -p "$work"

fail() { echo "install-test: FAIL: $*" >&2; exit 1; }
step() { echo "install-test: $*"; }

# The machine's own Debian mirror, from its apt sources.
# shellcheck source=tests/package/debian-mirror.sh
source "$(dirname "$0")/debian-mirror.sh"
mirror=$(debian_mirror)
[[ -n $mirror ]] || fail "no Debian mirror in the machine's apt sources"

step "building the packages"
(cd "$build" && rm -f ./*.deb && cpack >/dev/null) || fail "cpack failed"
guardd_deb=$(ls "$build"/guardd_*.deb)
shims_deb=$(ls "$build"/guardd-shims_*.deb)

if [[ ! -x $cache/usr/bin/apt-get ]]; then
  step "debootstrap bookworm (minbase) from $mirror into the cache (once)"
  rm -rf "$cache.tmp"
  debootstrap --variant=minbase bookworm "$cache.tmp" "$mirror" >"$work/debootstrap.log" 2>&1 ||
    { tail -20 "$work/debootstrap.log"; fail "debootstrap failed"; }
  mv "$cache.tmp" "$cache"
fi

cleanup() {
  set +e
  if [[ -n ${guardd_pid:-} ]]; then kill "$guardd_pid" 2>/dev/null; wait "$guardd_pid" 2>/dev/null; fi
  for m in "$root/proc" "$root/dev"; do mountpoint -q "$m" && umount -l "$m"; done
  rm -rf "$root"
}
trap cleanup EXIT

step "fresh root from the cache"
rm -rf "$root"
cp -a "$cache" "$root"
cp /etc/resolv.conf "$root/etc/resolv.conf"
mount -t proc proc "$root/proc"
mount --bind /dev "$root/dev"
# No services start inside the root.
printf '#!/bin/sh\nexit 101\n' >"$root/usr/sbin/policy-rc.d"
chmod 755 "$root/usr/sbin/policy-rc.d"
in_root() { chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin "$@"; }

step "apt install of both packages"
cp "$guardd_deb" "$shims_deb" "$root/tmp/"
in_root apt-get update -qq >/dev/null || fail "apt-get update in the root"
DEBIAN_FRONTEND=noninteractive in_root apt-get install -y -qq --no-install-recommends \
  "/tmp/$(basename "$guardd_deb")" "/tmp/$(basename "$shims_deb")" >"$work/apt.log" 2>&1 ||
  { tail -20 "$work/apt.log"; fail "apt-get install"; }

step "files, group, units, diversions"
for f in /usr/sbin/guardd /usr/bin/guardctl /etc/guardd/guardd.conf /lib/systemd/system/guardd.service \
         /lib/systemd/system/guardd.socket /usr/share/man/man8/guardd.8.gz /usr/lib/guardd/guardd-shim \
         /etc/guardd/hooks.d/backup-running; do
  [[ -e $root$f ]] || fail "$f is missing"
done
in_root getent group guardd >/dev/null || fail "group guardd was not created"
[[ -L $root/etc/systemd/system/sockets.target.wants/guardd.socket ]] || fail "guardd.socket is not enabled"
diversions=$(in_root dpkg-divert --list guardd-shims)
grep -q "/sbin/wipefs.guardd-real" <<<"$diversions" || fail "wipefs is not diverted"
[[ $(readlink "$root/sbin/reboot") == /usr/lib/guardd/guardd-shim ]] || fail "/sbin/reboot is not the shim"
in_root grep -q '^/etc/guardd/guardd.conf$' /var/lib/dpkg/info/guardd.conffiles || fail "guardd.conf is no conffile"

step "the MySQL client library guardd loads on demand (dlopen) came with it"
# Captured first, not piped: grep -q leaves at the first match, and under pipefail the
# SIGPIPE that ldconfig then gets on its next 4 KiB write fails the test (CI saw it).
libraries=$(in_root ldconfig -p)
grep -q 'libmariadb\.so\.3 ' <<<"$libraries" || fail "libmariadb.so.3 is not installed (Depends: libmariadb3)"

step "guardd --check-config on the shipped config"
in_root guardd --check-config >"$work/check-config.log" 2>&1 || { cat "$work/check-config.log"; fail "check-config"; }

step "guardd started by hand answers guardctl status"
chroot "$root" /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin /usr/sbin/guardd >"$work/guardd.log" 2>&1 &
guardd_pid=$!
for _ in $(seq 100); do
  in_root guardctl --timeout 1s status >/dev/null 2>&1 && break
  kill -0 "$guardd_pid" 2>/dev/null || { cat "$work/guardd.log"; fail "guardd exited"; }
  sleep 0.1
done
in_root guardctl status >/dev/null || { cat "$work/guardd.log"; fail "guardctl status"; }

step "the reboot shim refuses under a hold and runs the real binary when allowed"
# minbase has no systemd-sysv: a harmless stand-in is the "real" reboot.
printf '#!/bin/sh\necho "real reboot ran: $*" > /tmp/reboot-ran\n' >"$root/sbin/reboot.guardd-real"
chmod 755 "$root/sbin/reboot.guardd-real"
in_root guardctl hold --reason "install test" >/dev/null || fail "guardctl hold"
if in_root /sbin/reboot >"$work/shim.log" 2>&1; then fail "reboot was allowed under a hold"; fi
grep -q "install test" "$work/shim.log" || { cat "$work/shim.log"; fail "the refusal does not name the hold"; }
[[ ! -e $root/tmp/reboot-ran ]] || fail "the real reboot ran under a hold"
in_root guardctl release 1 >/dev/null || fail "guardctl release"
in_root /sbin/reboot --force >"$work/shim.log" 2>&1 || { cat "$work/shim.log"; fail "reboot refused without a hold"; }
grep -q "real reboot ran: --force" "$root/tmp/reboot-ran" || fail "the real reboot did not get its arguments"
rm -f "$root/sbin/reboot.guardd-real"

kill "$guardd_pid"
wait "$guardd_pid" || true
guardd_pid=

step "purge leaves nothing behind"
DEBIAN_FRONTEND=noninteractive in_root apt-get purge -y -qq guardd-shims guardd >"$work/purge.log" 2>&1 ||
  { tail -20 "$work/purge.log"; fail "apt-get purge"; }
for f in /usr/sbin/guardd /usr/bin/guardctl /etc/guardd /var/lib/guardd /usr/lib/guardd \
         /lib/systemd/system/guardd.service /etc/systemd/system/sockets.target.wants/guardd.socket \
         /sbin/wipefs.guardd-real; do
  [[ ! -e $root$f ]] || fail "$f is left after purge"
done
[[ -z $(in_root dpkg-divert --list guardd-shims) ]] || fail "diversions are left after purge"
[[ -x $root/sbin/wipefs && ! -L $root/sbin/wipefs ]] || fail "the real wipefs was not put back"
# Allowed by Debian policy to remain: the guardd system group.
echo "install-test: PASS"
