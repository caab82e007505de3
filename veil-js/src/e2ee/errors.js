/**
 * The one error type of the E2EE modules. `reason` is a short stable code the SDK can show or count:
 *   'truncated'        input shorter than its format needs
 *   'bad-header'       a malformed or non-canonical header / trailer
 *   'unsupported'      an unknown cipher suite, codec or message version
 *   'no-key'           no key for this sender / KID
 *   'bad-tag'          authentication failed (wrong key, tampered frame, tampered prefix)
 *   'replay'           a frame or message seen before
 *   'too-old'          a frame or message behind the replay window
 *   'bad-key'          key material of the wrong size or shape
 *   'bad-message'      a malformed key message
 *   'bad-signature'    a signature that does not verify
 *   'exhausted'        a counter or ratchet step space is used up
 */
export class E2EEError extends Error {
  constructor(reason, message) {
    super(message ? reason + ': ' + message : reason);
    this.name = 'E2EEError';
    this.reason = reason;
  }
}
