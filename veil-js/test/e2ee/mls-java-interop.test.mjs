// The browser's MLS session (src/e2ee/mls-session.js on ts-mls) and Java's MlsGroupSession (veil-e2ee on bcmls,
// through test-support/mls/MlsPeer.java) in one group, without a server or browser: each side's messages are handed
// to the other as the delivery service would (in order). Both directions: a browser member joins a group Java
// founded, Java members join a group the browser founded; adds, a removal and a path-only commit; after every step
// each member shows the same epoch, roster, verification code and SFrame base key (MLS-Exporter("SFrame 1.0 Base
// Key", "", 16)). Needs veil-client/target/veil-client-all.jar (mvn -B -DskipTests package).
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { MlsSession } from '../../src/e2ee/mls-session.js';
import { toBase64, toHex, utf8 } from '../../src/e2ee/bytes.js';
import {
  spawnMlsPeer, sessionMember, pumpSession, javaView, sessionView,
} from '../../test-support/mls/java-peer.mjs';

const peers = [];
after(async () => { for (const p of peers) await p.stop(); });

function java() {
  const p = spawnMlsPeer();
  peers.push(p);
  return p;
}

let clock = 0;
const browser = (id) => sessionMember(MlsSession, id);
const pump = pumpSession;
const javaState = javaView;
const browserState = (s) => sessionView(s, toHex);

/** Everyone agrees on epoch, code, base key and roster (leaf order); returns the shared view. */
function assertSame(states) {
  const strip = ({ leaf, ...rest }) => rest;
  for (const st of states) assert.deepEqual(strip(st), strip(states[0]));
  assert.equal(new Set(states.map((st) => st.leaf)).size, states.length, 'distinct leaves');
  return strip(states[0]);
}

test('mls interop: a browser member joins a group Java founded, another joins, Java removes one', async () => {
  const j = java();
  await j.cmd('keypackage j1');
  await j.cmd('create ' + toBase64(utf8('interop#1')));
  const w = browser('w1');
  w.onEvent({ event: 'join', group_id: toBase64(utf8('interop#1')) }, clock++);
  await pump(w);
  const [commit1, welcome1] = await j.cmd('commit ' + w.sent.shift().payload + ' -');
  assert.deepEqual(await j.cmd('handle ' + commit1), ['own']);
  w.onMessage('j1', welcome1, clock++);
  await pump(w);
  assert.deepEqual(w.errors, []);
  let v = assertSame([await javaState(j), browserState(w)]);
  assert.equal(v.epoch, 1n);
  assert.deepEqual(v.roster, ['j1', 'w1']);

  // a second browser member: Java (leaf 0) commits its add; the first browser member applies Java's commit
  const x = browser('x1');
  x.onEvent({ event: 'join', group_id: toBase64(utf8('interop#1')) }, clock++);
  await pump(x);
  const [commit2, welcome2] = await j.cmd('commit ' + x.sent.shift().payload + ' -');
  await j.cmd('handle ' + commit2);
  w.memberJoined('x1', clock++); // the server announced x1 (else w refuses the commit that adds it, §4.8)
  w.onMessage('j1', commit2, clock++);
  x.onMessage('j1', welcome2, clock++);
  await pump(w);
  await pump(x);
  v = assertSame([await javaState(j), browserState(w), browserState(x)]);
  assert.deepEqual(v.roster, ['j1', 'w1', 'x1']);
  assert.equal(v.epoch, 2n);

  // Java removes x (leaf 2): x sees its removal, w applies it
  const [commit3] = await j.cmd('commit - 2');
  await j.cmd('handle ' + commit3);
  w.memberLeft('x1', clock++);
  w.onMessage('j1', commit3, clock++);
  x.onMessage('j1', commit3, clock++);
  await pump(w);
  await pump(x);
  assert.equal(x.removed, true);
  assert.ok(x.errors.some((e) => e.reason === 'removed'));
  v = assertSame([await javaState(j), browserState(w)]);
  assert.deepEqual(v.roster, ['j1', 'w1']);
  assert.equal(v.epoch, 3n);
  assert.deepEqual(w.errors, []);
});

test('mls interop: Java members join a group the browser founded; the browser commits adds and a removal', async () => {
  const w = browser('w2');
  w.onEvent({ event: 'create', group_id: toBase64(utf8('interop#2')) }, clock++);
  await pump(w);
  const [j1, j2] = [java(), java()];
  for (const [p, id] of [[j1, 'j1'], [j2, 'j2']]) {
    const [kp] = await p.cmd('keypackage ' + id);
    w.memberJoined(id, clock++);
    w.onMessage(id, kp, clock++);
    await pump(w);
    const c = w.sent.shift();
    assert.deepEqual(c.welcome_to, [id], 'the browser committed the add with a welcome');
    if (id === 'j2') assert.deepEqual(await j1.cmd('handle ' + c.payload), ['applied']);
    w.onMessage('w2', c.payload, clock++); // the delivery service hands the accepted commit back
    await pump(w);
    await p.cmd('join ' + c.welcome);
  }
  let v = assertSame([browserState(w), await javaState(j1), await javaState(j2)]);
  assert.deepEqual(v.roster, ['w2', 'j1', 'j2']);
  assert.equal(v.epoch, 2n);

  // j2 leaves: the browser (lowest leaf) commits its removal; j1 applies it, j2 sees it removes it
  w.memberLeft('j2', clock++);
  await pump(w);
  const rm = w.sent.shift();
  assert.equal(rm.welcome, undefined);
  assert.deepEqual(await j1.cmd('handle ' + rm.payload), ['applied']);
  assert.deepEqual(await j2.cmd('handle ' + rm.payload), ['removed']);
  w.onMessage('w2', rm.payload, clock++);
  await pump(w);
  v = assertSame([browserState(w), await javaState(j1)]);
  assert.deepEqual(v.roster, ['w2', 'j1']);

  // a path-only commit by Java (fresh leaf secret): the browser applies it and both move on
  const [upd] = await j1.cmd('commit - -');
  await j1.cmd('handle ' + upd);
  w.onMessage('j1', upd, clock++);
  await pump(w);
  v = assertSame([browserState(w), await javaState(j1)]);
  assert.equal(v.epoch, 4n);
  assert.deepEqual(w.errors, []);
});
