package dev.derrick.api;

/**
 * A repository as it is in a workspace.
 *
 * @param path   where it is checked out, relative to the root
 * @param url    its clone URL (never with credentials)
 * @param commit the commit checked out
 * @param branch the branch checked out, or {@code null} when detached
 */
public record RepositoryState(String path, String url, String commit, String branch) {
}
