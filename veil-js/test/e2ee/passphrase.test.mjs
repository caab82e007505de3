import { test } from 'node:test';
import assert from 'node:assert/strict';
import { pbkdf2Sync } from 'node:crypto';
import { toHex } from '../../src/e2ee/bytes.js';
import { passphraseKey, passphraseSalt, passphraseFromHash } from '../../src/e2ee/passphrase.js';

test('passphraseKey_matchesIndependentPbkdf2', async () => {
  const k = await passphraseKey('correct horse', 'e2ee-room', 'CONN1');
  const ref = pbkdf2Sync('correct horse', Buffer.from('e2ee-room\u0000CONN1', 'utf8'), 100000, 16, 'sha256');
  assert.equal(toHex(k), ref.toString('hex'));
  assert.equal(k.length, 16);
});

test('passphraseSalt_nulSeparator_keepsPairsApart', async () => {
  assert.equal(toHex(passphraseSalt('ab', 'c')), '616200' + '63');
  assert.notEqual(toHex(await passphraseKey('p', 'room', 'xid', 1000)),
    toHex(await passphraseKey('p', 'roomx', 'id', 1000)));
});

test('passphraseKey_utf8Inputs', async () => {
  const k = await passphraseKey('pässwörd', 'räum', 'ïd', 1000);
  const ref = pbkdf2Sync(Buffer.from('pässwörd', 'utf8'), Buffer.from('räum\u0000ïd', 'utf8'), 1000, 16, 'sha256');
  assert.equal(toHex(k), ref.toString('hex'));
});

test('passphraseKey_empty_rejected', async () => {
  await assert.rejects(passphraseKey('', 'r', 'p'), { reason: 'bad-key' });
  await assert.rejects(passphraseKey('x', 'r', ''), { reason: 'bad-key' });
});

test('passphraseFromHash_parses', () => {
  assert.equal(passphraseFromHash('#e2eekey=secret'), 'secret');
  assert.equal(passphraseFromHash('#a=1&e2eekey=s%20p%C3%A4'), 's pä');
  assert.equal(passphraseFromHash('#e2eekey='), null);
  assert.equal(passphraseFromHash(''), null);
  assert.equal(passphraseFromHash('#e2eekey=%E0%A4%A'), null);
});
