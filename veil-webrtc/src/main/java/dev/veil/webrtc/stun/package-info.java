/**
 * STUN message codec (<a href="https://www.rfc-editor.org/rfc/rfc8489">RFC 8489</a>) with the attributes ICE needs
 * (<a href="https://www.rfc-editor.org/rfc/rfc8445#section-16.1">RFC 8445 §16.1</a>): {@link
 * dev.veil.webrtc.stun.StunMessage#decode(byte[], int, int)}, {@link dev.veil.webrtc.stun.StunMessage#builder},
 * {@link dev.veil.webrtc.stun.StunAttribute}. Malformed input throws {@link dev.veil.webrtc.stun.StunException}.
 * Pure values, no I/O.
 */
package dev.veil.webrtc.stun;
