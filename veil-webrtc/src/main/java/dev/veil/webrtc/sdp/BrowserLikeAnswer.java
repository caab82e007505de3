package dev.veil.webrtc.sdp;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Random;

/**
 * Writes the SDP answer a browser would give to a Veil server's offer, for what stands in for a browser without being
 * one (signaling tests, load generators): every m-line accepted with all offered formats, the direction reversed,
 * ICE credentials, the DTLS fingerprint and {@code setup:active} on each, and an SSRC on the m-lines it sends; an
 * m-line the offer rejects (port 0) is rejected in the answer too (like Chromium: port 0, its mid, out of BUNDLE).
 * Text in, text out: no parsing beyond the lines it copies.
 */
public final class BrowserLikeAnswer {
    private BrowserLikeAnswer() {}

    /**
     * The answer to {@code offer}.
     *
     * @param publish whether to send on the m-lines the server receives on (else they are answered inactive)
     * @param fingerprint the {@code a=fingerprint} value ({@code "sha-256 AB:..."})
     * @param label the msid stream and cname of the SSRCs it sends
     * @param random where the SSRCs come from (one {@code nextInt()} per sending m-line, in order)
     */
    public static String answer(String offer, boolean publish, String ufrag, String pwd, String fingerprint,
                                String label, Random random) {
        List<String> sections = new ArrayList<>();
        List<String> mids = new ArrayList<>();
        String[] parts = offer.split("\r\nm=");
        for (int i = 1; i < parts.length; i++) {
            String[] lines = ("m=" + parts[i]).split("\r\n");
            String[] mline = lines[0].split(" ");
            String mid = null;
            String dir = "sendrecv";
            List<String> rtp = new ArrayList<>();
            for (String l : lines) {
                if (l.startsWith("a=mid:")) {
                    mid = l.substring(6);
                } else if (l.matches("a=(sendrecv|sendonly|recvonly|inactive)")) {
                    dir = l.substring(2);
                } else if (l.startsWith("a=rtpmap:") || l.startsWith("a=fmtp:") || l.startsWith("a=rtcp-fb:")) {
                    rtp.add(l);
                }
            }
            if (mline[1].equals("0")) {
                sections.add(mline[0] + " 0 " + mline[2] + " 0\r\nc=IN IP4 0.0.0.0\r\na=mid:" + mid + "\r\n");
                continue;
            }
            mids.add(mid);
            String answerDir = switch (dir) {
                case "recvonly" -> publish ? "sendonly" : "inactive";
                case "sendonly" -> "recvonly";
                default -> "inactive";
            };
            StringBuilder s = new StringBuilder();
            s.append(mline[0]).append(" 9 ").append(String.join(" ", Arrays.copyOfRange(mline, 2, mline.length)))
                    .append("\r\nc=IN IP4 0.0.0.0\r\na=mid:").append(mid).append("\r\na=").append(answerDir)
                    .append("\r\na=ice-ufrag:").append(ufrag).append("\r\na=ice-pwd:").append(pwd)
                    .append("\r\na=fingerprint:").append(fingerprint)
                    .append("\r\na=setup:active\r\na=rtcp-mux\r\n");
            for (String l : rtp) {
                s.append(l).append("\r\n");
            }
            if (answerDir.equals("sendonly")) {
                s.append("a=msid:").append(label).append(" track").append(mid).append("\r\n");
                s.append("a=ssrc:").append(random.nextInt() & 0xffffffffL).append(" cname:").append(label)
                        .append("\r\n");
            }
            sections.add(s.toString());
        }
        StringBuilder out = new StringBuilder("v=0\r\no=- 42 2 IN IP4 127.0.0.1\r\ns=-\r\nt=0 0\r\n");
        out.append("a=group:BUNDLE ").append(String.join(" ", mids)).append("\r\na=msid-semantic: WMS *\r\n");
        sections.forEach(out::append);
        return out.toString();
    }
}
