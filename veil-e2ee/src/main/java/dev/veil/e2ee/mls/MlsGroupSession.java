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
import org.bouncycastle.mls.codec.ExtensionType;
import org.bouncycastle.mls.codec.ExternalSender;
import org.bouncycastle.mls.codec.MLSInputStream;
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

    /** A proposal of the current epoch this member cached: an add (identity) or a remove (leaf, identity). */
    private record Proposed(boolean add, byte[] identity, int leaf, byte[] ref) {
    }

    private final byte[] signaturePrivate;
    private final SecureRandom random;
    private Group group;
    /** Own commits for the current epoch still waiting for the delivery service's verdict (bounded). */
    private final List<Pending> pendings = new ArrayList<>();
    /** Proposals of the current epoch that passed the guard and bcmls cached (bounded by the tree size). */
    private final List<Proposed> proposed = new ArrayList<>();
    /** References of the proposals of the current epoch this member refused (bounded). */
    private final List<byte[]> refusedRefs = new ArrayList<>();
    static final int MAX_REFUSED = 64;
    /** At most this many proposals are cached per epoch; more are refused (a server cannot grow the state). */
    static final int MAX_PROPOSALS = 256;
    private boolean removed;

    private MlsGroupSession(Group group, byte[] signaturePrivate, SecureRandom random) {
        this.group = group;
        this.signaturePrivate = signaturePrivate;
        this.random = random;
    }

    /** A new group at epoch 0 whose only member is the owner of {@code own}. */
    public static MlsGroupSession create(byte[] groupId, MlsKeyPackage own, SecureRandom random) throws MlsException {
        return create(groupId, own, random, null);
    }

    /**
     * A new group at epoch 0 whose only member is the owner of {@code own}; with {@code externalSender} (a serialized
     * RFC 9420 {@code ExternalSender}, the server's) in the group context's {@code external_senders} extension, so
     * that members accept Add and Remove proposals signed by it (docs/PROTOCOL.md §4.8).
     */
    public static MlsGroupSession create(byte[] groupId, MlsKeyPackage own, SecureRandom random,
                                         byte[] externalSender) throws MlsException {
        Objects.requireNonNull(groupId, "groupId");
        if (groupId.length == 0 || groupId.length > 255) {
            throw new IllegalArgumentException("groupId must be 1..255 bytes");
        }
        synchronized (Bcmls.LOCK) {
            MlsCipherSuite suite = Bcmls.suite();
            byte[] sig = suite.serializeSignaturePrivateKey(own.signatureKey.getPrivate());
            try {
                LeafNode leaf = own.keyPackage.getLeafNode();
                List<Extension> exts = new ArrayList<>();
                if (externalSender != null) {
                    ExternalSender es = (ExternalSender) MLSInputStream.decode(externalSender, ExternalSender.class);
                    exts.add(Extension.externalSender(List.of(es)));
                }
                Group g = new Group(groupId.clone(), suite, own.encryptionKey, sig,
                        leaf.copy(leaf.getEncryptionKey()), exts);
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
        return roster(group);
    }

    private static List<MlsMember> roster(Group group) {
        TreeKEMPublicKey tree = group.getTree();
        List<MlsMember> out = new ArrayList<>();
        for (int i = 0; i < tree.getSize().leafCount(); i++) {
            LeafNode leaf = tree.getLeafNode(new LeafIndex(i));
            if (leaf != null) {
                out.add(new MlsMember(i, leaf.getCredential().getIdentity(), leaf.getSignatureKey()));
            }
        }
        return out;
    }

    /** Whether the group context names an external sender (the server, docs/PROTOCOL.md §4.8). */
    public boolean hasExternalSender() {
        for (Extension e : group.getExtensions()) {
            if (e.extensionType == ExtensionType.EXTERNAL_SENDERS) {
                return true;
            }
        }
        return false;
    }

    /** Identities of the members the proposals cached in this epoch add (in the order they arrived). */
    public List<byte[]> proposedAdds() {
        List<byte[]> out = new ArrayList<>();
        for (Proposed p : proposed) {
            if (p.add()) {
                out.add(p.identity().clone());
            }
        }
        return out;
    }

    /** Leaves the proposals cached in this epoch remove. */
    public List<Integer> proposedRemovals() {
        List<Integer> out = new ArrayList<>();
        for (Proposed p : proposed) {
            if (!p.add() && p.leaf() != ownLeaf()) {
                out.add(p.leaf());
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
        int removes = removeLeaves.size() + proposedRemovals().size();
        return removes > 0 && roster().size() - removes + adds + proposedAdds().size() <= 1;
    }

    /**
     * Builds a commit for the current epoch that commits the proposals cached in this epoch (by reference), adds the
     * given key packages and removes the given leaves (neither may repeat a cached proposal), with a fresh update path (post-compromise security for the committer). Nothing changes until the delivery service
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
                if (!addKeyPackages.isEmpty() || !proposedAdds().isEmpty()) {
                    MLSMessage w = new MLSMessage(WireFormat.mls_welcome);
                    w.welcome = gwm.message.welcome;
                    welcomeBytes = Bcmls.encode(w);
                }
                MlsCommit made = new MlsCommit(group.getEpoch(), commitBytes, welcomeBytes, roster(gwm.group));
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
        return handle(message, MlsMembershipGuard.ACCEPT_ALL);
    }

    /**
     * As {@link #handle(byte[])}, and every membership change is first checked with {@code guard}: a proposal that
     * adds or removes someone the guard refuses is not cached, a commit from another member whose resulting roster
     * adds or removes someone the guard refuses is not applied; both are {@link MlsHandled.Refused}.
     */
    public MlsHandled handle(byte[] message, MlsMembershipGuard guard) throws MlsException {
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
                    return onProposal(m, message, guard, now);
                }
                if (type != ContentType.COMMIT) {
                    throw new MlsException("unexpected content type " + type + " on the handshake channel");
                }
                for (Pending p : pendings) {
                    if (Arrays.equals(p.commit().commit(), message)) {
                        return advance(group.handle(message, p.next()), true);
                    }
                }
                String refusedRef = refusedReference(m);
                if (refusedRef != null) {
                    return new MlsHandled.Refused(now, refusedRef);
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
                String why = checkRoster(roster(group), roster(next), guard);
                if (why != null) {
                    return new MlsHandled.Refused(now, why);
                }
                return advance(next, false);
            } catch (MlsException ex) {
                throw ex;
            } catch (Exception ex) {
                throw new MlsException("handshake message rejected", ex);
            }
        }
    }

    private MlsHandled onProposal(MLSMessage m, byte[] message, MlsMembershipGuard guard, long now) throws Exception {
        if (m.wireFormat != WireFormat.mls_public_message) {
            throw new MlsException("proposals travel as PublicMessage in this mode");
        }
        GroupContext ctx = group.getGroupInfo(false).groupInfo.getGroupContext();
        AuthenticatedContent auth = m.publicMessage.unprotect(group.getSuite(), group.getKeySchedule().membershipKey,
                ctx);
        if (auth == null) {
            throw new MlsException("membership tag does not verify");
        }
        Proposal p = auth.getContent().getProposal();
        Proposed made;
        String why;
        if (p.getProposalType() == ProposalType.ADD) {
            byte[] id = p.getAdd().keyPackage.getLeafNode().getCredential().getIdentity();
            why = MlsCredential.verify(id, p.getAdd().keyPackage.getLeafNode().getSignatureKey()) ? guard.checkAdd(id)
                    : "the added member's device identity does not vouch for its signature key";
            made = new Proposed(true, id.clone(), -1, ref(auth));
        } else if (p.getProposalType() == ProposalType.REMOVE) {
            int leaf = p.getRemove().removed.value();
            LeafNode ln = leaf < leafCount() ? group.getTree().getLeafNode(new LeafIndex(leaf)) : null;
            if (ln == null) {
                return new MlsHandled.Refused(now, "remove proposal for blank leaf " + leaf);
            }
            byte[] id = ln.getCredential().getIdentity();
            why = leaf == ownLeaf() ? null : guard.checkRemove(id);
            made = new Proposed(false, id.clone(), leaf, ref(auth));
        } else {
            return new MlsHandled.Refused(now, "proposal type " + p.getProposalType() + " is not used in this mode");
        }
        if (why != null) {
            if (refusedRefs.size() < MAX_REFUSED) {
                refusedRefs.add(made.ref());
            }
            return new MlsHandled.Refused(now, why);
        }
        for (Proposed q : proposed) {
            if (q.add() == made.add() && q.leaf() == made.leaf() && Arrays.equals(q.identity(), made.identity())) {
                return new MlsHandled.ProposalCached(now); // a replay within the epoch: bcmls ignores it too
            }
        }
        if (proposed.size() >= MAX_PROPOSALS) {
            return new MlsHandled.Refused(now, "more than " + MAX_PROPOSALS + " proposals in one epoch");
        }
        if (made.leaf() == ownLeaf()) {
            // bcmls refuses to cache a proposal removing this member (validateRemove); its reference is kept so
            // that the commit which removes this member by reference is recognised
            proposed.add(made);
            return new MlsHandled.ProposalCached(now);
        }
        if (group.handle(message, null) != null) {
            throw new MlsException("proposal produced a new epoch");
        }
        proposed.add(made);
        return new MlsHandled.ProposalCached(now);
    }

    private byte[] ref(AuthenticatedContent auth) throws Exception {
        return group.getSuite().refHash(Bcmls.encode(auth), "MLS 1.0 Proposal Reference");
    }

    private static boolean holds(List<MlsMember> roster, MlsMember m) {
        for (MlsMember x : roster) {
            if (x.leafIndex() == m.leafIndex() && Arrays.equals(x.identity(), m.identity())) {
                return true;
            }
        }
        return false;
    }

    /** Null if every member the step from {@code before} to {@code after} adds or removes passes {@code guard}. */
    private static String checkRoster(List<MlsMember> before, List<MlsMember> after, MlsMembershipGuard guard) {
        for (MlsMember a : after) {
            if (!holds(before, a)) {
                String why = a.credentialVerifies() ? guard.checkAdd(a.identity())
                        : "a member's device identity does not vouch for its signature key";
                if (why != null) {
                    return why;
                }
            }
        }
        for (MlsMember b : before) {
            if (!holds(after, b)) {
                String why = guard.checkRemove(b.identity());
                if (why != null) {
                    return why;
                }
            }
        }
        return null;
    }

    private MlsHandled advance(Group next, boolean own) {
        group = next;
        proposed.clear();
        refusedRefs.clear();
        discardPending();
        return new MlsHandled.Applied(next.getEpoch(), own);
    }

    /** Why a PublicMessage commit is refused for committing a proposal this member refused, or null. */
    private String refusedReference(MLSMessage m) throws Exception {
        if (m.wireFormat != WireFormat.mls_public_message || refusedRefs.isEmpty()) {
            return null;
        }
        GroupContext ctx = group.getGroupInfo(false).groupInfo.getGroupContext();
        AuthenticatedContent auth = m.publicMessage.unprotect(group.getSuite(), group.getKeySchedule().membershipKey,
                ctx);
        for (ProposalOrRef p : auth.getContent().getCommit().getProposals()) {
            if (p.getType() == ProposalOrRefType.REFERENCE) {
                for (byte[] r : refusedRefs) {
                    if (Arrays.equals(r, p.getReference())) {
                        return "the commit includes a proposal this member refused";
                    }
                }
            }
        }
        return null;
    }

    /** Whether a PublicMessage commit removes this member, by value or by reference. */
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
            if (p.getType() == ProposalOrRefType.REFERENCE) {
                for (Proposed q : proposed) {
                    if (!q.add() && q.leaf() == ownLeaf() && Arrays.equals(q.ref(), p.getReference())) {
                        return true;
                    }
                }
            }
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
