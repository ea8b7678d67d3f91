#!/usr/bin/env bash
# Checks the files of deploy/.
#
#   deploy/check.sh          the systemd unit: systemd-analyze verify finds
#                            nothing to say, its exposure score is at most
#                            1.5, and every hardening directive the README
#                            promises is set (make test; skipped, saying so,
#                            without systemd-analyze)
#   deploy/check.sh --image  the same, then builds the image (make image) and
#                            runs `tonewall check` and `tonewall version` in it
#                            with the run flags of deploy/README.md (make test;
#                            skipped, saying so, where buildah and podman
#                            cannot work)
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/.." && pwd)
unit=$here/tonewall.service
image=${IMAGE:-localhost/tonewall:check}

# The directives whose absence would undo the confinement, each with the
# value it must have.
required=(
	"User=tonewall"
	"NoNewPrivileges=yes"
	"CapabilityBoundingSet="
	"AmbientCapabilities="
	"ProtectSystem=strict"
	"ProtectHome=yes"
	"PrivateTmp=yes"
	"PrivateDevices=yes"
	"StateDirectory=tonewall"
	"StateDirectoryMode=0700"
	"LimitNOFILE=65536:65536"
	"LimitCORE=0"
	"RestrictAddressFamilies=AF_INET AF_INET6"
	"SystemCallFilter=@system-service"
	"SystemCallArchitectures=native"
	"MemoryDenyWriteExecute=yes"
	"RestrictSUIDSGID=yes"
	"LockPersonality=yes"
	"UMask=0077"
)

# missing prints the required directives a unit file lacks.
missing() {
	local d
	for d in "${required[@]}"; do
		grep -qxF -- "$d" "$1" || echo "$d"
	done
}

check_unit() {
	if ! command -v systemd-analyze >/dev/null 2>&1; then
		echo "deploy: systemd-analyze not found (Debian: apt-get install systemd); skipping the unit checks"
		return 0
	fi
	local tmp out lacks
	tmp=$(mktemp -d)
	trap 'rm -rf "$tmp"' RETURN
	# verify wants the executable to exist: point the unit at a stand-in.
	sed "s#/usr/local/bin/tonewall#$(type -P true)#g" "$unit" >"$tmp/tonewall.service"
	out=$(systemd-analyze verify "$tmp/tonewall.service" 2>&1) || true
	if [ -n "$out" ]; then
		echo "deploy: systemd-analyze verify tonewall.service:"
		echo "$out"
		return 1
	fi
	# --threshold is on a scale of 0 to 100: 15 is an exposure of 1.5.
	if ! systemd-analyze security --offline=yes --threshold=15 "$tmp/tonewall.service" >"$tmp/security" 2>&1; then
		grep -v '✓' "$tmp/security" || true
		echo "deploy: tonewall.service is more exposed than 1.5"
		return 1
	fi
	lacks=$(missing "$unit")
	if [ -n "$lacks" ]; then
		echo "deploy: tonewall.service lacks:"
		echo "$lacks"
		return 1
	fi
	# The check itself: a unit without NoNewPrivileges must be caught.
	grep -vxF "NoNewPrivileges=yes" "$unit" >"$tmp/weak.service"
	if [ "$(missing "$tmp/weak.service")" != "NoNewPrivileges=yes" ]; then
		echo "deploy: the directive check missed a removed NoNewPrivileges"
		return 1
	fi
	echo "deploy: tonewall.service ok ($(tail -1 "$tmp/security" | sed 's/^→ //'))"
}

# podman runs containers with runc when it is installed: crun refuses
# hosts whose cgroups are mounted in hybrid mode.
podman_run() {
	local rt=()
	if command -v runc >/dev/null 2>&1; then rt=(--runtime "$(command -v runc)"); fi
	podman "${rt[@]}" run --network=none --ulimit "nofile=$nofile:$nofile" --ulimit nproc=4096:4096 --ulimit core=0 \
		-v "$volume:/var/lib/tonewall" "$@"
}

# run_image runs the image with the flags deploy/README.md gives, on a
# fresh named volume (podman copies the image's /var/lib/tonewall, owner
# and mode, into it) and no network.
run_image() {
	podman_run --read-only --cap-drop=ALL --security-opt=no-new-privileges "$@"
}

# serve_briefly runs tonewall in the image until it is ready, stops it with
# SIGTERM, and fails unless it became ready and stopped cleanly.
serve_briefly() {
	local name=tonewall-check-$$ i log
	run_image -d --name "$name" "$image" >/dev/null
	for i in $(seq 1 100); do
		podman logs "$name" 2>&1 | grep -q '"msg":"tonewall ready"' && break
		sleep 0.1
	done
	podman stop -t 10 "$name" >/dev/null
	log=$(podman logs "$name" 2>&1)
	podman rm "$name" >/dev/null
	echo "$log"
	if ! grep -q '"msg":"tonewall ready"' <<<"$log" || ! grep -q '"msg":"stopped"' <<<"$log"; then
		echo "deploy: tonewall in the image did not become ready and stop cleanly"
		return 1
	fi
}

# can_build says whether this host lets buildah and podman work at all
# (a container without user namespaces or a storage driver may not): the
# image check is skipped, saying why, where they cannot.
can_build() {
	local c
	if ! command -v buildah >/dev/null 2>&1 || ! command -v podman >/dev/null 2>&1; then
		echo "deploy: buildah or podman not found (Debian: apt-get install buildah podman runc); skipping the image check"
		return 1
	fi
	if ! c=$(buildah from scratch 2>&1); then
		echo "deploy: buildah cannot make a container on this host; skipping the image check:"
		echo "$c"
		return 1
	fi
	buildah rm "$c" >/dev/null
	if ! podman info >/dev/null 2>&1; then
		echo "deploy: podman does not work on this host ($(podman info 2>&1 | tail -1)); skipping the image check"
		return 1
	fi
}

check_image() {
	local out user
	can_build || return 0
	volume=tonewall-check-$$
	nofile=$(ulimit -Hn) # the README's 65536, or less where the host allows less
	if [ "$nofile" = unlimited ] || [ "$nofile" -gt 65536 ]; then nofile=65536; fi
	trap 'podman volume rm -f "$volume" >/dev/null 2>&1 || true' EXIT
	make -C "$root" --no-print-directory image IMAGE="$image"
	user=$(podman image inspect --format '{{.Config.User}}' "$image")
	if [ "$user" != "10001:10001" ]; then
		echo "deploy: the image runs as '$user', not 10001:10001"
		return 1
	fi
	run_image --rm "$image" version
	out=$(run_image --rm "$image" check --config /etc/tonewall/tonewall.yaml)
	echo "$out"
	if [ "$out" != "/etc/tonewall/tonewall.yaml: ok" ]; then
		echo "deploy: tonewall check in the image did not pass cleanly"
		return 1
	fi
	serve_briefly
	# The vault and the audit log went to the volume, the one writable place.
	run_image --rm "$image" audit verify --file /var/lib/tonewall/audit.log
	echo "deploy: image $image ok"
}

check_unit
if [ "${1:-}" = "--image" ]; then
	check_image
fi
