package dev.derrick.server.internal;

import dev.derrick.api.ProgressListener;
import org.slf4j.Logger;

import java.util.ArrayDeque;
import java.util.Deque;

/**
 * Logs each phase of a workspace's creation at INFO: a task's start, its progress at most every couple of seconds
 * (or each quarter when the total is known), and its end with its duration.
 */
public final class LoggingProgressListener implements ProgressListener {
    private static final long PROGRESS_INTERVAL_NANOS = 2_000_000_000L;

    private final Logger log;
    private final String prefix;
    private final Deque<Task> tasks = new ArrayDeque<>();

    private static final class Task {
        final String title;
        final int total;
        final long started = System.nanoTime();
        long done;
        long lastLogged = System.nanoTime();
        int lastQuarter;

        Task(String title, int total) {
            this.title = title;
            this.total = total;
        }
    }

    public LoggingProgressListener(Logger log, String prefix) {
        this.log = log;
        this.prefix = prefix;
    }

    @Override
    public synchronized void beginTask(String title, int totalWork) {
        tasks.push(new Task(title, totalWork));
        log.info("[{}] {}{}", prefix, title, totalWork > 0 ? " (" + totalWork + ")" : "");
    }

    @Override
    public synchronized void update(int completed) {
        Task t = tasks.peek();
        if (t == null) {
            return;
        }
        t.done += completed;
        long now = System.nanoTime();
        if (t.total > 0) {
            int quarter = (int) Math.min(4, t.done * 4 / t.total);
            if (quarter > t.lastQuarter && quarter < 4) {
                t.lastQuarter = quarter;
                t.lastLogged = now;
                log.info("[{}] {}: {}%", prefix, t.title, quarter * 25);
            }
        } else if (now - t.lastLogged > PROGRESS_INTERVAL_NANOS) {
            t.lastLogged = now;
            log.info("[{}] {}: {} done", prefix, t.title, t.done);
        }
    }

    @Override
    public synchronized void endTask() {
        Task t = tasks.poll();
        if (t != null) {
            log.info("[{}] {} done in {} ms", prefix, t.title, (System.nanoTime() - t.started) / 1_000_000);
        }
    }
}
