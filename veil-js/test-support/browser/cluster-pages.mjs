// In-page code shared by the browser cluster test and bench (test/browser/cluster-failover.test.mjs,
// bench/cluster-timings.mjs): reconnecting E2EE members and what they saw. Functions passed to page.evaluate run in
// the page (the demo origin of a node, with the small test stream of e2ee-pages.mjs installed).

/**
 * In-page: joins `channel` as a reconnecting E2EE member through `urls` (tries them in turn); records events, the
 * workers the page starts and, per remote video, the wall-clock time of its first presented frame.
 */
export async function joinReconnectingInPage({ urls, channel, rgb, hz, name }) {
  const { default: Veil } = await import('/sdk/veil.js');
  await Veil.initE2EE();
  const stream = window.makeSmallStream(rgb, hz);
  const veil = { remote: {}, reconnecting: [], reconnected: [], disconnects: [], e2ee: [], workers: 0 };
  window.veil = veil;
  const PageWorker = window.Worker;
  window.Worker = class extends PageWorker {
    constructor(...args) { super(...args); veil.workers++; }
  };
  const m = Veil.connection(urls).reconnecting('sendrecv', channel, null,
    { signalingNotifyMetadata: { name }, e2ee: true, keyMode: 'sender-keys', reconnectBaseMs: 200,
      reconnectMaxMs: 1000 });
  veil.m = m;
  m.on('reconnecting', ev => veil.reconnecting.push({ attempt: ev.attempt, url: ev.url, reason: ev.reason,
    delayMs: ev.delayMs, at: Date.now() }));
  m.on('reconnected', ev => veil.reconnected.push({ attempts: ev.attempts, url: ev.url, downtimeMs: ev.downtimeMs,
    id: ev.connection.connectionId, at: Date.now() }));
  m.on('disconnect', ev => veil.disconnects.push(ev));
  m.on('e2ee', ev => {
    if (ev.type === 'error' || ev.type === 'key-used') {
      veil.e2ee.push(`${ev.type}:${ev.operation || ''}:${ev.reason || ''}@${String(m.connectionId).slice(0, 4)}`);
      if (veil.e2ee.length > 200) veil.e2ee.splice(0, 100);
    }
  });
  m.on('track', ev => {
    if (ev.track.kind !== 'video') return;
    const v = document.createElement('video');
    v.muted = true; v.autoplay = true; v.playsInline = true;
    v.srcObject = new MediaStream([ev.track]);
    v.style.cssText = 'width:80px;height:60px';
    document.body.appendChild(v);
    const r = { video: v, firstFrameAt: null };
    v.requestVideoFrameCallback(() => { r.firstFrameAt = Date.now(); });
    v.play().catch(() => {});
    veil.remote[ev.connectionId] = r;
  });
  await m.connect(stream);
  return { id: m.connectionId, url: m.current.url, redirects: m.current.redirects };
}

/** In-page: who this member is now, and where; its media and E2EE counters (to say what went wrong, if anything). */
export async function stateInPage() {
  const v = window.veil;
  const c = v.m.current;
  const media = { out: {}, in: {} };
  if (c && c.pc) {
    (await c.pc.getStats()).forEach(r => {
      if (r.type === 'outbound-rtp') media.out[r.kind + (r.rid ? '/' + r.rid : '')] = [r.packetsSent, r.framesEncoded];
      if (r.type === 'inbound-rtp') media.in[r.kind + '/' + r.mid] = [r.packetsReceived, r.framesDecoded];
    });
  }
  return { id: v.m.connectionId, url: c ? c.url : null, pc: c && c.pc ? c.pc.connectionState : null,
    reconnecting: v.reconnecting, reconnected: v.reconnected, disconnects: v.disconnects, workers: v.workers,
    e2ee: v.e2ee.slice(-16), media,
    remote: Object.fromEntries(Object.entries(v.remote).map(([k, r]) => [k, [r.video.videoWidth, r.firstFrameAt]])) };
}
