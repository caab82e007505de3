package dev.veil.e2ee.mls;

import dev.veil.e2ee.sframe.CipherSuite;
import dev.veil.e2ee.util.SecretBytes;
import java.util.BitSet;
import java.util.List;

/**
 * What the frame layer needs of one epoch: the SFrame base key, RFC 9605 §5.2
 * {@code base_key = MLS-Exporter("SFrame 1.0 Base Key", "", AEAD.Nk)}, S for the KIDs, this member's leaf and the
 * leaves that may send in this epoch. Per-sender keys come from the base key and each sender's KID through the
 * SFrame key schedule (RFC 9605 §4.4.2), so every sender has its own key and salt.
 */
public record MlsEpochKeys(long epoch, SecretBytes baseKey, int indexBits, int ownLeaf, BitSet senders,
                           List<MlsMember> roster) {
    /** The exporter label of RFC 9605 §5.2. */
    public static final String EXPORTER_LABEL = "SFrame 1.0 Base Key";

    public MlsEpochKeys {
        senders = (BitSet) senders.clone();
        roster = List.copyOf(roster);
    }

    /** The identity of leaf {@code leaf} in this epoch, or null. */
    public byte[] identityOf(long leaf) {
        for (MlsMember m : roster) {
            if (m.leafIndex() == leaf) {
                return m.identity();
            }
        }
        return null;
    }

    @Override
    public BitSet senders() {
        return (BitSet) senders.clone();
    }

    /** Derives the epoch's keys from {@code session} for SFrame suite {@code suite} (Nk = its key length). */
    public static MlsEpochKeys of(MlsGroupSession session, CipherSuite suite) {
        byte[] base = session.export(EXPORTER_LABEL, new byte[0], suite.keyLength());
        try {
            BitSet senders = new BitSet();
            List<MlsMember> roster = session.roster();
            for (MlsMember m : roster) {
                senders.set(m.leafIndex());
            }
            return new MlsEpochKeys(session.epoch(), SecretBytes.copyOf(base), MlsKid.indexBits(session.leafCount()),
                    session.ownLeaf(), senders, roster);
        } finally {
            java.util.Arrays.fill(base, (byte) 0);
        }
    }

    @Override
    public String toString() {
        return "MlsEpochKeys[epoch=" + epoch + ", S=" + indexBits + ", own=" + ownLeaf + ", senders=" + senders + "]";
    }
}
