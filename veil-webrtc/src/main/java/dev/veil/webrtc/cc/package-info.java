/**
 * Congestion control stages (sans-IO, one per concern, each with its own state and tests): the receive side of
 * transport-wide congestion control ({@link dev.veil.webrtc.cc.TransportFeedbackGenerator}, fed with the
 * {@link dev.veil.webrtc.cc.TransportSequence} header extension of received RTP) and the REMB fallback
 * ({@link dev.veil.webrtc.cc.RembGenerator}) for publishers that do not do transport-cc.
 */
package dev.veil.webrtc.cc;
