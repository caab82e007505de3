/**
 * RTP value codecs: {@link dev.veil.webrtc.rtp.RtpPacket} (RFC 3550 parse without copying the payload, in-place
 * rewrites), {@link dev.veil.webrtc.rtp.RtpHeader} (with RFC 8285 one- and two-byte header extensions), and the
 * key-frame detectors {@link dev.veil.webrtc.rtp.Vp8Descriptor} (RFC 7741) and {@link dev.veil.webrtc.rtp.H264}
 * (RFC 6184). Malformed input throws {@link dev.veil.webrtc.rtp.RtpException}.
 */
package dev.veil.webrtc.rtp;
