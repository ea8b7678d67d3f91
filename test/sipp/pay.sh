# shellcheck shell=bash
# The payment scenarios of run.sh (sourced by it; uses its ip, api_port,
# api_key, logs, here, root, sipp, summary, failed, bg_pids, screen_stat,
# stop_sipp, write_audio).
#
# A caller (uac_pay.xml, from a pay_carrier trunk) keys a whole card; the
# contact center (uas_pay.xml, behind the pay_cc trunk) answers, logs every
# INFO it is sent, and dumpcap records every packet toward its media port.
# After each group of calls the recording is split by the port tonewall sent
# from, each call's audio is decoded by multimon-ng and its RFC 4733 events
# by tshark, and the verdict compares what the contact center got with what
# it must get:
#   no window: every key, by the way the caller keyed it (the harness sees a leak)
#   window:    no key in audio, events or INFO, and the token by SIP INFO
#
# Ports: uas_pay 15100 (SIP), 15102 (media; +2 video), 15106 (control);
# payment caller N (0-5) 15110+10N (SIP), +2 (media; +4 video), +6
# (control); the load caller 15170. The SRTP caller calls tonewall's
# pay_carrier_srtp listener (15066), the TLS caller pay_carrier_tls
# (15063/tls), the others pay_carrier (15064).

pay_media_port=15102
pay_keys=""
pay_lead_ms=""   # the caller's first key, ms into the audio

# pay_setup writes the callers' audio (paygen) and starts the contact center.
pay_setup() {
	local m
	for m in tshark dumpcap multimon-ng sox xxd; do
		command -v "$m" >/dev/null 2>&1 || die "$m not found: the payment scenarios need it (.ci/run installs it)"
	done
	write_audio
	(cd "$root" && ${GO:-go} build -o "$logs/opener" ./test/sipp/opener) || die "go build opener failed"
	(umask 077 && printf '%s\n' "$api_key" >"$logs/api.key")
	pay_keys=$(cat "$logs/pay/keys") pay_lead_ms=$(cat "$logs/pay/lead_ms")
	"$sipp" -sf "$here/uas_pay.xml" -i "$ip" -p 15100 -mp "$pay_media_port" -cp 15106 -nostdin \
		-trace_logs -log_file "$logs/cc.log" -trace_err -error_file "$logs/uas_pay.errors.log" \
		${SIPP_TRACE:+-trace_msg -message_file "$logs/uas_pay.messages.log"} \
		>"$logs/uas_pay.out" 2>&1 &
	pay_uas_pid=$!
	bg_pids+=("$pay_uas_pid")
	sleep 0.5
	kill -0 "$pay_uas_pid" 2>/dev/null || { cat "$logs/uas_pay.out" >&2; die "sipp uas_pay.xml did not start (port 15100 busy?)"; }
}

# pay_teardown stops the contact center and judges its own count.
pay_teardown() {
	stop_uas uas_pay "$pay_uas_pid"
}

# pay WAY...: each way of keying once without a window, then once with one,
# the ways of a group in parallel.
pay() {
	local phase way i share pids
	for phase in open window; do
		share=0
		[[ $phase == window ]] && share=100
		record_start "$phase"
		opener_start "$share" "$logs/windows-$phase"
		i=0 pids=()
		for way in "$@"; do
			caller "pay-$way-$phase" "$way" $((15110 + 10 * i)) 1 1 1 0 &
			pids+=($!)
			i=$((i + 1))
		done
		wait "${pids[@]}"
		opener_stop
		record_stop
		split_record "$phase"
		for way in "$@"; do
			judge "pay-$way-$phase" "$way" "$phase" 1
		done
	done
}

# load: the in-band µ-law caller under a ramp, windows on a share of calls.
load() {
	local n=${SIPP_LOAD_CALLS:-300} r=${SIPP_LOAD_RATE:-2} ramp=${SIPP_LOAD_RAMP:-2} step=${SIPP_LOAD_STEP:-5}
	local max=${SIPP_LOAD_MAX:-10} lim=${SIPP_LOAD_LIMIT:-200} extra=${SIPP_LOAD_HOLD:-0} share=${SIPP_LOAD_SHARE:-50}
	echo "== load: $n calls, $r calls/s + $ramp every ${step}s up to $max, at most $lim at once, windows on $share %"
	record_start load
	opener_start "$share" "$logs/windows-load"
	caller pay-load inband-pcmu 15170 "$n" "$r" "$lim" "$extra" \
		-rate_increase "$ramp" -fd "$step" -rate_max "$max" -no_rate_quit
	opener_stop
	record_stop
	split_record load
	judge pay-load inband-pcmu load "$n"
}

# caller LABEL WAY PORT CALLS RATE LIMIT EXTRA_MS [sipp args...]: uac_pay.xml
# from paygen's directory of WAY (its caller.pcap, callers.csv, hold_ms; a
# WAY ending in -tls is that of the way before it, over TLS), dialling
# LABEL; writes $logs/LABEL.out and $logs/LABEL.rc.
caller() {
	local label=$1 way=$2 port=$3 n=$4 r=$5 lim=$6 extra=$7
	shift 7
	local dir=$logs/pay/${way%-tls} target=$ip:15064 tls=()
	case $way in
	srtp) target=$ip:15066 ;;
	*-tls) target=$ip:15063 tls=(-t l1 -tls_cert "$logs/sipp.crt" -tls_key "$logs/sipp.key") ;;
	esac
	local d=$(($(cat "$dir/hold_ms") + extra))
	(cd "$dir" && "$sipp" -sf "$here/uac_pay.xml" -inf callers.csv -s "$label" ${tls[@]+"${tls[@]}"} \
		-i "$ip" -p "$port" -mp $((port + 2)) -cp $((port + 6)) \
		-m "$n" -r "$r" -l "$lim" -d "$d" \
		-recv_timeout 20000 -timeout "$((n / r + d / 1000 + 60))s" -timeout_error -nostdin \
		-trace_err -error_file "$logs/$label.errors.log" \
		${SIPP_TRACE:+-trace_msg -message_file "$logs/$label.messages.log"} \
		"$@" "$target") >"$logs/$label.out" 2>&1
	echo $? >"$logs/$label.rc"
}

# --- what the contact center receives ------------------------------------------

# record_start NAME: dumpcap of every packet toward the contact center's media port
record_start() {
	rec_file=$logs/cc-$1.pcapng
	dumpcap -q -i lo -f "udp dst port $pay_media_port" -w "$rec_file" 2>"$logs/dumpcap-$1.err" &
	rec_pid=$!
	bg_pids+=("$rec_pid")
	for _ in $(seq 50); do
		grep -q "Capturing on" "$logs/dumpcap-$1.err" && return
		kill -0 "$rec_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat "$logs/dumpcap-$1.err" >&2
	die "dumpcap did not start capturing on lo"
}

record_stop() {
	sleep 0.3 # the last packets
	kill -INT "$rec_pid" 2>/dev/null
	wait "$rec_pid" 2>/dev/null
}

# split_record NAME: the recording as one file a tonewall source port, lines
# of "payload-type<TAB>timestamp<TAB>event<TAB>payload hex<TAB>packet hex"
# (the packet for SRTP, which only paygen -unprotect can read).
split_record() {
	local ev
	ev=$(sed -n 's/^invite .* event=\([0-9]*\) .*/\1/p' "$logs/cc.log" | head -n 1)
	split_dir=$logs/rtp-$1
	mkdir -p "$split_dir"
	tshark -r "$rec_file" -d "udp.port==$pay_media_port,rtp" -o "rtpevent.event_payload_type_value:${ev:-101}" \
		-T fields -e udp.srcport -e rtp.p_type -e rtp.timestamp -e rtpevent.event_id -e rtp.payload -e udp.payload 2>"$logs/tshark-$1.err" |
		awk -F'\t' -v d="$split_dir" '{ f = d "/" $1; print $2 "\t" $3 "\t" $4 "\t" $5 "\t" $6 >> f; close(f) }'
}

# srtp_plain FILE KEY EV: FILE decrypted with tonewall's key of the contact
# center's leg, in the same columns; its name, or why not. tonewall must
# have keyed that leg itself: the caller's key on it fails.
srtp_plain() {
	local caller_key
	caller_key=$(sed -n 's/.* inline:\([^ ]*\)$/\1/p' "$logs/pay/srtp/callers.csv" | head -n 1)
	if [[ $2 == "$caller_key" ]]; then
		echo "tonewall offered the contact center the caller's own SRTP key"
		return 1
	fi
	cut -f5 "$1" | "$logs/paygen" -unprotect "$2" -event "$3" >"$1.plain" 2>"$1.err" ||
		{ echo "SRTP toward the contact center does not decrypt with tonewall's key: $(cat "$1.err")"; return 1; }
	echo "$1.plain"
}

# audio_keys FILE PT: the keys multimon-ng hears in the stream's G.711 audio
audio_keys() {
	local enc=ul
	[[ $2 == 8 ]] && enc=al
	[[ -s $1 ]] || return 0
	awk -F'\t' -v pt="$2" '$1 == pt { print $4 }' "$1" | tr -d ':\n' | xxd -r -p |
		sox -t "$enc" -r 8000 -c 1 - -t raw -e signed -b 16 -r 22050 -c 1 - 2>/dev/null |
		multimon-ng -q -c -a DTMF -t raw - 2>/dev/null | sed -n 's/^DTMF: //p' | tr -d '\n'
}

# event_keys FILE PT: the keys of the stream's RFC 4733 events (one a timestamp)
event_keys() {
	[[ -s $1 ]] || return 0
	awk -F'\t' -v pt="$2" '$1 == pt && $3 != "" && !seen[$2]++ { printf "%s", substr("0123456789*#ABCD", $3 + 1, 1) }' "$1"
}

# info_keys CALL-ID: the keys the contact center got by SIP INFO
info_keys() {
	grep "^info $1 " "$logs/cc.log" | sed -n 's/.* signal=\([^ ]*\) .*/\1/p' | grep -v '^-$' | tr -d '\n'
}

# token CALL-ID: the token delivered by SIP INFO, if any
token() {
	grep "^info $1 " "$logs/cc.log" | grep ' status=tokenized ' | sed -n 's/.* token=\([^ ]*\).*/\1/p' | head -n 1
}

# --- opening windows -------------------------------------------------------------

# opener_start SHARE FILE: in the background, open a capture window through
# the control API on SHARE % of the new payment calls, spread evenly, as soon
# as each appears (opener/); FILE gets "decided ID CC-CALL-ID window|open",
# then "window ID CC-CALL-ID MS CAPTURE-ID" or "refused ID CC-CALL-ID STATUS BODY".
opener_start() {
	: >"$2"
	"$logs/opener" -api "http://$ip:$api_port" -key-file "$logs/api.key" -share "$1" -out "$2" \
		2>>"$logs/opener.err" &
	opener_pid=$!
	bg_pids+=("$opener_pid")
}

# opener_stop: SIGTERM; the opener finishes the windows it is opening first
opener_stop() {
	kill "$opener_pid" 2>/dev/null
	wait "$opener_pid" 2>/dev/null
}

# --- the verdict ---------------------------------------------------------------

# judge LABEL WAY PHASE CALLS: every call the contact center answered for
# LABEL against what it must have got; one summary line.
judge() {
	local label=$1 way=$2 phase=$3 want=$4
	local rc ok ko out=$logs/$label.out
	rc=$(cat "$logs/$label.rc" 2>/dev/null) ok=$(screen_stat "$out" "Successful call") ko=$(screen_stat "$out" "Failed call")
	echo "-- $label: sipp: ${ok:-?} successful, ${ko:-?} failed, $(screen_stat "$out" "Call Rate"), at most" \
		"$(grep -o 'Peak was [0-9]* calls' "$out" | tail -n 1 | tr -dc 0-9) calls at once, exit ${rc:-?}"
	# decode every call the contact center answered for LABEL, a few at once
	local vdir=$logs/verdict-$label n=0 pids=() jobs_max line
	jobs_max=$(nproc 2>/dev/null || echo 2)
	mkdir -p "$vdir"
	while read -r line; do
		decode_call "$line" >"$vdir/$n" &
		pids+=($!)
		n=$((n + 1))
		((${#pids[@]} >= jobs_max)) && { wait "${pids[@]}"; pids=(); }
	done < <(grep "^invite .* dialled=$label\$" "$logs/cc.log")
	((${#pids[@]})) && wait "${pids[@]}"
	local calls=0 windowed=0 clean=0 tokens=0 open=0 leaks=0 late=0 slowest=0 bad=() i cc state audio events info tok err lat st detail=
	for ((i = 0; i < n; i++)); do
		IFS=$'\t' read -r cc state audio events info tok err lat <"$vdir/$i"
		calls=$((calls + 1))
		[[ $err == - ]] || bad+=("$cc: $err")
		case $state in
		window)
			windowed=$((windowed + 1))
			[[ $audio$events$info == --- ]] && clean=$((clean + 1))
			[[ $tok != - ]] && tokens=$((tokens + 1))
			((lat > slowest)) && slowest=$lat
			if [[ $audio$events$info == --- && $tok != - ]]; then
				:
			elif [[ $audio$events$info == --- ]]; then
				bad+=("window on $cc, $lat ms after the INVITE: no key leaked, but no token came by INFO")
			elif ((lat >= pay_lead_ms)); then
				late=$((late + 1))
				bad+=("window on $cc opened late, $lat ms after the INVITE (the caller keys $pay_lead_ms ms after the ACK): audio $audio events $events info $info token $tok")
			else
				bad+=("window on $cc, $lat ms after the INVITE: audio $audio events $events info $info token $tok")
			fi
			;;
		open)
			open=$((open + 1))
			st=$(way_keys "$way" "$audio" "$events" "$info")
			[[ $st == "$pay_keys" ]] && leaks=$((leaks + 1))
			[[ $st == "$pay_keys" ]] || bad+=("no window on $cc: audio $audio events $events info $info")
			;;
		*) bad+=("$cc: $state") ;;
		esac
		detail="audio $audio, events $events, info $info, token $tok"
	done
	local verdict=PASS
	[[ $rc == 0 && ${ok:-0} == "$want" && $calls == "$want" && ${#bad[@]} == 0 ]] || verdict=FAIL
	if [[ $phase == window && $windowed != "$want" ]] || [[ $phase == open && $open != "$want" ]]; then
		verdict=FAIL
	fi
	local what
	if ((want == 1)); then
		what="$phase: ${detail:-the contact center saw no call}"
	else
		what="$ok of $want calls ok, ${ko:-?} failed; $windowed windowed (the slowest $slowest ms after the INVITE; $late late and leaking): $clean clean, $tokens tokens; $open open: $leaks leaked every key"
	fi
	summary+=("$(printf '%s  %-22s %s' "$verdict" "$label" "$what")")
	if [[ $verdict == FAIL ]]; then
		failed=1
		echo "-- $label: sipp exit ${rc:-?}, $ok of $want calls ok, $calls seen by the contact center"
		printf '   %s\n' "${bad[@]:0:10}"
		[[ -s $logs/$label.errors.log ]] && head -n 12 "$logs/$label.errors.log"
		grep '^refused' "$logs"/windows-* | head -n 5
	fi
}

# decode_call LINE: what the contact center got on the call of one of
# uas_pay's invite lines ("invite CALL-ID tonewall=ID port=P pt=PT event=EV
# key=K dialled=LABEL"), as one tab-separated line: call id, window state
# (window, open, or why the opener could not open one), audio, events and
# INFO keys, token, error, ms from the call's start to its window ("-" for
# none or nothing).
decode_call() {
	local cc port pt ev key rtp state=open err=- audio events info tok
	read -r _ cc _ port pt ev key _ <<<"$1"
	port=${port#port=} pt=${pt#pt=} ev=${ev#event=} key=${key#key=}
	rtp=$split_dir/$port
	if [[ $key != - ]]; then
		rtp=$(srtp_plain "$rtp" "$key" "$ev") || err=$rtp
	fi
	local wins lat=-
	wins=$(grep -h " $cc " "$logs"/windows-*)
	if grep -q "^decided [^ ]* $cc window" <<<"$wins"; then
		state=window lat=$(sed -n 's/^window [^ ]* [^ ]* \([0-9-]*\) .*/\1/p' <<<"$wins")
		[[ -n $lat ]] || state="no window: the call ended before the API opened it" lat=-
	fi
	[[ $wins == *"refused "* ]] && state="the API refused a window: $(sed -n 's/^refused [^ ]* [^ ]* //p' <<<"$wins")"
	audio=$(audio_keys "$rtp" "$pt") events=$(event_keys "$rtp" "$ev") info=$(info_keys "$cc") tok=$(token "$cc")
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$cc" "$state" "${audio:--}" "${events:--}" "${info:--}" "${tok:--}" "$err" "$lat"
}

# way_keys WAY AUDIO EVENTS INFO: what the contact center got by the way the
# caller keyed
way_keys() {
	case $1 in
	inband-* | srtp) echo "$2" ;;
	rfc4733) echo "$3" ;;
	info | info-tls) echo "$4" ;;
	esac
}
