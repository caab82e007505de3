package dev.veil.webrtc.dtls;

import dev.veil.webrtc.srtp.SrtpProfile;
import java.util.EnumSet;
import java.util.List;
import java.util.Objects;

/**
 * Settings of a DTLS engine.
 *
 * @param srtpProfiles for a server, its order of preference; for a client, what it offers in that order
 * @param mtu largest datagram the engine sends (BouncyCastle fragments handshake messages to fit)
 * @param handshakeTimeoutMillis how long a handshake may take, measured from its first datagram on the caller's
 *     clock ({@code nowMillis}); also given to BouncyCastle as a backstop on its own clock
 */
public record DtlsConfig(List<SrtpProfile> srtpProfiles, int mtu, int handshakeTimeoutMillis) {
    /** Datagrams larger than this are never accepted (a DTLS record is at most 2^14 + overhead). */
    static final int MAX_DATAGRAM = 17 * 1024;

    public DtlsConfig {
        srtpProfiles = List.copyOf(Objects.requireNonNull(srtpProfiles, "srtpProfiles"));
        if (srtpProfiles.isEmpty()) {
            throw new IllegalArgumentException("at least one SRTP profile is needed");
        }
        if (EnumSet.copyOf(srtpProfiles).size() != srtpProfiles.size()) {
            throw new IllegalArgumentException("duplicate SRTP profile in " + srtpProfiles);
        }
        if (mtu < 256 || mtu > MAX_DATAGRAM) {
            throw new IllegalArgumentException("mtu out of range: " + mtu);
        }
        if (handshakeTimeoutMillis <= 0) {
            throw new IllegalArgumentException("handshakeTimeoutMillis must be positive");
        }
    }

    /**
     * Veil's defaults: SRTP_AEAD_AES_128_GCM then SRTP_AES128_CM_HMAC_SHA1_80, 1200-byte datagrams, 30 s to
     * finish a handshake.
     */
    public static DtlsConfig defaults() {
        return new DtlsConfig(List.of(SrtpProfile.AEAD_AES_128_GCM, SrtpProfile.AES_CM_128_HMAC_SHA1_80), 1200,
                30_000);
    }

    /** The same settings with another handshake deadline. */
    public DtlsConfig withHandshakeTimeoutMillis(int millis) {
        return new DtlsConfig(srtpProfiles, mtu, millis);
    }

    /** The same settings with another SRTP profile list. */
    public DtlsConfig withSrtpProfiles(List<SrtpProfile> profiles) {
        return new DtlsConfig(profiles, mtu, handshakeTimeoutMillis);
    }
}
