# Shared by the end-to-end scripts (scripts/test-*.sh): install Debian packages, and run one suite
# under a time bound, stopping every process it started, also when it fails. Source it.

# install_debian PACKAGE...: installs the packages from Debian (root, or through sudo), once more
# after finishing dpkg's interrupted work if the first attempt fails. The packages' services (the
# system nginx on port 80, on every address) are not started: invoke-rc.d obeys policy-rc.d, and
# 101 means "action forbidden".
install_debian() {
    [ "$#" -gt 0 ] || return 0
    local sudo=()
    [ "$(id -u)" -eq 0 ] || sudo=(sudo)
    echo "installing Debian's $*"
    export DEBIAN_FRONTEND=noninteractive
    local log policy_rc= status=0
    log=$(mktemp)
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        policy_rc=/usr/sbin/policy-rc.d
        printf '#!/bin/sh\nexit 101\n' | "${sudo[@]}" tee "$policy_rc" >/dev/null
        "${sudo[@]}" chmod 755 "$policy_rc"
    fi
    timeout 300 "${sudo[@]}" apt-get update -qq || status=$?
    if [ "$status" -eq 0 ] && ! timeout 900 "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$@" >"$log" 2>&1; then
        tail -n 40 "$log"
        echo "apt-get install failed; finishing dpkg's work and trying once more"
        timeout 300 "${sudo[@]}" dpkg --configure -a || true
        timeout 900 "${sudo[@]}" apt-get -o DPkg::Lock::Timeout=300 install -y -qq "$@" >"$log" 2>&1 || {
            tail -n 40 "$log"
            status=1
        }
    fi
    [ -n "$policy_rc" ] && "${sudo[@]}" rm -f "$policy_rc"
    rm -f "$log"
    return "$status"
}

# run_suite PIDFILE_VARIABLE SECONDS COMMAND...: runs COMMAND for at most SECONDS with
# $PIDFILE_VARIABLE naming a file where it writes the PID of every process group it starts; on
# exit, whatever is left of them is killed. Exits with COMMAND's status.
run_suite() {
    local variable=$1 seconds=$2
    shift 2
    _suite_pidfile=$(mktemp)
    _suite_pid=
    export "$variable=$_suite_pidfile"
    trap _suite_cleanup EXIT
    trap 'exit 130' INT TERM
    timeout --kill-after=10 "$seconds" "$@" &
    _suite_pid=$!
    local status=0
    wait "$_suite_pid" || status=$?
    _suite_pid=
    exit "$status"
}

_suite_cleanup() {
    local status=$?
    if [ -n "${_suite_pid:-}" ]; then
        kill "$_suite_pid" 2>/dev/null || true
        wait "$_suite_pid" 2>/dev/null || true
    fi
    # Whatever the suite could not stop itself (each PID leads its own process group).
    local pid
    while read -r pid; do
        [ -n "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null || true
    done <"$_suite_pidfile"
    rm -f "$_suite_pidfile"
    exit "$status"
}
