package dev.derrick.core.cache;

import dev.derrick.api.GitOperationException;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.SetupFailedException;
import dev.derrick.api.WorkspaceConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * What a create from a cache entry did to bring each repository up to date, and what to do when it could not: a
 * WARN line naming the repository and both commits for every repository left behind or not checked (never a silent
 * stale workspace), and with {@code require_fresh} a failed create instead.
 */
public final class Freshness {
    private static final Logger LOG = LoggerFactory.getLogger(Freshness.class);

    private final WorkspaceConfig config;
    private final String entry;
    private final Map<String, RepositoryFetch> fetched = new LinkedHashMap<>();
    private final Map<String, GitOperationException> unreachable = new LinkedHashMap<>();

    /**
     * @param config the workspace config
     * @param entry  the cache entry the workspace was made from, for the log line
     */
    public Freshness(WorkspaceConfig config, String entry) {
        this.config = config;
        this.entry = entry;
    }

    /** Records a repository's fetch outcome. */
    public void fetched(RepositoryFetch fetch) {
        fetched.put(fetch.path(), fetch);
    }

    /** Records a repository whose remote could not be reached. */
    public void unreachable(RepositoryConfig repo, GitOperationException e) {
        unreachable.put(repo.path(), e);
    }

    /** The fetch outcomes by repository path. */
    public Map<String, RepositoryFetch> fetches() {
        return Map.copyOf(fetched);
    }

    /** The repositories whose remote could not be reached, by path. */
    public Map<String, GitOperationException> unreachable() {
        return Map.copyOf(unreachable);
    }

    /**
     * Logs a WARN for every repository the create could not bring up to date; with {@code requireFresh}, fails.
     *
     * @param commits per repository path, the commit it is at (for repositories whose remote was not reached)
     * @throws GitOperationException  with {@code requireFresh}, when a remote could not be reached
     * @throws SetupFailedException   with {@code requireFresh}, when a repository was left behind its remote
     */
    public void report(Map<String, String> commits, boolean requireFresh) {
        List<String> problems = new ArrayList<>();
        for (RepositoryConfig repo : config.repositories()) {
            RepositoryFetch f = fetched.get(repo.path());
            if (f != null && f.behind()) {
                String line = "repository " + describe(repo) + " stays at " + abbreviate(f.after()) + ", behind the"
                        + " remote's " + abbreviate(f.remote()) + " (" + f.status() + ": " + why(f.status()) + ")";
                problems.add(line);
                LOG.warn("{}: {}; the workspace from cache entry {} is stale{}", config.name(), line, entry,
                        requireFresh ? "" : " (set the provider option require_fresh=true to fail such a create)");
            }
            GitOperationException e = unreachable.get(repo.path());
            if (e != null) {
                String line = "repository " + describe(repo) + " stays at " + abbreviate(commits.get(repo.path()))
                        + ", the remote's commit unknown: " + e.getMessage();
                problems.add(line);
                LOG.warn("{}: {}; the workspace from cache entry {} may be stale{}", config.name(), line, entry,
                        requireFresh ? "" : " (set the provider option require_fresh=true to fail such a create)");
            }
        }
        if (!requireFresh || problems.isEmpty()) {
            return;
        }
        String message = "workspace config '" + config.name() + "' requires fresh repositories (require_fresh), but "
                + String.join("; ", problems);
        if (!unreachable.isEmpty()) {
            GitOperationException first = unreachable.values().iterator().next();
            throw new GitOperationException(message, first.authenticationFailed(), first);
        }
        throw new SetupFailedException(message, -1, "");
    }

    private static String describe(RepositoryConfig repo) {
        return repo.name() == null ? "'" + repo.path() + "'" : "'" + repo.name() + "' (" + repo.path() + ")";
    }

    private static String why(String status) {
        return switch (status) {
            case "dirty" -> "the cache entry has a change to a tracked file, or an untracked file where an incoming"
                    + " commit puts one";
            case "diverged" -> "the cache entry's branch has commits the remote does not";
            default -> "not fast-forwarded";
        };
    }

    static String abbreviate(String commit) {
        return commit == null ? "(unknown)" : commit.substring(0, Math.min(12, commit.length()));
    }
}
