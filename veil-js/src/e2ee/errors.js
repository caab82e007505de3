/**
 * The one error type of the E2EE modules. `reason` is a short stable code the SDK can show or count.
 *
 * Frames (docs/PROTOCOL.md §2.6, veil-e2ee's Rejection in lower case):
 *   'truncated'              shorter than its format needs, or empty
 *   'bad-header'             an SFrame header that does not fit; a JFrame IV length or counter out of range
 *   'bad-key-index'          a JFrame key-index byte of 16 or more
 *   'no-key'                 no key for this sender / KID / key index, and none reachable by ratchet
 *   'replay'                 a counter already accepted, or older than the replay window
 *   'bad-tag'                authentication failed (wrong key, tampered frame or clear prefix)
 *   'expired-key'            the KID (or a higher one of that sender) expired: its key was deleted for good
 *   'unsupported-codec'      (worker) a codec Veil cannot protect yet: the frame is dropped
 * Key management (§3.6, veil-e2ee's PairwiseException.Reason / RejectReason in lower case):
 *   'malformed', 'unsupported-version', 'wrong-recipient', 'wrong-sender', 'bad-bundle',
 *   'malformed-key-message', 'stale-key', 'unknown-sender', 'buffer-full', 'duplicate-member', 'self'
 * Local:
 *   'bad-key'                key material of the wrong size or shape (or a small-order X25519 key)
 *   'unsupported'            an unknown cipher suite, format, mode or message
 *   'exhausted'              a counter, sequence number or ratchet step space is used up
 *   'destroyed'              the identity, channel or manager was destroyed
 */
export class E2EEError extends Error {
  constructor(reason, message) {
    super(message ? reason + ': ' + message : reason);
    this.name = 'E2EEError';
    this.reason = reason;
  }
}

/** The reasons of veil-e2ee's dev.veil.e2ee.codec.Rejection, as E2EEError reasons. */
export const REJECTION_REASONS = Object.freeze({
  TRUNCATED: 'truncated',
  MALFORMED_HEADER: 'bad-header',
  BAD_KEY_INDEX: 'bad-key-index',
  NO_KEY: 'no-key',
  REPLAY: 'replay',
  BAD_TAG: 'bad-tag',
  EXPIRED_KEY: 'expired-key',
});
