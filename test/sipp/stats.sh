# shellcheck shell=bash
# The figures of a flows run of run.sh under SIPP_STATS=1: sourced by run.sh,
# which calls stats_start LABEL before the carrier sipp and stats_end LABEL
# after it. It prints one line a run:
#
#   tonewall: its CPU (utime+stime of /proc/PID/stat) in s, per call in µs and
#             in % of one core over the run's wall time; its warnings logged
#   sipp:     the carrier sipp's CPU (/usr/bin/time) and the contact center's
#             (/proc/PID/stat), in % of one core
#   udp:      the host's UdpRcvbufErrors over the run (/proc/net/snmp): any
#             process's receive buffer overflowing, not only tonewall's; then
#             the drops of the SIP sockets, tonewall's carrier/contact-center
#             side and the carrier/contact-center sipp's (/proc/net/udp)
#   retrans, timeouts, unexpected, watchdog: from each sipp's -trace_stat CSV
#             (carrier/contact center)
#   dropped, refused: tonewall_sip_dropped_total and
#             tonewall_sip_admission_refused_total over the run, by label
#   most calls, media ports: the highest tonewall_calls_active and
#             tonewall_rtp_ports_in_use, sampled every second (a call refused
#             for want of media ports gets a 503 that no counter shows)
#
# It uses the globals of run.sh: logs, tw_pid, uas_pid, ip, api_port, calls,
# stats_time, stats_sipp, summary.

# cpu_ticks PID: utime+stime of PID in clock ticks (fields 14 and 15; the
# command name in field 2 holds no space for tonewall and sipp)
cpu_ticks() {
	awk '{ print $14 + $15 }' "/proc/$1/stat" 2>/dev/null || echo 0
}

# rcvbuf_errors: the host's UDP RcvbufErrors
rcvbuf_errors() {
	awk '$1 == "Udp:" && $6 ~ /^[0-9]+$/ { print $6 }' /proc/net/snmp
}

# socket_drops: the drops of the SIP sockets on loopback, "tonewall-carrier
# tonewall-cc sipp-carrier sipp-cc" (15060 15070 15080 15090; /proc/net/udp's
# last column: datagrams that found the socket's receive buffer full)
socket_drops() {
	awk 'BEGIN { split("3AD4 3ADE 3AE8 3AF2", p) } { split($2, a, ":"); d[a[2]] += $NF }
		END { print d[p[1]] + 0, d[p[2]] + 0, d[p[3]] + 0, d[p[4]] + 0 }' /proc/net/udp
}

# metric_lines: tonewall's drop and refusal counters and its gauges of calls
# and media ports, one "name{labels} value" a line
metric_lines() {
	curl -fsS "http://$ip:$api_port/metrics" 2>/dev/null |
		grep -E '^tonewall_(sip_(dropped|admission_refused)_total|calls_active|rtp_ports_in_use)[{ ]'
}

# gauge_peaks FILE: every second until killed, the most calls and media
# ports tonewall held so far, written to FILE ("calls ports")
gauge_peaks() {
	local calls=0 ports=0 n v
	while sleep 1; do
		while read -r n v; do
			case $n in
			tonewall_calls_active) ((${v%.*} > calls)) && calls=${v%.*} ;;
			tonewall_rtp_ports_in_use) ((${v%.*} > ports)) && ports=${v%.*} ;;
			esac
		done < <(metric_lines)
		echo "$calls $ports" >"$1"
	done
}

# stat_last FILE COLUMN: the last value of COLUMN in a sipp -trace_stat CSV (0 when absent)
stat_last() {
	awk -F';' -v c="$2" 'NR == 1 { for (i = 1; i <= NF; i++) if ($i == c) k = i; next }
		k { v = $k } END { print v + 0 }' "$1" 2>/dev/null || echo 0
}

# uas_stat COLUMN: the contact center's cumulative COLUMN now
uas_stat() { stat_last "$logs/uas_cc.stat.csv" "$1"; }

stats_start() {
	local label=$1
	st_t0=$(date +%s.%N) st_tw=$(cpu_ticks "$tw_pid") st_uas=$(cpu_ticks "$uas_pid")
	st_udp=$(rcvbuf_errors) st_drops=$(socket_drops) st_warn=$(grep -c '"level":"warn"' "$logs/tonewall.log")
	metric_lines >"$logs/$label.metrics.before"
	st_uas_rt=$(uas_stat 'Retransmissions(C)') st_uas_to=$(uas_stat 'FailedTimeoutOnRecv(C)')
	st_uas_un=$(uas_stat 'FailedUnexpectedMessage(C)')
	stats_time=()
	[[ -x /usr/bin/time ]] && stats_time=(/usr/bin/time -f '%U %S' -o "$logs/$label.time")
	stats_sipp=(-trace_stat -fd 1 -stf "$logs/$label.stat.csv")
	echo "0 0" >"$logs/$label.peaks"
	gauge_peaks "$logs/$label.peaks" &
	st_peaks=$!
}

stats_end() {
	local label=$1 wall tw uas uac warn udp drops dropped refused c=$logs/$label.stat.csv
	sleep 1.1 # the contact center's next -trace_stat line
	kill "$st_peaks" && wait "$st_peaks" 2>/dev/null
	wall=$(echo "$(date +%s.%N) - $st_t0" | bc)
	tw=$(($(cpu_ticks "$tw_pid") - st_tw)) uas=$(($(cpu_ticks "$uas_pid") - st_uas))
	uac=$(tail -n 1 "$logs/$label.time" 2>/dev/null | awk '{ print ($1 + $2) * 100 }')
	udp=$(($(rcvbuf_errors) - st_udp))
	drops=$(paste -d- <(socket_drops | tr ' ' '\n') <(tr ' ' '\n' <<<"$st_drops") | bc | paste -sd/)
	warn=$(($(grep -c '"level":"warn"' "$logs/tonewall.log") - st_warn))
	metric_lines >"$logs/$label.metrics.after"
	dropped=$(metric_delta "$label" tonewall_sip_dropped_total)
	refused=$(metric_delta "$label" tonewall_sip_admission_refused_total)
	summary+=("$(printf 'STAT  %-22s tonewall %s s CPU, %s us/call, %s %% of a core, %s warnings; sipp %s %% (carrier) %s %% (cc); UdpRcvbufErrors +%s (SIP sockets: tonewall %s, sipp %s); retrans %s/%s, recv timeouts %s/%s, unexpected %s/%s, watchdog %s/%s; dropped %s; refused %s; most calls, media ports %s' \
		"$label" "$(echo "scale=2; $tw / 100" | bc)" "$((tw * 10000 / calls))" \
		"$(echo "$tw / $wall" | bc)" "$warn" "$(echo "${uac:-0} / $wall" | bc)" "$(echo "$uas / $wall" | bc)" \
		"$udp" "${drops%/*/*}" "${drops#*/*/}" "$(stat_last "$c" 'Retransmissions(C)')" "$(($(uas_stat 'Retransmissions(C)') - st_uas_rt))" \
		"$(stat_last "$c" 'FailedTimeoutOnRecv(C)')" "$(($(uas_stat 'FailedTimeoutOnRecv(C)') - st_uas_to))" \
		"$(stat_last "$c" 'FailedUnexpectedMessage(C)')" "$(($(uas_stat 'FailedUnexpectedMessage(C)') - st_uas_un))" \
		"$(stat_last "$c" 'WatchdogMajor(C)')" "$(stat_last "$c" 'WatchdogMinor(C)')" "$dropped" "$refused" "$(tr ' ' / <"$logs/$label.peaks")")")
	echo "${summary[-1]}"
}

# metric_delta LABEL NAME: NAME's series that grew over the run, "labels+n" each, or 0
metric_delta() {
	awk -v n="$2" 'FNR == NR { b[$1] = $2; next } index($1, n) == 1 && $2 > b[$1] + 0 {
		l = substr($1, length(n) + 1); gsub(/[{}"]/, "", l); o = o sep l "+" $2 - b[$1]; sep = " " }
		END { print (o == "" ? 0 : o) }' "$logs/$1.metrics.before" "$logs/$1.metrics.after"
}
