package dev.derrick.core.process;

import dev.derrick.api.DerrickException;
import dev.derrick.api.WorkspaceBusyException;
import dev.derrick.api.WorkspaceProcess;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The background processes of one workspace: ids, lookup, a bound on how many run at once, and
 * {@link #killAll()} for close and reset. Ended processes are remembered (their output readable) up to
 * {@link #KEEP_ENDED}, oldest forgotten first. Thread-safe.
 */
public final class ProcessTable {
    /** Background processes one workspace may run at once. */
    public static final int MAX_RUNNING = 64;
    /** Ended processes kept for their output and exit code. */
    public static final int KEEP_ENDED = 32;

    private final AtomicLong ids = new AtomicLong();
    private final Map<String, BackgroundProcess> processes = new LinkedHashMap<>();
    private boolean closed;

    /** A fresh id: {@code p1}, {@code p2}, … */
    public String nextId() {
        return "p" + ids.incrementAndGet();
    }

    /**
     * Checks there is room for one more (call before starting the real process).
     *
     * @throws WorkspaceBusyException when {@link #MAX_RUNNING} run already
     * @throws DerrickException       when the table was closed with its workspace
     */
    public synchronized void checkRoom(String workspaceId) {
        if (closed) {
            throw new DerrickException("workspace " + workspaceId + " is closing; no new processes");
        }
        long running = processes.values().stream().filter(WorkspaceProcess::isAlive).count();
        if (running >= MAX_RUNNING) {
            throw new WorkspaceBusyException("workspace " + workspaceId + " already runs " + running
                    + " background processes (the limit); kill some first");
        }
    }

    /** Registers a started process; a table that was closed meanwhile kills it at once. */
    public void add(BackgroundProcess p) {
        boolean kill;
        synchronized (this) {
            kill = closed;
            if (!kill) {
                processes.put(p.id(), p);
                forgetOldEnded();
            }
        }
        if (kill) {
            p.kill();
        }
    }

    private void forgetOldEnded() {
        List<String> ended = new ArrayList<>();
        processes.forEach((k, v) -> {
            if (!v.isAlive()) {
                ended.add(k);
            }
        });
        for (int i = 0; i < ended.size() - KEEP_ENDED; i++) {
            processes.remove(ended.get(i));
        }
    }

    public synchronized List<WorkspaceProcess> list() {
        return List.copyOf(processes.values());
    }

    public synchronized Optional<WorkspaceProcess> find(String id) {
        return Optional.ofNullable(processes.get(id));
    }

    /** Kills every running process and waits for them (reset keeps the table open). */
    public void killAll() {
        List<BackgroundProcess> all;
        synchronized (this) {
            all = new ArrayList<>(processes.values());
        }
        for (BackgroundProcess p : all) {
            if (p.isAlive()) {
                try {
                    p.kill();
                } catch (RuntimeException ignored) {
                    // already reported by the process; the workspace goes on closing
                }
            }
        }
    }

    /**
     * Refuses new processes and waits up to {@code wait} for the running ones to end by themselves — for a provider
     * that has just removed what they run in (a container), so that a kill would only fail. Idempotent.
     */
    public void abandon(java.time.Duration wait) {
        List<BackgroundProcess> all;
        synchronized (this) {
            closed = true;
            all = new ArrayList<>(processes.values());
        }
        long deadline = System.nanoTime() + wait.toNanos();
        for (BackgroundProcess p : all) {
            p.waitFor(java.time.Duration.ofNanos(Math.max(0, deadline - System.nanoTime())));
        }
    }

    /** Refuses new processes and kills the running ones. Idempotent. */
    public void close() {
        synchronized (this) {
            closed = true;
        }
        killAll();
    }
}
