package dev.veil.webrtc.sdp;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The SFU's side of the offer/answer exchange with one browser (the SFU always offers). It keeps the m-lines across
 * re-offers: new tracks are appended, removed tracks become {@code a=inactive} with their port kept, and existing
 * m-lines never move (RFC 8829 §5.2.2). Not thread-safe.
 *
 * <p>Every offer is Unified Plan with one BUNDLE group over all m-lines, {@code a=ice-lite}, {@code a=setup:actpass},
 * {@code a=rtcp-mux}, {@code a=rtcp-rsize}, and on every m-line the one host candidate
 * {@code a=candidate:1 1 udp 2130706431 <address> <port> typ host} followed by {@code a=end-of-candidates}.
 *
 * <p>Typical use by the server:
 * <pre>{@code
 * IceCredentials creds = iceAgent.localCredentials();
 * SdpOfferer sdp = new SdpOfferer(sessionId, creds.ufrag(), creds.password(), dtlsFingerprint, announcedIp, rtcPort);
 * String audioUp = sdp.addRecvOnly(MediaKind.AUDIO);           // the client's own microphone
 * String videoUp = sdp.addRecvOnly(MediaKind.VIDEO);           // the client's own camera
 * String m = sdp.addSendOnly(MediaKind.VIDEO, new SendTrack(publisherConnId, producerId, consumerSsrc, cname));
 * send(sdp.createOffer());
 * SdpAnswer answer = sdp.applyAnswer(answerText);              // throws SdpException if it does not fit
 * sdp.deactivate(m); send(sdp.createOffer());                  // track gone: re-offer
 * }</pre>
 */
public final class SdpOfferer {

    /** Priority of the single host candidate: type preference 126, local preference 65535, component 1. */
    public static final long HOST_CANDIDATE_PRIORITY = 2130706431L;

    private final long sessionId;
    private long version;
    private String iceUfrag;
    private String icePwd;
    private final DtlsFingerprint fingerprint;
    private final String candidateAddress;
    private final boolean ipv6;
    private final int port;
    private List<Codec> audioCodecs = List.of(Codec.opus());
    private List<Codec> videoCodecs = List.of(Codec.vp8(), Codec.h264());
    private List<Extmap> extmaps = List.of(new Extmap(1, Extmap.SDES_MID));
    private boolean reuseInactiveSlots;
    private final List<MediaSection> sections = new ArrayList<>();
    private final List<Boolean> reusable = new ArrayList<>();
    private int nextMid;

    /**
     * @param sessionId the o= session id (random 62-bit positive number, per peer connection)
     * @param iceUfrag local ice-ufrag (from the ICE agent)
     * @param icePwd local ice-pwd (from the ICE agent)
     * @param fingerprint the SFU's DTLS certificate fingerprint
     * @param announcedAddress the literal IP address of the host candidate
     * @param port the shared UDP media port
     */
    public SdpOfferer(long sessionId, String iceUfrag, String icePwd, DtlsFingerprint fingerprint,
            InetAddress announcedAddress, int port) {
        if (sessionId < 0) {
            throw new IllegalArgumentException("session id must be positive");
        }
        if (port < 1 || port > 65535) {
            throw new IllegalArgumentException("bad port " + port);
        }
        this.sessionId = sessionId;
        this.version = 0;
        setIceCredentials(iceUfrag, icePwd);
        this.fingerprint = Objects.requireNonNull(fingerprint, "fingerprint");
        Objects.requireNonNull(announcedAddress, "announcedAddress");
        this.candidateAddress = announcedAddress.getHostAddress().replaceFirst("%.*$", "");
        this.ipv6 = announcedAddress instanceof Inet6Address;
        this.port = port;
    }

    /** Replaces the audio codecs offered on m-lines added from now on (default: Opus). */
    public SdpOfferer audioCodecs(List<Codec> codecs) {
        this.audioCodecs = List.copyOf(codecs);
        return this;
    }

    /** Replaces the video codecs offered on m-lines added from now on (default: VP8, H.264). */
    public SdpOfferer videoCodecs(List<Codec> codecs) {
        this.videoCodecs = List.copyOf(codecs);
        return this;
    }

    /** Replaces the header extensions offered on m-lines added from now on (default: sdes:mid as id 1). */
    public SdpOfferer extmaps(List<Extmap> extmaps) {
        this.extmaps = List.copyOf(extmaps);
        return this;
    }

    /**
     * Whether {@link #addSendOnly} may reuse the m-line of a deactivated track of the same kind instead of appending
     * one (keeps the SDP short in long calls; off by default because a reused transceiver fires a new track on the
     * old receiver in the browser).
     */
    public SdpOfferer reuseInactiveSlots(boolean reuse) {
        this.reuseInactiveSlots = reuse;
        return this;
    }

    /** New local ICE credentials after an ICE restart; the next offer carries them. */
    public void setIceCredentials(String ufrag, String password) {
        SendTrack.requireToken(ufrag, "ufrag");
        Objects.requireNonNull(password, "password");
        if (password.isEmpty() || password.length() > 256 || password.indexOf(' ') >= 0) {
            throw new IllegalArgumentException("bad ice-pwd");
        }
        this.iceUfrag = ufrag;
        this.icePwd = password;
    }

    /** Adds a RECVONLY m-line for the client's own upload; returns its mid. */
    public String addRecvOnly(MediaKind kind) {
        return append(kind, Direction.RECVONLY, null);
    }

    /** Adds an INACTIVE m-line (e.g. a placeholder so a recvonly client with nothing to receive can connect). */
    public String addInactive(MediaKind kind) {
        String mid = append(kind, Direction.INACTIVE, null);
        reusable.set(reusable.size() - 1, true);
        return mid;
    }

    /** Adds (or, if enabled, reuses) a SENDONLY m-line for a forwarded track; returns its mid. */
    public String addSendOnly(MediaKind kind, SendTrack track) {
        Objects.requireNonNull(track, "track");
        if (reuseInactiveSlots) {
            for (int i = 0; i < sections.size(); i++) {
                MediaSection s = sections.get(i);
                if (reusable.get(i) && s.kind() == kind && s.direction() == Direction.INACTIVE) {
                    sections.set(i, new MediaSection(s.mid(), kind, Direction.SENDONLY, codecsFor(kind), extmaps,
                            track));
                    reusable.set(i, false);
                    return s.mid();
                }
            }
        }
        return append(kind, Direction.SENDONLY, track);
    }

    private String append(MediaKind kind, Direction d, SendTrack track) {
        Objects.requireNonNull(kind, "kind");
        String mid = Integer.toString(nextMid++);
        sections.add(new MediaSection(mid, kind, d, codecsFor(kind), extmaps, track));
        reusable.add(false);
        return mid;
    }

    private List<Codec> codecsFor(MediaKind kind) {
        return kind == MediaKind.AUDIO ? audioCodecs : videoCodecs;
    }

    /**
     * Marks an m-line {@code a=inactive} (its track was removed); the port and position are kept.
     *
     * @throws IllegalArgumentException if there is no such mid
     */
    public void deactivate(String mid) {
        int i = indexOf(mid);
        sections.set(i, sections.get(i).withDirection(Direction.INACTIVE));
        reusable.set(i, true);
    }

    /** Sets the direction of an m-line (e.g. SENDONLY→INACTIVE while paused and back). */
    public void setDirection(String mid, Direction direction) {
        int i = indexOf(mid);
        MediaSection s = sections.get(i);
        if (direction.sends() && s.track() == null) {
            throw new IllegalArgumentException("mid " + mid + " has no track to send");
        }
        sections.set(i, s.withDirection(direction));
    }

    private int indexOf(String mid) {
        for (int i = 0; i < sections.size(); i++) {
            if (sections.get(i).mid().equals(mid)) {
                return i;
            }
        }
        throw new IllegalArgumentException("no m-line with mid " + mid);
    }

    /** The m-lines in order (unmodifiable snapshot). */
    public List<MediaSection> mediaSections() {
        return Collections.unmodifiableList(new ArrayList<>(sections));
    }

    /** The o= version of the last offer created (0 before the first). */
    public long version() {
        return version;
    }

    /**
     * Writes the next offer (the o= version increases by one each time).
     *
     * @throws IllegalStateException if there is no m-line (an offer needs at least one to carry the transport)
     */
    public String createOffer() {
        if (sections.isEmpty()) {
            throw new IllegalStateException("an offer needs at least one m-line; add an inactive placeholder");
        }
        version++;
        StringBuilder sb = new StringBuilder(1024 + 1024 * sections.size());
        line(sb, "v=0");
        line(sb, "o=- " + sessionId + " " + version + " IN IP4 0.0.0.0");
        line(sb, "s=-");
        line(sb, "t=0 0");
        line(sb, "a=ice-lite");
        StringBuilder group = new StringBuilder("a=group:BUNDLE");
        for (MediaSection s : sections) {
            group.append(' ').append(s.mid());
        }
        line(sb, group.toString());
        line(sb, "a=msid-semantic: WMS *");
        for (MediaSection s : sections) {
            writeMedia(sb, s);
        }
        return sb.toString();
    }

    private void writeMedia(StringBuilder sb, MediaSection s) {
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
        SendTrack t = s.track();
        if (t != null && s.direction().sends()) {
            line(sb, "a=msid:" + t.streamId() + " " + t.trackId());
            line(sb, "a=ssrc:" + t.ssrc() + " cname:" + t.cname());
            line(sb, "a=ssrc:" + t.ssrc() + " msid:" + t.streamId() + " " + t.trackId());
        }
        line(sb, "a=candidate:1 1 udp " + HOST_CANDIDATE_PRIORITY + " " + candidateAddress + " " + port
                + " typ host");
        line(sb, "a=end-of-candidates");
    }

    private static void line(StringBuilder sb, String l) {
        sb.append(l).append("\r\n");
    }

    /**
     * Parses the browser's answer to the last offer and checks that it fits: the same mids in the same order and
     * of the same kinds, legal directions (RFC 3264 §6.1), only offered payload types, ice-ufrag/pwd and a
     * fingerprint present, and {@code a=setup:active} or {@code passive} (never actpass in an answer).
     *
     * @throws SdpException if the answer cannot be parsed or does not fit the offer
     */
    public SdpAnswer applyAnswer(String answerSdp) throws SdpException {
        SdpAnswer a = SdpAnswer.parse(answerSdp);
        if (a.media().size() != sections.size()) {
            throw new SdpException("answer has " + a.media().size() + " m-lines, offer has " + sections.size());
        }
        boolean anyAccepted = false;
        for (int i = 0; i < sections.size(); i++) {
            MediaSection o = sections.get(i);
            SdpAnswer.Media m = a.media().get(i);
            if (!o.mid().equals(m.mid())) {
                throw new SdpException("m-line " + i + ": mid " + m.mid() + " instead of " + o.mid());
            }
            if (m.kind() != o.kind()) {
                throw new SdpException("mid " + o.mid() + ": kind " + m.media() + " instead of " + o.kind().sdpName());
            }
            if (m.rejected()) {
                continue;
            }
            anyAccepted = true;
            if (!o.direction().acceptsAnswer(m.direction())) {
                throw new SdpException("mid " + o.mid() + ": answer direction " + m.direction().sdpName()
                        + " does not fit offered " + o.direction().sdpName());
            }
            for (int pt : m.payloadTypes()) {
                if (o.codecs().stream().noneMatch(c -> c.payloadType() == pt)) {
                    throw new SdpException("mid " + o.mid() + ": payload type " + pt + " was not offered");
                }
            }
            if (!m.rtcpMux()) {
                throw new SdpException("mid " + o.mid() + ": answer lacks a=rtcp-mux");
            }
            if (m.iceUfrag() == null || m.icePwd() == null || m.fingerprint() == null) {
                // SdpAnswer.parse only demands them of RTP profiles; an accepted m-line of any profile needs them
                // (a non-RTP protocol token made this a NullPointerException, found by SdpAnswerFuzzTest)
                throw new SdpException("mid " + o.mid() + ": accepted m-line lacks ice-ufrag, ice-pwd or fingerprint");
            }
        }
        if (anyAccepted) {
            if (a.setup() != SetupRole.ACTIVE && a.setup() != SetupRole.PASSIVE) {
                throw new SdpException("answer setup must be active or passive, got " + a.setup());
            }
            for (SdpAnswer.Media m : a.media()) {
                if (!m.rejected() && (!m.iceUfrag().equals(a.iceUfrag()) || !m.fingerprint().equals(a.fingerprint()))) {
                    throw new SdpException("bundled m-lines disagree on ice-ufrag or fingerprint");
                }
            }
        }
        return a;
    }
}
