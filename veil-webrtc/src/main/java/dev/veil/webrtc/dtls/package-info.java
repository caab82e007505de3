/**
 * DTLS 1.2 for DTLS-SRTP (RFC 5764) on BouncyCastle, as sans-IO engines.
 *
 * <p>{@link dev.veil.webrtc.dtls.DtlsCertificate} is the self-signed ECDSA P-256 certificate made at start-up;
 * {@link dev.veil.webrtc.dtls.DtlsServerEngine} and {@link dev.veil.webrtc.dtls.DtlsClientEngine} (the Java SDK's,
 * and the server's when an answer says {@code a=setup:passive}) run one association each, reporting
 * {@link dev.veil.webrtc.dtls.DtlsEvent}s. BouncyCastle's handshake blocks, so it runs on a caller-supplied
 * {@link java.util.concurrent.Executor}: see {@link dev.veil.webrtc.dtls.DtlsEngine} for that seam.
 */
package dev.veil.webrtc.dtls;
