package dev.veil.client;

import java.util.Map;

/**
 * The fingerprints and the verification code a connection shows its app (docs/PROTOCOL.md §3.2; in the MLS mode
 * §4): this member's identity fingerprint, the other members' (connection id to fingerprint) and the code over all
 * of them. Written on the key layer's loop, read from any thread. Shared by {@link E2eeSession}, which computes them
 * (sender keys), and {@link ConnectionE2ee}, which shows them (either key mode).
 */
abstract class FingerprintView {
    private volatile String selfFingerprint;
    private volatile Map<String, String> remoteFingerprints = Map.of();
    private volatile String verificationCode;

    /** This member's identity fingerprint (sender keys), else null. */
    String selfFingerprint() {
        return selfFingerprint;
    }

    /** The other members' fingerprints by connection id (unmodifiable; empty before any). */
    Map<String, String> remoteFingerprints() {
        return remoteFingerprints;
    }

    /** The verification code over the members, or null before there is one. */
    String verificationCode() {
        return verificationCode;
    }

    final void setSelfFingerprint(String fingerprint) {
        selfFingerprint = fingerprint;
    }

    final void setRemoteFingerprints(Map<String, String> fingerprints) {
        remoteFingerprints = fingerprints;
    }

    final void setVerificationCode(String code) {
        verificationCode = code;
    }
}
