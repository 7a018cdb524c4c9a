package dev.derrick.server.internal.nats;

import dev.derrick.core.protocol.NatsProtocol;
import dev.derrick.core.wire.Wire;
import dev.derrick.core.wire.WireError;
import dev.derrick.server.internal.Reply;

import java.io.ByteArrayOutputStream;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Request bodies larger than one message, arriving in parts: header {@value NatsProtocol#TRANSFER} names the
 * transfer, {@value NatsProtocol#PART} is {@code index/count}. Parts must come in order; the whole is at most
 * {@link NatsProtocol#MAX_TRANSFER_BYTES}; an unfinished transfer is dropped after {@link #TTL}.
 */
final class PartAssembly {
    static final Duration TTL = Duration.ofMinutes(2);

    private final Map<String, Transfer> incoming = new ConcurrentHashMap<>();

    private static final class Transfer {
        final ByteArrayOutputStream data = new ByteArrayOutputStream();
        final long createdNanos = System.nanoTime();
        int next;
    }

    /**
     * What a part leads to: the complete body after the last part ({@code answer} {@code null}), else the answer to
     * send now ({@code 202} for a part received, an error for a broken transfer).
     */
    record Step(byte[] body, Reply answer) {
    }

    Step receive(String transfer, String part, byte[] data) {
        int slash = part == null ? -1 : part.indexOf('/');
        if (slash < 0) {
            return new Step(null, Reply.error(WireError.of(400, WireError.INVALID_REQUEST, "header "
                    + NatsProtocol.PART + " must be 'index/count'")));
        }
        int index = Integer.parseInt(part.substring(0, slash));
        int count = Integer.parseInt(part.substring(slash + 1));
        Transfer t = incoming.computeIfAbsent(transfer, k -> new Transfer());
        synchronized (t) {
            if (index != t.next) {
                incoming.remove(transfer);
                return new Step(null, Reply.error(WireError.of(400, WireError.INVALID_REQUEST, "part " + index
                        + " of transfer " + transfer + " arrived out of order (expected " + t.next + ")")));
            }
            if (t.data.size() + (long) data.length > NatsProtocol.MAX_TRANSFER_BYTES) {
                incoming.remove(transfer);
                return new Step(null, Reply.error(WireError.of(413, WireError.PAYLOAD_TOO_LARGE,
                        "request is larger than " + NatsProtocol.MAX_TRANSFER_BYTES + " bytes")));
            }
            t.data.writeBytes(data);
            t.next++;
            if (index < count - 1) {
                return new Step(null, new Reply(202, Reply.JSON, Wire.write(Map.of("received", index)), null));
            }
            incoming.remove(transfer);
            return new Step(t.data.toByteArray(), null);
        }
    }

    /** Drops transfers older than {@link #TTL}. */
    void expire(long nowNanos) {
        incoming.values().removeIf(t -> nowNanos - t.createdNanos > TTL.toNanos());
    }
}
