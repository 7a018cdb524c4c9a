package dev.derrick.server.internal.http;

import java.util.ArrayDeque;
import java.util.HashMap;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;

/**
 * At most {@code perClient} operations of one client (remote address) run at once; the rest wait in that client's
 * queue, holding no thread, and start as its running ones end. One client flooding the server therefore cannot take
 * the whole operations pool from the others.
 */
final class ClientGate {
    private final Executor pool;
    private final int perClient;
    private final Map<String, Client> clients = new HashMap<>();

    ClientGate(Executor pool, int perClient) {
        this.pool = pool;
        this.perClient = perClient;
    }

    private static final class Client {
        int running;
        final Queue<Task> waiting = new ArrayDeque<>();
    }

    /** A unit of work and what to do when the pool refuses it (the server is stopping). */
    interface Task extends Runnable {
        void rejected();
    }

    /** Runs {@code task} on the pool now, or after the client's earlier operations made room. */
    void submit(String client, Task task) {
        synchronized (clients) {
            Client c = clients.computeIfAbsent(client, k -> new Client());
            if (c.running >= perClient) {
                c.waiting.add(task);
                return;
            }
            c.running++;
        }
        start(client, task);
    }

    private void start(String client, Task task) {
        try {
            pool.execute(() -> {
                try {
                    task.run();
                } finally {
                    done(client);
                }
            });
        } catch (RejectedExecutionException e) {
            done(client);
            task.rejected();
        }
    }

    private void done(String client) {
        Task next;
        synchronized (clients) {
            Client c = clients.get(client);
            next = c.waiting.poll();
            if (next == null) {
                c.running--;
                if (c.running == 0) {
                    clients.remove(client);
                }
                return;
            }
        }
        start(client, next);
    }

    /** Operations waiting for their client's turn (for tests and logs). */
    int waiting() {
        synchronized (clients) {
            return clients.values().stream().mapToInt(c -> c.waiting.size()).sum();
        }
    }
}
