package dev.derrick.core.cache;

import dev.derrick.api.DerrickException;

import java.util.Map;
import java.util.concurrent.CancellationException;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.function.Supplier;

/**
 * Runs at most one piece of work per key at a time: the first caller for a key does the work, every caller that
 * arrives while it runs waits for the same result or the same failure. Nothing is remembered afterwards — a failure
 * is not cached, and the next caller for the key starts afresh (callers look in their store first, so a finished
 * result is found there).
 *
 * <pre>{@code
 * CacheEntry entry = store.find(key).orElseGet(() ->
 *         flights.run(key, () -> store.find(key).orElseGet(() -> build(config))));
 * }</pre>
 *
 * @param <K> key type
 * @param <V> result type
 */
public final class SingleFlight<K, V> {
    private final Map<K, CompletableFuture<V>> inFlight = new ConcurrentHashMap<>();

    /**
     * Runs {@code work} for {@code key}, or waits for the run already in progress.
     *
     * @throws RuntimeException the work's own unchecked exception (the same instance for every waiter)
     */
    public V run(K key, Supplier<V> work) {
        return join(key, work).value();
    }

    /**
     * Like {@link #run}, saying whether this caller did the work ({@link Flight#led()}) or waited for another's.
     *
     * @throws RuntimeException the work's own unchecked exception (the same instance for every waiter)
     */
    public Flight<V> join(K key, Supplier<V> work) {
        CompletableFuture<V> mine = new CompletableFuture<>();
        CompletableFuture<V> existing = inFlight.putIfAbsent(key, mine);
        if (existing != null) {
            return new Flight<>(await(existing), false);
        }
        try {
            V value = work.get();
            mine.complete(value);
            return new Flight<>(value, true);
        } catch (RuntimeException | Error e) {
            mine.completeExceptionally(e);
            throw e;
        } finally {
            inFlight.remove(key, mine);
        }
    }

    /** Whether work for {@code key} is running now. */
    public boolean isRunning(K key) {
        return inFlight.containsKey(key);
    }

    /** Whether any work is running now. */
    public boolean isAnyRunning() {
        return !inFlight.isEmpty();
    }

    /**
     * The outcome of {@link #join}.
     *
     * @param value the work's result
     * @param led   whether this caller ran the work (else it waited for a run another caller led)
     */
    public record Flight<V>(V value, boolean led) {
    }

    private static <V> V await(CompletableFuture<V> future) {
        try {
            return future.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted while waiting for a concurrent setup of the same config");
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            if (cause instanceof RuntimeException r) {
                throw r;
            }
            if (cause instanceof Error err) {
                throw err;
            }
            throw new DerrickException("concurrent setup failed: " + cause, cause);
        } catch (CancellationException e) {
            throw new dev.derrick.api.WorkspaceCancelledException("concurrent setup was cancelled");
        }
    }
}
