package dev.veil.webrtc.sdp;

import java.net.Inet6Address;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Objects;

/**
 * The SFU's side of the offer/answer exchange with one browser (the SFU always offers). It keeps the m-lines across
 * re-offers and never moves one (RFC 8829 §5.2.2), but keeps the offer proportional to the current tracks by
 * recycling the m-lines of removed tracks (RFC 8829 §5.2.2 "recycling", §5.3.1):
 * <ol>
 *   <li>{@link #remove(String)}: the next offer rejects the m-line (port 0, out of the BUNDLE group, only
 *       {@code c=}, {@code a=mid} and {@code a=inactive}; the browser stops its transceiver and ends the track);</li>
 *   <li>once the answer to that offer has been applied, the m-line is free: the next m-line added of the same kind
 *       takes its place (same index) with a <em>new</em> mid (the browser makes a new transceiver for it).</li>
 * </ol>
 * So an offer holds the live m-lines plus at most as many short rejected ones as there were tracks at the peak, not
 * one m-line per track that ever came and went. The first m-line carries the BUNDLE group's tag and is never
 * rejected: {@link #remove(String)} makes it {@code a=inactive} instead (at most one such slot). Not thread-safe.
 *
 * <p>Every offer is Unified Plan with one BUNDLE group over all m-lines, {@code a=ice-lite}, {@code a=setup:actpass},
 * {@code a=rtcp-mux}, {@code a=rtcp-rsize}, and on every m-line the one host candidate
 * {@code a=candidate:1 1 udp 2130706431 <address> <port> typ host} followed by {@code a=end-of-candidates}.
 * RECVONLY m-lines (the client's uploads) also offer uplink congestion control ({@link #uplinkCongestionControl}:
 * the transport-wide sequence number extension, transport-cc, goog-remb), RTX ({@link #uplinkRtx}) and optionally
 * a start bitrate ({@link #uplinkStartBitrateKbps}); SENDONLY m-lines offer downlink congestion control
 * ({@link #downlinkCongestionControl}: the server stamps what it forwards with its own transport-wide sequence
 * numbers), and a SENDONLY video m-line whose {@link SendTrack} has an RTX SSRC offers RTX and announces
 * {@code a=ssrc-group:FID}.
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
 * sdp.remove(m); send(sdp.createOffer());                      // track gone: re-offer rejects its m-line
 * sdp.applyAnswer(reAnswerText);                                // now its place takes the next track of its kind
 * }</pre>
 */
public final class SdpOfferer {

    /** Priority of the single host candidate: type preference 126, local preference 65535, component 1. */
    public static final long HOST_CANDIDATE_PRIORITY = 2130706431L;

    /**
     * Priority of the passive ICE-TCP host candidate (RFC 6544 §4.2): type preference 90, below UDP host (126) as
     * RFC 6544 §4.2 asks for TCP candidates where UDP may work (the value libwebrtc gives host TCP candidates), local
     * preference {@code 2^13 * 4 + 8191} (direction-pref 4 for passive, other-pref 8191), component 1: a browser
     * that can reach the UDP candidate prefers it.
     */
    public static final long HOST_TCP_CANDIDATE_PRIORITY = (90L << 24) + ((4L << 13) + 8191) * 256 + (256 - 1);

    private final long sessionId;
    private long version;
    private String iceUfrag;
    private String icePwd;
    /** The codecs and header extensions each new m-line gets (the setters below). */
    private final OfferFormats formats = new OfferFormats();
    /** Writes the offers (the transport: fingerprint, host candidates). */
    private final OfferWriter writer;
    private final List<MediaSection> sections = new ArrayList<>();
    /** Per m-line: live, rejected in an offer not yet answered, or rejected and answered (free for a new track). */
    private final List<Slot> slots = new ArrayList<>();
    /** The m-lines and slot states of the last offer (what its answer is checked against). */
    private List<MediaSection> offered = List.of();
    private List<Slot> offeredSlots = List.of();
    private int nextMid;

    private enum Slot { LIVE, REJECTED, RECYCLABLE }

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
        Objects.requireNonNull(fingerprint, "fingerprint");
        Objects.requireNonNull(announcedAddress, "announcedAddress");
        this.writer = new OfferWriter(fingerprint, announcedAddress.getHostAddress().replaceFirst("%.*$", ""),
                announcedAddress instanceof Inet6Address, port);
    }

    /**
     * Also announces a passive ICE-TCP host candidate (RFC 6544, {@code tcptype passive}) on {@code port} of the
     * same address, after the UDP one and with a lower priority ({@link #HOST_TCP_CANDIDATE_PRIORITY}); 0 for none
     * (the default).
     */
    public SdpOfferer iceTcpPort(int port) {
        if (port < 0 || port > 65535) {
            throw new IllegalArgumentException("bad port " + port);
        }
        writer.tcpPort = port;
        return this;
    }

    /** Replaces the audio codecs offered on m-lines added from now on (default: Opus). */
    public SdpOfferer audioCodecs(List<Codec> codecs) {
        formats.audioCodecs = List.copyOf(codecs);
        return this;
    }

    /**
     * Replaces the video codecs offered on m-lines added from now on (default: VP8, H.264, VP9, AV1, in that order; a
     * client that prefers another orders the offer itself, docs/PROTOCOL.md §2.9).
     */
    public SdpOfferer videoCodecs(List<Codec> codecs) {
        formats.videoCodecs = List.copyOf(codecs);
        return this;
    }

    /** Replaces the header extensions offered on m-lines added from now on (default: sdes:mid as id 1). */
    public SdpOfferer extmaps(List<Extmap> extmaps) {
        formats.extmaps = List.copyOf(extmaps);
        return this;
    }

    /**
     * Whether RECVONLY m-lines (the client's uploads) offer uplink congestion control (default on): the
     * transport-wide sequence number extension ({@link Extmap#TRANSPORT_WIDE_CC}, on the first id from 3 not taken
     * by {@link #extmaps}), {@code a=rtcp-fb:<pt> transport-cc} on every payload type (audio too, as Chromium does)
     * and {@code a=rtcp-fb:<pt> goog-remb} on video, as the fallback for clients without transport-cc. SENDONLY m-lines
     * offer it with {@link #downlinkCongestionControl}; INACTIVE ones never do.
     * Applies to m-lines added from now on.
     */
    public SdpOfferer uplinkCongestionControl(boolean on) {
        formats.uplinkCongestionControl = on;
        return this;
    }

    /**
     * Whether RECVONLY video m-lines offer RTX (RFC 4588; default on): one {@code rtx/90000} payload type with
     * {@code apt=} per video codec (the codec's payload type + 1 when free). The server only receives it: it unwraps
     * retransmissions back into the original packets and drops padding-only RTX packets. Chromium sends its
     * bandwidth probes as RTX padding; without RTX it does not probe, and its estimate only creeps up (about 8% a
     * second). SENDONLY m-lines offer RTX only for a {@link SendTrack} with an RTX SSRC. Applies to m-lines added
     * from now on.
     */
    public SdpOfferer uplinkRtx(boolean on) {
        formats.uplinkRtx = on;
        return this;
    }

    /**
     * A start bitrate for the client's video upload, in kbit/s, or 0 (the default) for the browser's own (Chromium:
     * 300 kbit/s). Written as {@code x-google-start-bitrate=<kbps>} in the {@code a=fmtp} of the video payload types
     * of RECVONLY m-lines (Chromium reads it from the remote description; others ignore it). Chromium picks its
     * first encoding resolution from its start bitrate: from 300 kbit/s a 1280x720 camera starts at 640x360 and
     * takes over ten seconds to scale back up, even once its estimate is high. Its congestion controller still
     * backs off from there if the path cannot carry it. Applies to m-lines added from now on.
     */
    public SdpOfferer uplinkStartBitrateKbps(int kbps) {
        if (kbps < 0 || kbps > 100_000) {
            throw new IllegalArgumentException("start bitrate must be 0..100000 kbit/s");
        }
        formats.uplinkStartBitrateKbps = kbps;
        return this;
    }

    /**
     * With {@link #uplinkCongestionControl} on, whether transport-cc (and its extension) is offered too (default);
     * off leaves goog-remb alone, as a client without transport-cc would answer (to measure the REMB fallback).
     */
    public SdpOfferer uplinkTransportCc(boolean on) {
        formats.uplinkTransportCc = on;
        return this;
    }

    /**
     * Whether SENDONLY m-lines (what the server forwards to the client) offer downlink congestion control (default
     * off): the transport-wide sequence number extension (the same id as on RECVONLY m-lines: one id per BUNDLE
     * transport), {@code a=rtcp-fb:<pt> transport-cc} on every payload type and {@code a=rtcp-fb:<pt> goog-remb} on
     * video, so that the client reports what it receives (transport-wide feedback, or REMB without transport-cc) and
     * the server can estimate its downlink ({@code dev.veil.webrtc.cc.DownlinkEstimator}). Applies to m-lines added
     * from now on.
     */
    public SdpOfferer downlinkCongestionControl(boolean on) {
        formats.downlinkCongestionControl = on;
        return this;
    }

    /**
     * Offers the client's video uploads simulcast (RFC 8853): on RECVONLY video m-lines, {@code a=rid:<rid> recv} for
     * each rid, {@code a=simulcast:recv <rid>;<rid>;...} (in this order: lowest resolution first, as the SFU numbers
     * layers) and the RtpStreamId and RepairedRtpStreamId header extensions (RFC 8852, on the first ids not taken),
     * which tell the SFU which layer (and which layer an RTX packet repairs) each SSRC carries. A browser that honours
     * it answers {@code a=simulcast:send} with the rids it will send (Chromium: all of them, on encodings of its
     * sender named after them; see {@link SdpAnswer.Media#simulcastRids()}). An empty list (the default) offers no
     * simulcast. Applies to m-lines added from now on.
     *
     * @param rids 2..8 distinct rids of 1..16 letters, digits, '-' or '_' (or none)
     */
    public SdpOfferer uplinkSimulcast(List<String> rids) {
        List<String> r = List.copyOf(rids);
        if (r.size() == 1 || r.size() > 8 || new java.util.HashSet<>(r).size() != r.size()) {
            throw new IllegalArgumentException("simulcast needs 2..8 distinct rids");
        }
        for (String rid : r) {
            if (!rid.matches("[A-Za-z0-9_-]{1,16}")) {
                throw new IllegalArgumentException("bad rid: " + rid);
            }
        }
        formats.uplinkSimulcastRids = r;
        return this;
    }

    /** The extmap id the transport-wide sequence number gets on RECVONLY m-lines (see {@link #uplinkCongestionControl}). */
    public int transportWideCcExtmapId() {
        return formats.transportWideCcExtmapId();
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

    /** Adds (or recycles) a RECVONLY m-line for the client's own upload; returns its mid. */
    public String addRecvOnly(MediaKind kind) {
        return place(kind, Direction.RECVONLY, null);
    }

    /** Adds (or recycles) an INACTIVE m-line (e.g. a placeholder so a recvonly client with nothing to receive can connect). */
    public String addInactive(MediaKind kind) {
        return place(kind, Direction.INACTIVE, null);
    }

    /**
     * Adds a SENDONLY m-line for a forwarded track and returns its (always new) mid: it takes the place of a removed
     * m-line of the same kind whose rejection was answered, else it is appended.
     */
    public String addSendOnly(MediaKind kind, SendTrack track) {
        Objects.requireNonNull(track, "track");
        return place(kind, Direction.SENDONLY, track);
    }

    /** A new m-line with a new mid: on the first recyclable slot of the same kind, else appended. */
    private String place(MediaKind kind, Direction d, SendTrack track) {
        Objects.requireNonNull(kind, "kind");
        String mid = Integer.toString(nextMid++);
        List<Codec> codecs = formats.codecsFor(kind, d);
        if (d == Direction.SENDONLY && kind == MediaKind.VIDEO && track.rtxSsrc() != 0) {
            codecs = formats.withSendRtx(codecs);
        }
        MediaSection section = new MediaSection(mid, kind, d, codecs, formats.extmapsFor(kind, d), track,
                formats.ridsFor(kind, d));
        for (int i = 0; i < sections.size(); i++) {
            if (slots.get(i) == Slot.RECYCLABLE && sections.get(i).kind() == kind) {
                sections.set(i, section);
                slots.set(i, Slot.LIVE);
                return mid;
            }
        }
        sections.add(section);
        slots.add(Slot.LIVE);
        return mid;
    }

    /**
     * Marks an m-line {@code a=inactive} (its track was removed); the port, mid and position are kept and the m-line
     * stays in every offer. Prefer {@link #remove(String)}, which lets the m-line be recycled.
     *
     * @throws IllegalArgumentException if there is no such mid (or it was removed)
     */
    public void deactivate(String mid) {
        int i = liveIndexOf(mid);
        sections.set(i, sections.get(i).withDirection(Direction.INACTIVE));
    }

    /**
     * Removes an m-line for good (its track is gone): the next offer rejects it (port 0), and once the answer to that
     * offer is applied its place is taken by the next m-line added of the same kind. The first m-line (the BUNDLE
     * tag) is made {@code a=inactive} instead and stays. The mid is never used again.
     *
     * @throws IllegalArgumentException if there is no such mid (or it was removed already)
     */
    public void remove(String mid) {
        int i = liveIndexOf(mid);
        if (i == 0) {
            deactivate(mid);
            return;
        }
        sections.set(i, sections.get(i).withDirection(Direction.INACTIVE));
        slots.set(i, Slot.REJECTED);
    }

    /** Whether the m-line with this mid is rejected (removed, not yet recycled). */
    public boolean isRejected(String mid) {
        return slots.get(indexOf(mid)) != Slot.LIVE;
    }

    private int liveIndexOf(String mid) {
        int i = indexOf(mid);
        if (slots.get(i) != Slot.LIVE) {
            throw new IllegalArgumentException("m-line with mid " + mid + " was removed");
        }
        return i;
    }

    /** Sets the direction of an m-line (e.g. SENDONLY→INACTIVE while paused and back). */
    public void setDirection(String mid, Direction direction) {
        int i = liveIndexOf(mid);
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

    /** The m-lines in order, rejected ones included (unmodifiable snapshot; see {@link #isRejected}). */
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
        offered = List.copyOf(sections);
        offeredSlots = List.copyOf(slots);
        List<Boolean> live = new ArrayList<>(slots.size());
        for (Slot slot : slots) {
            live.add(slot == Slot.LIVE);
        }
        return writer.write(sessionId, version, iceUfrag, icePwd, sections, live);
    }

    /**
     * Parses the browser's answer to the last offer and checks that it fits: the same mids in the same order and
     * of the same kinds, the m-lines the offer rejected rejected too, legal directions (RFC 3264 §6.1), only offered
     * payload types, ice-ufrag/pwd and a fingerprint present, and {@code a=setup:active} or {@code passive} (never
     * actpass in an answer). Once it fits, the m-lines that offer rejected are free for new tracks.
     *
     * @throws SdpException if the answer cannot be parsed or does not fit the offer
     */
    public SdpAnswer applyAnswer(String answerSdp) throws SdpException {
        SdpAnswer a = SdpAnswer.parse(answerSdp);
        List<MediaSection> sections = offered;
        if (sections.isEmpty()) {
            throw new SdpException("no offer to answer");
        }
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
            if (offeredSlots.get(i) != Slot.LIVE) {
                throw new SdpException("mid " + o.mid() + ": the answer accepts an m-line the offer rejected");
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
            for (String rid : m.simulcastRids()) {
                if (!o.recvRids().contains(rid)) {
                    throw new SdpException("mid " + o.mid() + ": answer sends simulcast rid " + rid
                            + " that was not offered");
                }
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
        for (int i = 0; i < sections.size(); i++) {
            if (offeredSlots.get(i) == Slot.REJECTED && slots.get(i) == Slot.REJECTED
                    && this.sections.get(i).mid().equals(sections.get(i).mid())) {
                slots.set(i, Slot.RECYCLABLE);
            }
        }
        return a;
    }
}
