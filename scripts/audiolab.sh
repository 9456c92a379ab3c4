#!/usr/bin/env bash
# The virtual audio lab: PulseAudio in system mode with a virtual speaker and microphone.
#
#   scripts/audiolab.sh start    start the server, the devices and the keep-alive streams
#   scripts/audiolab.sh stop     stop them (by pid)
#   scripts/audiolab.sh status   exit 0 when the lab is up and delivering audio
#
# Devices: sink "vspeaker" (48 kHz stereo, the default sink: what voiceos says lands here,
# record it from "vspeaker.monitor"), sink "vmic_in" (16 kHz mono: feed clips into it with
# `paplay -d vmic_in`), and source "vmic" (the default source: voiceos listens here).
# Installs nothing: the apt packages pulseaudio, pulseaudio-utils, libasound2-plugins come
# from the setup script. Run as root (system mode).
set -u

LAB_DIR="${LAB_DIR:-/run/voiceos-lab}"
PULSE_DIR=/run/pulse
SOCKET="$PULSE_DIR/native"
export PULSE_SERVER="unix:$SOCKET"
READY_TIMEOUT_S="${LAB_READY_TIMEOUT_S:-15}"

die() { echo "audiolab: $*" >&2; exit 1; }
say() { echo "audiolab: $*"; }

# Running and not a zombie (a killed process lingers as one until its parent reaps it).
alive() {
    [ -n "${1:-}" ] && kill -0 "$1" 2>/dev/null || return 1
    local state
    state=$(ps -o stat= -p "$1" 2>/dev/null) || return 1
    [ -n "$state" ] && [ "${state:0:1}" != Z ]
}
pid_of() { [ -f "$1" ] && cat "$1" 2>/dev/null; }
server_pid() { pid_of "$PULSE_DIR/pid"; }

server_up() { alive "$(server_pid)" && pactl info >/dev/null 2>&1; }

# A few seconds of capture from a source actually returns bytes (not just an open stream).
delivers() {
    local source=$1 out
    out=$(mktemp)
    timeout 3 pacat -r -d "$source" --raw --format=s16le --rate=16000 --channels=1 \
        --latency-msec=20 >"$out" 2>/dev/null &
    local rec=$!
    local deadline=$((SECONDS + 3)) ok=1
    while [ $SECONDS -le $deadline ]; do
        if [ "$(stat -c %s "$out")" -ge 3200 ]; then ok=0; break; fi   # 100 ms of audio
        alive "$rec" || break
        sleep 0.05
    done
    kill "$rec" 2>/dev/null; wait "$rec" 2>/dev/null
    [ "$(stat -c %s "$out")" -ge 3200 ] && ok=0
    rm -f "$out"
    return $ok
}

keepalives_up() {
    alive "$(pid_of "$LAB_DIR/keepalive-vspeaker.pid")" &&
        alive "$(pid_of "$LAB_DIR/keepalive-vmic_in.pid")"
}

status() {
    server_up || { echo "audiolab: down (no PulseAudio server at $SOCKET)"; return 1; }
    keepalives_up || { echo "audiolab: degraded (keep-alive streams not running)"; return 1; }
    for src in vspeaker.monitor vmic; do
        delivers "$src" || { echo "audiolab: degraded ($src delivers no audio)"; return 1; }
    done
    echo "audiolab: up (server pid $(server_pid), sinks vspeaker vmic_in, source vmic)"
}

start_keepalive() {
    local sink=$1 rate=$2 channels=$3 pidfile="$LAB_DIR/keepalive-$1.pid"
    alive "$(pid_of "$pidfile")" && return 0
    # An endless silent stream: an idle null sink renders in ~2 s blocks otherwise.
    setsid pacat --playback -d "$sink" --raw --format=s16le --rate="$rate" \
        --channels="$channels" --latency-msec=20 </dev/zero >/dev/null 2>"$LAB_DIR/keepalive-$sink.log" &
    echo $! >"$pidfile"
}

start() {
    command -v pulseaudio >/dev/null || die "pulseaudio is not installed (apt-get install pulseaudio pulseaudio-utils)"
    command -v pacat >/dev/null || die "pacat is not installed (apt-get install pulseaudio-utils)"
    [ "$(id -u)" -eq 0 ] || die "must run as root (PulseAudio system mode)"
    mkdir -p "$LAB_DIR" || die "cannot create $LAB_DIR"

    if ! server_up; then
        # A crash leaves a pid file and socket behind; the next server refuses to start.
        alive "$(server_pid)" &&
            die "pulseaudio (pid $(server_pid)) runs but does not answer on $SOCKET; run: $0 stop"
        rm -f "$PULSE_DIR/pid" "$SOCKET"
        cat >"$LAB_DIR/lab.pa" <<'PA'
load-module module-native-protocol-unix auth-anonymous=1
load-module module-null-sink sink_name=vspeaker rate=48000 channels=2 sink_properties=device.description=vspeaker
load-module module-null-sink sink_name=vmic_in rate=16000 channels=1 sink_properties=device.description=vmic_in
load-module module-remap-source master=vmic_in.monitor source_name=vmic source_properties=device.description=vmic
set-default-sink vspeaker
set-default-source vmic
PA
        pulseaudio --system --daemonize=yes --disallow-exit --exit-idle-time=-1 \
            --realtime=no --high-priority=no --no-cpu-limit -n -F "$LAB_DIR/lab.pa" \
            >"$LAB_DIR/pulseaudio.log" 2>&1 ||
            die "pulseaudio failed to start; see $LAB_DIR/pulseaudio.log"
        local deadline=$((SECONDS + 5))
        until server_up; do
            [ $SECONDS -le $deadline ] || die "pulseaudio did not answer on $SOCKET within 5 s"
            sleep 0.05
        done
    fi
    for dev in vspeaker vmic_in; do
        pactl list short sinks | cut -f2 | grep -qx "$dev" ||
            die "the server at $SOCKET has no sink $dev (another PulseAudio? run: $0 stop)"
    done

    start_keepalive vspeaker 48000 2
    start_keepalive vmic_in 16000 1

    local deadline=$((SECONDS + READY_TIMEOUT_S))
    for src in vspeaker.monitor vmic; do
        until delivers "$src"; do
            [ $SECONDS -le $deadline ] || die "$src delivered no audio within ${READY_TIMEOUT_S} s"
        done
    done
    keepalives_up || die "a keep-alive stream died; see $LAB_DIR/keepalive-*.log"
    say "up (server pid $(server_pid), sinks vspeaker vmic_in, source vmic; PULSE_SERVER=$PULSE_SERVER)"
}

stop_pid() {
    local pid=$1 what=$2
    alive "$pid" || return 0
    kill "$pid" 2>/dev/null
    local deadline=$((SECONDS + 5))
    while alive "$pid"; do
        if [ $SECONDS -gt $deadline ]; then kill -9 "$pid" 2>/dev/null; break; fi
        sleep 0.05
    done
    say "stopped $what (pid $pid)"
}

stop() {
    for sink in vspeaker vmic_in; do
        stop_pid "$(pid_of "$LAB_DIR/keepalive-$sink.pid")" "keep-alive $sink"
        rm -f "$LAB_DIR/keepalive-$sink.pid"
    done
    stop_pid "$(server_pid)" "pulseaudio"
    rm -f "$PULSE_DIR/pid" "$SOCKET"
    say "down"
}

case "${1:-}" in
    start) start ;;
    stop) stop ;;
    status) status ;;
    *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
