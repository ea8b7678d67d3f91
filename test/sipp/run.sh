#!/usr/bin/env bash
# tonewall's SIPp scenarios against a local build (`make sipp`).
#
# Builds bin/tonewall, starts it on loopback with a throwaway config, starts
# uas_cc.xml as the contact center, runs each carrier-side scenario through
# tonewall, and prints one line per scenario. Exit status: 0 when every
# call of every run succeeded (or sipp is not installed), 1 otherwise.
#
# Knobs (environment):
#   SIPP_CALLS=200  calls per run (-m)        SIPP_RATE=50   calls/s (-r)
#   SIPP_LIMIT=100  simultaneous calls (-l)   SIPP_HOLD=1000 talk time, ms (-d)
#   SIPP_TLS=auto   also run uac_basic over TLS: 1, 0, auto (when sipp has TLS
#                   and openssl is installed)
#   SIPP_TRACE=1    add -trace_msg (every SIP message in the logs directory)
#   SIPP_KEEP=1     keep the logs directory even when everything passed
#
# Fixed loopback ports (below the Linux ephemeral range):
#   15060/udp tonewall carrier   15061/tcp tonewall carrier over TLS
#   15062/tcp tonewall carrier over TCP
#   15070/udp tonewall contact-center side        15081/tcp tonewall API
#   15080 sipp carrier (uac)     15090/udp sipp contact center (uas)
#   15082-15099 sipp media/control sockets        16000-23999/udp tonewall media
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

if ! command -v sipp >/dev/null 2>&1; then
	echo "sipp not found: install SIPp to run these scenarios; skipping"
	exit 0
fi

calls=${SIPP_CALLS:-200}
rate=${SIPP_RATE:-50}
limit=${SIPP_LIMIT:-100}
hold=${SIPP_HOLD:-1000}
want_tls=${SIPP_TLS:-auto}
ip=127.0.0.1
api_port=15081
# a run may take its calls' time plus a margin, then counts as failed
run_timeout=$((calls / rate + hold / 1000 + 30))

sipp_version=$(sipp -v 2>&1 | grep -o 'SIPp v[^ ]*' | head -n 1)
sipp_version=${sipp_version%.}
if [[ $want_tls == auto ]]; then
	want_tls=0
	if [[ $sipp_version == *TLS* ]] && command -v openssl >/dev/null 2>&1; then
		want_tls=1
	else
		echo "basic-tls skipped: $sipp_version was built without TLS (Debian's sip-tester is); build SIPp with TLS to run it"
	fi
fi

logs=$(mktemp -d "${TMPDIR:-/tmp}/tonewall-sipp.XXXXXX")
tw_pid="" uas_pid="" failed=0

cleanup() {
	# SIGINT stops tonewall at once (SIGTERM would drain calls for 30s).
	[[ -n $uas_pid ]] && kill "$uas_pid" 2>/dev/null && wait "$uas_pid" 2>/dev/null
	[[ -n $tw_pid ]] && kill -INT "$tw_pid" 2>/dev/null && wait "$tw_pid" 2>/dev/null
	if ((failed)) || [[ ${SIPP_KEEP:-0} == 1 ]]; then
		echo "logs kept in $logs"
	else
		rm -rf "$logs"
	fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

die() {
	echo "run.sh: $*" >&2
	failed=1
	exit 1
}

# --- tonewall ----------------------------------------------------------------

echo "== building tonewall"
(cd "$root" && ${GO:-go} build -o bin/tonewall ./cmd/tonewall) || die "go build failed"
tonewall=$root/bin/tonewall

tls_block="  tls: {min_version: \"1.2\"}"
if ((want_tls)); then
	# sipp -t l1 always presents a client certificate; tonewall's TLS listener
	# verifies any certificate it is given against sip.tls.ca_file, so the
	# throwaway sipp certificate is made its CA (see README.md).
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=sipp carrier" \
		-keyout "$logs/sipp.key" -out "$logs/sipp.crt" >/dev/null 2>&1 ||
		die "openssl could not make a certificate for sipp"
	tls_block="  tls: {min_version: \"1.2\", ca_file: \"$logs/sipp.crt\"}"
fi

cat >"$logs/tonewall.yaml" <<EOF
# throwaway config written by test/sipp/run.sh
sip:
  listeners:
    - {name: carrier, transport: udp, address: "$ip:15060"}
    - {name: carrier_tls, transport: tls, address: "$ip:15061"}
    - {name: carrier_tcp, transport: tcp, address: "$ip:15062"}
    - {name: contact_center, transport: udp, address: "$ip:15070"}
$tls_block
  invite_timeout: 4s
  ring_timeout: 60s
media:
  address: $ip
  port_min: 16000
  port_max: 23999
trunks:
  - name: carrier
    role: carrier
    listener: carrier
    sources: [$ip/32]
    targets: ["sip:$ip:15080"]
    srtp: "off"
    dtmf: rfc4733
    codecs: [PCMU, PCMA]
  - name: carrier_tls
    role: carrier
    listener: carrier_tls
    sources: [$ip/32]
    srtp: "off"
    codecs: [PCMU, PCMA]
  - name: carrier_tcp
    role: carrier
    listener: carrier_tcp
    sources: [$ip/32]
    srtp: "off"
    codecs: [PCMU, PCMA]
  - name: contact_center
    role: contact_center
    listener: contact_center
    sources: [$ip/32]
    targets: ["sip:$ip:15090"]
    srtp: "off"
    dtmf: rfc4733
    codecs: [PCMU, PCMA]
routes:
  - {from: carrier, to: contact_center, capture: api}
  - {from: carrier_tls, to: contact_center, capture: api}
  - {from: carrier_tcp, to: contact_center, capture: api}
api:
  address: "$ip:$api_port"
log:
  level: warn
  format: json
EOF

"$tonewall" check --config "$logs/tonewall.yaml" || die "tonewall rejected the generated config"
"$tonewall" run --config "$logs/tonewall.yaml" >"$logs/tonewall.log" 2>&1 &
tw_pid=$!

# /readyz answers 200 once every listener is bound.
ready() {
	local line
	exec 3<>"/dev/tcp/$ip/$api_port" || return 1
	printf 'GET /readyz HTTP/1.0\r\nHost: %s\r\n\r\n' "$ip" >&3
	IFS= read -r line <&3
	exec 3<&- 3>&-
	[[ $line == *" 200 "* ]]
}
for _ in $(seq 50); do
	kill -0 "$tw_pid" 2>/dev/null || { tail -5 "$logs/tonewall.log" >&2; tw_pid=""; die "tonewall exited at start (ports 15060/15061/15062/15070/$api_port busy?)"; }
	ready 2>/dev/null && break
	sleep 0.2
done
ready 2>/dev/null || die "tonewall not ready after 10s"

# --- contact center: uas_cc.xml ----------------------------------------------

sipp -sf "$here/uas_cc.xml" -i "$ip" -p 15090 -mp 15092 -cp 15098 -nostdin \
	-trace_err -error_file "$logs/uas_cc.errors.log" \
	${SIPP_TRACE:+-trace_msg -message_file "$logs/uas_cc.messages.log"} \
	>"$logs/uas_cc.out" 2>&1 &
uas_pid=$!
sleep 0.5
kill -0 "$uas_pid" 2>/dev/null || { cat "$logs/uas_cc.out" >&2; uas_pid=""; die "sipp uas_cc.xml did not start (port 15090 busy?)"; }

# --- carrier: the uac scenarios -----------------------------------------------

# screen_stat FILE NAME: the cumulative column of a line of sipp's final screen
screen_stat() {
	awk -F'|' -v n="$2" 'index($1, n) == 3 { v = $3 } END { gsub(/^ +| +$/, "", v); print v }' "$1"
}

summary=()

# run LABEL SCENARIO TARGET [sipp args...]
run() {
	local label=$1 xml=$2 target=$3
	shift 3
	local out=$logs/$label.out rc ok ko cps
	echo "== $label: $xml -> $target, $calls calls at $rate/s, at most $limit at once"
	sipp -sf "$here/$xml" -inf "$here/callers.csv" -i "$ip" -p 15080 -mp 15082 -cp 15088 \
		-m "$calls" -r "$rate" -l "$limit" -d "$hold" \
		-recv_timeout 10000 -timeout "${run_timeout}s" -timeout_error -nostdin \
		-trace_err -error_file "$logs/$label.errors.log" \
		${SIPP_TRACE:+-trace_msg -message_file "$logs/$label.messages.log"} \
		"$@" "$target" >"$out" 2>&1
	rc=$?
	ok=$(screen_stat "$out" "Successful call") ko=$(screen_stat "$out" "Failed call") cps=$(screen_stat "$out" "Call Rate")
	grep -E '^  (Successful call|Failed call) ' "$out" | tail -2
	if [[ $rc == 0 && ${ok:-0} == "$calls" ]]; then
		summary+=("$(printf 'PASS  %-18s %4s of %s calls ok, %s failed, %s' "$label" "$ok" "$calls" "${ko:-?}" "$cps")")
	else
		failed=1
		summary+=("$(printf 'FAIL  %-18s %4s of %s calls ok, %s failed, %s, sipp exit %s' "$label" "${ok:-0}" "$calls" "${ko:-?}" "${cps:-?}" "$rc")")
		if [[ -s $logs/$label.errors.log ]]; then
			echo "-- first errors ($logs/$label.errors.log):"
			head -n 12 "$logs/$label.errors.log"
		else
			tail -n 5 "$out"
		fi
	fi
}

run basic-udp uac_basic.xml "$ip:15060" -s 18005550100
run late-offer-udp uac_late_offer.xml "$ip:15060" -s 18005550100
run cancel-udp uac_cancel.xml "$ip:15060" -s noanswer
run basic-tcp uac_basic.xml "$ip:15062" -s 18005550100 -t t1
if ((want_tls)); then
	run basic-tls uac_basic.xml "$ip:15061" -s 18005550100 -t l1 \
		-tls_cert "$logs/sipp.crt" -tls_key "$logs/sipp.key"
fi

# --- the contact center's own view --------------------------------------------

# SIGUSR1: no new calls, finish the current ones, print the final screen, exit.
kill -USR1 "$uas_pid" 2>/dev/null
for _ in $(seq 50); do
	kill -0 "$uas_pid" 2>/dev/null || break
	sleep 0.2
done
if kill -0 "$uas_pid" 2>/dev/null; then
	uas_rc="still running"
else
	wait "$uas_pid"
	uas_rc=$?
	uas_pid=""
fi
ok=$(screen_stat "$logs/uas_cc.out" "Successful call") ko=$(screen_stat "$logs/uas_cc.out" "Failed call")
if [[ $uas_rc == 0 && ${ko:-1} == 0 ]]; then
	summary+=("$(printf 'PASS  %-18s %4s calls answered or cancelled, %s failed' uas-cc "${ok:-?}" "$ko")")
else
	failed=1
	summary+=("$(printf 'FAIL  %-18s %4s calls ok, %s failed, sipp exit %s' uas-cc "${ok:-?}" "${ko:-?}" "$uas_rc")")
	[[ -s $logs/uas_cc.errors.log ]] && head -n 12 "$logs/uas_cc.errors.log"
fi

if grep -q '"level":"\(error\|panic\|fatal\)"' "$logs/tonewall.log"; then
	echo "-- tonewall logged errors ($logs/tonewall.log):"
	grep '"level":"\(error\|panic\|fatal\)"' "$logs/tonewall.log" | head -n 10
fi

echo
echo "== summary ($sipp_version, -m $calls -r $rate -l $limit -d $hold)"
printf '%s\n' "${summary[@]}"
exit $failed
