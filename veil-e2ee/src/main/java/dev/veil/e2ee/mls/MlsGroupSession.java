package dev.veil.e2ee.mls;

import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Objects;
import org.bouncycastle.mls.TreeKEM.LeafIndex;
import org.bouncycastle.mls.TreeKEM.LeafNode;
import org.bouncycastle.mls.TreeKEM.TreeKEMPublicKey;
import org.bouncycastle.mls.codec.AuthenticatedContent;
import org.bouncycastle.mls.codec.ContentType;
import org.bouncycastle.mls.codec.Extension;
import org.bouncycastle.mls.codec.GroupContext;
import org.bouncycastle.mls.codec.MLSMessage;
import org.bouncycastle.mls.codec.Proposal;
import org.bouncycastle.mls.codec.ProposalOrRef;
import org.bouncycastle.mls.codec.ProposalOrRefType;
import org.bouncycastle.mls.codec.ProposalType;
import org.bouncycastle.mls.codec.WireFormat;
import org.bouncycastle.mls.crypto.MlsCipherSuite;
import org.bouncycastle.mls.crypto.Secret;
import org.bouncycastle.mls.protocol.Group;

/**
 * One member's view of an MLS group (RFC 9420), cipher suite 1, on bcmls. Sans-IO: it consumes handshake messages
 * in the order the delivery service hands them out and returns what to send; it owns no thread and reads no clock.
 *
 * <p>Commits are two-phase: {@link #commit} builds a commit for the current epoch without applying it; the member
 * applies it only when the delivery service returns it as the accepted commit of that epoch (the first that arrived).
 * If another commit wins the epoch instead, that one is applied and the pending commits are dropped, so concurrent
 * commits never fork the group: every member applies exactly the sequence the delivery service accepted.
 *
 * <p>Handshake messages are sent as PublicMessage: the delivery service can read group id, epoch and content type,
 * and a member can see a commit that removes it before bcmls would fail to decrypt the path.
 *
 * <p>Not thread-safe (confine to one thread); every bcmls call is additionally serialized JVM-wide (see
 * {@link Bcmls}).
 */
public final class MlsGroupSession {
    private static final int HASH_LENGTH = 32;
    /** At most this many own commits per epoch wait for a verdict; the oldest is forgotten first. */
    static final int MAX_PENDING = 4;

    private record Pending(MlsCommit commit, Group next) {
    }

    private final byte[] signaturePrivate;
    private final SecureRandom random;
    private Group group;
    /** Own commits for the current epoch still waiting for the delivery service's verdict (bounded). */
    private final List<Pending> pendings = new ArrayList<>();
    private boolean removed;

    private MlsGroupSession(Group group, byte[] signaturePrivate, SecureRandom random) {
        this.group = group;
        this.signaturePrivate = signaturePrivate;
        this.random = random;
    }

    /** A new group at epoch 0 whose only member is the owner of {@code own}. */
    public static MlsGroupSession create(byte[] groupId, MlsKeyPackage own, SecureRandom random) throws MlsException {
        Objects.requireNonNull(groupId, "groupId");
        if (groupId.length == 0 || groupId.length > 255) {
            throw new IllegalArgumentException("groupId must be 1..255 bytes");
        }
        synchronized (Bcmls.LOCK) {
            MlsCipherSuite suite = Bcmls.suite();
            byte[] sig = suite.serializeSignaturePrivateKey(own.signatureKey.getPrivate());
            try {
                LeafNode leaf = own.keyPackage.getLeafNode();
                Group g = new Group(groupId.clone(), suite, own.encryptionKey, sig,
                        leaf.copy(leaf.getEncryptionKey()), new ArrayList<Extension>());
                return new MlsGroupSession(g, sig, random);
            } catch (Exception e) {
                throw new MlsException("group creation failed", e);
            }
        }
    }

    /** Joins from a Welcome (with the ratchet tree inline) that adds the key package {@code own}. */
    public static MlsGroupSession join(MlsKeyPackage own, byte[] welcome, SecureRandom random) throws MlsException {
        synchronized (Bcmls.LOCK) {
            MLSMessage m = Bcmls.decode(welcome);
            if (m.wireFormat != WireFormat.mls_welcome || m.welcome == null) {
                throw new MlsException("not a Welcome (wire format " + m.wireFormat + ")");
            }
            MlsCipherSuite suite = Bcmls.suite();
            byte[] sig = suite.serializeSignaturePrivateKey(own.signatureKey.getPrivate());
            try {
                if (m.welcome.find(own.keyPackage) < 0) {
                    throw new MlsException("the Welcome does not add this key package");
                }
                Group g = new Group(suite.getHPKE().serializePrivateKey(own.initKey.getPrivate()), own.encryptionKey,
                        sig, own.keyPackage, m.welcome, null, new HashMap<Secret, byte[]>(),
                        new HashMap<Group.EpochRef, byte[]>());
                return new MlsGroupSession(g, sig, random);
            } catch (MlsException e) {
                throw e;
            } catch (Exception e) {
                throw new MlsException("joining from the Welcome failed", e);
            }
        }
    }

    public byte[] groupId() {
        return group.getGroupID().clone();
    }

    public long epoch() {
        return group.getEpoch();
    }

    /** This member's leaf index. */
    public int ownLeaf() {
        return group.getIndex().value();
    }

    /** Whether a commit removed this member (it then holds no usable epoch). */
    public boolean isRemoved() {
        return removed;
    }

    /** Leaf count of the ratchet tree (blank leaves included): every leaf index is below it. */
    public long leafCount() {
        return group.getTree().getSize().leafCount();
    }

    /** The members of the current epoch, by leaf index: the roster to show, agreed by every member. */
    public List<MlsMember> roster() {
        TreeKEMPublicKey tree = group.getTree();
        List<MlsMember> out = new ArrayList<>();
        for (int i = 0; i < tree.getSize().leafCount(); i++) {
            LeafNode leaf = tree.getLeafNode(new LeafIndex(i));
            if (leaf != null) {
                out.add(new MlsMember(i, leaf.getCredential().getIdentity()));
            }
        }
        return out;
    }

    /** The epoch authenticator (RFC 9420 §8.7): one value per epoch, equal for every member of that epoch. */
    public byte[] epochAuthenticator() {
        checkNotRemoved();
        return group.getEpochAuthenticator().clone();
    }

    /** MLS-Exporter(label, context, length) of the current epoch (RFC 9420 §8.5). */
    public byte[] export(String label, byte[] context, int length) {
        checkNotRemoved();
        synchronized (Bcmls.LOCK) {
            try {
                return group.getKeySchedule().MLSExporter(label, context, length);
            } catch (Exception e) {
                throw new IllegalStateException("MLS exporter failed", e);
            }
        }
    }

    /** The newest own commit waiting for the delivery service's verdict, if any. */
    public MlsCommit pending() {
        return pendings.isEmpty() ? null : pendings.get(pendings.size() - 1).commit();
    }

    /** Forgets {@code refused} (the delivery service refused it). */
    public void discardPending(MlsCommit refused) {
        pendings.removeIf(p -> Arrays.equals(p.commit().commit(), refused.commit()));
    }

    /** Forgets every pending own commit. */
    public void discardPending() {
        pendings.clear();
    }

    /**
     * Whether a commit removing {@code removeLeaves} (and adding {@code adds} members) would leave this member alone.
     * bcmls 1.84 cannot build such a commit (its update path is empty and {@code TreeKEMPublicKey.parentHashes}
     * throws), so callers defer the removal and fold it into the next commit that adds someone; meanwhile a lone
     * member sends nothing.
     */
    public boolean wouldBeAlone(int adds, Collection<Integer> removeLeaves) {
        return !removeLeaves.isEmpty() && roster().size() - removeLeaves.size() + adds <= 1;
    }

    /**
     * Builds a commit for the current epoch that adds the given key packages and removes the given leaves, with a
     * fresh update path (post-compromise security for the committer). Nothing changes until the delivery service
     * hands the commit back; up to {@link #MAX_PENDING} own commits of one epoch wait side by side.
     */
    public MlsCommit commit(Collection<byte[]> addKeyPackages, Collection<Integer> removeLeaves) throws MlsException {
        checkNotRemoved();
        if (wouldBeAlone(addKeyPackages.size(), removeLeaves)) {
            throw new MlsException("a commit that leaves the committer alone is not supported (bcmls 1.84); defer "
                    + "the removal to the next commit that adds a member");
        }
        List<Proposal> proposals = new ArrayList<>();
        synchronized (Bcmls.LOCK) {
            try {
                for (byte[] kp : addKeyPackages) {
                    proposals.add(Proposal.add(MlsKeyPackage.parse(kp)));
                }
                for (int leaf : removeLeaves) {
                    if (leaf == ownLeaf() || group.getTree().getLeafNode(new LeafIndex(leaf)) == null) {
                        throw new MlsException("cannot remove leaf " + leaf + " (self or blank)");
                    }
                    proposals.add(Proposal.remove(new LeafIndex(leaf)));
                }
                byte[] leafSecret = new byte[HASH_LENGTH];
                random.nextBytes(leafSecret);
                Group.GroupWithMessage gwm = group.commit(new Secret(leafSecret),
                        new Group.CommitOptions(proposals, true, true, new Group.LeafNodeOptions()),
                        new Group.MessageOptions(false, new byte[0], 0),
                        new Group.CommitParameters(Group.NORMAL_COMMIT_PARAMS));
                Arrays.fill(leafSecret, (byte) 0);
                byte[] commitBytes = Bcmls.encode(gwm.message);
                byte[] welcomeBytes = null;
                if (!addKeyPackages.isEmpty()) {
                    MLSMessage w = new MLSMessage(WireFormat.mls_welcome);
                    w.welcome = gwm.message.welcome;
                    welcomeBytes = Bcmls.encode(w);
                }
                MlsCommit made = new MlsCommit(group.getEpoch(), commitBytes, welcomeBytes);
                if (pendings.size() == MAX_PENDING) {
                    pendings.remove(0);
                }
                pendings.add(new Pending(made, gwm.group));
                return made;
            } catch (MlsException e) {
                throw e;
            } catch (Exception e) {
                throw new MlsException("commit creation failed", e);
            }
        }
    }

    /**
     * Handles one handshake message from the delivery service (commits and proposals, in the delivery service's
     * order). A commit for this epoch is applied (this member's own pending one included); messages of earlier
     * epochs are {@link MlsHandled.Stale}; a later epoch is {@link MlsHandled.OutOfSync}.
     *
     * @throws MlsException if the message does not decode, is for another group, or does not verify
     */
    public MlsHandled handle(byte[] message) throws MlsException {
        checkNotRemoved();
        synchronized (Bcmls.LOCK) {
            MLSMessage m = Bcmls.decode(message);
            if (m.wireFormat != WireFormat.mls_public_message && m.wireFormat != WireFormat.mls_private_message) {
                throw new MlsException("not a handshake message (wire format " + m.wireFormat + ")");
            }
            long e = m.getEpoch();
            long now = group.getEpoch();
            if (Long.compareUnsigned(e, now) < 0) {
                return new MlsHandled.Stale(e, now);
            }
            if (e != now) {
                return new MlsHandled.OutOfSync(e, now);
            }
            ContentType type = m.getContentType();
            try {
                if (type == ContentType.PROPOSAL) {
                    if (group.handle(message, null) != null) {
                        throw new MlsException("proposal produced a new epoch");
                    }
                    return new MlsHandled.ProposalCached(now);
                }
                if (type != ContentType.COMMIT) {
                    throw new MlsException("unexpected content type " + type + " on the handshake channel");
                }
                for (Pending p : pendings) {
                    if (Arrays.equals(p.commit().commit(), message)) {
                        return advance(group.handle(message, p.next()), true);
                    }
                }
                if (removesSelf(m)) {
                    removed = true;
                    discardPending();
                    return new MlsHandled.Removed(now + 1);
                }
                Group next = group.handle(message, null);
                if (next == null) {
                    throw new MlsException("commit produced no new epoch");
                }
                return advance(next, false);
            } catch (MlsException ex) {
                throw ex;
            } catch (Exception ex) {
                throw new MlsException("handshake message rejected", ex);
            }
        }
    }

    private MlsHandled advance(Group next, boolean own) {
        group = next;
        discardPending();
        return new MlsHandled.Applied(next.getEpoch(), own);
    }

    /** Whether a PublicMessage commit removes this member by value. */
    private boolean removesSelf(MLSMessage m) throws Exception {
        if (m.wireFormat != WireFormat.mls_public_message) {
            return false;
        }
        GroupContext ctx = group.getGroupInfo(false).groupInfo.getGroupContext();
        AuthenticatedContent auth = m.publicMessage.unprotect(group.getSuite(), group.getKeySchedule().membershipKey,
                ctx);
        if (auth == null) {
            throw new MlsException("membership tag does not verify");
        }
        for (ProposalOrRef p : auth.getContent().getCommit().getProposals()) {
            if (p.getType() == ProposalOrRefType.PROPOSAL && p.getProposal().getProposalType() == ProposalType.REMOVE
                    && p.getProposal().getRemove().removed.value() == ownLeaf()) {
                return true;
            }
        }
        return false;
    }

    /** The bcmls group of the current epoch (tests of bcmls itself only). */
    Group bcmlsGroup() {
        return group;
    }

    private void checkNotRemoved() {
        if (removed) {
            throw new IllegalStateException("this member was removed from the group");
        }
    }

    /** Signature private key bytes are kept only to be wiped; they never leave this object. */
    void destroy() {
        Arrays.fill(signaturePrivate, (byte) 0);
    }

    @Override
    public String toString() {
        return "MlsGroupSession[epoch=" + group.getEpoch() + ", leaf=" + ownLeaf() + (removed ? ", removed" : "")
                + "]";
    }
}
