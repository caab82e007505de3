package dev.veil.webrtc.sdp;

import java.util.ArrayList;
import java.util.List;

/**
 * What {@link SdpOfferer} offers on each m-line it adds, by kind and direction: the codecs (with the feedback of
 * uplink and downlink congestion control, RTX, a start bitrate) and the header extensions (the transport-wide
 * sequence number, the simulcast stream ids). The settings are {@link SdpOfferer}'s (see its setters); they apply to
 * m-lines added after they change. Not thread-safe.
 */
final class OfferFormats {
    List<Codec> audioCodecs = List.of(Codec.opus());
    List<Codec> videoCodecs = List.of(Codec.vp8(), Codec.h264(), Codec.vp9(), Codec.av1());
    List<Extmap> extmaps = List.of(new Extmap(1, Extmap.SDES_MID));
    boolean uplinkCongestionControl = true;
    boolean uplinkTransportCc = true;
    boolean downlinkCongestionControl;
    boolean uplinkRtx = true;
    int uplinkStartBitrateKbps;
    List<String> uplinkSimulcastRids = List.of();

    /** The simulcast rids a new m-line of {@code kind} and direction {@code d} receives (RECVONLY video only). */
    List<String> ridsFor(MediaKind kind, Direction d) {
        return kind == MediaKind.VIDEO && d == Direction.RECVONLY ? uplinkSimulcastRids : List.of();
    }

    /** See {@link SdpOfferer#transportWideCcExtmapId()}. */
    int transportWideCcExtmapId() {
        java.util.Set<Integer> taken = new java.util.HashSet<>();
        for (Extmap e : extmaps) {
            if (e.uri().equals(Extmap.TRANSPORT_WIDE_CC)) {
                return e.id();
            }
            taken.add(e.id());
        }
        for (int id = 3; id <= 14; id++) {
            if (!taken.contains(id)) {
                return id;
            }
        }
        for (int id = 1; id <= 2; id++) {
            if (!taken.contains(id)) {
                return id;
            }
        }
        throw new IllegalStateException("no free one-byte extmap id");
    }

    /** The header extensions of a new m-line of {@code kind} and direction {@code d}. */
    List<Extmap> extmapsFor(MediaKind kind, Direction d) {
        if (d == Direction.SENDONLY && downlinkCongestionControl
                && extmaps.stream().noneMatch(e -> e.uri().equals(Extmap.TRANSPORT_WIDE_CC))) {
            List<Extmap> out = new ArrayList<>(extmaps);
            out.add(new Extmap(transportWideCcExtmapId(), Extmap.TRANSPORT_WIDE_CC));
            return List.copyOf(out);
        }
        if (d != Direction.RECVONLY) {
            return extmaps;
        }
        List<Extmap> out = new ArrayList<>(extmaps);
        if (uplinkCongestionControl && uplinkTransportCc
                && extmaps.stream().noneMatch(e -> e.uri().equals(Extmap.TRANSPORT_WIDE_CC))) {
            out.add(new Extmap(transportWideCcExtmapId(), Extmap.TRANSPORT_WIDE_CC));
        }
        if (kind == MediaKind.VIDEO && !uplinkSimulcastRids.isEmpty()) {
            for (String uri : List.of(Extmap.RTP_STREAM_ID, Extmap.REPAIRED_RTP_STREAM_ID)) {
                if (out.stream().noneMatch(e -> e.uri().equals(uri))) {
                    List<Extmap> taken = new ArrayList<>(out);
                    if (downlinkCongestionControl) {
                        // the SENDONLY m-lines of this BUNDLE use it for the transport-wide sequence number
                        taken.add(new Extmap(transportWideCcExtmapId(), Extmap.TRANSPORT_WIDE_CC));
                    }
                    out.add(new Extmap(freeExtmapId(taken), uri));
                }
            }
        }
        return List.copyOf(out);
    }

    private static int freeExtmapId(List<Extmap> taken) {
        for (int id = 3; id <= 14; id++) {
            final int i = id;
            if (taken.stream().noneMatch(e -> e.id() == i)) {
                return id;
            }
        }
        for (int id = 1; id <= 2; id++) {
            final int i = id;
            if (taken.stream().noneMatch(e -> e.id() == i)) {
                return id;
            }
        }
        throw new IllegalStateException("no free one-byte extmap id");
    }

    /** The codecs of a new m-line (before the RTX of a forwarded track: {@link #withSendRtx}). */
    List<Codec> codecsFor(MediaKind kind, Direction d) {
        List<Codec> base = codecsFor(kind);
        if (d == Direction.SENDONLY && downlinkCongestionControl) {
            List<Codec> out = new ArrayList<>(base.size());
            for (Codec c : base) {
                Codec x = c;
                if (!"rtx".equalsIgnoreCase(c.name())) {
                    if (kind == MediaKind.VIDEO && !x.rtcpFeedback().contains("goog-remb")) {
                        x = x.withFeedback("goog-remb");
                    }
                    if (!x.rtcpFeedback().contains("transport-cc")) {
                        x = x.withFeedback("transport-cc");
                    }
                }
                out.add(x);
            }
            return List.copyOf(out);
        }
        if (d != Direction.RECVONLY || !uplinkCongestionControl && !uplinkRtx && uplinkStartBitrateKbps == 0) {
            return base;
        }
        List<Codec> out = new ArrayList<>(base.size());
        for (Codec c : base) {
            Codec x = c;
            if (kind == MediaKind.VIDEO && uplinkStartBitrateKbps > 0 && !"rtx".equalsIgnoreCase(c.name())
                    && !c.fmtp().contains("x-google-start-bitrate")) {
                String param = "x-google-start-bitrate=" + uplinkStartBitrateKbps;
                x = new Codec(x.payloadType(), x.name(), x.clockRate(), x.channels(),
                        x.fmtp().isEmpty() ? param : x.fmtp() + ";" + param, x.rtcpFeedback());
            }
            if (!uplinkCongestionControl) {
                out.add(x);
                continue;
            }
            if (kind == MediaKind.VIDEO && !"rtx".equalsIgnoreCase(c.name()) && !c.rtcpFeedback().contains("goog-remb")) {
                x = x.withFeedback("goog-remb");
            }
            if (uplinkTransportCc && !"rtx".equalsIgnoreCase(c.name()) && !c.rtcpFeedback().contains("transport-cc")) {
                x = x.withFeedback("transport-cc");
            }
            out.add(x);
        }
        if (kind == MediaKind.VIDEO && uplinkRtx) {
            java.util.Set<Integer> used = new java.util.HashSet<>();
            for (Codec c : audioCodecs) {
                used.add(c.payloadType());
            }
            for (Codec c : videoCodecs) {
                used.add(c.payloadType());
            }
            for (Codec c : base) {
                if ("rtx".equalsIgnoreCase(c.name()) || base.stream().anyMatch(
                        r -> "rtx".equalsIgnoreCase(r.name()) && r.fmtp().equals("apt=" + c.payloadType()))) {
                    continue;
                }
                int pt = c.payloadType() + 1;
                while (used.contains(pt) && pt <= 127) {
                    pt++;
                }
                if (pt > 127) {
                    for (pt = 96; pt <= 127 && used.contains(pt); pt++) {
                        // first free dynamic payload type
                    }
                }
                if (pt <= 127) {
                    used.add(pt);
                    out.add(Codec.rtx(pt, c.payloadType()));
                }
            }
        }
        return List.copyOf(out);
    }

    /**
     * A forwarded video track with an RTX SSRC: {@code rtx/<clock>} with {@code apt=<pt>} for every codec, on the
     * codec's payload type + 1 or the next free one (the SFU retransmits NACKed packets on the RTX stream).
     */
    List<Codec> withSendRtx(List<Codec> base) {
        java.util.Set<Integer> used = new java.util.HashSet<>();
        for (Codec c : audioCodecs) {
            used.add(c.payloadType());
        }
        for (Codec c : base) {
            used.add(c.payloadType());
        }
        List<Codec> out = new ArrayList<>(base);
        for (Codec c : base) {
            if ("rtx".equalsIgnoreCase(c.name())) {
                continue;
            }
            int pt = c.payloadType() + 1;
            while (pt <= 127 && used.contains(pt)) {
                pt++;
            }
            if (pt <= 127) {
                used.add(pt);
                out.add(Codec.rtx(pt, c.payloadType()));
            }
        }
        return List.copyOf(out);
    }

    private List<Codec> codecsFor(MediaKind kind) {
        return kind == MediaKind.AUDIO ? audioCodecs : videoCodecs;
    }

}
