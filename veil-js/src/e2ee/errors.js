/**
 * The one error type of the E2EE modules. `reason` is a short stable code the SDK can show or count:
 *   'truncated'        input shorter than its format needs
 *   'bad-header'       a malformed or non-canonical header / trailer
 *   'bad-key-index'    JFrame: a key-index byte of 16 or more
 *   'unsupported'      an unknown cipher suite, codec or message version
 *   'no-key'           no key for this sender / KID
 *   'bad-tag'          authentication failed (wrong key, tampered frame, tampered prefix)
 *   'replay'           a frame or message seen before, or older than the replay window
 *   'bad-key'          key material of the wrong size or shape
 *   'bad-message'      a malformed key message
 *   'bad-signature'    a signature that does not verify
 *   'exhausted'        a counter or ratchet step space is used up
 * and, for the pairwise channel and bundles (veil-e2ee's PairwiseException.Reason, lower-case):
 *   'malformed', 'unsupported-version', 'wrong-recipient', 'wrong-sender', 'bad-bundle'
 *   (and 'replay', 'bad-tag', 'bad-key' as above)
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
});
