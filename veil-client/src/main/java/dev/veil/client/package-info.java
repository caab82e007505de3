/**
 * The Java SDK of Veil: a participant in a Veil channel, end-to-end encrypted like the browser SDK.
 *
 * <ul>
 *   <li>{@link dev.veil.client.VeilClient#connection(java.net.URI)} → {@code sendrecv / sendonly / recvonly
 *       (channelId, metadata, Options)} → {@link dev.veil.client.Connection}.</li>
 *   <li>{@link dev.veil.client.Connection#connect()} completes once ICE and DTLS are up (or fails with a
 *       {@link dev.veil.client.VeilClientException} saying why); {@link dev.veil.client.Connection#sendAudioFrame}
 *       sends one Opus frame as one SFrame-encrypted RTP packet; received frames arrive decrypted at
 *       {@link dev.veil.client.Connection.Listener#onAudioFrame}; {@link dev.veil.client.E2eeEvent}s report keys,
 *       fingerprints, the verification code and every dropped frame.</li>
 * </ul>
 *
 * <p>Protocols: signaling docs/PROTOCOL.md §1 (the server offers, the client answers; the client is the ICE
 * controlling agent against the server's ICE-lite and the DTLS client), frames §2.2 (SFrame, suite
 * AES_128_GCM_SHA256_128, Opus clear prefix of one byte), keys §3 (identities, bundle in
 * {@code signaling_notify_metadata}, pairwise messages through the relay, {@code GroupKeyManager}).
 *
 * <p>Threading: one event-loop thread per connection; listeners run on it (see {@link dev.veil.client.Connection}).
 * Audio only: video tracks of other members are reported but not depacketized, and the client sends no video.
 */
package dev.veil.client;
