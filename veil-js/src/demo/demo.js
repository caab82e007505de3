// The demo app at "/": join a channel (end-to-end encrypted by default, in the SDK's default key mode: MLS), see
// everyone, and compare the room verification code. A passphrase in the URL hash ("#e2eekey=…") selects passphrase
// mode (sender keys); so does "/?keyMode=sender-keys" (Sora-style sender keys with per-call fingerprints).
import Veil from '../veil.js';

const $ = id => document.getElementById(id);
let conn = null;
let stream = null;
const names = new Map(); // connection id → display name

function setStatus(s) { $('status').textContent = s; }

function setBadge(kind, text) {
  const b = $('badge');
  b.className = 'badge ' + kind;
  b.textContent = text;
}

function short(fp) {
  return fp ? fp.split(' ').slice(0, 2).join(' ') : '';
}

function el(tag, cls, text) {
  const e = document.createElement(tag);
  if (cls) e.className = cls;
  if (text !== undefined) e.textContent = text;
  return e;
}

/** Redraws the fingerprints, the code, the verification state and the captions from the connection's properties. */
function render() {
  const on = conn && conn.e2ee;
  const code = on ? conn.e2eeVerificationCode : null;
  $('code').textContent = code || '—';
  $('code').classList.toggle('empty', !code);
  $('verifyRoom').disabled = !code || (on && conn.e2eeRoomVerified);
  $('roomState').textContent = on && conn.e2eeRoomVerified ? '✓ verified' : '';
  $('roomState').className = on && conn.e2eeRoomVerified ? 'verified' : '';
  const self = on ? conn.e2eeSelfFingerprint : null;
  const device = on ? conn.e2eeDeviceFingerprint : null;
  // the MLS key mode has no per-call key to show: the others see this device's fingerprint (or none)
  const mls = on && conn.e2eeKeyMode === 'mls';
  $('selfFp').textContent = self || (mls ? 'MLS: the others see your device fingerprint' : '—');
  $('selfFp').classList.toggle('empty', !self);
  $('selfShort').textContent = short(self || (mls ? device : null));
  $('deviceFp').textContent = device || (on ? 'no persistent identity' : '—');
  $('deviceFp').classList.toggle('empty', !device);
  const fps = on ? conn.e2eeRemoteFingerprints : {};
  const peers = new Map(on ? conn.e2eePeers.map(p => [p.connectionId, p]) : []);
  const ids = conn ? [...conn.members.keys()] : [];
  const list = $('peers');
  list.replaceChildren();
  if (ids.length === 0) list.appendChild(el('li', 'empty', 'nobody else yet'));
  for (const id of ids) {
    const p = peers.get(id);
    const li = el('li');
    li.dataset.connectionId = id;
    li.dataset.verified = p && p.verified ? 'true' : 'false';
    const who = el('div', 'who', names.get(id) || 'guest');
    // the name is whatever the server relayed: say so, unless this device (or connection) was verified
    let source;
    if (p && p.alarmed) source = el('div', 'source alarm', '⚠ not the device you verified under this name');
    else if (p && p.verified) source = el('div', 'source verified', p.verifiedName ? `✓ verified (as ${p.verifiedName})` : '✓ verified');
    else source = el('div', 'source', 'name from the server · not verified');
    const devFp = p && p.deviceFingerprint;
    const dev = el('div', 'device-fp', devFp ? 'device ' + devFp : (on ? 'no device key shown' : ''));
    dev.dataset.deviceFingerprint = devFp || '';
    const fp = el('div', 'fp-block', fps[id] || (on ? 'key bundle not verified' : 'not encrypted'));
    fp.dataset.fingerprint = fps[id] || '';
    li.append(who, source, el('div', 'id', id), dev, fp);
    if (on && p && !p.verified && (devFp || fps[id])) {
      const b = el('button', 'secondary small verify', 'mark verified');
      b.type = 'button';
      b.addEventListener('click', () => conn.markVerified(devFp || fps[id]).then(render, e => { $('errors').textContent = e.message; }));
      li.appendChild(b);
    }
    list.appendChild(li);
    const cap = document.querySelector(`#peer-${id} .fp`);
    if (cap) cap.textContent = (p && p.verified ? '✓ ' : '') + short(devFp || fps[id]);
  }
}

function warn(text) {
  $('warning').textContent = text;
}

function figureFor(id) {
  let fig = document.getElementById('peer-' + id);
  if (!fig) {
    fig = el('figure');
    fig.id = 'peer-' + id;
    const v = el('video');
    v.autoplay = true; v.playsInline = true;
    const cap = el('figcaption');
    cap.append(el('span', 'who', names.get(id) || id.slice(0, 8)), el('span', 'fp'));
    fig.append(v, cap);
    $('videos').appendChild(fig);
  }
  return fig;
}

function chatLine(who, text, cls) {
  const li = el('li', cls);
  li.append(el('b', '', who + ': '), document.createTextNode(text));
  $('chatLog').append(li);
  while ($('chatLog').children.length > 200) $('chatLog').firstChild.remove();
  li.scrollIntoView({ block: 'nearest' });
}

function setConnectedControls(on) {
  for (const id of ['chatText', 'chatSend', 'camBtn', 'micBtn', 'shareBtn']) $(id).disabled = !on;
}

function setToggle(id, on, onText, offText) {
  $(id).textContent = on ? onText : offText;
  $(id).setAttribute('aria-pressed', String(on));
}

function reset() {
  setConnectedControls(false);
  document.querySelectorAll('figure[id^="peer-"]').forEach(f => f.remove());
  names.clear();
  $('joinBtn').disabled = false;
  $('leaveBtn').disabled = true;
  render();
}

$('join').addEventListener('submit', async ev => {
  ev.preventDefault();
  $('joinBtn').disabled = true;
  $('errors').textContent = '';
  const e2ee = $('e2ee').checked;
  try {
    if (e2ee) await Veil.initE2EE();
    stream = stream || (window.veilDemoStream ? window.veilDemoStream()
      : await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 480 } }));
    $('local').srcObject = stream;
    const url = `${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/signaling`;
    const name = $('name').value.trim() || 'guest';
    warn('');
    const keyMode = new URLSearchParams(location.search).get('keyMode');
    conn = Veil.connection(url).sendrecv($('channel').value, null,
      { e2ee, signalingNotifyMetadata: { name }, e2eePersistentIdentity: e2ee && $('persist').checked,
        screenShare: true, ...(e2ee && keyMode ? { keyMode } : {}) });
    window.veilDemo = { conn };
    conn.on('track', e => {
      const id = e.connectionId || 'remote';
      if (e.screen) {
        // a member's screen share: its own tile (black while they are not sharing)
        const fig = figureFor(id + '-screen');
        fig.querySelector('.who').textContent = (names.get(id) || id.slice(0, 8)) + ' · screen';
        fig.querySelector('video').srcObject = new MediaStream([e.track]);
        return;
      }
      const v = figureFor(id).querySelector('video');
      if (v.srcObject !== e.streams[0]) v.srcObject = e.streams[0];
    });
    conn.on('notify', m => {
      if (m.event_type === 'connection.created') {
        for (const x of m.data || [m]) {
          const n = x.signaling_notify_metadata && x.signaling_notify_metadata.name;
          if (n) names.set(x.connection_id, String(n).slice(0, 40));
        }
      } else if (m.event_type === 'connection.destroyed') {
        for (const f of [m.connection_id, m.connection_id + '-screen']) {
          const fig = document.getElementById('peer-' + f);
          if (fig) fig.remove();
        }
      }
      render();
    });
    conn.on('e2ee', e => {
      if (e.type === 'verification-lost' && e.scope === 'room') {
        warn('⚠ The room code changed since you verified it (someone joined or left, or a key changed). Compare it again.');
      } else if (e.type === 'verification-lost') {
        warn(`⚠ "${e.name || e.connectionId}" is not the device you verified under that name: `
          + (e.deviceFingerprint ? `its device key changed (now ${short(e.deviceFingerprint)}).` : 'it shows no device key.')
          + ' Do not trust it until you verify again.');
      }
      if (e.type === 'error' && e.source === 'data') {
        $('errors').textContent = `dropped a chat message from ${names.get(e.from) || e.from || 'a peer'}: ${e.reason}`;
      }
      if (e.type === 'error' && e.source === 'frames') {
        $('errors').textContent = `dropped ${e.kind || ''} frames from ${names.get(e.senderId) || e.senderId || 'a peer'}: ${e.reason}`;
      }
      render();
    });
    conn.on('data', m => {
      if (typeof m.data === 'string') chatLine(names.get(m.from) || m.from.slice(0, 6), m.data, m.to ? 'direct' : '');
    });
    conn.on('disconnect', e => {
      setStatus(e.type === 'normal' ? 'left' : 'disconnected: ' + (e.message || e.reason));
      setBadge('idle', 'not connected');
      conn = null;
      reset();
    });
    setStatus('connecting…');
    await conn.connect(stream);
    setStatus('connected');
    if (conn.e2ee) {
      setBadge('on', 'E2EE · ' + (conn.e2eeKeyMode === 'mls' ? 'MLS · SFrame' : conn.e2eeMode === 'passphrase'
        ? 'passphrase' : conn.e2ee.format === 'jframe' ? 'JFrame' : 'SFrame'));
    }
    else setBadge('off', 'not end-to-end encrypted');
    $('leaveBtn').disabled = false;
    setConnectedControls(true);
    $('chatHint').textContent = conn.e2ee ? 'End-to-end encrypted: the server relays ciphertext.'
      : 'Not end-to-end encrypted: the server can read these messages.';
    render();
  } catch (e) {
    setStatus('failed: ' + e.message);
    setBadge('idle', 'not connected');
    $('joinBtn').disabled = false;
  }
});

$('leaveBtn').addEventListener('click', () => { if (conn) conn.disconnect(); });
$('chatForm').addEventListener('submit', ev => {
  ev.preventDefault();
  const text = $('chatText').value;
  if (!conn || !text) return;
  conn.sendData(text).then(() => { chatLine('you', text, 'mine'); $('chatText').value = ''; },
    e => { $('errors').textContent = 'chat: ' + e.message; });
});
// camera / mic: track.enabled (black frames / silence; no renegotiation, the m-lines and SSRCs stay)
$('camBtn').addEventListener('click', () => {
  const t = stream && stream.getVideoTracks()[0];
  if (!t) return;
  t.enabled = !t.enabled;
  setToggle('camBtn', t.enabled, 'Camera on', 'Camera off');
});
$('shareBtn').addEventListener('click', async () => {
  if (!conn) return;
  try {
    if (conn.screenTrack) await conn.stopScreenShare();
    else {
      const track = await conn.startScreenShare(window.veilDemoScreenTrack ? window.veilDemoScreenTrack() : undefined);
      track.addEventListener('ended', () => setToggle('shareBtn', false, 'Stop sharing', 'Share screen'));
    }
    setToggle('shareBtn', !!conn.screenTrack, 'Stop sharing', 'Share screen');
  } catch (e) {
    $('errors').textContent = 'screen share: ' + e.message;
  }
});
$('micBtn').addEventListener('click', () => {
  const t = stream && stream.getAudioTracks()[0];
  if (!t) return;
  t.enabled = !t.enabled;
  setToggle('micBtn', t.enabled, 'Mic on', 'Mic off');
});
$('verifyRoom').addEventListener('click', () => {
  if (conn && conn.e2ee) conn.markVerified().then(() => { warn(''); render(); }, e => { $('errors').textContent = e.message; });
});
window.addEventListener('hashchange', render);
render();
