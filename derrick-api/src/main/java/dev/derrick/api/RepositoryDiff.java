package dev.derrick.api;

import java.util.List;
import java.util.Objects;

/**
 * What changed in one repository of a workspace since its clean state: the work tree (untracked files included,
 * ignored files not) against the commit the clean state checked out.
 *
 * @param path   the repository's path, relative to the workspace root, as in {@link RepositoryState#path()}
 * @param base   the commit the diff is against (the clean state's)
 * @param patch  the unified diff in {@code git diff --binary} format, with {@code a/} and {@code b/} prefixes and
 *               full index lines: {@code git apply} applies it to a checkout of {@code base}; binary files are
 *               marked ({@code GIT binary patch}); {@code ""} when nothing changed
 * @param files  every changed path, sorted
 */
public record RepositoryDiff(String path, String base, String patch, List<ChangedFile> files) {
    /** Copies the list; a {@code null} patch is {@code ""}. */
    public RepositoryDiff {
        Objects.requireNonNull(path, "path");
        patch = patch == null ? "" : patch;
        files = List.copyOf(files);
    }

    /** Whether anything changed. */
    public boolean isEmpty() {
        return files.isEmpty();
    }
}
