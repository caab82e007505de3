package dev.veil.server;

import dev.veil.signaling.Role;
import dev.veil.webrtc.ice.IceCredentials;
import dev.veil.webrtc.sdp.DtlsFingerprint;
import dev.veil.webrtc.sdp.MediaKind;
import dev.veil.webrtc.sdp.SdpAnswer;
import dev.veil.webrtc.sdp.SdpException;
import dev.veil.webrtc.sdp.SdpOfferer;
import dev.veil.webrtc.sdp.SendTrack;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/** The media of one connection: its SDP state, its transport on the shared UDP port, its tracks. */
final class RtcPeer implements Media.Peer {
  final RtcMedia media;
  final String connectionId;
  final Role role;
  final IceCredentials ice;
  private final SdpOfferer sdp;
  private final String audioUpMid;
  private final String videoUpMid;
  /** Forwarded track id → mid of its sendonly m-line. */
  private final Map<String, String> sending = new LinkedHashMap<>();
  List<Media.Track> published = List.of();
  private boolean closed;

  RtcPeer(RtcMedia media, String connectionId, Role role, boolean audio, boolean video, Runnable onFailed) {
    this.media = media;
    this.connectionId = connectionId;
    this.role = role;
    this.ice = IceCredentials.random(media.random());
    this.sdp = new SdpOfferer(media.random().nextLong() >>> 2, ice.ufrag(), ice.password(), fingerprint(),
        media.announcedAddress(), media.localPort());
    this.audioUpMid = role.sends() && audio ? sdp.addRecvOnly(MediaKind.AUDIO) : null;
    this.videoUpMid = role.sends() && video ? sdp.addRecvOnly(MediaKind.VIDEO) : null;
  }

  private DtlsFingerprint fingerprint() {
    byte[] b = new byte[32];
    media.random().nextBytes(b);
    return DtlsFingerprint.sha256(b);
  }

  @Override
  public String offer(List<Media.Track> receive) {
    List<String> wanted = new ArrayList<>();
    for (Media.Track t : receive) {
      wanted.add(t.id());
      if (!sending.containsKey(t.id())) {
        RtcMedia.Producer p = media.producer(t.id());
        if (p == null) {
          continue;
        }
        String mid = sdp.addSendOnly(p.kind(), new SendTrack(t.ownerConnectionId(), t.id(), p.ssrc(),
            t.ownerConnectionId()));
        sending.put(t.id(), mid);
      }
    }
    for (var it = sending.entrySet().iterator(); it.hasNext(); ) {
      var e = it.next();
      if (!wanted.contains(e.getKey())) {
        sdp.deactivate(e.getValue());
        it.remove();
      }
    }
    if (sdp.mediaSections().isEmpty()) {
      sdp.addInactive(MediaKind.VIDEO);
    }
    return sdp.createOffer();
  }

  @Override
  public List<Media.Track> answer(String text) throws Media.MediaException {
    if (closed) {
      throw new Media.MediaException("connection closed");
    }
    SdpAnswer a;
    try {
      a = sdp.applyAnswer(text);
    } catch (SdpException e) {
      throw new Media.MediaException(e.getMessage());
    }
    if (published.isEmpty()) {
      List<Media.Track> tracks = new ArrayList<>();
      publish(a, audioUpMid, MediaKind.AUDIO, "audio", tracks);
      publish(a, videoUpMid, MediaKind.VIDEO, "video", tracks);
      published = List.copyOf(tracks);
    }
    return published;
  }

  private void publish(SdpAnswer a, String mid, MediaKind kind, String label, List<Media.Track> out) {
    if (mid == null) {
      return;
    }
    Optional<SdpAnswer.Media> m = a.media(mid);
    if (m.isEmpty() || m.get().rejected() || !m.get().direction().sends()) {
      return;
    }
    Optional<Long> ssrc = m.get().primarySsrc();
    if (ssrc.isEmpty()) {
      return;
    }
    Media.Track t = new Media.Track(connectionId, connectionId + "-" + label, label);
    media.addProducer(new RtcMedia.Producer(this, t, kind, ssrc.get()));
    out.add(t);
  }

  @Override
  public void close() {
    if (closed) {
      return;
    }
    closed = true;
    media.removed(this);
  }
}
