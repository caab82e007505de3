// The SDK's error type (split out of veil.js, which re-exports it).

/** An Error raised by the SDK; `reason` is a short machine-usable word. */
export class VeilError extends Error {
  constructor(message, reason) {
    super(message);
    this.name = 'VeilError';
    this.reason = reason;
  }
}
