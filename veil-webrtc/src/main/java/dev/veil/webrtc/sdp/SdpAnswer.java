package dev.veil.webrtc.sdp;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The parts of a (browser's) session description that the SFU needs, parsed by {@link #parse(String)}. It reads any
 * SDP, but it is meant for the browser's answer to the SFU's offer. Session-level {@code ice-ufrag},
 * {@code ice-pwd}, {@code fingerprint} and {@code setup} apply to every m-line that does not set its own (Firefox
 * puts the fingerprint at session level, Chrome at media level); the values returned here are those of the first
 * m-line that is not rejected (all bundled m-lines share one transport).
 *
 * @param iceUfrag remote ICE username fragment
 * @param icePwd remote ICE password
 * @param fingerprint the remote certificate fingerprint (check it against the DTLS certificate)
 * @param setup the remote DTLS role (ACTIVE in a browser's answer to actpass: the browser is the DTLS client)
 * @param bundleMids mids in {@code a=group:BUNDLE}, in order
 * @param iceLite whether the remote side declared {@code a=ice-lite}
 * @param media the m-lines in order
 */
public record SdpAnswer(String iceUfrag, String icePwd, DtlsFingerprint fingerprint, SetupRole setup,
        List<String> bundleMids, boolean iceLite, List<Media> media) {

    public SdpAnswer {
        bundleMids = List.copyOf(bundleMids);
        media = List.copyOf(media);
    }

    /** The m-line with a mid. */
    public Optional<Media> media(String mid) {
        return media.stream().filter(m -> mid.equals(m.mid())).findFirst();
    }

    /**
     * An {@code a=ssrc-group} line.
     *
     * @param semantics "FID" (RTX), "SIM" (simulcast) or other
     * @param ssrcs the SSRCs in order (for FID: primary, then RTX)
     */
    public record SsrcGroup(String semantics, List<Long> ssrcs) {
        public SsrcGroup {
            ssrcs = List.copyOf(ssrcs);
        }
    }

    /**
     * One m-line of the parsed SDP.
     *
     * @param mid {@code a=mid} (null if absent)
     * @param kind audio or video; null for other media (application, ...)
     * @param media the m-line media token ("audio", "video", "application")
     * @param port the m-line port; 0 means rejected
     * @param protocol the m-line protocol ("UDP/TLS/RTP/SAVPF")
     * @param direction direction attribute (SENDRECV if none, the SDP default)
     * @param payloadTypes the formats of the m-line in order (RTP m-lines only)
     * @param codecs the payload types with an rtpmap, with their fmtp and rtcp-fb
     * @param extmaps header extensions
     * @param ssrcs SSRCs from {@code a=ssrc} lines, in order of first appearance
     * @param ssrcGroups {@code a=ssrc-group} lines
     * @param cnames cname per SSRC
     * @param msidStream stream id of {@code a=msid} (or of {@code a=ssrc:.. msid:}), null if none
     * @param msidTrack track id of {@code a=msid}, null if none
     * @param rtcpMux whether {@code a=rtcp-mux} is present
     * @param iceUfrag the m-line's effective ice-ufrag
     * @param icePwd the m-line's effective ice-pwd
     * @param fingerprint the m-line's effective fingerprint
     * @param setup the m-line's effective setup role
     * @param simulcastRids the simulcast layers this side sends (RFC 8853): the rids of {@code a=simulcast:send}
     *     in its order that also have an {@code a=rid:<rid> send} line (of alternatives the first, a paused
     *     {@code ~} prefix dropped); empty without simulcast
     */
    public record Media(String mid, MediaKind kind, String media, int port, String protocol, Direction direction,
            List<Integer> payloadTypes, List<Codec> codecs, List<Extmap> extmaps, List<Long> ssrcs,
            List<SsrcGroup> ssrcGroups, Map<Long, String> cnames, String msidStream, String msidTrack,
            boolean rtcpMux, String iceUfrag, String icePwd, DtlsFingerprint fingerprint, SetupRole setup,
            List<String> simulcastRids) {

        public Media {
            payloadTypes = List.copyOf(payloadTypes);
            codecs = List.copyOf(codecs);
            extmaps = List.copyOf(extmaps);
            ssrcs = List.copyOf(ssrcs);
            ssrcGroups = List.copyOf(ssrcGroups);
            cnames = Map.copyOf(cnames);
            simulcastRids = List.copyOf(simulcastRids);
        }

        /** Port 0: the answerer rejected the m-line. */
        public boolean rejected() {
            return port == 0;
        }

        /**
         * The SSRC the remote side sends media with: the first SSRC that is not the RTX (second) member of a FID
         * group. Empty if the m-line lists no SSRC.
         */
        public Optional<Long> primarySsrc() {
            for (Long s : ssrcs) {
                if (!isRtx(s)) {
                    return Optional.of(s);
                }
            }
            return Optional.empty();
        }

        /** The RTX SSRC paired with {@code ssrc} by an {@code a=ssrc-group:FID} line. */
        public Optional<Long> rtxSsrcFor(long ssrc) {
            for (SsrcGroup g : ssrcGroups) {
                if (g.semantics().equals("FID") && g.ssrcs().size() >= 2 && g.ssrcs().get(0) == ssrc) {
                    return Optional.of(g.ssrcs().get(1));
                }
            }
            return Optional.empty();
        }

        private boolean isRtx(long ssrc) {
            for (SsrcGroup g : ssrcGroups) {
                if (g.semantics().equals("FID") && g.ssrcs().size() >= 2 && g.ssrcs().get(1) == ssrc) {
                    return true;
                }
            }
            return false;
        }

        /** The codec with a payload type. */
        public Optional<Codec> codec(int payloadType) {
            return codecs.stream().filter(c -> c.payloadType() == payloadType).findFirst();
        }

        /** The extmap id of a URI, if negotiated. */
        public Optional<Integer> extmapId(String uri) {
            return extmaps.stream().filter(e -> e.uri().equals(uri)).map(Extmap::id).findFirst();
        }
    }

    // ------------------------------------------------------------------------------------------------ parser

    /**
     * Parses an SDP. Lines may end in CRLF or LF. Unknown lines and attributes are ignored.
     *
     * @throws SdpException if the SDP is structurally broken (no v=0, a bad m-line, a bad number, a bad
     *     fingerprint) or lacks ice-ufrag, ice-pwd or fingerprint on an m-line that is not rejected
     */
    public static SdpAnswer parse(String sdp) throws SdpException {
        if (sdp == null || sdp.length() > 256 * 1024) {
            throw new SdpException("SDP missing or larger than 256 KiB");
        }
        String[] lines = SdpText.lines(sdp);
        if (lines.length == 0 || !lines[0].trim().equals("v=0")) {
            throw new SdpException("SDP does not start with v=0");
        }
        Attrs session = new Attrs();
        List<String> bundle = new ArrayList<>();
        boolean iceLite = false;
        List<MediaBuilder> medias = new ArrayList<>();
        MediaBuilder cur = null;
        for (int n = 0; n < lines.length; n++) {
            String line = lines[n];
            if (line.isEmpty()) {
                continue;
            }
            if (line.length() < 2 || line.charAt(1) != '=') {
                throw new SdpException("line " + (n + 1) + " is not <type>=<value>");
            }
            char type = line.charAt(0);
            String value = line.substring(2);
            if (type == 'm') {
                cur = MediaBuilder.parseMLine(value);
                medias.add(cur);
            } else if (type == 'a') {
                int colon = value.indexOf(':');
                String name = colon < 0 ? value : value.substring(0, colon);
                String arg = colon < 0 ? "" : value.substring(colon + 1);
                Attr attr = Attr.of(name);
                if (cur == null) {
                    if (attr == Attr.GROUP && arg.startsWith("BUNDLE")) {
                        for (String mid : SdpText.fields(arg.substring("BUNDLE".length()))) {
                            if (!mid.isEmpty()) {
                                bundle.add(mid);
                            }
                        }
                    } else if (attr == Attr.ICE_LITE) {
                        iceLite = true;
                    } else {
                        session.applyTransport(attr, arg);
                    }
                } else {
                    cur.apply(attr, arg);
                }
            }
        }
        List<Media> out = new ArrayList<>();
        for (MediaBuilder b : medias) {
            out.add(b.build(session));
        }
        Media first = out.stream().filter(m -> !m.rejected()).findFirst().orElse(null);
        if (first == null) {
            return new SdpAnswer(session.ufrag, session.pwd, session.fingerprint, session.setup, bundle, iceLite,
                    out);
        }
        return new SdpAnswer(first.iceUfrag(), first.icePwd(), first.fingerprint(), first.setup(), bundle, iceLite,
                out);
    }

    /**
     * The attribute names the parser reads. A {@code switch} on the name string was a chain of string compares per
     * attribute line, which Jazzer traces one by one (as it does every key of a map on a {@code Map.get} miss): the
     * SDP fuzz targets ran at under 1,000 inputs per second. {@link #of} finds the name with its hash in a small
     * open-addressing table and one {@code equals}.
     */
    private enum Attr {
        ICE_UFRAG("ice-ufrag"), ICE_PWD("ice-pwd"), FINGERPRINT("fingerprint"), SETUP("setup"), MID("mid"),
        RTCP_MUX("rtcp-mux"), RTPMAP("rtpmap"), FMTP("fmtp"), RTCP_FB("rtcp-fb"), EXTMAP("extmap"), SSRC("ssrc"),
        SSRC_GROUP("ssrc-group"), MSID("msid"), RID("rid"), SIMULCAST("simulcast"), GROUP("group"),
        ICE_LITE("ice-lite"),
        SENDRECV("sendrecv"), SENDONLY("sendonly"), RECVONLY("recvonly"), INACTIVE("inactive"), OTHER(null);

        private static final Attr[] TABLE = new Attr[64];

        static {
            for (Attr a : values()) {
                if (a.sdpName != null) {
                    int i = slot(a.hash);
                    while (TABLE[i] != null) {
                        i = (i + 1) & (TABLE.length - 1);
                    }
                    TABLE[i] = a;
                }
            }
        }

        private final String sdpName;
        private final int hash;

        Attr(String sdpName) {
            this.sdpName = sdpName;
            this.hash = sdpName == null ? 0 : sdpName.hashCode();
        }

        private static int slot(int hash) {
            return (hash ^ (hash >>> 16)) & (TABLE.length - 1);
        }

        static Attr of(String name) {
            int h = name.hashCode();
            for (int i = slot(h); TABLE[i] != null; i = (i + 1) & (TABLE.length - 1)) {
                if (TABLE[i].hash == h && TABLE[i].sdpName.equals(name)) {
                    return TABLE[i];
                }
            }
            return OTHER;
        }

        /** The direction this attribute sets, or null. */
        Direction direction() {
            switch (this) {
                case SENDRECV:
                    return Direction.SENDRECV;
                case SENDONLY:
                    return Direction.SENDONLY;
                case RECVONLY:
                    return Direction.RECVONLY;
                case INACTIVE:
                    return Direction.INACTIVE;
                default:
                    return null;
            }
        }
    }

    /** Transport attributes that may be at session or media level. */
    private static class Attrs {
        String ufrag;
        String pwd;
        DtlsFingerprint fingerprint;
        SetupRole setup;

        boolean applyTransport(Attr attr, String arg) throws SdpException {
            switch (attr) {
                case ICE_UFRAG:
                    ufrag = arg.trim();
                    return true;
                case ICE_PWD:
                    pwd = arg.trim();
                    return true;
                case FINGERPRINT:
                    if (fingerprint == null) { // several are allowed; keep the first
                        fingerprint = DtlsFingerprint.parse(arg);
                    }
                    return true;
                case SETUP:
                    setup = SetupRole.fromSdp(arg.trim());
                    if (setup == null) {
                        throw new SdpException("bad setup: " + arg);
                    }
                    return true;
                default:
                    return false;
            }
        }
    }

    private static final class MediaBuilder extends Attrs {
        String mediaToken;
        int port;
        String protocol;
        List<Integer> pts = new ArrayList<>();
        String mid;
        Direction direction;
        Map<Integer, String[]> rtpmaps = new LinkedHashMap<>();
        Map<Integer, String> fmtps = new HashMap<>();
        Map<Integer, List<String>> fbs = new HashMap<>();
        List<Extmap> extmaps = new ArrayList<>();
        List<Long> ssrcs = new ArrayList<>();
        List<SsrcGroup> groups = new ArrayList<>();
        Map<Long, String> cnames = new LinkedHashMap<>();
        String msidStream;
        String msidTrack;
        boolean rtcpMux;
        List<String> sendRidLines = new ArrayList<>();
        List<String> simulcastSend = new ArrayList<>();

        static MediaBuilder parseMLine(String value) throws SdpException {
            String[] f = SdpText.fields(value);
            if (f.length < 3) {
                throw new SdpException("bad m-line: " + value);
            }
            if (!visibleAscii(f[0]) || !visibleAscii(f[2])) {
                // RFC 8866 §9: media and proto are tokens of visible characters. A control character (which \s
                // does not split on, but trim() drops) made the SDK echo an m-line that reads back otherwise
                // (ClientSdpFuzzTest finding-mline-control-char-protocol).
                throw new SdpException("bad m-line media or protocol token: " + value);
            }
            MediaBuilder b = new MediaBuilder();
            b.mediaToken = f[0];
            String port = f[1];
            int slash = port.indexOf('/');
            b.port = parseInt(slash < 0 ? port : port.substring(0, slash), 0, 65535, "m-line port");
            b.protocol = f[2];
            if (b.protocol.contains("RTP")) {
                for (int i = 3; i < f.length; i++) {
                    b.pts.add(parseInt(f[i], 0, 127, "payload type"));
                }
            }
            return b;
        }

        void apply(Attr attr, String arg) throws SdpException {
            if (applyTransport(attr, arg)) {
                return;
            }
            Direction d = attr.direction();
            if (d != null) {
                direction = d;
                return;
            }
            switch (attr) {
                case MID:
                    mid = arg.trim();
                    break;
                case RTCP_MUX:
                    rtcpMux = true;
                    break;
                case RTPMAP: {
                    String[] f = SdpText.fields(arg, 2);
                    if (f.length != 2) {
                        throw new SdpException("bad rtpmap: " + arg);
                    }
                    rtpmaps.put(parseInt(f[0], 0, 127, "rtpmap payload type"), f[1].split("/"));
                    break;
                }
                case FMTP: {
                    String[] f = SdpText.fields(arg, 2);
                    if (f.length == 2) {
                        fmtps.put(parseInt(f[0], 0, 127, "fmtp payload type"), f[1]);
                    }
                    break;
                }
                case RTCP_FB: {
                    String[] f = SdpText.fields(arg, 2);
                    if (f.length == 2 && !f[0].equals("*")) {
                        fbs.computeIfAbsent(parseInt(f[0], 0, 127, "rtcp-fb payload type"), k -> new ArrayList<>())
                                .add(f[1]);
                    }
                    break;
                }
                case EXTMAP: {
                    String[] f = SdpText.fields(arg);
                    if (f.length < 2) {
                        throw new SdpException("bad extmap: " + arg);
                    }
                    String id = f[0];
                    int slash = id.indexOf('/');
                    extmaps.add(new Extmap(parseInt(slash < 0 ? id : id.substring(0, slash), 1, 255, "extmap id"),
                            f[1]));
                    break;
                }
                case SSRC: {
                    String[] f = SdpText.fields(arg, 2);
                    long ssrc = parseSsrc(f[0]);
                    if (!ssrcs.contains(ssrc)) {
                        ssrcs.add(ssrc);
                    }
                    if (f.length == 2) {
                        String ssrcAttr = f[1];
                        if (ssrcAttr.startsWith("cname:")) {
                            cnames.put(ssrc, ssrcAttr.substring(6));
                        } else if (ssrcAttr.startsWith("msid:") && msidStream == null) {
                            String[] m = SdpText.fields(ssrcAttr.substring(5));
                            msidStream = m[0];
                            msidTrack = m.length > 1 ? m[1] : null;
                        }
                    }
                    break;
                }
                case SSRC_GROUP: {
                    String[] f = SdpText.fields(arg);
                    List<Long> members = new ArrayList<>();
                    for (int i = 1; i < f.length; i++) {
                        members.add(parseSsrc(f[i]));
                    }
                    groups.add(new SsrcGroup(f[0], members));
                    break;
                }
                case RID: {
                    // a=rid:<rid-id> <send|recv> [restrictions] (RFC 8851)
                    String[] f = SdpText.fields(arg);
                    if (f.length >= 2 && f[1].equals("send") && !sendRidLines.contains(f[0])) {
                        if (sendRidLines.size() >= MAX_RIDS) {
                            throw new SdpException("more than " + MAX_RIDS + " rids");
                        }
                        sendRidLines.add(f[0]);
                    }
                    break;
                }
                case SIMULCAST: {
                    // a=simulcast:send q;h;f [recv ...] (RFC 8853); "rid=" is the draft form
                    String[] f = SdpText.fields(arg);
                    for (int i = 0; i + 1 < f.length; i += 2) {
                        if (!f[i].equals("send")) {
                            continue;
                        }
                        String list = f[i + 1].startsWith("rid=") ? f[i + 1].substring(4) : f[i + 1];
                        for (String alt : list.split(";")) {
                            String rid = alt.split(",")[0];
                            rid = rid.startsWith("~") ? rid.substring(1) : rid;
                            if (!rid.isEmpty() && !simulcastSend.contains(rid)) {
                                if (simulcastSend.size() >= MAX_RIDS) {
                                    throw new SdpException("more than " + MAX_RIDS + " simulcast rids");
                                }
                                simulcastSend.add(rid);
                            }
                        }
                    }
                    break;
                }
                case MSID: {
                    String[] m = SdpText.fields(arg);
                    msidStream = m[0];
                    msidTrack = m.length > 1 ? m[1] : null;
                    break;
                }
                default:
                    break;
            }
        }

        Media build(Attrs session) throws SdpException {
            List<Codec> codecs = new ArrayList<>();
            for (Map.Entry<Integer, String[]> e : rtpmaps.entrySet()) {
                String[] enc = e.getValue();
                if (enc.length < 2) {
                    throw new SdpException("bad rtpmap for payload type " + e.getKey());
                }
                int rate = parseInt(enc[1], 1, Integer.MAX_VALUE, "clock rate");
                int channels = enc.length > 2 ? parseInt(enc[2], 1, 255, "channels") : 0;
                codecs.add(new Codec(e.getKey(), enc[0], rate, channels, fmtps.getOrDefault(e.getKey(), ""),
                        fbs.getOrDefault(e.getKey(), List.of())));
            }
            String u = ufrag != null ? ufrag : session.ufrag;
            String p = pwd != null ? pwd : session.pwd;
            DtlsFingerprint fp = fingerprint != null ? fingerprint : session.fingerprint;
            SetupRole s = setup != null ? setup : session.setup;
            if (port != 0 && protocol.contains("RTP") && (u == null || p == null || fp == null)) {
                throw new SdpException("m-line " + (mid == null ? mediaToken : "mid " + mid)
                        + " lacks ice-ufrag, ice-pwd or fingerprint");
            }
            return new Media(mid, MediaKind.fromSdp(mediaToken), mediaToken, port, protocol,
                    direction == null ? Direction.SENDRECV : direction, pts, codecs, extmaps, ssrcs, groups, cnames,
                    msidStream, msidTrack, rtcpMux, u, p, fp, s,
                    simulcastSend.stream().filter(sendRidLines::contains).toList());
        }
    }

    /** At most this many rids per m-line are read (more is an error: no browser sends more than 4 layers). */
    static final int MAX_RIDS = 16;

    private static boolean visibleAscii(String token) {
        for (int i = 0; i < token.length(); i++) {
            char c = token.charAt(i);
            if (c < 0x21 || c > 0x7E) {
                return false;
            }
        }
        return !token.isEmpty();
    }

    private static int parseInt(String s, int min, int max, String what) throws SdpException {
        try {
            int v = Integer.parseInt(s.trim());
            if (v < min || v > max) {
                throw new SdpException(what + " out of range: " + s);
            }
            return v;
        } catch (NumberFormatException e) {
            throw new SdpException("bad " + what + ": " + s);
        }
    }

    private static long parseSsrc(String s) throws SdpException {
        try {
            long v = Long.parseLong(s.trim());
            if (v < 0 || v > 0xFFFF_FFFFL) {
                throw new SdpException("ssrc out of range: " + s);
            }
            return v;
        } catch (NumberFormatException e) {
            throw new SdpException("bad ssrc: " + s);
        }
    }
}
