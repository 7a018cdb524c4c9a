package dev.derrick.api;

/**
 * What {@link Workspace#fetch()} did to one repository.
 *
 * @param path    the repository's path in the workspace
 * @param before  commit checked out before
 * @param after   commit checked out after
 * @param updated whether the checkout moved
 * @param status  {@code up-to-date}, {@code fast-forwarded}, {@code dirty} (new commits fetched, work tree left
 *                alone), {@code diverged} or {@code detached}
 */
public record RepositoryFetch(String path, String before, String after, boolean updated, String status) {
}
