// Local media controls of a VeilConnection (installed on its prototype by veil.js): screen share, mute,
// replaceTrack and the receive max height.

import { VeilError } from './errors.js';

/** VeilConnection methods: local tracks and receive preferences. */
export const trackMethods = {
  /**
   * Starts sharing: `track` (a video MediaStreamTrack), or without it a getDisplayMedia() capture. Needs
   * {screenShare: true} at creation: the server then keeps a second video uplink for this member, and sharing only
   * puts a track on it (replaceTrack: no renegotiation, the E2EE transform stays on). Others get it as a 'track'
   * event with `screen: true` when they join; it shows frames while shared. Resolves with the shared track; it
   * stops by itself when the track ends (the browser's "stop sharing").
   */
  async startScreenShare(track) {
    const t = this._screenTransceiver;
    if (!t) throw new VeilError('no screen-share uplink: create the connection with {screenShare: true}', 'bad-state');
    if (!track) {
      const s = await navigator.mediaDevices.getDisplayMedia({ video: true, audio: false });
      track = s.getVideoTracks()[0];
    }
    if (!track || track.kind !== 'video') throw new VeilError('a screen share is one video track', 'bad-argument');
    if (this._screenTrack && this._screenTrack !== track) await this.stopScreenShare();
    await t.sender.replaceTrack(track);
    this._screenTrack = track;
    track.addEventListener('ended', () => { if (this._screenTrack === track) this.stopScreenShare(); }, { once: true });
    return track;
  },

  /** Stops sharing (replaceTrack(null): the slot stays, no renegotiation) and stops the shared track. */
  async stopScreenShare() {
    const track = this._screenTrack;
    this._screenTrack = null;
    if (this._screenTransceiver) await this._screenTransceiver.sender.replaceTrack(null);
    if (track) track.stop();
  },

  /** The shared screen track, or null. */
  get screenTrack() {
    return this._screenTrack || null;
  },

  /**
   * Mutes ('audio' or 'video') without renegotiation: the track keeps its m-line and SSRC and sends silence or
   * black frames (still encrypted with E2EE) until unmuted.
   */
  setMuted(kind, muted) {
    if (!this.stream) throw new VeilError('not connected', 'bad-state');
    for (const t of kind === 'audio' ? this.stream.getAudioTracks() : this.stream.getVideoTracks()) t.enabled = !muted;
  },

  /**
   * Replaces the camera (or, with kind 'audio', the microphone) by `track`, e.g. another camera: replaceTrack on the
   * same sender, so no renegotiation and the E2EE transform stays on. The old track is returned, not stopped.
   */
  async replaceTrack(track) {
    if (!track || (track.kind !== 'audio' && track.kind !== 'video')) {
      throw new VeilError('replaceTrack takes an audio or video track', 'bad-argument');
    }
    const t = track.kind === 'audio' ? this._audioTransceiver : this._cameraTransceiver;
    if (!t || !this.stream) throw new VeilError(`no ${track.kind} being sent to replace`, 'bad-state');
    const old = track.kind === 'audio' ? this.stream.getAudioTracks()[0] : this.stream.getVideoTracks()[0];
    await t.sender.replaceTrack(track);
    if (old) this.stream.removeTrack(old);
    this.stream.addTrack(track);
    return old || null;
  },

  /**
   * Asks the server for received simulcast video at most `maxHeight` pixels high (0: no limit): for one remote
   * video track (a MediaStreamTrack from a 'track' event, or its id), or without one for every track that has no
   * preference of its own. The server forwards the highest layer that fits and switches at its next key frame.
   */
  setReceiveMaxHeight(maxHeight, track) {
    const h = Math.floor(Number(maxHeight));
    if (!(h >= 0 && h <= 8192)) throw new VeilError('maxHeight must be 0..8192', 'bad-argument');
    const msg = { type: 'receive', max_height: h };
    if (track !== undefined && track !== null) msg.track_id = typeof track === 'string' ? track : track.id;
    else this.options.receiveMaxHeight = h;
    this._send(msg);
  },
};
