package dev.derrick.api;

/**
 * A repository as it is in a workspace.
 *
 * @param path         where it is checked out, relative to the root
 * @param url          its clone URL (never with credentials)
 * @param commit       the commit checked out
 * @param branch       the branch checked out, or {@code null} when detached
 * @param name         the config's display name for it, or {@code null}
 * @param remoteCommit the commit the remote's branch was at when the provider last looked (the create's or the last
 *                     {@link Workspace#fetch()}'s), or {@code null} when it did not look or could not reach it
 * @param behind       whether the remote has commits this checkout lacks: {@code true} means the workspace is stale
 *                     (the create or fetch could not fast-forward it; see the WARN line in the provider's log)
 */
public record RepositoryState(String path, String url, String commit, String branch, String name,
                              String remoteCommit, boolean behind) {
    /** A repository state without a display name or a remote comparison. */
    public RepositoryState(String path, String url, String commit, String branch) {
        this(path, url, commit, branch, null, null, false);
    }

    /**
     * @param newName display name, or {@code null}
     * @return a copy with that name
     */
    public RepositoryState withName(String newName) {
        return new RepositoryState(path, url, commit, branch, newName, remoteCommit, behind);
    }

    /**
     * @param checkedOut the commit checked out now
     * @param remote     the remote branch's commit, or {@code null} when unknown
     * @param isBehind   whether the remote has commits the checkout lacks
     * @return a copy with the commit and the remote comparison
     */
    public RepositoryState withRemote(String checkedOut, String remote, boolean isBehind) {
        return new RepositoryState(path, url, checkedOut, branch, name, remote, isBehind);
    }
}
