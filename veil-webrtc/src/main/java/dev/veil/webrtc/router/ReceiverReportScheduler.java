package dev.veil.webrtc.router;

import dev.veil.webrtc.rtcp.ReceiverReport;
import dev.veil.webrtc.rtcp.ReportBlock;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtcp.SenderReport;
import dev.veil.webrtc.rtp.RtpPacket;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * RR scheduler: keeps RFC 3550 reception statistics of every producer ({@link ReceiveStats}) and the last SR of
 * each, and every {@link RouterConfig#receiverReportIntervalMillis()} sends each publisher one receiver report with a
 * block per producer of it that has received packets (at most 31, the RR's limit), with LSR/DLSR from its last SR.
 * The first {@link #poll} starts the schedule.
 */
final class ReceiverReportScheduler implements Stage {

    private static final class PerProducer {
        final Producer producer;
        final ReceiveStats stats = new ReceiveStats();
        long lastSrCompactNtp;
        long lastSrMillis = Long.MIN_VALUE;

        PerProducer(Producer producer) {
            this.producer = producer;
        }
    }

    private final int slot;
    private final long interval;
    private final long rtcpSsrc;
    private final Map<Producer, PerProducer> producers = new LinkedHashMap<>();
    private final ArrayDeque<RouterOutput> outputs = new ArrayDeque<>();
    private long nextMillis = Long.MIN_VALUE;
    private long sent;

    ReceiverReportScheduler(int slot, RouterConfig config, long rtcpSsrc) {
        this.slot = slot;
        this.interval = config.receiverReportIntervalMillis();
        this.rtcpSsrc = rtcpSsrc;
    }

    private PerProducer state(Producer p) {
        PerProducer s = (PerProducer) p.stageState[slot];
        if (s == null) {
            s = new PerProducer(p);
            p.stageState[slot] = s;
            producers.put(p, s);
        }
        return s;
    }

    @Override
    public void onProducerRtp(Producer producer, RtpPacket packet, boolean keyFrame, long nowMillis) {
        state(producer).stats.update(packet.sequenceNumber(), packet.timestamp(), nowMillis,
                producer.clockRate());
    }

    @Override
    public void onProducerRtcp(Producer producer, RtcpPacket packet, long nowMillis) {
        if (packet instanceof SenderReport sr) {
            PerProducer s = state(producer);
            s.lastSrCompactNtp = sr.compactNtp();
            s.lastSrMillis = nowMillis;
        }
    }

    @Override
    public void onProducerClosed(Producer producer) {
        producers.remove(producer);
        producer.stageState[slot] = null;
    }

    @Override
    public long poll(long nowMillis) {
        if (nextMillis == Long.MIN_VALUE) {
            nextMillis = nowMillis + interval;
        } else if (nowMillis >= nextMillis) {
            send(nowMillis);
            nextMillis = nowMillis + interval;
        }
        return nextMillis;
    }

    private void send(long nowMillis) {
        Map<String, List<ReportBlock>> byPeer = new LinkedHashMap<>();
        for (PerProducer s : producers.values()) {
            if (!s.stats.hasData()) {
                continue;
            }
            List<ReportBlock> blocks = byPeer.computeIfAbsent(s.producer.peerId(), k -> new ArrayList<>());
            if (blocks.size() == 31) {
                continue;
            }
            long lsr = 0;
            long dlsr = 0;
            if (s.lastSrMillis != Long.MIN_VALUE) {
                lsr = s.lastSrCompactNtp;
                dlsr = Math.min(0xFFFF_FFFFL, (nowMillis - s.lastSrMillis) * 65536 / 1000);
            }
            blocks.add(s.stats.report(s.producer.ssrc(), lsr, dlsr));
        }
        for (Map.Entry<String, List<ReportBlock>> e : byPeer.entrySet()) {
            outputs.add(new RouterOutput.Rtcp(e.getKey(), new ReceiverReport(rtcpSsrc, e.getValue()).encode()));
            sent++;
        }
    }

    @Override
    public RouterOutput pollOutput() {
        return outputs.poll();
    }

    long sent() {
        return sent;
    }
}
