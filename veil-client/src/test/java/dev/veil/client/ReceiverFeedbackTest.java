package dev.veil.client;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.cc.DownlinkEstimator;
import dev.veil.webrtc.cc.SendHistory;
import dev.veil.webrtc.cc.TransportWideStamper;
import dev.veil.webrtc.rtcp.GenericNack;
import dev.veil.webrtc.rtcp.PictureLossIndication;
import dev.veil.webrtc.rtcp.Remb;
import dev.veil.webrtc.rtcp.RtcpCompound;
import dev.veil.webrtc.rtcp.RtcpPacket;
import dev.veil.webrtc.rtcp.TransportFeedback;
import dev.veil.webrtc.rtp.HeaderExtension;
import dev.veil.webrtc.rtp.RtpHeader;
import dev.veil.webrtc.rtp.RtpPacket;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * The Java subscriber's receive side in memory, on a manual clock: transport-wide feedback that the server's own
 * downlink estimator reads (stamped by the server's stamper, fed back to its estimator), REMB as the fallback, NACKs
 * of missing video packets with retries and a limit, RTX (RFC 4588) unwrapped into the packet it repairs, and a PLI
 * (RFC 4585) once a loss is given up, delta frames held back until the key frame.
 */
class ReceiverFeedbackTest {
    private static final long OWN = 0x1234L;
    private static final long VIDEO = 0xAAAA0001L;
    private static final long RTX = 0xAAAA0002L;
    private static final long AUDIO = 0xBBBB0001L;
    private static final int EXT = 3;

    private final ReceiverFeedback rf = new ReceiverFeedback(OWN);
    private long now = 50_000;

    private static ReceiverFeedback.Plan plan(int ext, boolean remb) {
        return new ReceiverFeedback.Plan(ext, remb, List.of(
                new ReceiverFeedback.Stream(VIDEO, RTX, Map.of(97, 96), true),
                new ReceiverFeedback.Stream(AUDIO, 0, Map.of(), false)));
    }

    /** A packet as the server sends it: a reserved transport-wide element (stamped later) and a payload. */
    private static byte[] packet(long ssrc, int pt, int seq, byte[] payload) {
        RtpHeader h = RtpHeader.of(false, pt, seq, seq * 3000L, ssrc)
                .withExtensions(List.of(new HeaderExtension(EXT, new byte[2])));
        return RtpPacket.build(h, payload, 0, payload.length);
    }

    private static byte[] body(int seq) {
        return new byte[] {0x10, 0x42, (byte) seq, (byte) (seq >> 8), 7};
    }

    private List<RtcpPacket> rtcp() throws Exception {
        List<RtcpPacket> out = new ArrayList<>();
        for (byte[] c; (c = rf.pollRtcp()) != null; ) {
            out.addAll(RtcpCompound.parse(c));
        }
        return out;
    }

    private static List<Integer> nacked(List<RtcpPacket> l, long ssrc) {
        List<Integer> out = new ArrayList<>();
        for (RtcpPacket p : l) {
            if (p instanceof GenericNack n && n.mediaSsrc() == ssrc) {
                assertEquals(OWN, n.senderSsrc());
                out.addAll(n.lostSequenceNumbers());
            }
        }
        return out;
    }

    @Test
    void transportWideFeedbackDrivesTheServersDownlinkEstimator() throws Exception {
        rf.configure(plan(EXT, true));
        assertEquals("transport-cc", rf.mode(), "transport-cc wins over REMB");
        SendHistory history = new SendHistory(4096, 100);
        TransportWideStamper stamper = new TransportWideStamper(EXT, history);
        DownlinkEstimator estimator = new DownlinkEstimator(history, DownlinkEstimator.Config.defaults());
        int reports = 0;
        for (int i = 0; i < 60; i++) { // 60 packets 5 ms apart; the 20th is lost on the way
            byte[] p = packet(i % 3 == 0 ? AUDIO : VIDEO, 96, 1000 + i, body(i));
            assertTrue(stamper.stamp(p, 0, p.length, now * 1000) >= 0);
            if (i != 20) {
                assertNotNull(rf.onRtp(p, now * 1000 + 20_000, now));
            }
            now += 5;
            if (rf.nextTimeoutMillis() <= now) {
                rf.poll(now);
            }
            for (RtcpPacket fb : rtcp()) {
                if (fb instanceof TransportFeedback t) {
                    assertEquals(OWN, t.senderSsrc());
                    estimator.onFeedback(t, now + 20);
                    reports++;
                }
            }
        }
        now += 100;
        rf.poll(now);
        for (RtcpPacket fb : rtcp()) {
            if (fb instanceof TransportFeedback t) {
                estimator.onFeedback(t, now + 20);
                reports++;
            }
        }
        assertTrue(reports >= 2, "a feedback every 100 ms: " + reports);
        assertEquals(reports, rf.stats().feedbackSent());
        DownlinkEstimator.Stats s = estimator.stats();
        assertEquals(60, s.packetsReported(), "every packet sent is reported, received or lost");
        assertEquals(1, s.packetsLost());
        assertEquals(0, s.unknown(), "no number the server never sent");
        assertEquals(0, rf.stats().rembSent());
    }

    @Test
    void withoutTransportCc_rembReportsTheReceivedRateForTheStreams() throws Exception {
        rf.configure(plan(-1, true));
        assertEquals("goog-remb", rf.mode());
        for (int i = 0; i < 50; i++) {
            rf.onRtp(packet(VIDEO, 96, i, new byte[1000]), now * 1000, now);
            now += 10;
        }
        rf.poll(now);
        List<RtcpPacket> out = rtcp();
        Remb r = (Remb) out.stream().filter(p -> p instanceof Remb).findFirst().orElseThrow();
        assertEquals(OWN, r.senderSsrc());
        assertEquals(List.of(VIDEO, AUDIO), r.ssrcs());
        assertTrue(r.bitrate() >= 300_000, "at least the floor: " + r.bitrate());
        assertTrue(out.stream().noneMatch(p -> p instanceof TransportFeedback));
    }

    @Test
    void aMissingVideoPacketIsNackedAndRepairedByRtx_paddingAndDuplicatesAreDropped() throws Exception {
        rf.configure(plan(EXT, false));
        for (int seq : new int[] {65534, 65535, 1, 2}) { // 0 is lost, across the wrap
            assertNotNull(rf.onRtp(packet(VIDEO, 96, seq, body(seq)), now * 1000, now));
        }
        rf.poll(now);
        assertEquals(List.of(0), nacked(rtcp(), VIDEO));
        // an audio gap is not NACKed
        rf.onRtp(packet(AUDIO, 111, 10, body(10)), now * 1000, now);
        rf.onRtp(packet(AUDIO, 111, 12, body(12)), now * 1000, now);
        now += 40;
        rf.poll(now);
        assertEquals(List.of(), nacked(rtcp(), AUDIO));

        // the RTX packet: RTX SSRC and payload type, its own sequence number, OSN 0 before the original payload
        byte[] orig = body(0);
        byte[] rtxPayload = new byte[2 + orig.length];
        System.arraycopy(orig, 0, rtxPayload, 2, orig.length);
        byte[] rtx = packet(RTX, 97, 500, rtxPayload);
        byte[] repaired = rf.onRtp(rtx, now * 1000, now);
        assertNotNull(repaired);
        RtpPacket p = RtpPacket.parse(repaired);
        assertEquals(VIDEO, p.header().ssrc());
        assertEquals(96, p.header().payloadType());
        assertEquals(0, p.header().sequenceNumber());
        assertArrayEquals(orig, java.util.Arrays.copyOfRange(repaired, p.payloadOffset(), p.payloadOffset()
                + p.payloadLength()));
        assertEquals(1, rf.stats().repaired());
        // repaired: not NACKed again
        now += 200;
        rf.poll(now);
        assertEquals(List.of(), nacked(rtcp(), VIDEO));
        // the same retransmission again, and a packet that arrived already: dropped as duplicates
        assertNull(rf.onRtp(packet(RTX, 97, 501, rtxPayload), now * 1000, now));
        assertNull(rf.onRtp(packet(VIDEO, 96, 2, body(2)), now * 1000, now));
        assertEquals(2, rf.stats().duplicates());
        // padding-only RTX (a server probe): dropped, but counted by the feedback
        assertNull(rf.onRtp(packet(RTX, 97, 502, new byte[0]), now * 1000, now));
        assertEquals(1, rf.stats().rtxPadding());
        // an RTX packet with a payload type the m-line does not map: dropped
        assertNull(rf.onRtp(packet(RTX, 120, 503, rtxPayload), now * 1000, now));
        assertEquals(2, rf.stats().rtxReceived(), "the two that carried a packet (one of them a duplicate)");
        assertEquals(1, rf.stats().lost());
    }

    @Test
    void aPacketNeverRepairedIsNackedTenTimesAHundredMillisApart_thenGivenUpWithAPliUntilAKeyFrameComes()
            throws Exception {
        rf.configure(plan(-1, false));
        assertEquals("none", rf.mode());
        rf.onRtp(packet(VIDEO, 96, 100, body(0)), 0, now);
        rf.onRtp(packet(VIDEO, 96, 102, body(2)), 0, now);
        int nacks = 0;
        List<Long> plis = new ArrayList<>();
        long first = now;
        long end = first + NackTracker.MAX_TRIES * NackTracker.RETRY_MILLIS + KeyFrameGate.RETRY_MILLIS;
        while (true) { // until one PLI retry, woken at every deadline as the loop does
            long next = rf.nextTimeoutMillis();
            assertTrue(next != Long.MAX_VALUE, "a NACK or a PLI is always due until a key frame");
            if (next > end) {
                break;
            }
            now = Math.max(now, next);
            rf.poll(now);
            List<RtcpPacket> out = rtcp();
            List<Integer> n = nacked(out, VIDEO);
            if (!n.isEmpty()) {
                assertEquals(List.of(101), n);
                assertEquals(first + nacks * NackTracker.RETRY_MILLIS, now);
                nacks++;
            }
            for (RtcpPacket p : out) {
                if (p instanceof PictureLossIndication pli) {
                    assertEquals(OWN, pli.senderSsrc());
                    assertEquals(VIDEO, pli.mediaSsrc(), "the PLI names the media SSRC");
                    plis.add(now);
                }
            }
        }
        assertEquals(NackTracker.MAX_TRIES, nacks);
        assertEquals(1, rf.stats().givenUp());
        assertEquals(NackTracker.MAX_TRIES, rf.stats().sequenceNumbersNacked());
        // given up at the eleventh round: a PLI at once, again after a while if no key frame comes
        long gaveUp = first + NackTracker.MAX_TRIES * NackTracker.RETRY_MILLIS;
        assertEquals(List.of(gaveUp, gaveUp + KeyFrameGate.RETRY_MILLIS), plis);
        assertEquals(2, rf.stats().plisSent());
        // delta frames are held back until the key frame, which ends the PLIs
        assertFalse(rf.admitFrame(VIDEO, false, now));
        assertTrue(rf.admitFrame(VIDEO, true, now));
        assertTrue(rf.admitFrame(VIDEO, false, now));
        assertTrue(rf.admitFrame(AUDIO, false, now), "(audio is never held)");
        assertEquals(Long.MAX_VALUE, rf.nextTimeoutMillis(), "nothing left to do");
    }

    @Test
    void anAbandonedFrameSendsAPliAtOnce_aBurstOfLossesCostsOne() throws Exception {
        rf.configure(plan(-1, false));
        rf.onRtp(packet(VIDEO, 96, 100, body(0)), 0, now);
        rf.frameLost(VIDEO, now);
        rf.frameLost(VIDEO, now + 5);
        rf.frameLost(AUDIO, now); // (not a video stream: ignored)
        assertEquals(now, rf.nextTimeoutMillis());
        rf.poll(now);
        List<RtcpPacket> out = rtcp();
        assertEquals(1, out.size());
        assertEquals(new PictureLossIndication(OWN, VIDEO), out.get(0));
        assertEquals(now + KeyFrameGate.RETRY_MILLIS, rf.nextTimeoutMillis());
    }

    @Test
    void aJumpIsARestartNotALoss_andAStreamLeavingThePlanKeepsItsCounts() throws Exception {
        rf.configure(plan(-1, false));
        rf.onRtp(packet(VIDEO, 96, 100, body(0)), 0, now);
        rf.onRtp(packet(VIDEO, 96, 103, body(0)), 0, now);
        rf.onRtp(packet(VIDEO, 96, 103 + NackTracker.RESTART_GAP + 1, body(0)), 0, now);
        rf.poll(now);
        assertEquals(List.of(), nacked(rtcp(), VIDEO), "the two missing were given up at the restart");
        assertEquals(2, rf.stats().givenUp());
        rf.configure(new ReceiverFeedback.Plan(-1, false, List.of()));
        assertEquals(2, rf.stats().lost());
        // a packet of a stream no longer (or never) in the plan passes through untouched
        byte[] stray = packet(VIDEO, 96, 7, body(7));
        assertArrayEquals(stray, rf.onRtp(stray, 0, now));
    }
}
