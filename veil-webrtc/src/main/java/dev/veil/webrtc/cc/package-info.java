/**
 * Congestion control stages (sans-IO, one per concern, each with its own state and tests).
 *
 * <p>Uplink (publishers): the receive side of transport-wide congestion control ({@link
 * dev.veil.webrtc.cc.TransportFeedbackGenerator}, fed with the {@link dev.veil.webrtc.cc.TransportSequence} header
 * extension of received RTP) and the REMB fallback ({@link dev.veil.webrtc.cc.RembGenerator}) for publishers that do
 * not do transport-cc.
 *
 * <p>Downlink (subscribers): the send side — {@link dev.veil.webrtc.cc.TransportWideStamper} puts the server's own
 * transport-wide sequence number on every packet sent to a subscriber and records it in a {@link
 * dev.veil.webrtc.cc.SendHistory}; {@link dev.veil.webrtc.cc.DownlinkEstimator} matches the subscriber's feedback
 * against it (delay-based {@link dev.veil.webrtc.cc.DelayDetector} + {@link dev.veil.webrtc.cc.AimdRateControl},
 * {@link dev.veil.webrtc.cc.LossBasedControl}, REMB as a cap or fallback) and {@link
 * dev.veil.webrtc.cc.LayerSelector} turns the estimate into a layer per consumer. {@link dev.veil.webrtc.cc.Prober}
 * plans padding clusters at a wanted rate so that the estimate can rise above what is being sent (the estimator
 * measures them, {@code ProbeResults}); {@link dev.veil.webrtc.cc.ProbeController} decides when (before a layer
 * steps up: the step happens only once a probe confirmed its rate) and gives the selector its budget; the server
 * sends the clusters as padding-only packets on a subscriber's RTX stream. Without transport-cc (REMB only) the
 * controller steps up by trial instead.
 */
package dev.veil.webrtc.cc;
