#!/usr/bin/env bash
# Boot test: the Debian packages built by this checkout, installed with apt and used as an
# operator would, under a real systemd 252 as PID 1 (Debian 12 booted in systemd-nspawn).
#
# The Debian 12 root is made once with debootstrap from the machine's own apt mirror and
# cached in the build folder (made again when its recipe below changes); each run boots a
# throwaway overlay of it inside a private mount namespace, so nothing leaks into the
# host's mounts, and powers it off on every exit path. Commands run inside through
# `nsenter -t <container PID 1> -a`, each under a timeout.
#
# Usage: boot-test.sh BUILD_DIR
# Exits 77 (skipped) with the reason when it cannot run here: not root, no
# systemd-nspawn or debootstrap (scripts/install-deps installs both), no mirror.
set -euo pipefail

build=$(realpath "$1")
suite=bookworm
include=systemd,systemd-sysv,dbus,libpam-systemd,procps,libnuma1
recipe="$suite --variant=minbase --include=$include"
work="$build/boot-test"

skip() { echo "boot-test: SKIPPED: $*"; exit 77; }
fail() { echo "boot-test: FAIL: $*" >&2; exit 1; }
step() { echo "boot-test: [$(date +%T)] $*"; }

[[ $(id -u) -eq 0 ]] || skip "needs root (debootstrap, mounts, systemd-nspawn)"
for tool in systemd-nspawn debootstrap nsenter unshare losetup mkfs.ext4 cpack; do
  command -v "$tool" >/dev/null || skip "$tool is missing (scripts/install-deps installs it)"
done
# shellcheck source=tests/package/debian-mirror.sh
source "$(dirname "$0")/debian-mirror.sh"
mirror=$(debian_mirror)
[[ -n $mirror ]] || skip "no Debian mirror in the machine's apt sources"

# Everything below runs in a private mount namespace: the overlay and anything nspawn
# mounts vanish with it, however this script ends.
if [[ -z ${GUARDD_BOOT_TEST_NS:-} ]]; then
  GUARDD_BOOT_TEST_NS=1 exec unshare --mount --propagation private "$0" "$@"
fi

mkdir -p "$work"
cache="$work/$suite-$(printf '%s' "$recipe" | sha256sum | cut -c1-12)"
archives="$work/apt-archives"  # .debs fetched inside the container, kept between runs
mkdir -p "$archives/partial"

step "building the packages"
(cd "$build" && rm -f ./*.deb && cpack >"$work/cpack.log" 2>&1) || { tail -20 "$work/cpack.log"; fail "cpack failed"; }
guardd_deb=$(ls "$build"/guardd_*.deb)
shims_deb=$(ls "$build"/guardd-shims_*.deb)

if [[ ! -x $cache/usr/bin/apt-get ]]; then
  step "debootstrap $recipe from the machine's mirror into $cache (once)"
  rm -rf "$cache.tmp"
  started=$SECONDS
  timeout 900 debootstrap --variant=minbase --include="$include" "$suite" "$cache.tmp" "$mirror" \
    >"$work/debootstrap.log" 2>&1 || { tail -20 "$work/debootstrap.log"; fail "debootstrap failed"; }
  mv "$cache.tmp" "$cache"
  step "debootstrap took $((SECONDS - started)) s"
fi

run=$(mktemp -d "$work/run.XXXXXX")
nspawn_watch=""  # the timeout process that bounds the container's life
nspawn_pid=""
ct_pid=""        # the container's PID 1, as the host sees it
loop=""

# The children of a process, from the kernel's list (empty when it is gone).
children_of() { cat /proc/"$1"/task/*/children 2>/dev/null | tr ' ' '\n' | sed '/^$/d' || true; }
parent_of() { awk '/^PPid:/ {print $2}' /proc/"$1"/status 2>/dev/null || true; }

# True when $1 is the container's init: non-empty, not 1, a child of our nspawn.
is_container_init() {
  [[ -n $1 && $1 != 1 && -n $nspawn_pid && $nspawn_pid != 1 && $(parent_of "$1") == "$nspawn_pid" ]]
}

cleanup() {
  set +e
  if [[ -n $nspawn_pid ]] && kill -0 "$nspawn_pid" 2>/dev/null; then
    # SIGRTMIN+4 is systemd's "power off"; then nspawn exits. Only ever sent to the
    # verified container init.
    if is_container_init "$ct_pid"; then kill -s RTMIN+4 "$ct_pid"; fi
    for _ in $(seq 600); do kill -0 "$nspawn_pid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$nspawn_pid" 2>/dev/null && [[ $(parent_of "$nspawn_pid") == "$nspawn_watch" ]]; then
      echo "boot-test: the container did not power off within 60 s; killing systemd-nspawn" >&2
      kill -KILL "$nspawn_pid"
    fi
  fi
  [[ -n $nspawn_watch ]] && wait "$nspawn_watch" 2>/dev/null
  [[ -n $loop ]] && losetup -d "$loop"
  mountpoint -q "$run/merged" && umount "$run/merged"
  rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 143' TERM INT HUP

step "an overlay of the cached root; a loop device for the wipe checks"
mkdir -p "$run/upper" "$run/work" "$run/merged"
mount -t overlay overlay -o "lowerdir=$cache,upperdir=$run/upper,workdir=$run/work" "$run/merged"
truncate -s 64M "$run/disk.img"
loop=$(losetup -f --show "$run/disk.img")
mkfs.ext4 -q "$loop"
cp "$guardd_deb" "$shims_deb" "$run/merged/var/tmp/"

step "booting $suite under systemd-nspawn"
# The whole container life is bounded: timeout sends nspawn SIGTERM (it halts the
# container), then SIGKILL.
timeout -k 15 900 systemd-nspawn -D "$run/merged" --boot --register=no --keep-unit \
  --console=pipe --machine="guardd-boot-$$" --bind="$loop" --bind="$archives:/var/cache/apt/archives" \
  </dev/null >"$work/console.log" 2>&1 &
nspawn_watch=$!
for _ in $(seq 300); do
  nspawn_pid=$(children_of "$nspawn_watch" | head -n 1)
  [[ -n $nspawn_pid ]] && ct_pid=$(children_of "$nspawn_pid" | head -n 1)
  if [[ -n $ct_pid ]] && is_container_init "$ct_pid" && [[ $(cat /proc/"$ct_pid"/comm 2>/dev/null) == systemd ]]; then
    break
  fi
  kill -0 "$nspawn_watch" 2>/dev/null || { tail -30 "$work/console.log"; fail "systemd-nspawn exited"; }
  ct_pid=""
  sleep 0.1
done
[[ -n $ct_pid ]] || { tail -30 "$work/console.log"; fail "no systemd in the container after 30 s"; }

# Runs a command inside the container, bounded, with a clean environment.
in_ct() {
  timeout 120 nsenter -t "$ct_pid" -a /usr/bin/env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    LANG=C.UTF-8 "$@" </dev/null
}
# Polls a command inside the container until it succeeds, up to $1 tenths of a second.
poll_ct() {
  local tries=$1
  shift
  for _ in $(seq "$tries"); do
    in_ct "$@" >/dev/null 2>&1 && return 0
    sleep 0.1
  done
  return 1
}

state=""
for _ in $(seq 600); do
  state=$(in_ct systemctl is-system-running 2>/dev/null || true)
  [[ $state == running || $state == degraded ]] && break
  sleep 0.1
done
[[ $state == running ]] || { in_ct systemctl --failed --no-pager || true; fail "the container's systemd is '$state', not running"; }
boot_pid1=$ct_pid
step "booted: $(in_ct systemctl --version | head -n 1)"

step "apt install of both packages"
in_ct apt-get update -qq >"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log"; fail "apt-get update in the container"; }
in_ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
  "/var/tmp/$(basename "$guardd_deb")" "/var/tmp/$(basename "$shims_deb")" >>"$work/apt.log" 2>&1 ||
  { tail -20 "$work/apt.log"; fail "apt-get install"; }
[[ $(in_ct systemctl is-active guardd.socket) == active ]] || fail "guardd.socket is not active after install"
[[ $(in_ct systemctl is-active guardd.service || true) == inactive ]] || fail "guardd.service runs before anyone asked"

step "socket activation on the first guardctl status"
out=$(in_ct guardctl status 2>&1) || { echo "$out"; in_ct journalctl -u guardd --no-pager | tail -20; fail "guardctl status"; }
sed 's/^/  | /' <<<"$out"
grep -q "healthy" <<<"$out" || { echo "$out"; fail "status does not say the audit log is healthy"; }
[[ $(in_ct systemctl is-active guardd.service) == active ]] || fail "guardd.service is not active after the first call"
main_pid=$(in_ct systemctl show -p MainPID --value guardd.service)

step "a decision's journal entry"
out=$(in_ct guardctl check reboot --reason "boot test" 2>&1) || { echo "$out"; fail "reboot refused with nothing to refuse it"; }
id=$(sed -n 's/.*(decision \([0-9]*\)).*/\1/p' <<<"$out")
[[ -n $id ]] || { echo "$out"; fail "no decision id in the answer"; }
poll_ct 100 sh -c "journalctl -o cat GUARDD_DECISION_ID=$id | grep -q ." ||
  fail "no journal entry with GUARDD_DECISION_ID=$id"
entry=$(in_ct journalctl -o verbose GUARDD_DECISION_ID="$id")
grep -q "GUARDD_VERDICT=allowed" <<<"$entry" || { echo "$entry"; fail "the entry lacks GUARDD_VERDICT"; }

step "systemctl reload with a good drop-in: the hook check shows, same main PID"
mkdir -p "$run/merged/etc/guardd/guardd.conf.d"
cat >"$run/merged/etc/guardd/guardd.conf.d/50-backup.conf" <<'EOF'
# As the hook's header says to enable it.
[check.backup]
type = hook
exec = /etc/guardd/hooks.d/backup-running
operations = reboot poweroff reinstall wipe decommission
timeout = 2s

[check.users]
type = hook
exec = /etc/guardd/hooks.d/users-logged-in
operations = reboot poweroff
EOF
in_ct systemctl reload guardd || fail "systemctl reload with a good drop-in"
poll_ct 50 sh -c 'guardctl status | grep -q "backup"' || fail "the new check does not show after reload"
[[ $(in_ct systemctl show -p MainPID --value guardd.service) == "$main_pid" ]] || fail "reload restarted guardd"

step "systemctl reload with a bad drop-in fails; the old config stays"
printf '[check.broken]\ntype = no-such-type\n' >"$run/merged/etc/guardd/guardd.conf.d/60-broken.conf"
if out=$(in_ct systemctl reload guardd 2>&1); then fail "systemctl reload succeeded with a bad drop-in"; fi
rm "$run/merged/etc/guardd/guardd.conf.d/60-broken.conf"
out=$(in_ct guardctl status 2>&1) || { echo "$out"; fail "guardd stopped answering after a bad reload"; }
grep -q "backup" <<<"$out" || { echo "$out"; fail "the config in force was lost by a bad reload"; }
[[ $(in_ct systemctl is-active guardd.service) == active ]] || fail "guardd is not active after a bad reload"
[[ $(in_ct systemctl show -p MainPID --value guardd.service) == "$main_pid" ]] || fail "a bad reload restarted guardd"

step "the hooks under the real unit (real procps and libnuma)"
mkdir -p "$run/merged/var/tmp/names"
cp "$run/merged/bin/sleep" "$run/merged/var/tmp/names/mysqldump"
cp "$run/merged/bin/sleep" "$run/merged/var/tmp/names/etcd"
out=$(in_ct guardctl check reboot 2>&1) || { echo "$out"; fail "reboot refused while no backup runs"; }
grep -Eq '^ +backup +pass +no backup running' <<<"$out" || { echo "$out"; fail "backup-running did not pass"; }
grep -Eq '^ +users +pass +nobody logged in' <<<"$out" || { echo "$out"; fail "users-logged-in did not pass"; }
dump_pid=$(in_ct sh -c '/var/tmp/names/mysqldump 600 </dev/null >/dev/null 2>&1 & echo $!')
if out=$(in_ct guardctl check reboot 2>&1); then echo "$out"; fail "reboot allowed while mysqldump runs"; fi
grep -Eq "^ +backup +veto +backup in progress: mysqldump running \(pid $dump_pid\)" <<<"$out" ||
  { echo "$out"; fail "backup-running did not refuse while mysqldump runs"; }
in_ct kill "$dump_pid"
poll_ct 50 guardctl check reboot || fail "reboot still refused after mysqldump ended"
# A login, as utmp records it (written with util-linux' utmpdump, read by the real who).
in_ct cp /var/run/utmp /var/tmp/utmp.saved
printf '[7] [%05d] [ts/0] [alice   ] [pts/0       ] [                    ] [0.0.0.0        ] [%s]\n' \
  1 "$(date -u +%Y-%m-%dT%H:%M:%S,000000+00:00)" >"$run/merged/var/tmp/login.txt"
in_ct utmpdump -r -o /var/run/utmp /var/tmp/login.txt 2>/dev/null || fail "utmpdump"
in_ct who | grep -q alice || fail "the test login is not in utmp"
if out=$(in_ct guardctl check reboot 2>&1); then echo "$out"; fail "reboot allowed while alice is logged in"; fi
grep -Eq '^ +users +veto +users logged in: alice' <<<"$out" || { echo "$out"; fail "users-logged-in did not refuse"; }
in_ct cp /var/tmp/utmp.saved /var/run/utmp
poll_ct 50 guardctl check reboot || fail "reboot still refused after the login ended"

step "a process check sees another user's process"
etcd_pid=$(in_ct setpriv --reuid=65534 --regid=65534 --clear-groups \
  sh -c '/var/tmp/names/etcd 600 </dev/null >/dev/null 2>&1 & echo $!')
if out=$(in_ct guardctl check reinstall 2>&1); then echo "$out"; fail "reinstall allowed while etcd runs"; fi
grep -Eq "^ +critical-daemons +veto .*$etcd_pid" <<<"$out" || { echo "$out"; fail "critical-daemons did not name nobody's etcd"; }
in_ct kill "$etcd_pid"

step "a wipe of a loop device: refused while mounted, allowed when not"
out=$(in_ct guardctl check wipe --target "$loop" 2>&1) || { echo "$out"; fail "wipe of an unused $loop refused"; }
in_ct mkdir -p /mnt/disk
in_ct mount "$loop" /mnt/disk || fail "mount $loop in the container"
if out=$(in_ct guardctl check wipe --target "$loop" 2>&1); then echo "$out"; fail "wipe of a mounted $loop allowed"; fi
grep -Eq '^ +block-device +veto .*mounted' <<<"$out" || { echo "$out"; fail "block-device did not say it is mounted"; }
in_ct umount /mnt/disk
out=$(in_ct guardctl check wipe --target "$loop" 2>&1) || { echo "$out"; fail "wipe refused after umount"; }

step "under a hold, the diverted reboot, shutdown -r now and poweroff -f are refused"
out=$(in_ct guardctl hold --reason "boot test hold") || fail "guardctl hold"
hold_id=$(sed -n 's/^Placed hold \([0-9]*\) .*/\1/p' <<<"$out")
for cmd in "reboot" "shutdown -r now" "poweroff -f"; do
  # shellcheck disable=SC2086 # the command's words
  if out=$(in_ct $cmd 2>&1); then echo "$out"; fail "'$cmd' was allowed under a hold"; fi
  grep -q "boot test hold" <<<"$out" || { echo "$out"; fail "'$cmd': the refusal does not name the hold"; }
done
[[ $(in_ct systemctl is-system-running) == running ]] || fail "the container is not running after the refused shutdowns"
is_container_init "$boot_pid1" || fail "the container's PID 1 changed: something rebooted it"
in_ct guardctl release "$hold_id" >/dev/null || fail "guardctl release $hold_id"

step "the watchdog keeps guardd up past WatchdogSec"
mkdir -p "$run/merged/etc/systemd/system/guardd.service.d"
printf '[Service]\nWatchdogSec=2s\n' >"$run/merged/etc/systemd/system/guardd.service.d/watchdog.conf"
in_ct systemctl daemon-reload
in_ct systemctl restart guardd.service
main_pid=$(in_ct systemctl show -p MainPID --value guardd.service)
restarts=$(in_ct systemctl show -p NRestarts --value guardd.service)
pings=()
last=0
deadline=$((SECONDS + 30))
while ((${#pings[@]} < 4)); do
  ((SECONDS < deadline)) || fail "fewer than 4 watchdog pings in 30 s (saw ${#pings[@]})"
  ts=$(in_ct systemctl show -p WatchdogTimestampMonotonic --value guardd.service)
  if [[ -n $ts && $ts != 0 && $ts != "$last" ]]; then
    pings+=("$ts")
    last=$ts
  fi
  [[ $(in_ct systemctl show -p MainPID --value guardd.service) == "$main_pid" ]] ||
    fail "guardd was restarted under WatchdogSec=2s"
  sleep 0.2
done
span=$(( (last - pings[0]) / 1000 ))
((span > 2000)) || fail "watchdog pings span only $span ms"
[[ $(in_ct systemctl show -p NRestarts --value guardd.service) == "$restarts" ]] || fail "guardd restarted meanwhile"
rm -r "$run/merged/etc/systemd/system/guardd.service.d"
in_ct systemctl daemon-reload

step "MariaDB from Debian's package: found and probed by the shipped policy"
in_ct env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends mariadb-server \
  >>"$work/apt.log" 2>&1 || { tail -20 "$work/apt.log"; fail "apt-get install mariadb-server"; }
poll_ct 300 test -S /run/mysqld/mysqld.sock || fail "mariadb did not start"
mariadbd_pid=$(in_ct systemctl show -p MainPID --value mariadb.service)
if out=$(in_ct guardctl check reinstall 2>&1); then echo "$out"; fail "reinstall allowed while mariadbd runs"; fi
grep -Eq "^ +mysqld-running +veto .*$mariadbd_pid" <<<"$out" || { echo "$out"; fail "mysqld-running did not name mariadbd"; }
out=$(in_ct guardctl check reboot 2>&1) || { echo "$out"; fail "reboot of a standalone, idle MariaDB refused"; }
grep -Eq '^ +mysql-replication +pass' <<<"$out" || { echo "$out"; fail "mysql-replication did not probe the server"; }
grep -Eq '^ +mysql-connections +pass' <<<"$out" || { echo "$out"; fail "mysql-connections did not probe the server"; }

step "the service never died: no seccomp kill, no restart"
[[ $(in_ct systemctl show -p NRestarts --value guardd.service) == 0 ]] || fail "guardd.service was restarted"
if in_ct journalctl -u guardd --no-pager | grep -E "SIGSYS|status=31|code=killed"; then fail "guardd was killed"; fi

step "systemd-analyze security guardd.service: exposure at most 2.5"
security=$(in_ct systemd-analyze security --no-pager guardd.service 2>&1 | tail -n 1)
exposure=$(sed -n 's/.*exposure level for guardd.service: \([0-9.]*\).*/\1/p' <<<"$security")
[[ -n $exposure ]] || { echo "$security"; fail "no exposure level from systemd-analyze security"; }
awk -v e="$exposure" 'BEGIN {exit !(e <= 2.5)}' || fail "exposure $exposure is above 2.5"
step "exposure $exposure"

echo "boot-test: PASS"
