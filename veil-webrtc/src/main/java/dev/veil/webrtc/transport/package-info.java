/**
 * {@link dev.veil.webrtc.transport.WebRtcTransport}: one server-side WebRTC peer connection (ICE-lite, DTLS 1.2,
 * SRTP) as a sans-IO state machine driven by the server's UDP loop, emitting
 * {@link dev.veil.webrtc.transport.TransportOutput}s.
 */
package dev.veil.webrtc.transport;
