/**
 * The sans-IO forwarding core of the SFU, in mediasoup's vocabulary: {@link dev.veil.webrtc.router.Router} (a
 * channel), {@link dev.veil.webrtc.router.Producer} (an incoming stream), {@link dev.veil.webrtc.router.Consumer} (a
 * subscriber's rewritten copy). Plain RTP/RTCP in, {@link dev.veil.webrtc.router.RouterOutput} out; the server does
 * SRTP and sockets. No bandwidth estimation.
 */
package dev.veil.webrtc.router;
