package dev.veil.client;

import dev.veil.webrtc.sdp.Codec;
import dev.veil.webrtc.sdp.Direction;
import dev.veil.webrtc.sdp.DtlsFingerprint;
import dev.veil.webrtc.sdp.MediaKind;
import dev.veil.webrtc.sdp.SdpAnswer;
import dev.veil.webrtc.sdp.SdpException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * The client side of the server's SDP offers (docs/PROTOCOL.md §1.3): reads an offer and writes the answer a
 * browser would give. Every m-line keeps its mid, kind, order and offered payload types; the direction is
 * reversed: the audio m-line the server receives on becomes {@code sendonly} with this client's SSRC (if it
 * sends), every m-line the server sends on becomes {@code recvonly} (if it receives), everything else
 * {@code inactive}. With a screen share it sends VP8 on the screen-share video upload (answered {@code sendonly},
 * VP8 first); with simulcast camera video, VP8 on the camera upload as {@link ClientSimulcastSdp} plans it. An m-line the offer rejects (port 0: a track that is gone, whose place
 * a later offer recycles under a new mid) is rejected in the answer too, out of the BUNDLE group, like a browser.
 */
final class ClientSdp {
    /** A UDP host candidate line (matched from the start of one line, never run over the whole offer). */
    private static final Pattern CANDIDATE =
            Pattern.compile("a=candidate:\\S+ 1 (?i:udp) \\d+ (\\S+) (\\d+) typ host");

    /**
     * The rtcp-fb values a receiving m-line's answer keeps when offered (besides transport-cc and goog-remb, kept as
     * {@link Offer#receivePlan()} decides): this client NACKs lost video, and sends a PLI for a loss past repair.
     */
    private static final java.util.Set<String> RECEIVE_FEEDBACK = java.util.Set.of("nack", "nack pli");

    private ClientSdp() {}

    /** What the client learnt from an offer. */
    record Offer(String iceUfrag, String icePwd, DtlsFingerprint fingerprint, InetSocketAddress candidate,
            List<SdpAnswer.Media> media) {

        /** The audio m-line the server receives on (this client's upload), if any. */
        SdpAnswer.Media uploadAudio() {
            for (SdpAnswer.Media m : media) {
                if (!m.rejected() && m.kind() == MediaKind.AUDIO && m.direction() == Direction.RECVONLY) {
                    return m;
                }
            }
            return null;
        }

        /**
         * The screen-share video m-line the server receives on: the last video upload (the server offers the camera
         * upload, if asked for, before the screen-share one).
         */
        SdpAnswer.Media uploadScreen() {
            SdpAnswer.Media last = null;
            for (SdpAnswer.Media m : media) {
                if (!m.rejected() && m.kind() == MediaKind.VIDEO && m.direction() == Direction.RECVONLY) {
                    last = m;
                }
            }
            return last;
        }

        /** The camera video m-line the server receives on: the first video upload (ask for it with video). */
        SdpAnswer.Media uploadCamera() {
            for (SdpAnswer.Media m : media) {
                if (!m.rejected() && m.kind() == MediaKind.VIDEO && m.direction() == Direction.RECVONLY) {
                    return m;
                }
            }
            return null;
        }

        /**
         * What this client answers and runs on the m-lines the server sends on ({@link ReceiverFeedback}): the
         * transport-wide sequence number's id if the offer has the extension and {@code transport-cc} on such an
         * m-line's codec (else {@code goog-remb} if offered), and each stream's SSRC, RTX SSRC and rtx payload types.
         */
        ReceiverFeedback.Plan receivePlan() {
            return receivePlan(true);
        }

        /** As {@link #receivePlan()}; without {@code congestionFeedback}, neither transport-cc nor REMB. */
        ReceiverFeedback.Plan receivePlan(boolean congestionFeedback) {
            int ext = -1;
            boolean remb = false;
            List<ReceiverFeedback.Stream> streams = new ArrayList<>();
            for (SdpAnswer.Media m : media) {
                if (m.rejected() || m.direction() != Direction.SENDONLY || m.payloadTypes().isEmpty()) {
                    continue;
                }
                List<String> fb = m.codec(m.payloadTypes().get(0)).map(Codec::rtcpFeedback).orElse(List.of());
                java.util.Optional<Integer> id = m.extmapId(dev.veil.webrtc.sdp.Extmap.TRANSPORT_WIDE_CC);
                if (id.isPresent() && fb.contains("transport-cc") && ext < 0) {
                    ext = id.get(); // BUNDLE: one id for the transport
                }
                remb |= fb.contains("goog-remb");
                if (m.primarySsrc().isEmpty()) {
                    continue;
                }
                long ssrc = m.primarySsrc().get();
                java.util.Map<Integer, Integer> apt = new java.util.HashMap<>();
                for (Codec c : m.codecs()) {
                    if ("rtx".equalsIgnoreCase(c.name())) {
                        for (String f : c.fmtp().split(";")) {
                            String t = f.trim();
                            if (t.startsWith("apt=")) {
                                try {
                                    apt.put(c.payloadType(), Integer.parseInt(t.substring(4)));
                                } catch (NumberFormatException e) {
                                    // not an rtx mapping this client can use
                                }
                            }
                        }
                    }
                }
                streams.add(new ReceiverFeedback.Stream(ssrc, m.rtxSsrcFor(ssrc).orElse(0L), apt,
                        m.kind() == MediaKind.VIDEO));
            }
            if (!congestionFeedback) {
                return new ReceiverFeedback.Plan(-1, false, streams);
            }
            return new ReceiverFeedback.Plan(ext, ext < 0 && remb, streams);
        }

        /** The tracks the server forwards: every {@code sendonly} m-line with an SSRC and a stream id. */
        List<Track> tracks() {
            List<Track> out = new ArrayList<>();
            for (SdpAnswer.Media m : media) {
                if (!m.rejected() && m.direction() == Direction.SENDONLY && m.msidStream() != null
                        && m.primarySsrc().isPresent() && m.kind() != null) {
                    out.add(new Track(m.msidStream(), m.kind() == MediaKind.AUDIO ? "audio" : "video", m.mid(),
                            m.primarySsrc().get()));
                }
            }
            return out;
        }
    }

    static Offer parseOffer(String sdp) throws SdpException {
        SdpAnswer a = SdpAnswer.parse(sdp);
        if (a.iceUfrag() == null || a.icePwd() == null || a.fingerprint() == null) {
            throw new SdpException("offer lacks ice-ufrag, ice-pwd or fingerprint");
        }
        for (SdpAnswer.Media m : a.media()) {
            if (m.mid() == null) {
                // the answer must repeat every mid (BUNDLE); without one it would say "a=mid:null" (ClientSdpFuzzTest)
                throw new SdpException("offer has an m-line without a=mid");
            }
        }
        Matcher c = hostCandidate(sdp);
        if (c == null) {
            throw new SdpException("offer has no UDP host candidate");
        }
        InetSocketAddress candidate;
        try {
            candidate = new InetSocketAddress(ipLiteral(c.group(1)), Integer.parseInt(c.group(2)));
        } catch (UnknownHostException | IllegalArgumentException e) {
            throw new SdpException("bad host candidate " + c.group(1) + " " + c.group(2));
        }
        return new Offer(a.iceUfrag(), a.icePwd(), a.fingerprint(), candidate, a.media());
    }

    /**
     * The first line (LF or CRLF separated) that starts with a UDP host candidate, matched; null if none. Only lines
     * starting with {@code a=candidate:} meet the regex, so the cost does not grow with the rest of the offer.
     */
    private static Matcher hostCandidate(String sdp) {
        int start = 0;
        while (start <= sdp.length()) {
            int lf = sdp.indexOf('\n', start);
            int end = lf < 0 ? sdp.length() : lf;
            if (sdp.startsWith("a=candidate:", start)) {
                Matcher m = CANDIDATE.matcher(sdp).region(start, end);
                if (m.lookingAt()) {
                    return m;
                }
            }
            if (lf < 0) {
                return null;
            }
            start = lf + 1;
        }
        return null;
    }

    private static final Pattern IPV4 = Pattern.compile("(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})\\.(\\d{1,3})");

    /**
     * The address of a candidate that must be an IP literal, never resolved: a host name from the server's offer
     * would otherwise make the client query DNS for a name the server chose (found by ClientSdpFuzzTest review).
     */
    static InetAddress ipLiteral(String host) throws UnknownHostException {
        Matcher v4 = IPV4.matcher(host);
        if (v4.matches()) {
            byte[] b = new byte[4];
            for (int i = 0; i < 4; i++) {
                int octet = Integer.parseInt(v4.group(i + 1));
                if (octet > 255) {
                    throw new UnknownHostException("bad IPv4 literal");
                }
                b[i] = (byte) octet;
            }
            return InetAddress.getByAddress(b);
        }
        if (host.indexOf(':') >= 0 && host.indexOf('%') < 0) {
            // Java parses a name with a colon as an IPv6 literal or refuses it; it never looks such a name up
            return InetAddress.getByName(host);
        }
        throw new UnknownHostException("candidate address is not an IP literal");
    }

    /** The opus payload type of an m-line, or -1. */
    static int opusPayloadType(SdpAnswer.Media m) {
        return payloadType(m, "opus");
    }

    /** The VP8 payload type of an m-line, or -1. */
    static int vp8PayloadType(SdpAnswer.Media m) {
        return payloadType(m, "vp8");
    }

    private static int payloadType(SdpAnswer.Media m, String name) {
        for (Codec codec : m.codecs()) {
            if (codec.name().toLowerCase(Locale.ROOT).equals(name)) {
                return codec.payloadType();
            }
        }
        return -1;
    }

    /**
     * The answer to {@code offer}.
     *
     * @param send whether this client sends audio (sendrecv, sendonly)
     * @param receive whether it receives (sendrecv, recvonly)
     * @param ssrc this client's audio SSRC
     * @param cname this client's RTCP CNAME and msid stream id
     */
    static String answer(Offer offer, String sessionVersion, String ufrag, String pwd, DtlsFingerprint fingerprint,
            boolean send, boolean receive, long ssrc, String cname) {
        return answer(offer, sessionVersion, ufrag, pwd, fingerprint, send, receive, ssrc, 0, cname);
    }

    /**
     * The answer to {@code offer}, with the screen-share video upload ({@link Offer#uploadScreen()}) sending VP8
     * (its payload type first) under {@code screenSsrc} when that is not 0.
     */
    static String answer(Offer offer, String sessionVersion, String ufrag, String pwd, DtlsFingerprint fingerprint,
            boolean send, boolean receive, long ssrc, long screenSsrc, String cname) {
        return answer(offer, sessionVersion, ufrag, pwd, fingerprint, send, receive, ssrc, screenSsrc, null, cname);
    }

    /**
     * As above, with the camera video upload sending VP8 as {@code camera} plans it (simulcast layers, or one plain
     * stream: {@link ClientSimulcastSdp}) when that is not null.
     */
    static String answer(Offer offer, String sessionVersion, String ufrag, String pwd, DtlsFingerprint fingerprint,
            boolean send, boolean receive, long ssrc, long screenSsrc, SimulcastSender camera, String cname) {
        return answer(offer, sessionVersion, ufrag, pwd, fingerprint, send, receive, ssrc, screenSsrc, camera, cname,
                true);
    }

    /**
     * As above; on the m-lines it receives, the answer keeps what {@link Offer#receivePlan(boolean)} plans: the
     * transport-wide sequence number and {@code transport-cc} (or {@code goog-remb}) only with
     * {@code congestionFeedback}, {@code nack} and the rtx payload types always.
     */
    static String answer(Offer offer, String sessionVersion, String ufrag, String pwd, DtlsFingerprint fingerprint,
            boolean send, boolean receive, long ssrc, long screenSsrc, SimulcastSender camera, String cname,
            boolean congestionFeedback) {
        SdpAnswer.Media screenUp = send && screenSsrc != 0 ? offer.uploadScreen() : null;
        SdpAnswer.Media cameraUp = send && camera != null ? offer.uploadCamera() : null;
        if (cameraUp != null && !cameraUp.mid().equals(camera.plan().mid())) {
            cameraUp = null; // (a re-offer keeps the upload m-lines; a different one is not the planned one)
        }
        ReceiverFeedback.Plan plan = receive ? offer.receivePlan(congestionFeedback) : ReceiverFeedback.Plan.NONE;
        StringBuilder sb = new StringBuilder(2048);
        line(sb, "v=0");
        line(sb, "o=- 4611731400430051336 " + sessionVersion + " IN IP4 127.0.0.1");
        line(sb, "s=-");
        line(sb, "t=0 0");
        StringBuilder group = new StringBuilder("a=group:BUNDLE");
        for (SdpAnswer.Media m : offer.media()) {
            if (!m.rejected()) {
                group.append(' ').append(m.mid());
            }
        }
        line(sb, group.toString());
        line(sb, "a=msid-semantic: WMS " + cname);
        for (SdpAnswer.Media m : offer.media()) {
            if (m.rejected()) {
                line(sb, "m=" + m.media() + " 0 " + m.protocol() + " 0");
                line(sb, "c=IN IP4 0.0.0.0");
                line(sb, "a=mid:" + m.mid());
                continue;
            }
            StringBuilder mline = new StringBuilder("m=").append(m.media()).append(' ')
                    .append(9).append(' ').append(m.protocol());
            boolean screen = m == screenUp && m != cameraUp;
            boolean cam = m == cameraUp;
            int vp8 = screen || cam ? vp8PayloadType(m) : -1;
            if (vp8 >= 0) {
                mline.append(' ').append(vp8); // the server takes the first payload type as the codec sent
            }
            for (int pt : m.payloadTypes()) {
                if (pt != vp8) {
                    mline.append(' ').append(pt);
                }
            }
            line(sb, mline.toString());
            line(sb, "c=IN IP4 0.0.0.0");
            line(sb, "a=mid:" + m.mid());
            boolean upload = send && m.kind() == MediaKind.AUDIO && m.direction() == Direction.RECVONLY;
            String dir;
            if (upload || screen || cam) {
                dir = "sendonly";
            } else if (receive && m.direction() == Direction.SENDONLY) {
                dir = "recvonly";
            } else {
                dir = "inactive";
            }
            line(sb, "a=" + dir);
            line(sb, "a=ice-ufrag:" + ufrag);
            line(sb, "a=ice-pwd:" + pwd);
            line(sb, "a=fingerprint:" + fingerprint.toSdpValue());
            line(sb, "a=setup:active");
            line(sb, "a=rtcp-mux");
            boolean receiving = dir.equals("recvonly");
            if (receiving && plan.transportWideExtensionId() > 0) {
                line(sb, "a=extmap:" + plan.transportWideExtensionId() + " " + dev.veil.webrtc.sdp.Extmap.TRANSPORT_WIDE_CC);
            }
            for (Codec codec : m.codecs()) {
                line(sb, "a=rtpmap:" + codec.payloadType() + " " + codec.rtpmap());
                if (!codec.fmtp().isEmpty()) {
                    line(sb, "a=fmtp:" + codec.payloadType() + " " + codec.fmtp());
                }
                if (receiving) {
                    for (String fb : codec.rtcpFeedback()) {
                        if (fb.equals("transport-cc") ? plan.transportWideExtensionId() > 0
                                : fb.equals("goog-remb") ? plan.remb() : RECEIVE_FEEDBACK.contains(fb)) {
                            line(sb, "a=rtcp-fb:" + codec.payloadType() + " " + fb);
                        }
                    }
                }
            }
            if (upload) {
                line(sb, "a=msid:" + cname + " " + cname + "-audio");
                line(sb, "a=ssrc:" + ssrc + " cname:" + cname);
            }
            if (screen) {
                line(sb, "a=msid:" + cname + " " + cname + "-screen");
                line(sb, "a=ssrc:" + screenSsrc + " cname:" + cname);
            }
            if (cam) {
                for (String l : ClientSimulcastSdp.answerLines(camera.plan(), camera.ssrc(0), cname)) {
                    line(sb, l);
                }
            }
        }
        return sb.toString();
    }

    private static void line(StringBuilder sb, String l) {
        sb.append(l).append("\r\n");
    }
}
