// iceServersOf: the RTCPeerConnection iceServers a connection uses, from the application's option and the server's
// offer (ice_servers with TURN REST credentials, docs/PROTOCOL.md §1.2).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { iceServersOf } from '../../src/veil.js';

test('offered TURN servers follow the application\'s own, with their credentials', () => {
  const own = [{ urls: 'stun:stun.example.org' }];
  const offered = [{ urls: ['turn:198.18.0.1:3478?transport=tcp'], username: '1767225600:CID', credential: 'c2Vj' }];
  assert.deepEqual(iceServersOf(own, offered), [
    { urls: 'stun:stun.example.org' },
    { urls: ['turn:198.18.0.1:3478?transport=tcp'], username: '1767225600:CID', credential: 'c2Vj' },
  ]);
});

test('nothing offered, nothing configured: an empty list', () => {
  assert.deepEqual(iceServersOf(undefined, undefined), []);
  assert.deepEqual(iceServersOf(null, []), []);
});

test('bad offered entries are left out, good ones kept', () => {
  const offered = [
    null, 'turn:x', { urls: [] }, { urls: ['http://x'] }, { urls: 'turn:x:1' },
    { urls: Array(9).fill('turn:x:1') }, { urls: ['turn:x y'] },
    { urls: ['stun:ok.example:3478'] },
    { urls: ['turns:ok.example:5349'], username: 'u', credential: 7 },
  ];
  assert.deepEqual(iceServersOf([], offered), [
    { urls: ['stun:ok.example:3478'] },
    { urls: ['turns:ok.example:5349'] }, // a credential that is not a string is dropped with its username
  ]);
});
