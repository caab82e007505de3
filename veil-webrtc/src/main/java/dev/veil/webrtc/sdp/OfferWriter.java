package dev.veil.webrtc.sdp;

import java.util.List;

/**
 * Writes {@link SdpOfferer}'s offers: the session lines (ice-lite, one BUNDLE group over the live m-lines), each live
 * m-line with the SFU's one transport (ICE credentials, DTLS fingerprint, {@code setup:actpass}, rtcp-mux, the host
 * candidates) and its codecs, extensions, simulcast rids and forwarded track, and each rejected m-line as port 0.
 */
final class OfferWriter {
    private final DtlsFingerprint fingerprint;
    private final String candidateAddress;
    private final boolean ipv6;
    private final int port;
    /** The passive ICE-TCP candidate's port, or 0 for none. */
    int tcpPort;

    OfferWriter(DtlsFingerprint fingerprint, String candidateAddress, boolean ipv6, int port) {
        this.fingerprint = fingerprint;
        this.candidateAddress = candidateAddress;
        this.ipv6 = ipv6;
        this.port = port;
    }

    /** The offer text: {@code live.get(i)} says whether m-line {@code i} is live (else it is written rejected). */
    String write(long sessionId, long version, String iceUfrag, String icePwd, List<MediaSection> sections,
            List<Boolean> live) {
        StringBuilder sb = new StringBuilder(1024 + 1024 * sections.size());
        line(sb, "v=0");
        line(sb, "o=- " + sessionId + " " + version + " IN IP4 0.0.0.0");
        line(sb, "s=-");
        line(sb, "t=0 0");
        line(sb, "a=ice-lite");
        StringBuilder group = new StringBuilder("a=group:BUNDLE");
        for (int i = 0; i < sections.size(); i++) {
            if (live.get(i)) {
                group.append(' ').append(sections.get(i).mid());
            }
        }
        line(sb, group.toString());
        line(sb, "a=msid-semantic: WMS *");
        for (int i = 0; i < sections.size(); i++) {
            if (live.get(i)) {
                writeMedia(sb, sections.get(i), iceUfrag, icePwd);
            } else {
                writeRejected(sb, sections.get(i));
            }
        }
        return sb.toString();
    }

    /** A rejected m-line: port 0, its mid and nothing else it would need to carry media (RFC 8829 §5.2.2). */
    private void writeRejected(StringBuilder sb, MediaSection s) {
        StringBuilder m = new StringBuilder("m=").append(s.kind().sdpName()).append(" 0 UDP/TLS/RTP/SAVPF");
        for (Codec c : s.codecs()) {
            m.append(' ').append(c.payloadType());
        }
        line(sb, m.toString());
        line(sb, "c=IN " + (ipv6 ? "IP6 " : "IP4 ") + candidateAddress);
        line(sb, "a=mid:" + s.mid());
        line(sb, "a=inactive");
    }

    private void writeMedia(StringBuilder sb, MediaSection s, String iceUfrag, String icePwd) {
        StringBuilder m = new StringBuilder("m=").append(s.kind().sdpName()).append(' ').append(port)
                .append(" UDP/TLS/RTP/SAVPF");
        for (Codec c : s.codecs()) {
            m.append(' ').append(c.payloadType());
        }
        line(sb, m.toString());
        line(sb, "c=IN " + (ipv6 ? "IP6 " : "IP4 ") + candidateAddress);
        line(sb, "a=mid:" + s.mid());
        line(sb, "a=" + s.direction().sdpName());
        line(sb, "a=ice-ufrag:" + iceUfrag);
        line(sb, "a=ice-pwd:" + icePwd);
        line(sb, "a=fingerprint:" + fingerprint.toSdpValue());
        line(sb, "a=setup:actpass");
        line(sb, "a=rtcp-mux");
        line(sb, "a=rtcp-rsize");
        for (Extmap e : s.extmaps()) {
            line(sb, "a=extmap:" + e.id() + " " + e.uri());
        }
        for (Codec c : s.codecs()) {
            line(sb, "a=rtpmap:" + c.payloadType() + " " + c.rtpmap());
            for (String fb : c.rtcpFeedback()) {
                line(sb, "a=rtcp-fb:" + c.payloadType() + " " + fb);
            }
            if (!c.fmtp().isEmpty()) {
                line(sb, "a=fmtp:" + c.payloadType() + " " + c.fmtp());
            }
        }
        if (!s.recvRids().isEmpty() && s.direction() == Direction.RECVONLY) {
            for (String rid : s.recvRids()) {
                line(sb, "a=rid:" + rid + " recv");
            }
            line(sb, "a=simulcast:recv " + String.join(";", s.recvRids()));
        }
        SendTrack t = s.track();
        if (t != null && s.direction().sends()) {
            line(sb, "a=msid:" + t.streamId() + " " + t.trackId());
            boolean rtx = t.rtxSsrc() != 0 && s.codecs().stream().anyMatch(c -> "rtx".equalsIgnoreCase(c.name()));
            if (rtx) {
                line(sb, "a=ssrc-group:FID " + t.ssrc() + " " + t.rtxSsrc());
            }
            line(sb, "a=ssrc:" + t.ssrc() + " cname:" + t.cname());
            line(sb, "a=ssrc:" + t.ssrc() + " msid:" + t.streamId() + " " + t.trackId());
            if (rtx) {
                line(sb, "a=ssrc:" + t.rtxSsrc() + " cname:" + t.cname());
                line(sb, "a=ssrc:" + t.rtxSsrc() + " msid:" + t.streamId() + " " + t.trackId());
            }
        }
        line(sb, "a=candidate:1 1 udp " + SdpOfferer.HOST_CANDIDATE_PRIORITY + " " + candidateAddress + " " + port
                + " typ host");
        if (tcpPort != 0) {
            line(sb, "a=candidate:2 1 tcp " + SdpOfferer.HOST_TCP_CANDIDATE_PRIORITY + " " + candidateAddress + " " + tcpPort
                    + " typ host tcptype passive");
        }
        line(sb, "a=end-of-candidates");
    }

    private static void line(StringBuilder sb, String l) {
        sb.append(l).append("\r\n");
    }

}
