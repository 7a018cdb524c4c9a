package dev.derrick.server.internal.nats;

import dev.derrick.api.WorkspaceProvider;
import dev.derrick.core.protocol.NatsProtocol;
import io.nats.client.Dispatcher;
import io.nats.client.MessageHandler;
import io.nats.client.Subscription;

import java.time.Duration;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * An agent's workspace slots: live workspaces, reservations handed out by {@code <prefix>.claim} and creates in
 * progress. While a slot is free the agent is subscribed to the claim subject (queue group
 * {@value NatsProtocol#AGENT_QUEUE}); while none is, it is not, so claims go to agents with room and with every
 * agent full a controller gets "no responders" at once. This cannot be an {@code io.nats.service} endpoint: a
 * service's endpoints are fixed once it starts, and this subscription comes and goes.
 */
final class AgentSlots {
    static final Duration RESERVATION_TTL = Duration.ofSeconds(30);

    private final WorkspaceProvider provider;
    private final int max;
    private final String claimSubject;
    private final AtomicBoolean closed;
    private final Map<String, Long> reservations = new ConcurrentHashMap<>();
    private int creating;
    private Dispatcher dispatcher;
    private MessageHandler onClaim;
    private Subscription claimSubscription;

    AgentSlots(WorkspaceProvider provider, int max, String prefix, AtomicBoolean closed) {
        this.provider = provider;
        this.max = max;
        this.claimSubject = NatsProtocol.claimSubject(prefix);
        this.closed = closed;
    }

    /** Starts following the free slots with a claim subscription on {@code d}. */
    synchronized void attach(Dispatcher d, MessageHandler handler) {
        this.dispatcher = d;
        this.onClaim = handler;
        update();
    }

    int max() {
        return max;
    }

    private synchronized int used() {
        long now = System.nanoTime();
        reservations.values().removeIf(expiry -> expiry - now < 0);
        return provider.list().size() + reservations.size() + creating;
    }

    /** Subscribes to or unsubscribes from the claim subject as slots are free or not. */
    synchronized void update() {
        if (closed.get() || dispatcher == null) {
            return;
        }
        boolean room = used() < max;
        if (room && claimSubscription == null) {
            claimSubscription = dispatcher.subscribe(claimSubject, NatsProtocol.AGENT_QUEUE, onClaim);
        } else if (!room && claimSubscription != null) {
            dispatcher.unsubscribe(claimSubscription);
            claimSubscription = null;
        }
    }

    /** Reserves a free slot for {@link #RESERVATION_TTL}: the reservation, or {@code null} when there is none. */
    synchronized String reserve() {
        if (used() >= max) {
            return null;
        }
        String reservation = UUID.randomUUID().toString();
        reservations.put(reservation, System.nanoTime() + RESERVATION_TTL.toNanos());
        return reservation;
    }

    /**
     * Takes a slot for a create: the one {@code reservation} holds, else a free one. Returns {@code false} when there
     * is neither; after {@code true}, {@link #endCreate()} follows.
     */
    synchronized boolean beginCreate(String reservation) {
        boolean held = reservation != null && reservations.remove(reservation) != null;
        if (!held && used() >= max) {
            return false;
        }
        creating++;
        return true;
    }

    synchronized void endCreate() {
        creating--;
    }
}
