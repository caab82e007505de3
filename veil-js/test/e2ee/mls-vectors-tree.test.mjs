// The official MLS tree-operations and treekem vectors (test-vectors/mls/, cipher suite 1) through ts-mls,
// following the verification steps of upstream test-vectors.md. The Java suite runs the same files (veil-e2ee
// MlsVectorsTest).
//
// ts-mls's public API handles ratchet trees only inside a group (joinGroup/createCommit/processMessage), so the tree
// codec, tree hash, parent hash, proposal application and UpdatePath functions are imported from its internal modules
// through the package's "./*.js" export (ts-mls/<module>.js = dist/src/<module>.js): the functions processMessage
// calls on a received commit.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { x25519 } from '@noble/curves/ed25519.js';
import {
  addLeafNode, decodeRatchetTree, encodeRatchetTree, removeLeafNode, updateLeafNode,
} from 'ts-mls/ratchetTree.js';
import { treeHashRoot } from 'ts-mls/treeHash.js';
import { verifyParentHashes } from 'ts-mls/parentHash.js';
import { decodeProposal } from 'ts-mls/proposal.js';
import { verifyLeafNodeSignature, verifyLeafNodeSignatureKeyPackage } from 'ts-mls/leafNode.js';
import { applyUpdatePath, createUpdatePath, decodeUpdatePath } from 'ts-mls/updatePath.js';
import { applyUpdatePathSecret } from 'ts-mls/createCommit.js';
import { getCommitSecret } from 'ts-mls/pathSecrets.js';
import { deriveSecret } from 'ts-mls/crypto/kdf.js';
import { leafToNodeIndex, leafWidth, root, toLeafIndex, toNodeIndex } from 'ts-mls/treemath.js';
import {
  assertBytes, decodeAll, hex, suite1, suite1Cases, SUITE_NAME, toHex,
} from '../../test-support/e2ee/mls-vectors.mjs';

test('mlsVectors_treeOperations_suite1_addUpdateRemoveAndTreeHashes', async () => {
  const { cases, total } = suite1Cases('tree-operations.json');
  assert.equal(total, 5);
  assert.equal(cases.length, 5);
  const cs = await suite1();
  const kinds = [];
  for (const [n, c] of cases.entries()) {
    const what = 'case ' + n;
    let tree = decodeAll(decodeRatchetTree, hex(c.tree_before), what + ' tree_before');
    assertBytes(encodeRatchetTree(tree), c.tree_before, what + ' tree_before re-encoded');
    assertBytes(await treeHashRoot(tree, cs.hash), c.tree_hash_before, what + ' tree_hash_before');
    const p = decodeAll(decodeProposal, hex(c.proposal), what + ' proposal');
    kinds.push(p.proposalType);
    if (p.proposalType === 'add') {
      [tree] = addLeafNode(tree, p.add.keyPackage.leafNode);
    } else if (p.proposalType === 'update') {
      tree = updateLeafNode(tree, p.update.leafNode, toLeafIndex(c.proposal_sender));
    } else if (p.proposalType === 'remove') {
      tree = removeLeafNode(tree, toLeafIndex(p.remove.removed));
    } else {
      assert.fail(what + ': unexpected proposal ' + p.proposalType);
    }
    assertBytes(encodeRatchetTree(tree), c.tree_after, what + ' tree_after');
    assertBytes(await treeHashRoot(tree, cs.hash), c.tree_hash_after, what + ' tree_hash_after');
  }
  assert.deepEqual(kinds.sort(), ['add', 'add', 'remove', 'remove', 'update'], 'ran 5 cases for suite 1');
});

function groupContext(groupId, epoch, treeHash, confirmedTranscriptHash) {
  return {
    version: 'mls10',
    cipherSuite: SUITE_NAME,
    groupId,
    epoch: BigInt(epoch),
    treeHash,
    confirmedTranscriptHash,
    extensions: [],
  };
}

function leafAt(tree, i) {
  const node = tree[leafToNodeIndex(toLeafIndex(i))];
  return node === undefined ? undefined : node.leaf;
}

/**
 * The private state of one member, as ts-mls keeps it (PrivateKeyPath: node index → HPKE private key), after checking
 * it against the tree: the leaf key and every path secret's node key match the tree's public keys.
 */
async function privateKeyPath(cs, tree, lp, what) {
  const leafNode = leafToNodeIndex(toLeafIndex(lp.index));
  const privateKeys = { [leafNode]: hex(lp.encryption_priv) };
  assert.deepEqual(x25519.getPublicKey(privateKeys[leafNode]), leafAt(tree, lp.index).hpkePublicKey,
    what + ' leaf key');
  for (const ps of lp.path_secrets) {
    // node key pair = DeriveKeyPair(DeriveSecret(path_secret, "node")) (RFC 9420 §7.4)
    const kp = await cs.hpke.deriveKeyPair(await deriveSecret(hex(ps.path_secret), 'node', cs.kdf));
    assert.equal(tree[ps.node]?.nodeType, 'parent', what + ' node ' + ps.node);
    assert.deepEqual(await cs.hpke.exportPublicKey(kp.publicKey), tree[ps.node].parent.hpkePublicKey,
      what + ' node ' + ps.node + ' key');
    privateKeys[ps.node] = await cs.hpke.exportPrivateKey(kp.privateKey);
  }
  return { leafIndex: lp.index, privateKeys };
}

/**
 * Receives `path` from `sender` as member `pkp` would (processMessage → applyUpdatePathSecret): returns the path
 * secret it decrypts and the commit secret it derives.
 */
async function receive(cs, treeAfter, pkp, sender, gc, path) {
  const { nodeIndex, pathSecret } = await applyUpdatePathSecret(treeAfter, pkp, toLeafIndex(sender), gc, path, [],
    cs);
  const commitSecret = await getCommitSecret(treeAfter, toNodeIndex(nodeIndex), pathSecret, cs.kdf);
  return { pathSecret, commitSecret };
}

test('mlsVectors_treekem_suite1_parentHashesSignaturesAndEveryUpdatePath', async () => {
  const { cases, total } = suite1Cases('treekem.suite1.json');
  assert.equal(total, 11);
  assert.equal(cases.length, 11);
  const cs = await suite1();
  const ran = { cases: 0, leafSignatures: 0, privateStates: 0, updatePaths: 0, decaps: 0, freshPaths: 0,
    freshDecaps: 0 };
  for (const [n, c] of cases.entries()) {
    const what = 'case ' + n;
    const groupId = hex(c.group_id);
    const tree = decodeAll(decodeRatchetTree, hex(c.ratchet_tree), what + ' ratchet_tree');
    assert.equal(await verifyParentHashes(tree, cs.hash), true, what + ' parent hashes');
    for (let i = 0; 2 * i < tree.length; i++) {
      const leaf = leafAt(tree, i);
      if (leaf === undefined) continue;
      const ok = leaf.leafNodeSource === 'key_package'
        ? await verifyLeafNodeSignatureKeyPackage(leaf, cs.signature)
        : await verifyLeafNodeSignature(leaf, groupId, i, cs.signature);
      assert.equal(ok, true, what + ' leaf ' + i + ' signature');
      ran.leafSignatures++;
    }
    const privs = new Map();
    for (const lp of c.leaves_private) {
      privs.set(lp.index, await privateKeyPath(cs, tree, lp, what + ' leaf ' + lp.index));
      ran.privateStates++;
    }
    for (const [u, up] of c.update_paths.entries()) {
      const w = what + ' update_path ' + u;
      const path = decodeAll(decodeUpdatePath, hex(up.update_path), w);
      // applyUpdatePath also checks the new leaf's parent hash against the path (parent-hash verification).
      const after = await applyUpdatePath(tree, toLeafIndex(up.sender), path, cs.hash);
      const treeHash = await treeHashRoot(after, cs.hash);
      assertBytes(treeHash, up.tree_hash_after, w + ' tree_hash_after');
      const gc = groupContext(groupId, c.epoch, treeHash, hex(c.confirmed_transcript_hash));
      for (const [i, pkp] of privs) {
        if (i === up.sender) {
          assert.equal(up.path_secrets[i], null, w + ': the sender shares no path secret with itself');
          continue;
        }
        const got = await receive(cs, after, pkp, up.sender, gc, path);
        assertBytes(got.pathSecret, up.path_secrets[i], w + ' path secret of leaf ' + i);
        assertBytes(got.commitSecret, up.commit_secret, w + ' commit secret of leaf ' + i);
        ran.decaps++;
      }
      ran.updatePaths++;
      // Round trip: the same sender makes a fresh UpdatePath (createUpdatePath, as createCommit does: encrypted
      // under the next epoch's context); every other member applies and decrypts it and derives the sender's
      // commit secret = DeriveSecret(root path secret, "path").
      const lp = c.leaves_private.find((l) => l.index === up.sender);
      const [mine, fresh, pathSecrets] = await createUpdatePath(tree, toLeafIndex(up.sender),
        groupContext(groupId, c.epoch, new Uint8Array(0), hex(c.confirmed_transcript_hash)),
        hex(lp.signature_priv), cs);
      const freshAfter = await applyUpdatePath(tree, toLeafIndex(up.sender), fresh, cs.hash);
      assertBytes(encodeRatchetTree(freshAfter), toHex(encodeRatchetTree(mine)), w + ' fresh path: same tree');
      const rootPathSecret = pathSecrets.find((ps) => ps.nodeIndex === root(leafWidth(tree.length)));
      assert.ok(rootPathSecret, w + ' fresh path reaches the root');
      const sent = toHex(await deriveSecret(rootPathSecret.secret, 'path', cs.kdf));
      const freshGc = groupContext(groupId, BigInt(c.epoch) + 1n, await treeHashRoot(freshAfter, cs.hash),
        hex(c.confirmed_transcript_hash));
      for (const [i, pkp] of privs) {
        if (i === up.sender) continue;
        const got = await receive(cs, freshAfter, pkp, up.sender, freshGc, fresh);
        assertBytes(got.commitSecret, sent, w + ' fresh path: commit secret of leaf ' + i);
        ran.freshDecaps++;
      }
      ran.freshPaths++;
    }
    ran.cases++;
  }
  // ran for suite 1: 11 cases, 62 leaves, 62 update paths each received by every other member (328)
  assert.deepEqual(ran, { cases: 11, leafSignatures: 62, privateStates: 62, updatePaths: 62, decaps: 328,
    freshPaths: 62, freshDecaps: 328 });
});
