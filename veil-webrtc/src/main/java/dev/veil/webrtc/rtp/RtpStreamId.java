package dev.veil.webrtc.rtp;

/**
 * Reads the RFC 8852 RtpStreamId and RepairedRtpStreamId header extensions: the RID (RFC 8851) of the simulcast
 * layer a packet belongs to, or that an RTX packet repairs. Chromium puts them on the first packets of each SSRC
 * (until the receiver's RTCP acknowledges the SSRC), so the SFU learns the SSRC of each layer from them and keeps
 * the mapping.
 *
 * <p>The value is the RID in ASCII, not terminated (trailing zero bytes, which some senders leave as padding, are
 * ignored); a RID is 1..255 characters of letters, digits, '-' and '_' (RFC 8851 §10). Anything else is not a RID:
 * {@link #read} returns null for it, and the packet's layer stays unknown.
 */
public final class RtpStreamId {

    private RtpStreamId() {
    }

    /**
     * The RID carried in the extension element with local id {@code extensionId} of {@code header}, or null if the
     * element is absent, {@code extensionId} is 0 (not negotiated) or the value is not a valid RID.
     */
    public static String read(RtpHeader header, int extensionId) {
        if (extensionId <= 0) {
            return null;
        }
        HeaderExtension e = header.extension(extensionId);
        return e == null ? null : parse(e.rawData());
    }

    /** The RID in an extension element's data, or null if it is not a valid RID. */
    public static String parse(byte[] data) {
        int n = data.length;
        while (n > 0 && data[n - 1] == 0) {
            n--;
        }
        if (n == 0) {
            return null;
        }
        for (int i = 0; i < n; i++) {
            int c = data[i];
            boolean ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-'
                    || c == '_';
            if (!ok) {
                return null;
            }
        }
        return new String(data, 0, n, java.nio.charset.StandardCharsets.US_ASCII);
    }
}
