package dev.veil.client;

import dev.veil.webrtc.sdp.Extmap;
import dev.veil.webrtc.sdp.SdpAnswer;
import java.util.ArrayList;
import java.util.List;

/**
 * The simulcast side of the client's answer (docs/PROTOCOL.md §1.3 <i>Simulcast (SDP)</i>, RFC 8853, RFC 8851,
 * RFC 8852): the server offers the camera video upload {@code a=rid:<rid> recv} per layer (lowest resolution first),
 * {@code a=simulcast:recv q;h;f} and the RtpStreamId extension; the client answers as a browser does, with
 * {@code a=rid:<rid> send}, {@code a=simulcast:send} naming the same rids in the same order, the extmap lines of the
 * MID and RtpStreamId extensions (the ids the offer chose) and no {@code a=ssrc} line: the server learns each layer's
 * SSRC from the RtpStreamId of its packets. An offer without simulcast on that m-line (a server started with
 * {@code -Dveil.simulcast=false}) gives a plan without rids: one plain stream under an announced SSRC.
 */
final class ClientSimulcastSdp {
    /** At most this many layers are answered (the server offers three). */
    static final int MAX_LAYERS = 8;

    private ClientSimulcastSdp() {}

    /**
     * What the client answers on its camera upload m-line.
     *
     * @param mid the m-line's mid
     * @param vp8PayloadType the VP8 payload type sent on it
     * @param rids the layers, lowest resolution first; empty: no simulcast (one plain stream)
     * @param ridExtensionId the RtpStreamId extension id (0 without simulcast)
     * @param midExtensionId the MID extension id, 0 if not offered
     */
    record Plan(String mid, int vp8PayloadType, List<String> rids, int ridExtensionId, int midExtensionId) {
        Plan {
            rids = List.copyOf(rids);
        }

        boolean simulcast() {
            return !rids.isEmpty();
        }
    }

    /**
     * The plan for the camera upload m-line {@code camera} of the offer {@code sdp}; null if it has no VP8.
     * Only rids the offer lists both as {@code a=rid:<rid> recv} and in {@code a=simulcast:recv} are taken, in the
     * simulcast line's order, and only with the RtpStreamId extension offered.
     */
    static Plan plan(String sdp, SdpAnswer.Media camera) {
        int vp8 = ClientSdp.vp8PayloadType(camera);
        if (vp8 < 0) {
            return null;
        }
        int ridExt = camera.extmapId(Extmap.RTP_STREAM_ID).orElse(0);
        int midExt = camera.extmapId(Extmap.SDES_MID).orElse(0);
        List<String> rids = ridExt > 0 ? offeredRids(section(sdp, camera.mid())) : List.of();
        return new Plan(camera.mid(), vp8, rids, rids.isEmpty() ? 0 : ridExt, midExt);
    }

    /** The lines of the m-section whose {@code a=mid} is {@code mid} (empty if none). */
    static List<String> section(String sdp, String mid) {
        List<String> current = new ArrayList<>();
        List<String> found = List.of();
        for (String raw : sdp.split("\n", -1)) {
            String l = raw.endsWith("\r") ? raw.substring(0, raw.length() - 1) : raw;
            if (l.startsWith("m=")) {
                current = new ArrayList<>();
            }
            current.add(l);
            if (l.equals("a=mid:" + mid)) {
                found = current;
            }
        }
        return found;
    }

    private static List<String> offeredRids(List<String> lines) {
        List<String> recv = new ArrayList<>();
        List<String> order = List.of();
        for (String l : lines) {
            if (l.startsWith("a=rid:")) {
                String[] f = l.substring(6).split(" ");
                if (f.length >= 2 && f[1].equals("recv") && f[0].matches("[A-Za-z0-9_-]{1,16}")) {
                    recv.add(f[0]);
                }
            } else if (l.startsWith("a=simulcast:recv ")) {
                String[] f = l.substring("a=simulcast:recv ".length()).split(" ");
                List<String> o = new ArrayList<>();
                for (String alt : f[0].split(";")) {
                    String rid = alt.split(",")[0];
                    if (!rid.startsWith("~") && !o.contains(rid)) {
                        o.add(rid);
                    }
                }
                order = o;
            }
        }
        List<String> out = new ArrayList<>();
        for (String rid : order) {
            if (recv.contains(rid) && out.size() < MAX_LAYERS) {
                out.add(rid);
            }
        }
        return out.size() >= 2 ? out : List.of();
    }

    /**
     * The answer's attribute lines for the camera m-line after its codecs: the extmaps, then either the rid and
     * simulcast lines or (without simulcast) the plain stream's {@code a=ssrc}.
     */
    static List<String> answerLines(Plan plan, long plainSsrc, String cname) {
        List<String> out = new ArrayList<>();
        if (plan.midExtensionId() > 0) {
            out.add("a=extmap:" + plan.midExtensionId() + " " + Extmap.SDES_MID);
        }
        if (plan.simulcast()) {
            out.add("a=extmap:" + plan.ridExtensionId() + " " + Extmap.RTP_STREAM_ID);
        }
        out.add("a=msid:" + cname + " " + cname + "-video");
        if (plan.simulcast()) {
            for (String rid : plan.rids()) {
                out.add("a=rid:" + rid + " send");
            }
            out.add("a=simulcast:send " + String.join(";", plan.rids()));
        } else {
            out.add("a=ssrc:" + plainSsrc + " cname:" + cname);
        }
        return out;
    }
}
