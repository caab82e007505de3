/**
 * The SDP the SFU needs (<a href="https://www.rfc-editor.org/rfc/rfc8866">RFC 8866</a>, JSEP RFC 8829, BUNDLE RFC
 * 8843): {@link dev.veil.webrtc.sdp.SdpOfferer} writes the SFU's offers and re-offers (Unified Plan, ice-lite, one
 * host candidate) and checks the browser's answer; {@link dev.veil.webrtc.sdp.SdpAnswer} is the parsed answer (ICE
 * credentials, fingerprint, setup, per mid the direction, SSRCs, payload types and extmap ids).
 */
package dev.veil.webrtc.sdp;
