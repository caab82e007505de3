package dev.veil.webrtc.router;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.random.RandomGenerator;

/**
 * The producers and consumers of a {@link Router} (by id, and by their peer's SSRC) and their lifecycle: creating,
 * pausing, resuming, switching and closing them, each change told to the stages ({@link RouterStages}) and, for
 * simulcast ones, to {@link SimulcastRouting}. Also the SSRCs the router has used, so the ones it picks are fresh.
 * The public methods' contracts are documented on {@link Router}, which calls these.
 */
final class RouterRegistry {
    private static final int PRODUCER_CACHE = 32;
    private final Router router;
    private final RandomGenerator random;
    private final Map<String, Producer> producers = new LinkedHashMap<>();
    private final Map<String, Consumer> consumers = new LinkedHashMap<>();
    private final Map<String, Map<Long, Producer>> producersByPeer = new HashMap<>();
    private final Map<String, Map<Long, Consumer>> consumersByPeer = new HashMap<>();
    private final Set<Long> usedSsrcs = new HashSet<>();
    /**
     * Producers recently found by {@link #producerOf}, direct-mapped by SSRC, with the map they were found in: the
     * publishers' SSRCs of a channel interleave packet by packet, and each miss boxes the SSRC for the map lookup.
     */
    private final Producer[] cachedProducer = new Producer[PRODUCER_CACHE];
    private final Object[] cachedProducerMap = new Object[PRODUCER_CACHE];
    private boolean closed;

    RouterRegistry(Router router, RandomGenerator random) {
        this.router = router;
        this.random = random;
    }

    long newSsrc() {
        long s;
        do {
            s = random.nextLong() & 0xFFFF_FFFFL;
        } while (s == 0 || !usedSsrcs.add(s));
        return s;
    }

    // ------------------------------------------------------------------------------------------------ lookups

    boolean hasProducers() {
        return !producers.isEmpty();
    }

    boolean isEmpty() {
        return producers.isEmpty() && consumers.isEmpty();
    }

    boolean isClosed() {
        return closed;
    }

    Producer findProducer(String producerId) {
        return producers.get(producerId);
    }

    Consumer findConsumer(String consumerId) {
        return consumers.get(consumerId);
    }

    Producer producer(String id) {
        Producer p = producers.get(id);
        if (p == null) {
            throw new IllegalArgumentException("no producer " + id);
        }
        return p;
    }

    Consumer consumer(String id) {
        Consumer c = consumers.get(id);
        if (c == null) {
            throw new IllegalArgumentException("no consumer " + id);
        }
        return c;
    }

    /** The producers of a peer by SSRC, or null if it has none. */
    Map<Long, Producer> producersOf(String peerId) {
        return producersByPeer.get(peerId);
    }

    /** As {@link #producersOf}, created empty if missing (a simulcast layer's SSRC is being learnt). */
    Map<Long, Producer> producersOfCreating(String peerId) {
        return producersByPeer.computeIfAbsent(peerId, k -> new HashMap<>());
    }

    /**
     * The producer of an SSRC in {@code bySsrc}, through a 32-entry cache (the boxed map lookup allocates for most
     * SSRCs). A cached producer is still the map's entry for its SSRC unless it closed: a producer or layer leaves its
     * peer's map only when it closes, and the cache is cleared then ({@link #forgetLastProducer}).
     */
    Producer producerOf(Map<Long, Producer> bySsrc, long ssrc) {
        int i = (int) ((ssrc * 0x9E37_79B9_7F4A_7C15L) >>> 59);
        Producer c = cachedProducer[i];
        if (c != null && c.ssrc() == ssrc && cachedProducerMap[i] == bySsrc && !c.closed()) {
            return c;
        }
        Producer p = bySsrc.get(ssrc);
        if (p != null) {
            cachedProducer[i] = p;
            cachedProducerMap[i] = bySsrc;
        }
        return p;
    }

    /** Clears the cache of {@link #producerOf} (a producer or layer closed). */
    void forgetLastProducer() {
        java.util.Arrays.fill(cachedProducer, null);
        java.util.Arrays.fill(cachedProducerMap, null);
    }

    Consumer consumerOf(String peerId, long ssrc) {
        Map<Long, Consumer> bySsrc = consumersByPeer.get(peerId);
        return bySsrc == null ? null : bySsrc.get(ssrc);
    }

    private void checkOpen() {
        if (closed) {
            throw new IllegalStateException("router closed");
        }
    }

    // ------------------------------------------------------------------------------------------------ lifecycle

    Producer createProducer(String producerId, String peerId, ProducerParams params) {
        Objects.requireNonNull(producerId, "producerId");
        Objects.requireNonNull(peerId, "peerId");
        Objects.requireNonNull(params, "params");
        if (producers.containsKey(producerId)) {
            throw new IllegalArgumentException("producer id taken: " + producerId);
        }
        Map<Long, Producer> bySsrc = producersOfCreating(peerId);
        if (bySsrc.containsKey(params.ssrc())) {
            throw new IllegalArgumentException("peer " + peerId + " already produces ssrc " + params.ssrc());
        }
        checkOpen();
        Producer p = new Producer(producerId, peerId, params);
        producers.put(producerId, p);
        bySsrc.put(params.ssrc(), p);
        usedSsrcs.add(params.ssrc());
        return p;
    }

    Producer createSimulcastProducer(String producerId, String peerId, ProducerParams params, List<String> rids,
            int ridExtensionId) {
        Objects.requireNonNull(producerId, "producerId");
        Objects.requireNonNull(peerId, "peerId");
        Objects.requireNonNull(params, "params");
        if (producers.containsKey(producerId)) {
            throw new IllegalArgumentException("producer id taken: " + producerId);
        }
        checkOpen();
        Producer p = router.simulcast.create(producerId, peerId, params, rids, ridExtensionId);
        producers.put(producerId, p);
        return p;
    }

    Consumer createConsumer(String consumerId, String peerId, String producerId, ConsumerParams params,
            long nowMillis) {
        Objects.requireNonNull(consumerId, "consumerId");
        Objects.requireNonNull(peerId, "peerId");
        Objects.requireNonNull(params, "params");
        if (consumers.containsKey(consumerId)) {
            throw new IllegalArgumentException("consumer id taken: " + consumerId);
        }
        Producer p = producer(producerId);
        Map<Long, Consumer> bySsrc = consumersByPeer.computeIfAbsent(peerId, k -> new HashMap<>());
        if (bySsrc.containsKey(params.ssrc())) {
            throw new IllegalArgumentException("peer " + peerId + " already has a consumer with ssrc " + params.ssrc());
        }
        if (params.rtxSsrc() != 0 && bySsrc.containsKey(params.rtxSsrc())) {
            throw new IllegalArgumentException("peer " + peerId + " already has a consumer with ssrc "
                    + params.rtxSsrc());
        }
        Consumer c = new Consumer(consumerId, peerId, p, params, random.nextInt(0x10000),
                random.nextLong() & 0xFFFF_FFFFL, random.nextInt(0x10000));
        consumers.put(consumerId, c);
        bySsrc.put(params.ssrc(), c);
        usedSsrcs.add(params.ssrc());
        if (params.rtxSsrc() != 0) {
            usedSsrcs.add(params.rtxSsrc());
        }
        if (p.isSimulcast()) {
            // not announced to the stages as started: the switcher, not the key-frame requester, asks for its first
            // key frame (the group has no SSRC to ask on)
            router.simulcast.addConsumer(c, random.nextInt(0x10000), random.nextLong() & 0xFFFF_FFFFL, nowMillis);
            return c;
        }
        p.consumers.add(c);
        router.stages.onConsumerStarted(c, nowMillis);
        return c;
    }

    void pauseConsumer(String consumerId) {
        Consumer c = consumer(consumerId);
        c.paused = true;
        c.resync();
        if (c.simulcast != null) {
            router.simulcast.setPaused(c, true, 0);
        }
    }

    void resumeConsumer(String consumerId, long nowMillis) {
        Consumer c = consumer(consumerId);
        if (c.paused) {
            c.paused = false;
            c.resync();
            if (c.simulcast != null) {
                router.simulcast.setPaused(c, false, nowMillis);
                return;
            }
            router.stages.onConsumerStarted(c, nowMillis);
        }
    }

    void switchProducer(String consumerId, String producerId, long nowMillis) {
        Consumer c = consumer(consumerId);
        Producer p = producer(producerId);
        if (c.simulcast != null || p.simulcast != null) {
            throw new IllegalArgumentException("simulcast consumers switch layers, not producers");
        }
        if (p.kind() != c.producer.kind()) {
            throw new IllegalArgumentException("cannot switch a " + c.producer.kind() + " consumer to " + p.kind());
        }
        if (p == c.producer) {
            return;
        }
        c.producer.consumers.remove(c);
        c.producer = p;
        p.consumers.add(c);
        c.resync();
        router.stages.onConsumerStarted(c, nowMillis);
    }

    void closeConsumer(String consumerId) {
        Consumer c = consumers.remove(consumerId);
        if (c == null) {
            return;
        }
        c.closed = true;
        c.producer.consumers.remove(c);
        if (c.simulcast != null) {
            router.simulcast.removeConsumer(c);
        }
        Map<Long, Consumer> bySsrc = consumersByPeer.get(c.peerId());
        if (bySsrc != null) {
            bySsrc.remove(c.ssrc());
            if (bySsrc.isEmpty()) {
                consumersByPeer.remove(c.peerId());
            }
        }
        router.stages.onConsumerClosed(c);
    }

    List<Consumer> closeProducer(String producerId) {
        Producer p = producers.remove(producerId);
        if (p == null) {
            return List.of();
        }
        p.closed = true;
        forgetLastProducer();
        Map<Long, Producer> bySsrc = producersByPeer.get(p.peerId());
        List<Consumer> closedConsumers = new ArrayList<>(p.consumers);
        if (p.isSimulcast()) {
            closedConsumers = new ArrayList<>(p.simulcast.consumers.values());
            router.simulcast.close(p, bySsrc);
        }
        if (bySsrc != null) {
            bySsrc.remove(p.ssrc(), p);
            if (bySsrc.isEmpty()) {
                producersByPeer.remove(p.peerId());
            }
        }
        for (Consumer c : closedConsumers) {
            closeConsumer(c.id());
        }
        router.stages.onProducerClosed(p);
        return closedConsumers;
    }

    List<Consumer> closePeer(String peerId) {
        for (Consumer c : new ArrayList<>(consumers.values())) {
            if (c.peerId().equals(peerId)) {
                closeConsumer(c.id());
            }
        }
        List<Consumer> others = new ArrayList<>();
        for (Producer p : new ArrayList<>(producers.values())) {
            if (p.peerId().equals(peerId)) {
                others.addAll(closeProducer(p.id()));
            }
        }
        return others;
    }

    void close() {
        if (closed) {
            return;
        }
        for (String id : new ArrayList<>(consumers.keySet())) {
            closeConsumer(id);
        }
        for (String id : new ArrayList<>(producers.keySet())) {
            closeProducer(id);
        }
        closed = true;
    }
}
