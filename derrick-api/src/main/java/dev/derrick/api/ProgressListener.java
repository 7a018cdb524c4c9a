package dev.derrick.api;

/**
 * Progress of long work (cloning, setup, committing an image), in the shape of JGit's {@code ProgressMonitor}.
 * Providers call {@link #beginTask}, {@link #update} and {@link #endTask}; a cancelled listener makes the provider
 * stop at the next safe point and throw. A {@code null} listener anywhere in the API means {@link #NONE}.
 *
 * <p>{@link #beginTask} is the one abstract method, so a lambda is a listener that hears of each task:
 * <pre>{@code
 * provider.create(config, (task, totalWork) -> System.out.println(task));
 * }</pre>
 * Everything else has a default; {@link #cancelledWhen} adds cancellation to one.
 */
@FunctionalInterface
public interface ProgressListener {
    /** Total work is not known for the task. */
    int UNKNOWN = 0;

    /** Does nothing and never cancels. */
    ProgressListener NONE = (title, totalWork) -> { };

    /** A task (e.g. "clone code/repo", "setup script") begins; {@code totalWork} may be {@link #UNKNOWN}. */
    void beginTask(String title, int totalWork);

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

    /**
     * This listener, cancelled once {@code cancelled} says so (checked at every safe point of the work).
     *
     * @return a listener that passes every event on to this one
     */
    default ProgressListener cancelledWhen(java.util.function.BooleanSupplier cancelled) {
        java.util.Objects.requireNonNull(cancelled, "cancelled");
        ProgressListener self = this;
        return new ProgressListener() {
            @Override
            public void beginTask(String title, int totalWork) {
                self.beginTask(title, totalWork);
            }

            @Override
            public void update(int completed) {
                self.update(completed);
            }

            @Override
            public void endTask() {
                self.endTask();
            }

            @Override
            public boolean isCancelled() {
                return cancelled.getAsBoolean() || self.isCancelled();
            }
        };
    }

    /** {@code listener}, or {@link #NONE} for {@code null}. */
    static ProgressListener orNone(ProgressListener listener) {
        return listener == null ? NONE : listener;
    }
}
