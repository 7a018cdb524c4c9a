package dev.derrick.api;

/**
 * Progress of long work (cloning, setup, committing an image), in the shape of JGit's {@code ProgressMonitor}.
 * Providers call {@link #beginTask}, {@link #update} and {@link #endTask}; a cancelled listener makes the provider
 * stop at the next safe point and throw. A {@code null} listener anywhere in the API means {@link #NONE}.
 */
public interface ProgressListener {
    /** Total work is not known for the task. */
    int UNKNOWN = 0;

    /** Does nothing and never cancels. */
    ProgressListener NONE = new ProgressListener() {
    };

    /** A task (e.g. "clone code/repo", "setup script") begins; {@code totalWork} may be {@link #UNKNOWN}. */
    default void beginTask(String title, int totalWork) {
    }

    /** {@code completed} more units of the current task are done. */
    default void update(int completed) {
    }

    /** The current task ended. */
    default void endTask() {
    }

    /** Whether the caller wants the work to stop. */
    default boolean isCancelled() {
        return false;
    }

    /** {@code listener}, or {@link #NONE} for {@code null}. */
    static ProgressListener orNone(ProgressListener listener) {
        return listener == null ? NONE : listener;
    }
}
