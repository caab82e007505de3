package dev.veil.e2ee.mls;

/**
 * What a member checks every membership change against before it takes part in it (docs/PROTOCOL.md §4.8): the
 * membership the server announced to it. A proposal or commit that adds someone the member was never told joined,
 * or removes someone it was never told left, is refused ({@link MlsHandled.Refused}): the member does not cache the
 * proposal, does not apply the commit, and so never derives a key such a ghost would share.
 */
public interface MlsMembershipGuard {
    /** Accepts everything (tests of the MLS layer alone). */
    MlsMembershipGuard ACCEPT_ALL = new MlsMembershipGuard() {
        @Override
        public String checkAdd(byte[] identity) {
            return null;
        }

        @Override
        public String checkRemove(byte[] identity) {
            return null;
        }
    };

    /** Null if a member whose credential identity is {@code identity} may be added, else why not. */
    String checkAdd(byte[] identity);

    /** Null if the member whose credential identity is {@code identity} may be removed, else why not. */
    String checkRemove(byte[] identity);
}
