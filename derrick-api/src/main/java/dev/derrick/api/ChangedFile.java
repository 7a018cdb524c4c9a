package dev.derrick.api;

import java.util.Objects;

/**
 * One changed path of a {@link WorkspaceDiff}.
 *
 * @param path   relative to its repository ({@link RepositoryDiff#files()}) or to the workspace root
 *               ({@link WorkspaceDiff#outsideRepositories()}; an absolute path where the workspace owns paths
 *               outside its root directory, as in {@code docker})
 * @param kind   added, modified or deleted
 * @param binary whether git treats the content as binary (its patch is a {@code GIT binary patch})
 */
public record ChangedFile(String path, ChangeKind kind, boolean binary) {
    /** Validates the required parts. */
    public ChangedFile {
        Objects.requireNonNull(path, "path");
        Objects.requireNonNull(kind, "kind");
    }
}
