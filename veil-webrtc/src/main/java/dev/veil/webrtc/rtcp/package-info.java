/**
 * RTCP value codecs, one class per packet type (RFC 3550, RFC 4585, RFC 5104): {@link
 * dev.veil.webrtc.rtcp.SenderReport}, {@link dev.veil.webrtc.rtcp.ReceiverReport}, {@link
 * dev.veil.webrtc.rtcp.SourceDescription}, {@link dev.veil.webrtc.rtcp.Bye}, {@link dev.veil.webrtc.rtcp.GenericNack},
 * {@link dev.veil.webrtc.rtcp.PictureLossIndication}, {@link dev.veil.webrtc.rtcp.FullIntraRequest}, {@link
 * dev.veil.webrtc.rtcp.Remb}; anything else is {@link dev.veil.webrtc.rtcp.UnknownRtcp}. {@link
 * dev.veil.webrtc.rtcp.RtcpCompound} parses and writes datagrams; malformed input throws {@link
 * dev.veil.webrtc.rtcp.RtcpException}.
 */
package dev.veil.webrtc.rtcp;
