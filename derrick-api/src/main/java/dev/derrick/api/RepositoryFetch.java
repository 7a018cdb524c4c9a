package dev.derrick.api;

/**
 * What {@link Workspace#fetch()} did to one repository.
 *
 * @param path    the repository's path in the workspace
 * @param before  commit checked out before
 * @param after   commit checked out after
 * @param updated whether the checkout moved
 * @param status  the {@link FetchStatus#wireName() wire name} of the outcome: {@code up-to-date},
 *                {@code fast-forwarded}, {@code dirty} (new commits fetched, work tree left alone: a local change to a
 *                tracked file, or an untracked file where an incoming commit adds one), {@code diverged},
 *                {@code detached} or {@code cloned}; typed as {@link #fetchStatus()}
 * @param remote  the commit the remote's branch is at, or {@code null} when unknown (detached, or a backend that
 *                does not say)
 */
public record RepositoryFetch(String path, String before, String after, boolean updated, String status, String remote) {
    /** A fetch outcome without the remote's commit. */
    public RepositoryFetch(String path, String before, String after, boolean updated, String status) {
        this(path, before, after, updated, status, null);
    }

    /** A fetch outcome with a typed status. */
    public RepositoryFetch(String path, String before, String after, boolean updated, FetchStatus status, String remote) {
        this(path, before, after, updated, status.wireName(), remote);
    }

    /**
     * @return the outcome as a {@link FetchStatus}
     * @throws IllegalStateException when {@link #status()} is no known status (a newer server's)
     */
    public FetchStatus fetchStatus() {
        try {
            return FetchStatus.fromWireName(status);
        } catch (IllegalArgumentException e) {
            throw new IllegalStateException(path + ": " + e.getMessage(), e);
        }
    }

    /** @return whether the checkout is now behind the remote: the fetch saw newer commits it could not apply */
    public boolean behind() {
        return remote != null && !remote.equals(after) && !FetchStatus.UP_TO_DATE.wireName().equals(status);
    }
}
