package dev.veil.webrtc.ice;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.veil.webrtc.stun.StunAttribute;
import dev.veil.webrtc.stun.StunClass;
import dev.veil.webrtc.stun.StunMessage;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

class IceLiteAgentTest {

    private static final String BROWSER_UFRAG = "Fh3k";
    private static final String BROWSER_PWD = "p4Qz8xXk0mT1wNcLsVb9dA2e";
    private static final InetSocketAddress ADDR_A = addr("192.0.2.10", 50000);
    private static final InetSocketAddress ADDR_B = addr("198.51.100.7", 61000);

    private Random random;
    private IceLiteAgent agent;
    private long now;

    private static InetSocketAddress addr(String ip, int port) {
        try {
            return new InetSocketAddress(InetAddress.getByName(ip), port);
        } catch (java.net.UnknownHostException e) {
            throw new AssertionError(e);
        }
    }

    @BeforeEach
    void setUp() {
        random = new Random(1234);
        agent = new IceLiteAgent(random);
        agent.setRemoteCredentials(BROWSER_UFRAG, BROWSER_PWD);
        now = 1_000_000;
    }

    /** A Binding request shaped like Chrome's: USERNAME, GOOG-NETWORK-INFO, ICE-CONTROLLING, PRIORITY, MI, FP. */
    private byte[] browserCheck(String username, String password, boolean useCandidate, long seed) {
        byte[] tx = new byte[12];
        new Random(seed).nextBytes(tx);
        StunMessage.Builder b = StunMessage.builder(StunClass.REQUEST, StunMessage.METHOD_BINDING, tx)
                .add(new StunAttribute.Username(username))
                .add(new StunAttribute.Unknown(0xC057, new byte[] {0, 1, 0, 10}))
                .add(new StunAttribute.IceControlling(0x1122334455667788L));
        if (useCandidate) {
            b.add(new StunAttribute.UseCandidate());
        }
        b.add(new StunAttribute.Priority(1853824767L));
        return b.encode(password.getBytes(StandardCharsets.UTF_8), true);
    }

    private byte[] validCheck(boolean useCandidate, long seed) {
        IceCredentials l = agent.localCredentials();
        return browserCheck(l.ufrag() + ":" + BROWSER_UFRAG, l.password(), useCandidate, seed);
    }

    private StunResult handle(InetSocketAddress from, byte[] bytes) {
        return agent.handleStun(from, bytes, 0, bytes.length, now);
    }

    @Test
    void credentials_generatedFromInjectedRandom_deterministicAndValid() {
        IceLiteAgent again = new IceLiteAgent(new Random(1234));
        assertEquals(agent.localCredentials(), again.localCredentials());
        assertEquals(16, agent.localCredentials().ufrag().length());
        assertEquals(32, agent.localCredentials().password().length());
        assertFalse(agent.localCredentials().toString().contains(agent.localCredentials().password()));
    }

    @Test
    void handleStun_tcpPathKey_selectsTheKeyAndReportsTheMappedAddress() throws Exception {
        // ICE-TCP: the server keys a TCP connection by an unresolved address (never equal to a UDP source) and the
        // response reports the connection's real remote address
        InetSocketAddress tcpKey = InetSocketAddress.createUnresolved("ice-tcp-1", ADDR_A.getPort());
        byte[] req = validCheck(true, 1);
        StunResult.Accepted ok = assertInstanceOf(StunResult.Accepted.class,
                agent.handleStun(tcpKey, ADDR_A, req, 0, req.length, now));
        assertEquals(tcpKey, ok.destination());
        StunMessage resp = StunMessage.decode(ok.datagram());
        assertEquals(ADDR_A, resp.get(StunAttribute.XorMappedAddress.class).orElseThrow().address());
        assertEquals(Optional.of(tcpKey), agent.selectedAddress());
        assertTrue(agent.isSelected(tcpKey));
        assertFalse(agent.isSelected(ADDR_A)); // the UDP address with the same IP and port is another path
        assertThrows(IllegalArgumentException.class, () -> agent.handleStun(tcpKey, tcpKey, req, 0, req.length, now));
    }

    @Test
    void handleStun_browserCheckWithUseCandidate_answersAndConnects() throws Exception {
        byte[] req = validCheck(true, 1);
        StunResult r = handle(ADDR_A, req);
        StunResult.Accepted ok = assertInstanceOf(StunResult.Accepted.class, r);
        assertEquals(ADDR_A, ok.destination());

        // The browser validates the response with the same password.
        StunMessage resp = StunMessage.decode(ok.datagram());
        assertEquals(StunClass.SUCCESS_RESPONSE, resp.messageClass());
        assertArrayEquals(StunMessage.decode(req).transactionId(), resp.transactionId());
        assertTrue(resp.verifyIntegrity(agent.localCredentials().password().getBytes(StandardCharsets.UTF_8)));
        assertTrue(resp.verifyFingerprint());
        assertEquals(ADDR_A, resp.get(StunAttribute.XorMappedAddress.class).orElseThrow().address());

        assertEquals(IceState.CONNECTED, agent.state());
        assertEquals(Optional.of(ADDR_A), agent.selectedAddress());
        assertTrue(agent.isSelected(ADDR_A));
        assertEquals(new IceEvent.Connected(ADDR_A), agent.pollEvent());
        assertNull(agent.pollEvent());
    }

    @Test
    void handleStun_checkWithoutNomination_answeredButNotSelected() {
        assertInstanceOf(StunResult.Accepted.class, handle(ADDR_A, validCheck(false, 2)));
        assertEquals(IceState.CHECKING, agent.state());
        assertTrue(agent.selectedAddress().isEmpty());
        assertNull(agent.pollEvent());
        assertEquals(Long.MAX_VALUE, agent.nextTimeout());
    }

    @Test
    void handleStun_wrongPassword_401WithoutIntegrity() throws Exception {
        IceCredentials l = agent.localCredentials();
        byte[] req = browserCheck(l.ufrag() + ":" + BROWSER_UFRAG, "wrongwrongwrongwrongwrong", true, 3);
        StunResult.Rejected rej = assertInstanceOf(StunResult.Rejected.class, handle(ADDR_A, req));
        assertEquals(401, rej.errorCode());
        StunMessage resp = StunMessage.decode(rej.datagram());
        assertEquals(StunClass.ERROR_RESPONSE, resp.messageClass());
        assertEquals(401, resp.get(StunAttribute.ErrorCode.class).orElseThrow().code());
        assertFalse(resp.hasIntegrity());
        assertTrue(resp.verifyFingerprint());
        assertEquals(IceState.NEW, agent.state());
        assertNull(agent.pollEvent());
    }

    @Test
    void handleStun_unknownUfragOrWrongRemoteUfrag_401() {
        IceCredentials l = agent.localCredentials();
        StunResult r1 = handle(ADDR_A, browserCheck("nope:" + BROWSER_UFRAG, l.password(), true, 4));
        assertEquals(401, assertInstanceOf(StunResult.Rejected.class, r1).errorCode());
        StunResult r2 = handle(ADDR_A, browserCheck(l.ufrag() + ":XXXX", l.password(), true, 5));
        assertEquals(401, assertInstanceOf(StunResult.Rejected.class, r2).errorCode());
        assertEquals(IceState.NEW, agent.state());
    }

    @Test
    void handleStun_remoteUfragNotYetKnown_acceptsAnyRemotePart() {
        IceLiteAgent fresh = new IceLiteAgent(new Random(9));
        IceCredentials l = fresh.localCredentials();
        byte[] req = browserCheck(l.ufrag() + ":anything", l.password(), true, 6);
        assertInstanceOf(StunResult.Accepted.class, fresh.handleStun(ADDR_A, req, 0, req.length, 0));
    }

    @Test
    void handleStun_iceControlledPeer_487() throws Exception {
        IceCredentials l = agent.localCredentials();
        byte[] req = StunMessage.builder(StunClass.REQUEST, StunMessage.METHOD_BINDING, new byte[12])
                .add(new StunAttribute.Username(l.ufrag() + ":" + BROWSER_UFRAG))
                .add(new StunAttribute.IceControlled(7))
                .add(new StunAttribute.UseCandidate())
                .encode(l.password().getBytes(StandardCharsets.UTF_8), true);
        StunResult.Rejected rej = assertInstanceOf(StunResult.Rejected.class, handle(ADDR_A, req));
        assertEquals(487, rej.errorCode());
        StunMessage resp = StunMessage.decode(rej.datagram());
        assertTrue(resp.verifyIntegrity(l.password().getBytes(StandardCharsets.UTF_8)));
        assertEquals(IceState.NEW, agent.state());
    }

    @Test
    void handleStun_missingIntegrity_400() {
        IceCredentials l = agent.localCredentials();
        byte[] req = StunMessage.builder(StunClass.REQUEST, StunMessage.METHOD_BINDING, new byte[12])
                .add(new StunAttribute.Username(l.ufrag() + ":" + BROWSER_UFRAG)).encode(null, true);
        assertEquals(400, assertInstanceOf(StunResult.Rejected.class, handle(ADDR_A, req)).errorCode());
    }

    @Test
    void handleStun_noFingerprintOrGarbageOrResponse_dropped() {
        IceCredentials l = agent.localCredentials();
        byte[] noFp = StunMessage.builder(StunClass.REQUEST, StunMessage.METHOD_BINDING, new byte[12])
                .add(new StunAttribute.Username(l.ufrag() + ":" + BROWSER_UFRAG))
                .encode(l.password().getBytes(StandardCharsets.UTF_8), false);
        assertInstanceOf(StunResult.Dropped.class, handle(ADDR_A, noFp));
        assertInstanceOf(StunResult.Dropped.class, handle(ADDR_A, new byte[] {0, 1, 0, 0, 1, 2}));
        byte[] indication = StunMessage.builder(StunClass.INDICATION, StunMessage.METHOD_BINDING, new byte[12])
                .encode(null, true);
        assertInstanceOf(StunResult.Dropped.class, handle(ADDR_A, indication));
        byte[] flipped = validCheck(true, 7);
        flipped[flipped.length - 1] ^= 0x55;
        assertInstanceOf(StunResult.Dropped.class, handle(ADDR_A, flipped));
        assertEquals(IceState.NEW, agent.state());
    }

    @Test
    void handleStun_nominationFromNewAddress_switchesSelected() {
        handle(ADDR_A, validCheck(true, 8));
        assertEquals(new IceEvent.Connected(ADDR_A), agent.pollEvent());
        now += 1000;
        handle(ADDR_B, validCheck(false, 9)); // a check alone does not switch
        assertEquals(Optional.of(ADDR_A), agent.selectedAddress());
        assertNull(agent.pollEvent());
        handle(ADDR_B, validCheck(true, 10));
        assertEquals(new IceEvent.SelectedAddressChanged(ADDR_A, ADDR_B), agent.pollEvent());
        assertEquals(Optional.of(ADDR_B), agent.selectedAddress());
        assertFalse(agent.isSelected(ADDR_A));
    }

    @Test
    void poll_noCheckFor30s_consentExpires() {
        handle(ADDR_A, validCheck(true, 11));
        agent.pollEvent();
        long connectedAt = now;
        assertEquals(connectedAt + 30_000, agent.nextTimeout());
        // consent refreshed by checks every 5 s for a while
        for (int i = 1; i <= 4; i++) {
            now = connectedAt + i * 5_000L;
            assertEquals(now - 5_000 + 30_000, agent.poll(now));
            handle(ADDR_A, validCheck(false, 100 + i));
        }
        long last = now;
        assertEquals(last + 30_000, agent.poll(last + 29_999));
        assertEquals(IceState.CONNECTED, agent.state());
        assertNull(agent.pollEvent());
        // checks from a non-selected address do not refresh consent
        handle(ADDR_B, validCheck(false, 200));
        assertEquals(Long.MAX_VALUE, agent.poll(last + 30_000));
        assertEquals(new IceEvent.ConsentExpired(ADDR_A), agent.pollEvent());
        assertEquals(IceState.DISCONNECTED, agent.state());
        assertTrue(agent.selectedAddress().isEmpty());
        // a new nomination reconnects
        now = last + 40_000;
        handle(ADDR_A, validCheck(true, 201));
        assertEquals(new IceEvent.Connected(ADDR_A), agent.pollEvent());
        assertEquals(IceState.CONNECTED, agent.state());
    }

    @Test
    void mediaReceived_fromTheSelectedAddressOnly_refreshesConsent() {
        agent.mediaReceived(ADDR_A, now); // before any nomination: nothing to refresh
        assertEquals(Long.MAX_VALUE, agent.nextTimeout());
        handle(ADDR_A, validCheck(true, 13));
        agent.pollEvent();
        long connectedAt = now;
        agent.mediaReceived(ADDR_A, connectedAt + 20_000);
        assertEquals(connectedAt + 50_000, agent.poll(connectedAt + 29_999));
        agent.mediaReceived(ADDR_B, connectedAt + 40_000); // another address refreshes nothing
        agent.mediaReceived(ADDR_A, connectedAt + 10_000); // an older time never moves consent back
        assertEquals(connectedAt + 50_000, agent.nextTimeout());
        assertEquals(Long.MAX_VALUE, agent.poll(connectedAt + 50_000));
        assertEquals(new IceEvent.ConsentExpired(ADDR_A), agent.pollEvent());
        agent.mediaReceived(ADDR_A, connectedAt + 50_001); // media after expiry does not reconnect: only a nomination
        assertEquals(IceState.DISCONNECTED, agent.state());
    }

    @Test
    void restart_newCredentials_oldAcceptedUntilFirstNewCheck() {
        handle(ADDR_A, validCheck(true, 12));
        agent.pollEvent();
        IceCredentials old = agent.localCredentials();
        IceCredentials fresh = agent.restart();
        assertNotEquals(old.ufrag(), fresh.ufrag());
        assertNotEquals(old.password(), fresh.password());
        assertEquals(fresh, agent.localCredentials());

        // in-flight consent checks with the old credentials still work
        byte[] oldCheck = browserCheck(old.ufrag() + ":" + BROWSER_UFRAG, old.password(), false, 13);
        assertInstanceOf(StunResult.Accepted.class, handle(ADDR_A, oldCheck));

        // the browser's answer to the re-offer carries new remote credentials
        agent.setRemoteCredentials("N3wU", "newBrowserPasswordxxxxxxx");
        byte[] newCheck = browserCheck(fresh.ufrag() + ":N3wU", fresh.password(), true, 14);
        assertInstanceOf(StunResult.Accepted.class, handle(ADDR_A, newCheck));
        assertNull(agent.pollEvent(), "same address: no event");
        assertEquals(IceState.CONNECTED, agent.state());

        // now the old credentials are gone
        byte[] late = browserCheck(old.ufrag() + ":" + BROWSER_UFRAG, old.password(), false, 15);
        assertEquals(401, assertInstanceOf(StunResult.Rejected.class, handle(ADDR_A, late)).errorCode());
        // and a new password with the old ufrag is not accepted
        byte[] mixed = browserCheck(old.ufrag() + ":" + BROWSER_UFRAG, fresh.password(), false, 16);
        assertInstanceOf(StunResult.Rejected.class, handle(ADDR_A, mixed));
    }

    @Test
    void close_dropsEverything() {
        agent.close();
        assertInstanceOf(StunResult.Dropped.class, handle(ADDR_A, validCheck(true, 17)));
        assertEquals(IceState.CLOSED, agent.state());
        assertNull(agent.pollEvent());
    }

    @Test
    void localUfragOf_browserRequest_returnsServerUfrag() {
        byte[] req = validCheck(true, 18);
        assertEquals(Optional.of(agent.localCredentials().ufrag()), IceLiteAgent.localUfragOf(req, 0, req.length));
        byte[] shifted = new byte[req.length + 3];
        System.arraycopy(req, 0, shifted, 3, req.length);
        assertEquals(Optional.of(agent.localCredentials().ufrag()),
                IceLiteAgent.localUfragOf(shifted, 3, req.length));
        assertEquals(Optional.empty(), IceLiteAgent.localUfragOf(new byte[] {(byte) 0x80, 96, 0, 1}, 0, 4));
        byte[] resp = StunMessage.builder(StunClass.SUCCESS_RESPONSE, 1, new byte[12])
                .add(new StunAttribute.Username("a:b")).encode(null, true);
        assertEquals(Optional.empty(), IceLiteAgent.localUfragOf(resp, 0, resp.length));
    }

    @Test
    void setRemoteCredentials_withColon_rejected() {
        assertThrows(IllegalArgumentException.class, () -> agent.setRemoteCredentials("a:b", "x"));
    }

    @Test
    void iceCredentials_badLocalValues_rejected() {
        assertThrows(IllegalArgumentException.class, () -> new IceCredentials("abc", "0123456789012345678901"));
        assertThrows(IllegalArgumentException.class, () -> new IceCredentials("abcd", "short"));
        assertThrows(IllegalArgumentException.class, () -> new IceCredentials("ab:d", "0123456789012345678901"));
    }
}
