package dev.veil.signaling;

/**
 * One message of Veil's WebSocket signaling protocol (JSON text frames on {@code /signaling}, modelled on Sora).
 *
 * <p>Client to server: {@link Connect}, {@link Answer}, {@link ReAnswer}, {@link IceRestart}, {@link Receive}, {@link Pong},
 * {@link Ping}, {@link Disconnect}, {@link E2ee} (with {@code to}). Server to client: {@link Offer}, {@link ReOffer},
 * {@link Notify}, {@link Ping}, {@link Pong}, {@link E2ee} (with {@code from}), {@link ErrorMessage},
 * {@link Disconnect}, {@link Redirect}, {@link Draining}. {@link SignalingCodec} turns them into JSON and back, validating every field.
 */
public sealed interface SignalingMessage
    permits Connect, Offer, Answer, ReOffer, ReAnswer, IceRestart, Receive, Notify, Ping, Pong, Disconnect, E2ee,
        Data, Mls, MlsEvent,
        ErrorMessage, Redirect, Draining {

  /** The value of the JSON {@code type} field, for example {@code "connect"} or {@code "re-offer"}. */
  String type();
}
