#!/bin/bash
# t1003-detect-container.sh - the container key: each container manager's
# mark in a root taken for a running system's (--root DIR --live), in
# systemd's order and with its names; never from an offline root; the exit
# status speaks of the hypervisor only; and on this machine the same answer
# as systemd-detect-virt --container (and --vm, for the hypervisor).
. "$ENLIGHTEN_SRCDIR/tests/cli/lib.sh"
command -v jq >/dev/null || skip_all "jq not installed"

D=$FIXTURES/detect

container() { # ROOT [ARGS...]: the container key of a --live run
	local root=$1
	shift
	enlighten-detect --json --root "$root" --live "$@" | jq -r '.container'
}

fresh() { rm -rf c && mkdir c; }

fresh
is "nothing: null" "$(container c)" "null"
: >c/.dockerenv
is "/.dockerenv: docker" "$(container c)" "docker"
mkdir -p c/run && : >c/run/.containerenv
is "/run/.containerenv beats /.dockerenv: podman" "$(container c)" "podman"
mkdir -p c/run/systemd && echo systemd-nspawn >c/run/systemd/container
is "/run/systemd/container beats the files" "$(container c)" "systemd-nspawn"
mkdir -p c/run/host && echo lxc-libvirt >c/run/host/container-manager
is "/run/host/container-manager beats /run/systemd/container" "$(container c)" "lxc-libvirt"
echo acme-runtime >c/run/host/container-manager
is "an unknown manager: container-other" "$(container c)" "container-other"
echo oci >c/run/host/container-manager
is "'oci': the files decide" "$(container c)" "podman"
rm c/run/.containerenv c/.dockerenv
is "'oci' without files: container-other" "$(container c)" "container-other"

fresh
mkdir -p c/proc/1
printf 'HOME=/\0container=lxc\0TERM=linux\0' >c/proc/1/environ
is "PID 1's \$container" "$(container c)" "lxc"
mkdir -p c/proc/vz
is "/proc/vz without /proc/bc: openvz, first" "$(container c)" "openvz"
mkdir -p c/proc/bc
is "/proc/vz with /proc/bc is the OpenVZ host" "$(container c)" "lxc"

fresh
mkdir -p c/proc/sys/kernel
echo 5.15.167.4-microsoft-standard-WSL2 >c/proc/sys/kernel/osrelease
is "WSL2: wsl" "$(container c)" "wsl"
echo 4.4.0-19041-Microsoft >c/proc/sys/kernel/osrelease
is "WSL1: wsl" "$(container c)" "wsl"

fresh
mkdir -p c/proc/self/ns c/sys/fs/cgroup c/sys/kernel/cgroup
: >c/proc/self/ns/cgroup
: >c/sys/fs/cgroup/cgroup.controllers
: >c/sys/kernel/cgroup/features
is "cgroup v2 root cgroup: no container" "$(container c)" "null"
: >c/sys/fs/cgroup/cgroup.events
: >c/sys/fs/cgroup/cgroup.type
is "cgroup v2, a nested cgroup at /sys/fs/cgroup: container-other" "$(container c)" "container-other"

# The exit status and plain output speak of the hypervisor.
fresh
cp -R "$D/kvm/root/." c/
: >c/.dockerenv
exits 0 "a KVM guest in a container exits 0" \
	enlighten-detect --root c --live --cpuid-file "$D/kvm/cpuid"
is "and prints kvm" "$(last_output)" "kvm"
rm -rf c && mkdir -p c/run/systemd && echo docker >c/run/systemd/container
exits 1 "a container on bare metal exits 1, as systemd-detect-virt --vm" \
	enlighten-detect --quiet --root c --live
is "an offline root is never asked" \
	"$(enlighten-detect --json --root c | jq -r '.container, (.evidence[] | select(.source == "container") | .detail)')" \
	"null
not asked: an offline root"
exits 2 "--live without --root is refused" enlighten-detect --live
like "and says why" "$(last_output)" "--live goes with --root"

# This machine, against the reference.
if command -v systemd-detect-virt >/dev/null; then
	want=$(systemd-detect-virt --container 2>/dev/null)
	got=$(enlighten-detect --json | jq -r '.container // "none"')
	is "live: the container systemd-detect-virt --container names ($want)" "$got" "$want"
	want=$(systemd-detect-virt --vm 2>/dev/null)
	case $want in # systemd's names for what enlighten names by technology
	amazon | google) want=kvm ;;
	bochs) want=qemu ;;
	esac
	is "live: the hypervisor systemd-detect-virt --vm names ($want)" \
		"$(enlighten-detect 2>/dev/null)" "$want"
fi

done_testing
