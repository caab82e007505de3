#!/usr/bin/env bash
# join-storm.sh: a join storm side by side, Veil vs Janus 1.1.2, with the side-by-side rig's independent load
# generator (../shared/bench: Go + Pion), one SFU at a time, fresh for every run, in a network namespace made here.
#
# Per run: a background load flows (BG_PUBS publishers x BG_SUBS subscribers in one channel/room, the rig's VP8 clip,
# 277 packets/s per publisher: 4 x 36 = 39,900 forwarded packets/s), and once it is measuring, STORM peers join a second
# channel/room all at once (one loadgen with -parallel = STORM: 1 publisher at STORM_FPS frames/s and STORM - 1
# subscribers). Reported per run:
#   - background: loss in its window (which spans the storm), sequence-gap loss, relative delay p50/p99;
#   - storm: peers connected, time until all were connected and until every track flowed, and each peer's connect
#     time (from the storm's start to its PeerConnection "connected") as p50/p95/p99/max;
#   - SFU CPU spent on the storm: CPU over [storm start, all connected] minus the background's CPU rate over the same
#     time, per joining peer (ms), and its inverse: joins per second per core (ICE + DTLS + SRTP set-up + signaling);
#   - Veil only: udp.send_dropped, udp.handoff_dropped and media.transports_failed over the run, and the CPU of its
#     DTLS handshake threads per handshake.
#
# Usage (as root, from the project's root; one rig at a time: the veth names are fixed):
#   veil-bench/rig/join-storm.sh
# Knobs (environment, defaults in brackets):
#   REPS [2]  STORMS [1: per SFU process; 2 = a second, warm storm]  STORM [200]  STORM_FPS [3]  BG_PUBS [4]  BG_SUBS [36]  SRTP [cm]  SFUS ["veil janus"]
#   VEIL_JAR [veil-server/target/veil-server.jar]  VEIL_JAVA_OPTS [the README's launcher flags]
#   BENCH [../shared/bench]  WORK [${TMPDIR:-/tmp}/veil-side-by-side]  OUT [$WORK/storm/<UTC time>]
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
BENCH=${BENCH:-$(cd "$ROOT/../shared/bench" 2>/dev/null && pwd || echo "$ROOT/../shared/bench")}
REPS=${REPS:-2}
STORM=${STORM:-200}
STORM_FPS=${STORM_FPS:-3}
BG_PUBS=${BG_PUBS:-4}
BG_SUBS=${BG_SUBS:-36}
SRTP=${SRTP:-cm}
SFUS=${SFUS:-"veil janus"}
VEIL_JAR=${VEIL_JAR:-$ROOT/veil-server/target/veil-server.jar}
VEIL_JAVA_OPTS=${VEIL_JAVA_OPTS:-"-XX:+ExitOnOutOfMemoryError -Xms16m -Xmx256m -Xmn8m -XX:+UseSerialGC -XX:MinHeapFreeRatio=10 -XX:MaxHeapFreeRatio=20 -XX:TrimNativeHeapInterval=5000 -XX:ReservedCodeCacheSize=32m"}
WORK=${WORK:-${TMPDIR:-/tmp}/veil-side-by-side}
OUT=${OUT:-$WORK/storm/$(date -u +%Y%m%dT%H%M%SZ)}
NS=storm$$
SFU_IP=198.18.0.1
CLI_IP=198.18.0.2
VEIL_HTTP=7080
VEIL_RTC=50000
JANUS_HTTP=8088
JANUS_LIBDIR=/usr/lib/x86_64-linux-gnu/janus
STORMS=${STORMS:-1}
# the background's window: it starts 2 s after its peers are ready and spans the storms (a storm's load generator
# runs ~30 s against Veil: connect, 20 s until its 3 fps clip's key frame, 1 s warm-up, 5 s window, drain)
BG_DUR=$((15 + 35 * STORMS))
STORM_AFTER=6  # seconds from the background's "all connected" to the storm (the background's warm-up is 2 s)

log() { printf '%s join-storm: %s\n' "$(date -u +%H:%M:%S)" "$*" >&2; }
die() { log "error: $*"; exit 1; }

[ "$(id -u)" = 0 ] || die "run as root (ip netns)"
for c in ip java janus go ffmpeg python3 curl timeout; do command -v "$c" >/dev/null || die "missing $c"; done
[ -x "$BENCH/build-loadgen.sh" ] || die "no load generator in $BENCH (set BENCH)"
[ -f "$VEIL_JAR" ] || die "no $VEIL_JAR (mvn -B -DskipTests package)"
mkdir -p "$WORK" "$OUT"
RUN=$(mktemp -d "$WORK/storm-run.XXXXXX")

SFU_PID=
PIDS=()
cleanup() {
  local rc=$? p
  trap - EXIT INT TERM
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  stop_sfu || true
  if ip netns list | grep -qw "$NS"; then ip netns del "$NS" || true; fi
  rm -rf "$RUN"
  exit $rc
}
stop_sfu() {
  [ -n "$SFU_PID" ] || return 0
  kill -TERM "$SFU_PID" 2>/dev/null || true
  for _ in $(seq 1 150); do kill -0 "$SFU_PID" 2>/dev/null || break; sleep 0.1; done
  kill -KILL "$SFU_PID" 2>/dev/null || true
  wait "$SFU_PID" 2>/dev/null || true
  SFU_PID=
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

log "building the load generator"
"$BENCH/build-loadgen.sh" "$WORK/loadgen"
LOADGEN=$WORK/loadgen
CLIP=$WORK/clip-720p30-2500k-g60.ivf
if [ ! -s "$CLIP" ]; then # the side-by-side rig's clip (same command)
  ffmpeg -hide_banner -loglevel error -y -f lavfi -i "testsrc2=size=1280x720:rate=30,noise=alls=12:allf=t+u" \
    -c:v libvpx -b:v 2500k -minrate 2500k -maxrate 2500k -bufsize 2500k \
    -deadline realtime -cpu-used 8 -g 60 -keyint_min 60 -t 10 "$CLIP.tmp.ivf"
  mv "$CLIP.tmp.ivf" "$CLIP"
fi

# The rig's network: one namespace, veth vb0 (SFU) <-> vb1 (clients), every packet between them across the pair.
ns() { ip netns exec "$NS" "$@"; }
ip netns add "$NS"
ns ip link set lo up
ns ip link add vb0 type veth peer name vb1
ns ip addr add "$SFU_IP/24" dev vb0
ns ip addr add "$CLI_IP/24" dev vb1
ns ip link set vb0 up
ns ip link set vb1 up
ns sysctl -q -w net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
ns sysctl -q -w net.ipv4.conf.all.accept_local=1 net.ipv4.conf.vb0.accept_local=1 net.ipv4.conf.vb1.accept_local=1
ns ip rule add pref 50 lookup local
ns ip rule del pref 0
ns ip rule add pref 10 from "$SFU_IP" to "$CLI_IP" iif lo lookup 100
ns ip rule add pref 11 from "$CLI_IP" to "$SFU_IP" iif lo lookup 101
ns ip route add "$CLI_IP/32" dev vb0 src "$SFU_IP" table 100
ns ip route add "$SFU_IP/32" dev vb1 src "$CLI_IP" table 101

# Every client comes from one address here, so the per-address admission limits are raised to the storm's size.
cat >"$RUN/veil.conf" <<EOF
e2ee = false
http_bind_address = "127.0.0.1"
announced_address = "$SFU_IP"
rtc_bind_address = "$SFU_IP"
limits {
  max_connections_per_channel = 256
  max_pending_sockets = 1000
  max_pending_sockets_per_address = 1000
  max_connections_per_address = 1000
}
EOF
mkdir -p "$RUN/janus"
cat >"$RUN/janus/janus.jcfg" <<EOF
general: {
	configs_folder = "$RUN/janus"
	plugins_folder = "$JANUS_LIBDIR/plugins"
	transports_folder = "$JANUS_LIBDIR/transports"
	events_folder = "$JANUS_LIBDIR/events"
	loggers_folder = "$JANUS_LIBDIR/loggers"
	debug_level = 3
	server_name = "stormbench"
	interface = "$SFU_IP"
	session_timeout = 60
}
certificates: {
}
media: {
	ipv6 = false
	rtp_port_range = "20000-40000"
}
nat: {
	ice_lite = false
	ice_tcp = false
	full_trickle = false
	ignore_mdns = true
	nice_debug = false
	ice_enforce_list = "$SFU_IP"
}
plugins: {
	disable = "libjanus_audiobridge.so,libjanus_duktape.so,libjanus_echotest.so,libjanus_lua.so,libjanus_nosip.so,libjanus_recordplay.so,libjanus_sip.so,libjanus_streaming.so,libjanus_textroom.so,libjanus_videocall.so,libjanus_voicemail.so"
}
transports: {
	disable = "libjanus_mqtt.so,libjanus_nanomsg.so,libjanus_pfunix.so,libjanus_rabbitmq.so,libjanus_websockets.so"
}
loggers: {
	disable = "libjanus_jsonlog.so"
}
events: {
	broadcast = false
}
EOF
cat >"$RUN/janus/janus.transport.http.jcfg" <<EOF
general: {
	json = "compact"
	base_path = "/janus"
	http = true
	port = $JANUS_HTTP
	ip = "127.0.0.1"
	https = false
}
admin: {
	admin_http = false
	admin_https = false
}
cors: {
}
EOF
room() { # $1 = room id, $2 = description: the rig's videoroom settings
  printf 'room-%s: {\n\tdescription = "%s"\n\tpublishers = 64\n\tbitrate = 0\n\tfir_freq = 0\n' "$1" "$2"
  printf '\taudiocodec = "opus"\n\tvideocodec = "vp8"\n\trecord = false\n\tnotify_joining = false\n}\n'
}
{ printf 'general: {\n\tevents = false\n}\n'; room 1234 background; room 5678 storm; } >"$RUN/janus/janus.plugin.videoroom.jcfg"

start_sfu() { # $1 = veil | janus; sets SFU_PID
  local name=$1
  if [ "$name" = veil ]; then
    # shellcheck disable=SC2086
    ip netns exec "$NS" java $VEIL_JAVA_OPTS -jar "$VEIL_JAR" --http-port "$VEIL_HTTP" --rtc-port "$VEIL_RTC" --config "$RUN/veil.conf" \
      >"$RUN/veil.out" 2>"$RUN/veil.err" &
    SFU_PID=$!
    for _ in $(seq 1 600); do grep -q "veil-server listening" "$RUN/veil.out" && break; sleep 0.1; done
    grep -q "veil-server listening" "$RUN/veil.out" || die "Veil not up after 60 s"
  else
    ip netns exec "$NS" janus -C "$RUN/janus/janus.jcfg" -F "$RUN/janus" -o >"$RUN/janus.log" 2>&1 &
    SFU_PID=$!
    for _ in $(seq 1 600); do
      ns curl -s -m 1 "http://127.0.0.1:$JANUS_HTTP/janus/info" 2>/dev/null | grep -q server_info && break
      sleep 0.1
    done
    ns curl -s -m 1 "http://127.0.0.1:$JANUS_HTTP/janus/info" | grep -q server_info || die "Janus not up after 60 s"
  fi
  local comm
  comm=$(cat "/proc/$SFU_PID/comm")
  case "$name:$comm" in veil:java | janus:janus) ;; *) die "PID $SFU_PID is '$comm', not the $name process" ;; esac
}

health() { ns curl -s -m 2 "http://127.0.0.1:$VEIL_HTTP/health" || echo '{}'; }

{
  echo "date_utc: $(date -u +%Y-%m-%dT%H:%M:%SZ)"
  echo "cpu: $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //') x $(nproc)"
  echo "java: $(java -version 2>&1 | head -1); janus: $(dpkg-query -W -f='${Version}' janus 2>/dev/null)"
  echo "veil: $(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null); VEIL_JAVA_OPTS: $VEIL_JAVA_OPTS"
  echo "storm: $STORM peers at once (1 publisher at $STORM_FPS fps + $((STORM - 1)) subscribers); background: $BG_PUBS x $BG_SUBS; srtp: $SRTP; reps: $REPS"
  echo "loadavg_start: $(cat /proc/loadavg)"
} >"$OUT/environment.txt"
cat "$OUT/environment.txt" >&2

for rep in $(seq 1 "$REPS"); do
  for sfu in $SFUS; do
    tag="r${rep}-${sfu}"
    log "run $rep, $sfu: background $BG_PUBS x $BG_SUBS, then a storm of $STORM"
    start_sfu "$sfu"
    if [ "$sfu" = veil ]; then
      url="ws://127.0.0.1:$VEIL_HTTP/signaling"; bg_target=(-channel bench); storm_target=(-channel storm)
    else
      url="http://127.0.0.1:$JANUS_HTTP/janus"; bg_target=(-room 1234); storm_target=(-room 5678)
    fi
    # CPU samples of the SFU every 100 ms (monotonic seconds, CPU seconds of all its threads; Veil: also of its DTLS
    # handshake threads), for the storm's CPU
    python3 - "$SFU_PID" "$OUT/$tag.cpu.tsv" <<'EOF' &
import os, sys, time
pid, out = int(sys.argv[1]), sys.argv[2]
hz = os.sysconf("SC_CLK_TCK")
def ticks(path):
    f = open(path).read().rsplit(")", 1)[1].split()
    return int(f[11]) + int(f[12])
with open(out, "w") as o:
    while True:
        try:
            total = ticks("/proc/%d/stat" % pid) / hz
            dtls = 0.0
            for t in os.listdir("/proc/%d/task" % pid):
                try:
                    if open("/proc/%d/task/%s/comm" % (pid, t)).read().startswith("veil-dtls"):
                        dtls += ticks("/proc/%d/task/%s/stat" % (pid, t)) / hz
                except OSError:
                    pass
        except OSError:
            break
        o.write("%.3f\t%.2f\t%.2f\n" % (time.monotonic(), total, dtls))
        o.flush()
        time.sleep(0.1)
EOF
    PIDS+=($!)
    sampler=$!
    [ "$sfu" = veil ] && health >"$OUT/$tag.health-before.json"
    timeout 300 ip netns exec "$NS" "$LOADGEN" -sfu "$sfu" -url "$url" "${bg_target[@]}" -ivf "$CLIP" -pubs "$BG_PUBS" -subs "$BG_SUBS" \
      -dur "${BG_DUR}s" -warmup 2s -srtp "$SRTP" -client-ip "$CLI_IP" -cpu-pid "$SFU_PID" \
      >"$OUT/$tag.background.json" 2>"$OUT/$tag.background.log" &
    bg=$!
    PIDS+=($bg)
    for _ in $(seq 1 1200); do
      grep -q "all .* peers connected" "$OUT/$tag.background.log" && break
      kill -0 "$bg" 2>/dev/null || break
      sleep 0.1
    done
    grep -q "all .* peers connected" "$OUT/$tag.background.log" || die "background not connected: $(tail -3 "$OUT/$tag.background.log")"
    sleep "$STORM_AFTER"
    for s in $(seq 1 "$STORMS"); do # storm 2..N: the same process again, warm (its JIT has compiled the join path)
      st=$tag; [ "$STORMS" -gt 1 ] && st=$tag-s$s
      python3 -c 'import time; print("%.3f %.3f" % (time.monotonic(), time.time()))' >"$OUT/$st.storm-start"
      timeout 200 ip netns exec "$NS" "$LOADGEN" -sfu "$sfu" -url "$url" "${storm_target[@]}" -ivf "$CLIP" -fps "$STORM_FPS" \
        -pubs 1 -subs "$((STORM - 1))" -parallel "$STORM" -connect-timeout 60s -dur 5s -warmup 1s -srtp "$SRTP" \
        -client-ip "$CLI_IP" -v >"$OUT/$st.storm.json" 2>"$OUT/$st.storm.log" || true
      sleep 3 # the storm's peers have left
    done
    wait "$bg" || true
    [ "$sfu" = veil ] && health >"$OUT/$tag.health-after.json"
    kill "$sampler" 2>/dev/null || true
    wait "$sampler" 2>/dev/null || true
    stop_sfu
    if [ "$sfu" = veil ]; then cp "$RUN/veil.err" "$OUT/$tag.sfu.log"; else cp "$RUN/janus.log" "$OUT/$tag.sfu.log"; fi
    python3 "$HERE/join-storm-report.py" "$OUT" >&2 || true
    sleep 2
  done
done
echo "loadavg_end: $(cat /proc/loadavg)" >>"$OUT/environment.txt"
python3 "$HERE/join-storm-report.py" "$OUT" | tee "$OUT/summary.md"
log "results in $OUT"
