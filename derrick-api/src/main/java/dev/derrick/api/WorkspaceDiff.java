package dev.derrick.api;

import java.util.List;

/**
 * What an agent changed in a workspace since its clean state ({@link Workspace#diff()}): per repository a patch,
 * plus the files changed outside every repository.
 *
 * @param repositories        one entry per repository of the config, in config order
 * @param outsideRepositories files added, changed or deleted outside the repositories, sorted by path; only
 *                            meaningful when {@code outsideTracked}
 * @param outsideTracked      whether the provider can tell changes outside repositories (it compares with its clean
 *                            state: {@code local}, {@code docker}); {@code false} means {@code outsideRepositories}
 *                            is empty because nobody looked
 */
public record WorkspaceDiff(List<RepositoryDiff> repositories, List<ChangedFile> outsideRepositories,
                            boolean outsideTracked) {
    /** Copies the lists. */
    public WorkspaceDiff {
        repositories = List.copyOf(repositories);
        outsideRepositories = List.copyOf(outsideRepositories);
    }

    /** Whether nothing changed anywhere that was looked at. */
    public boolean isEmpty() {
        return outsideRepositories.isEmpty() && repositories.stream().allMatch(RepositoryDiff::isEmpty);
    }
}
