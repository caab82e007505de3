/**
 * The sans-IO forwarding core of the SFU, in mediasoup's vocabulary: {@link dev.veil.webrtc.router.Router} (a
 * channel), {@link dev.veil.webrtc.router.Producer} (an incoming stream), {@link dev.veil.webrtc.router.Consumer} (a
 * subscriber's rewritten copy). Plain RTP/RTCP in, {@link dev.veil.webrtc.router.RouterOutput} out; the server does
 * SRTP and sockets. The router is a pipeline of {@link dev.veil.webrtc.router.Stage}s (NACK responder, upstream loss
 * NACKer, key-frame requester, SR rewriter, RR scheduler; more are added with {@code Router.addStage}), each with
 * its own state and the same sans-IO contract. No bandwidth estimation yet.
 */
package dev.veil.webrtc.router;
