/**
 * SRTP and SRTCP (RFC 3711) with the AES_CM_128_HMAC_SHA1_80 and AEAD_AES_128_GCM (RFC 7714) profiles, on plain
 * JCE.
 *
 * <p>{@link dev.veil.webrtc.srtp.SrtpKeyingMaterial} is the seam with DTLS: the DTLS engine exports the master
 * keys, {@link dev.veil.webrtc.srtp.SrtpSession#forServer} / {@link dev.veil.webrtc.srtp.SrtpSession#forClient}
 * turn them into a session that protects outgoing and checks incoming packets, keeping per-SSRC rollover
 * counters and replay windows. Refusals are {@link dev.veil.webrtc.srtp.SrtpException}s with a
 * {@link dev.veil.webrtc.srtp.SrtpRejection} reason. Sessions are not thread-safe: one event loop each.
 */
package dev.veil.webrtc.srtp;
