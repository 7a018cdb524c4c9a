package dev.derrick.api;

/**
 * A repository as it is in a workspace, and how it compares with its remote.
 *
 * @param path         where it is checked out, relative to the root
 * @param url          its clone URL (never with credentials)
 * @param commit       the commit checked out
 * @param branch       the branch checked out, or {@code null} when detached
 * @param name         the config's display name for it, or {@code null}
 * @param remoteCommit the commit the remote's branch was at when the provider last looked (at the create, or the
 *                     last {@link Workspace#fetch()}), or {@code null} when it did not look or could not reach it
 * @param behind       whether the remote has commits this checkout lacks: {@code true} means the workspace was
 *                     handed out (or left by a fetch) stale, see {@code status} and the provider's WARN line
 * @param status       the outcome of that last look: {@code cloned}, {@code up-to-date}, {@code fast-forwarded},
 *                     {@code dirty}, {@code diverged}, {@code detached}, {@code unreachable} (the remote could not
 *                     be reached), or {@code null} when no look was made
 */
public record RepositoryState(String path, String url, String commit, String branch, String name,
                              String remoteCommit, boolean behind, String status) {
    /** A repository state without a display name or a comparison with the remote. */
    public RepositoryState(String path, String url, String commit, String branch) {
        this(path, url, commit, branch, null, null, false, null);
    }

    /**
     * @param newName display name, or {@code null}
     * @return a copy with that name
     */
    public RepositoryState withName(String newName) {
        return new RepositoryState(path, url, commit, branch, newName, remoteCommit, behind, status);
    }

    /**
     * @param fetch what a fetch of this repository did
     * @return a copy at the fetch's resulting commit, with the remote's commit and whether the checkout is behind
     */
    public RepositoryState withFetch(RepositoryFetch fetch) {
        return new RepositoryState(path, url, fetch.after() != null ? fetch.after() : commit, branch, name,
                fetch.remote(), fetch.behind(), fetch.status());
    }

    /**
     * @return a copy saying the remote could not be reached (its commit unknown)
     */
    public RepositoryState unreachable() {
        return new RepositoryState(path, url, commit, branch, name, null, false, "unreachable");
    }
}
