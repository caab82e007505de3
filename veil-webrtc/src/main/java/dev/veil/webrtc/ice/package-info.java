/**
 * ICE-lite (<a href="https://www.rfc-editor.org/rfc/rfc8445">RFC 8445</a>) for a server with a public address:
 * {@link dev.veil.webrtc.ice.IceLiteAgent} answers connectivity checks, latches the nominated address, tracks consent
 * (RFC 7675) and supports ICE restart; {@link dev.veil.webrtc.ice.IceLiteAgent#localUfragOf} routes the first packet
 * of a new address. Sans-IO: time is an argument.
 */
package dev.veil.webrtc.ice;
