package dev.veil.webrtc.cc;

/**
 * The rate at which the subscriber received what the server sent (the "acknowledged" rate): bytes of the packets
 * reported received whose arrival time lies within the last {@code windowMicros} of the newest arrival, on the
 * subscriber's clock. A ring that starts at {@link #INITIAL_CAPACITY} packets and doubles, up to {@code capacity},
 * while the window holds more packets than it has slots (past the maximum older ones fall off even inside the window,
 * which only matters above capacity × 8 × 1200 / window bits per second: 314 Mbit/s with the defaults).
 */
public final class AckedRate {

    /** Slots a new ring starts with. */
    public static final int INITIAL_CAPACITY = 256;

    private final long windowMicros;
    private final int maxCapacity;
    private long[] arrival;
    private int[] bytes;
    private int head;
    private int size;
    private long sum;
    private long firstArrival = Long.MIN_VALUE;

    public AckedRate(long windowMicros, int capacity) {
        if (windowMicros < 1000 || capacity < 16) {
            throw new IllegalArgumentException("window of at least 1 ms and capacity of at least 16");
        }
        this.windowMicros = windowMicros;
        this.maxCapacity = capacity;
        this.arrival = new long[Math.min(INITIAL_CAPACITY, capacity)];
        this.bytes = new int[arrival.length];
    }

    /** Slots in the ring now. */
    public int capacity() {
        return arrival.length;
    }

    /** Doubles the ring (up to the maximum), the packets in it moved to its start in order. */
    private void grow() {
        int n = Math.min(maxCapacity, arrival.length * 2);
        long[] a = new long[n];
        int[] b = new int[n];
        for (int i = 0; i < size; i++) {
            a[i] = arrival[(head + i) % arrival.length];
            b[i] = bytes[(head + i) % arrival.length];
        }
        arrival = a;
        bytes = b;
        head = 0;
    }

    /** Adds one received packet (arrivals in roughly increasing order; an older one than the newest is kept too). */
    public void add(long arrivalMicros, int packetBytes) {
        if (firstArrival == Long.MIN_VALUE) {
            firstArrival = arrivalMicros;
        }
        if (size == arrival.length && arrival.length < maxCapacity
                && arrivalMicros - arrival[head] <= windowMicros) {
            grow(); // the oldest is still inside the window
        }
        if (size == arrival.length) {
            sum -= bytes[head];
            head = (head + 1) % arrival.length;
            size--;
        }
        int slot = (head + size) % arrival.length;
        arrival[slot] = arrivalMicros;
        bytes[slot] = Math.max(0, packetBytes);
        sum += bytes[slot];
        size++;
        long newest = arrivalMicros;
        while (size > 1 && newest - arrival[head] > windowMicros) {
            sum -= bytes[head];
            head = (head + 1) % arrival.length;
            size--;
        }
    }

    /**
     * Bits per second over the window, or -1 until half a window of arrivals has been seen (too few to say).
     */
    public double bps() {
        if (size == 0) {
            return -1;
        }
        long newest = arrival[(head + size - 1) % arrival.length];
        long span = newest - firstArrival;
        if (span < windowMicros / 2) {
            return -1;
        }
        return sum * 8.0 * 1e6 / Math.min(windowMicros, Math.max(span, 1));
    }
}
