#!/usr/bin/env bash
# tonewall's SIPp scenarios against a local build (`make sipp`, `make test`).
#
#   test/sipp/run.sh [SCENARIO...]
#
# Builds bin/tonewall, starts it on loopback with a throwaway config and the
# contact-center scenarios, runs each SCENARIO through it, and prints one
# line per run. Exit status: 0 when every run passed (or sipp is not
# installed), 1 otherwise. SCENARIO is one of:
#
#   flows      the call flows: uac_basic (UDP, TCP, TLS), uac_late_offer,
#              uac_cancel, uac_media (UDP, TLS: uac_basic with RTP both ways)
#   pay        the payment calls (pay.sh): a caller keys a card in-band (µ-law
#              and A-law), as RFC 4733 events, as SIP INFO (over UDP, and
#              over TLS), and in-band over SDES-SRTP on both legs, each once
#              with no capture window (the contact center must get every key)
#              and once with one (it must get none, and the token)
#   pay-WAY    one way of pay: pay-inband-pcmu, pay-inband-pcma, pay-rfc4733,
#              pay-info, pay-srtp, pay-info-tls
#   load       the payment call under load: ramp-up, windows on a share of calls
#   all        flows pay load (`make sipp`)
# With none: flows pay (what `make test` runs).
#
# Knobs (environment):
#   SIPP=sipp       the sipp to run (a build with TLS for the TLS runs)
#   SIPP_CALLS=200  calls per flows run (-m)  SIPP_RATE=50   calls/s (-r)
#   SIPP_LIMIT=100  simultaneous calls (-l)   SIPP_HOLD=1000 talk time, ms (-d)
#   SIPP_TLS=auto   the TLS runs (basic-tls, media-tls, pay-info-tls): 1, 0, auto (when
#                   sipp has TLS and openssl is installed; else skipped, saying why)
#   SIPP_TRACE=1    add -trace_msg (every SIP message in the logs directory)
#   SIPP_FLOWS="basic-udp late-offer-udp cancel-udp basic-tcp basic-tls media-udp media-tls"
#                   the flows runs to do (default: all)
#   SIPP_LIMITS='{max_calls: 5000, source_rate: -1}'  tonewall's sip.limits
#                   (default: tonewall's own: 1000 calls, 2000 requests/s a source)
#   SIPP_MEDIA_PORTS=16000-23999  tonewall's media port range
#   SIPP_BUFF=4194304  the flows sipps' socket buffers, bytes (-buff_size;
#                   the kernel caps it at net.core.rmem_max)
#   SIPP_STATS=1    per flows run: CPU of tonewall and both sipps, UDP receive
#                   buffer errors, sipp's retransmissions and timeouts
#                   (-trace_stat), tonewall's drops and refusals (stats.sh)
#   SIPP_KEEP=1     keep the logs directory even when everything passed
#   load: SIPP_LOAD_CALLS=300 SIPP_LOAD_RATE=2 (calls/s at the start)
#         SIPP_LOAD_RAMP=2 (calls/s added every SIPP_LOAD_STEP=5 s)
#         SIPP_LOAD_MAX=10 (calls/s at most) SIPP_LOAD_LIMIT=200 (calls at once)
#         SIPP_LOAD_HOLD=0 (ms of talk after the keys) SIPP_LOAD_SHARE=50 (% of
#         calls a window is opened on)
#
# Fixed loopback ports (below the Linux ephemeral range):
#   15060/udp tonewall carrier   15061/tcp tonewall carrier over TLS
#   15062/tcp tonewall carrier over TCP        15063/tcp the same, payment calls, TLS
#   15064/udp tonewall payment carrier
#   15066/udp tonewall payment carrier, SRTP
#   15070/udp tonewall contact-center side     15074/udp the same, payment calls
#   15076/udp the same, payment calls over SRTP
#   15081/tcp tonewall API
#   15080 sipp carrier (uac)     15090/udp sipp contact center (uas_cc)
#   15082-15099 sipp media/control sockets (flows)
#   15100-15179 the payment scenarios' sipps (pay.sh)
#   16000-23999/udp tonewall media (SIPP_MEDIA_PORTS)
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
root=$(cd "$here/../.." && pwd)

# SIPP: the sipp to run (default: sipp on PATH), e.g. a build with TLS
sipp=$(command -v "${SIPP:-sipp}") || {
	echo "${SIPP:-sipp} not found: install SIPp to run these scenarios; skipping"
	exit 0
}
[[ $sipp == /* ]] || sipp=$PWD/$sipp # pay.sh runs it from other directories

scenarios=("$@")
((${#scenarios[@]})) || scenarios=(flows pay)
want_flows=0 pay_ways=() want_load=0
for s in "${scenarios[@]}"; do
	case $s in
	flows) want_flows=1 ;;
	pay) pay_ways+=(inband-pcmu inband-pcma rfc4733 info srtp info-tls) ;;
	pay-inband-pcmu | pay-inband-pcma | pay-rfc4733 | pay-info | pay-srtp | pay-info-tls) pay_ways+=("${s#pay-}") ;;
	load) want_load=1 ;;
	all) want_flows=1 want_load=1 pay_ways+=(inband-pcmu inband-pcma rfc4733 info srtp info-tls) ;;
	*)
		echo "run.sh: unknown scenario $s (flows, pay, pay-inband-pcmu, pay-inband-pcma, pay-rfc4733, pay-info, pay-srtp, pay-info-tls, load, all)" >&2
		exit 2
		;;
	esac
done

calls=${SIPP_CALLS:-200}
rate=${SIPP_RATE:-50}
limit=${SIPP_LIMIT:-100}
hold=${SIPP_HOLD:-1000}
want_tls=${SIPP_TLS:-auto}
buff=${SIPP_BUFF:-4194304}
flows_runs=${SIPP_FLOWS:-basic-udp late-offer-udp cancel-udp basic-tcp basic-tls media-udp media-tls}
media_ports=${SIPP_MEDIA_PORTS:-16000-23999}
limits_block=""
[[ -n ${SIPP_LIMITS:-} ]] && limits_block="  limits: $SIPP_LIMITS"
ip=127.0.0.1
api_port=15081
# a run may take its calls' time plus a margin, then counts as failed
run_timeout=$((calls / rate + hold / 1000 + 30))

# wanted LABEL: whether SIPP_FLOWS names the flows run LABEL
wanted() { [[ " $flows_runs " == *" $1 "* ]]; }

sipp_version=$("$sipp" -v 2>&1 | grep -o 'SIPp v[^ ]*' | head -n 1)
sipp_version=${sipp_version%.}

# The TLS runs (basic-tls, media-tls, pay-info-tls) need a sipp with TLS: with
# SIPP_TLS=auto they run when sipp has it and openssl can make its
# certificate, and are skipped with one line saying why otherwise.
tls_runs=() tls_skip=""
((want_flows)) && wanted basic-tls && tls_runs+=(basic-tls)
((want_flows)) && wanted media-tls && tls_runs+=(media-tls)
[[ " ${pay_ways[*]-} " == *" info-tls "* ]] && tls_runs+=(pay-info-tls)
if ((!${#tls_runs[@]})); then
	want_tls=0
elif [[ $want_tls == auto ]]; then
	want_tls=1
	if [[ $sipp_version != *TLS* ]]; then
		tls_skip="$sipp_version has no TLS (Debian's sip-tester has none); build SIPp with TLS and run with SIPP=/path/to/sipp (test/sipp/README.md)"
	elif ! command -v openssl >/dev/null 2>&1; then
		tls_skip="openssl not found (it makes sipp's TLS certificate)"
	fi
elif [[ $want_tls != 1 ]]; then
	tls_skip="SIPP_TLS=$want_tls"
fi
[[ -n $tls_skip ]] && echo "${tls_runs[*]} skipped: $tls_skip"
if [[ -n $tls_skip || $want_tls != 1 ]]; then
	want_tls=0
	kept=()
	for w in ${pay_ways[@]+"${pay_ways[@]}"}; do
		[[ $w == *-tls ]] || kept+=("$w")
	done
	pay_ways=(${kept[@]+"${kept[@]}"})
fi

logs=$(mktemp -d "${TMPDIR:-/tmp}/tonewall-sipp.XXXXXX")
tw_pid="" uas_pid="" failed=0
bg_pids=() # background helpers of pay.sh (the contact center, dumpcap, the window opener)

cleanup() {
	# SIGINT stops tonewall at once (SIGTERM would drain calls for 30s).
	local p
	for p in ${bg_pids[@]+"${bg_pids[@]}"}; do
		kill "$p" 2>/dev/null && wait "$p" 2>/dev/null
	done
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
	# sipp -t l1 wants a certificate and key of its own; no trunk here has
	# mutual_tls, so tonewall asks for none.
	openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=sipp carrier" \
		-keyout "$logs/sipp.key" -out "$logs/sipp.crt" >/dev/null 2>&1 ||
		die "openssl could not make a certificate for sipp"
fi

# the control API's key for run.sh's window opener (supervisor: it lists
# calls and opens captures on them)
api_key=$(head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n')
api_key_sum=$(printf %s "$api_key" | sha256sum | cut -d' ' -f1)

cat >"$logs/tonewall.yaml" <<YAML
# throwaway config written by test/sipp/run.sh
sip:
  listeners:
    - {name: carrier, transport: udp, address: "$ip:15060"}
    - {name: carrier_tls, transport: tls, address: "$ip:15061"}
    - {name: carrier_tcp, transport: tcp, address: "$ip:15062"}
    - {name: pay_carrier_tls, transport: tls, address: "$ip:15063"}
    - {name: pay_carrier, transport: udp, address: "$ip:15064"}
    - {name: contact_center, transport: udp, address: "$ip:15070"}
    - {name: pay_cc, transport: udp, address: "$ip:15074"}
    - {name: pay_carrier_srtp, transport: udp, address: "$ip:15066"}
    - {name: pay_cc_srtp, transport: udp, address: "$ip:15076"}
$tls_block
  invite_timeout: 4s
  ring_timeout: 60s
  # The scenarios play one call flow each and take tonewall's OPTIONS
  # pings for unexpected messages (they abort the call they land in).
  health: {ping: false}
$limits_block
media:
  address: $ip
  port_min: ${media_ports%-*}
  port_max: ${media_ports#*-}
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
  - name: pay_carrier
    role: carrier
    listener: pay_carrier
    sources: [$ip/32]
    srtp: "off"
    dtmf: rfc4733
    codecs: [PCMU, PCMA]
  - name: pay_carrier_tls
    role: carrier
    listener: pay_carrier_tls
    sources: [$ip/32]
    srtp: "off"
    dtmf: rfc4733
    codecs: [PCMU, PCMA]
  - name: contact_center
    role: contact_center
    listener: contact_center
    sources: [$ip/32]
    targets: ["sip:$ip:15090"]
    srtp: "off"
    dtmf: rfc4733
    codecs: [PCMU, PCMA]
  - name: pay_cc
    role: contact_center
    listener: pay_cc
    sources: [$ip/32]
    targets: ["sip:$ip:15100"]
    srtp: "off"
    dtmf: rfc4733
    codecs: [PCMU, PCMA]
  - name: pay_carrier_srtp
    role: carrier
    listener: pay_carrier_srtp
    sources: [$ip/32]
    srtp: required
    key_exchange: sdes
    srtp_suites: [AES_CM_128_HMAC_SHA1_80]
    dtmf: rfc4733
    codecs: [PCMU, PCMA]
  - name: pay_cc_srtp
    role: contact_center
    listener: pay_cc_srtp
    sources: [$ip/32]
    targets: ["sip:$ip:15100"]
    srtp: required
    key_exchange: sdes
    srtp_suites: [AES_CM_128_HMAC_SHA1_80]
    dtmf: rfc4733
    codecs: [PCMU, PCMA]
routes:
  - {from: carrier, to: contact_center, capture: api}
  - {from: carrier_tls, to: contact_center, capture: api}
  - {from: carrier_tcp, to: contact_center, capture: api}
  - {from: pay_carrier, to: pay_cc, capture: api}
  - {from: pay_carrier_tls, to: pay_cc, capture: api}
  - {from: pay_carrier_srtp, to: pay_cc_srtp, capture: api}
capture:
  fields: [pan, expiry, cvv]
  delivery: {sip_info: true}
vault:
  local: {dir: "$logs/vault"}
audit:
  file: "$logs/audit.log"
api:
  address: "$ip:$api_port"
  keys:
    - {name: sipp-run, sha256: "$api_key_sum", role: supervisor}
log:
  level: warn
  format: json
YAML

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
	kill -0 "$tw_pid" 2>/dev/null || { tail -5 "$logs/tonewall.log" >&2; tw_pid=""; die "tonewall exited at start (ports 15060-15076/$api_port busy?)"; }
	ready 2>/dev/null && break
	sleep 0.2
done
ready 2>/dev/null || die "tonewall not ready after 10s"

summary=()

stats=0 stats_time=() stats_sipp=()
if [[ ${SIPP_STATS:-} == 1 ]]; then
	# shellcheck source=stats.sh
	. "$here/stats.sh"
	stats=1
fi

# screen_stat FILE NAME: the cumulative column of a line of sipp's final screen
screen_stat() {
	awk -F'|' -v n="$2" 'index($1, n) == 3 { v = $3 } END { gsub(/^ +| +$/, "", v); print v }' "$1"
}

# stop_sipp PID: SIGUSR1 (no new calls, finish the current ones, print the
# final screen, exit); stopped_rc is its exit status, or "still running"
# after 10 s.
stop_sipp() {
	kill -USR1 "$1" 2>/dev/null
	for _ in $(seq 50); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.2
	done
	if kill -0 "$1" 2>/dev/null; then
		stopped_rc="still running"
	else
		wait "$1"
		stopped_rc=$?
	fi
}

# stop_uas NAME PID: stop a contact-center sipp (its screen in NAME.out, its
# errors in NAME.errors.log) and judge its own count: it passes when sipp
# exits 0 with no failed call.
stop_uas() {
	local name=$1 ok ko
	stop_sipp "$2"
	ok=$(screen_stat "$logs/$name.out" "Successful call") ko=$(screen_stat "$logs/$name.out" "Failed call")
	if [[ $stopped_rc == 0 && ${ko:-1} == 0 ]]; then
		summary+=("$(printf 'PASS  %-22s %4s calls answered or cancelled, %s failed' "$name" "${ok:-?}" "$ko")")
	else
		failed=1
		summary+=("$(printf 'FAIL  %-22s %4s calls ok, %s failed, sipp exit %s' "$name" "${ok:-?}" "${ko:-?}" "$stopped_rc")")
		[[ -s $logs/$name.errors.log ]] && head -n 12 "$logs/$name.errors.log"
	fi
}

# write_audio: paygen's callers (the payment ways, and the flows' media)
# in $logs/pay, once
write_audio() {
	[[ -f $logs/pay/keys ]] && return
	echo "== writing the callers' audio (test/sipp/paygen)"
	(cd "$root" && ${GO:-go} build -o "$logs/paygen" ./test/sipp/paygen) || die "go build paygen failed"
	"$logs/paygen" -out "$logs/pay" || die "paygen failed"
}

# --- the call flows -----------------------------------------------------------

# flows runs uas_cc.xml as the contact center and each carrier-side scenario
# through tonewall.
flows() {
	local echo=()
	if wanted media-udp || { ((want_tls)) && wanted media-tls; }; then
		# the media runs: the caller plays 11.2 s of µ-law noise, the
		# contact center sends every packet back
		command -v curl >/dev/null 2>&1 || die "curl not found: the media runs read tonewall's /metrics with it"
		write_audio
		cp "$logs/pay/info/caller.pcap" "$logs/media.pcap"
		echo=(-rtp_echo)
	fi
	"$sipp" -sf "$here/uas_cc.xml" -i "$ip" -p 15090 -mp 15092 -cp 15098 -nostdin -buff_size "$buff" ${echo[@]+"${echo[@]}"} \
		-trace_err -error_file "$logs/uas_cc.errors.log" \
		${SIPP_STATS:+-trace_stat -fd 1 -stf "$logs/uas_cc.stat.csv"} \
		${SIPP_TRACE:+-trace_msg -message_file "$logs/uas_cc.messages.log"} \
		>"$logs/uas_cc.out" 2>&1 &
	uas_pid=$!
	sleep 0.5
	kill -0 "$uas_pid" 2>/dev/null || { cat "$logs/uas_cc.out" >&2; uas_pid=""; die "sipp uas_cc.xml did not start (port 15090 busy?)"; }

	wanted basic-udp && run basic-udp uac_basic.xml "$ip:15060" -s 18005550100
	wanted late-offer-udp && run late-offer-udp uac_late_offer.xml "$ip:15060" -s 18005550100
	wanted cancel-udp && run cancel-udp uac_cancel.xml "$ip:15060" -s noanswer
	wanted basic-tcp && run basic-tcp uac_basic.xml "$ip:15062" -s 18005550100 -t t1
	if ((want_tls)) && wanted basic-tls; then
		run basic-tls uac_basic.xml "$ip:15061" -s 18005550100 -t l1 \
			-tls_cert "$logs/sipp.crt" -tls_key "$logs/sipp.key"
	fi
	wanted media-udp && run media-udp uac_media.xml "$ip:15060" -s 18005550100
	if ((want_tls)) && wanted media-tls; then
		run media-tls uac_media.xml "$ip:15061" -s 18005550100 -t l1 \
			-tls_cert "$logs/sipp.crt" -tls_key "$logs/sipp.key"
	fi

	stop_uas uas_cc "$uas_pid"
	[[ $stopped_rc == "still running" ]] || uas_pid=""
}

# rtp_counts: tonewall's RTP packets so far, "carrier-in cc-out cc-in
# carrier-out dropped" (tonewall_rtp_packets_total by leg and direction,
# tonewall_rtp_dropped_total)
rtp_counts() {
	curl -fsS "http://$ip:$api_port/metrics" 2>/dev/null | awk '
		/^tonewall_rtp_packets_total\{/ {
			k = ($0 ~ /leg="carrier"/ ? "carrier" : "cc") ($0 ~ /direction="in"/ ? "-in" : "-out"); n[k] += $NF }
		/^tonewall_rtp_dropped_total\{/ { n["dropped"] += $NF }
		END { printf "%d %d %d %d %d\n", n["carrier-in"], n["cc-out"], n["cc-in"], n["carrier-out"], n["dropped"] }'
}

# rtp_relayed BEFORE AFTER: what tonewall relayed between two rtp_counts,
# one phrase; fails unless media went both ways (the caller's toward the
# contact center, and its echo back)
rtp_relayed() {
	local a b
	read -ra a <<<"$1"
	read -ra b <<<"$2"
	local cin=$((b[0] - a[0])) ccout=$((b[1] - a[1])) ccin=$((b[2] - a[2])) cout=$((b[3] - a[3])) drop=$((b[4] - a[4]))
	echo "RTP relayed: carrier to cc $ccout of $cin, cc to carrier $cout of $ccin, dropped $drop"
	((cin > 0 && ccout > 0 && ccin > 0 && cout > 0))
}

# run LABEL SCENARIO TARGET [sipp args...]: one carrier-side flows run
run() {
	local label=$1 xml=$2 target=$3
	shift 3
	local out=$logs/$label.out rc ok ko cps rtp0 media="" media_ok=1
	echo "== $label: $xml -> $target, $calls calls at $rate/s, at most $limit at once"
	[[ $label == media-* ]] && rtp0=$(rtp_counts)
	((stats)) && stats_start "$label"
	# from the logs directory: uac_media.xml plays ./media.pcap
	(cd "$logs" && ${stats_time[@]+"${stats_time[@]}"} "$sipp" -sf "$here/$xml" -inf "$here/callers.csv" -i "$ip" -p 15080 -mp 15082 -cp 15088 \
		-m "$calls" -r "$rate" -l "$limit" -d "$hold" \
		-recv_timeout 10000 -timeout "${run_timeout}s" -timeout_error -nostdin -buff_size "$buff" \
		-trace_err -error_file "$logs/$label.errors.log" \
		${SIPP_TRACE:+-trace_msg -message_file "$logs/$label.messages.log"} \
		${stats_sipp[@]+"${stats_sipp[@]}"} "$@" "$target") >"$out" 2>&1
	rc=$?
	((stats)) && stats_end "$label"
	if [[ $label == media-* ]]; then
		media=$(rtp_relayed "$rtp0" "$(rtp_counts)") || media_ok=0
		media="; $media"
	fi
	ok=$(screen_stat "$out" "Successful call") ko=$(screen_stat "$out" "Failed call")
	cps=$(screen_stat "$out" "Call Rate")
	grep -E '^  (Successful call|Failed call) ' "$out" | tail -2
	if [[ $rc == 0 && ${ok:-0} == "$calls" ]] && ((media_ok)); then
		summary+=("$(printf 'PASS  %-22s %4s of %s calls ok, %s failed, %s%s' "$label" "$ok" "$calls" "${ko:-?}" "$cps" "$media")")
	else
		failed=1
		summary+=("$(printf 'FAIL  %-22s %4s of %s calls ok, %s failed, %s, sipp exit %s%s' "$label" "${ok:-0}" "$calls" "${ko:-?}" "${cps:-?}" "$rc" "$media")")
		if [[ -s $logs/$label.errors.log ]]; then
			echo "-- first errors ($logs/$label.errors.log):"
			head -n 12 "$logs/$label.errors.log"
		else
			tail -n 5 "$out"
		fi
	fi
}

((want_flows)) && flows

# --- payment calls and load: pay.sh --------------------------------------------

if ((${#pay_ways[@]} || want_load)); then
	# shellcheck source=pay.sh
	. "$here/pay.sh"
	pay_setup
	((${#pay_ways[@]})) && pay "${pay_ways[@]}"
	((want_load)) && load
	pay_teardown
fi

if grep -q '"level":"\(error\|panic\|fatal\)"' "$logs/tonewall.log"; then
	echo "-- tonewall logged errors ($logs/tonewall.log):"
	grep '"level":"\(error\|panic\|fatal\)"' "$logs/tonewall.log" | head -n 10
fi

echo
flows_knobs=""
((want_flows)) && flows_knobs="; flows: -m $calls -r $rate -l $limit -d $hold"
echo "== summary ($sipp_version$flows_knobs)"
printf '%s\n' ${summary[@]+"${summary[@]}"}
[[ -n $tls_skip ]] && printf 'SKIP  %s: %s\n' "${tls_runs[*]}" "$tls_skip"
exit $failed
