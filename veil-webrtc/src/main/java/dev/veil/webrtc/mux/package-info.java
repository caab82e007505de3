/**
 * RFC 7983 demultiplexing of the one UDP port that carries STUN, DTLS and SRTP/SRTCP: {@link
 * dev.veil.webrtc.mux.Demux#classify(byte[], int, int)}.
 */
package dev.veil.webrtc.mux;
