package org.example.derrick.sandbox;

import dev.derrick.api.ExecResult;
import dev.derrick.api.FetchStatus;
import dev.derrick.api.GitOperationException;
import dev.derrick.api.OutputListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;

import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * The {@code git} command on a workspace's checkouts: what {@code fetch()} needs. (The engine clones; it does not
 * lend a backend its git client, so a backend that fetches brings its own.) The token goes to git in an environment
 * variable of that one command, never on a command line or on disk.
 *
 * @param env     the environment git runs with (no token)
 * @param tokens  where {@code auth.token_env} names are looked up: the provider's environment
 * @param timeout how long a fetch may take
 */
record GitCli(Map<String, String> env, Map<String, String> tokens, Duration timeout) {

    /** The checkout's HEAD commit, or {@code null}. */
    String commit(Path dir) {
        return output(dir, "git", "rev-parse", "HEAD");
    }

    /** The checked-out branch, or {@code null} when HEAD is detached. */
    String branch(Path dir) {
        return output(dir, "git", "symbolic-ref", "--short", "-q", "HEAD");
    }

    /**
     * Fast-forwards the checked-out branch to its upstream after {@code git fetch origin} — or, with a {@code target},
     * to exactly that commit (fetching only when it is not there). A tracked change, or an untracked file where an
     * incoming commit puts one, is {@link FetchStatus#DIRTY}, never overwritten; other untracked files (a setup
     * script's build output) do not block.
     *
     * @throws GitOperationException when the fetch fails (the remote cannot be reached, the token is refused)
     */
    RepositoryFetch update(RepositoryConfig repo, Path dir, String target) {
        String before = commit(dir);
        if (target == null || !succeeds(dir, "git", "cat-file", "-e", target + "^{commit}")) {
            ExecResult fetched = withToken(repo, dir, "git", "fetch", "--quiet", "origin");
            if (!fetched.succeeded()) {
                throw fetchFailed(repo, fetched.stderr());
            }
        }
        if (branch(dir) == null) {
            return new RepositoryFetch(repo.path(), before, before, false, FetchStatus.DETACHED, null);
        }
        String upstream = target != null ? target : output(dir, "git", "rev-parse", "-q", "--verify", "@{upstream}");
        if (upstream == null || upstream.equals(before) || isAncestor(dir, upstream, before)) {
            return new RepositoryFetch(repo.path(), before, before, false, FetchStatus.UP_TO_DATE, upstream);
        }
        if (!isAncestor(dir, before, upstream)) {
            return new RepositoryFetch(repo.path(), before, before, false, FetchStatus.DIVERGED, upstream);
        }
        boolean trackedChanges = output(dir, "git", "status", "--porcelain", "--untracked-files=no") != null;
        if (trackedChanges || !withToken(repo, dir, "git", "merge", "--ff-only", "--quiet", upstream).succeeded()) {
            return new RepositoryFetch(repo.path(), before, before, false, FetchStatus.DIRTY, upstream);
        }
        return new RepositoryFetch(repo.path(), before, commit(dir), true, FetchStatus.FAST_FORWARDED, upstream);
    }

    private boolean isAncestor(Path dir, String ancestor, String descendant) {
        return succeeds(dir, "git", "merge-base", "--is-ancestor", ancestor, descendant);
    }

    private static GitOperationException fetchFailed(RepositoryConfig repo, String stderr) {
        boolean auth = stderr.contains("Authentication failed") || stderr.contains("could not read Username")
                || stderr.contains(" 401") || stderr.contains(" 403");
        boolean connect = stderr.contains("Failed to connect") || stderr.contains("Could not resolve host")
                || stderr.contains("Connection refused");
        return new GitOperationException("git fetch of " + repo.url() + " failed: "
                + (connect ? "cannot connect (" : auth ? "authentication failed (" : "(") + stderr.strip() + ")", auth, null);
    }

    /** A command's trimmed stdout, or {@code null} when it fails or prints nothing. */
    private String output(Path dir, String... command) {
        ExecResult r = run(dir, env, command);
        return r.succeeded() && !r.stdout().isBlank() ? r.stdout().strip() : null;
    }

    private boolean succeeds(Path dir, String... command) {
        return run(dir, env, command).succeeded();
    }

    /** Runs git with the repository's token, as an HTTP header scoped to the repository's URL. */
    private ExecResult withToken(RepositoryConfig repo, Path dir, String... command) {
        Map<String, String> gitEnv = new LinkedHashMap<>(env);
        gitEnv.putAll(Map.of("GIT_TERMINAL_PROMPT", "0", "GIT_CONFIG_NOSYSTEM", "1", "GIT_CONFIG_GLOBAL", "/dev/null"));
        // No background gc/maintenance: a detached child would hold our output pipes open.
        Map<String, String> config = new LinkedHashMap<>(Map.of("gc.auto", "0", "maintenance.auto", "false"));
        // git matches the key's scheme, host, port and path prefix, so another remote never gets the header, and
        // curl drops it on a redirect to another host.
        repo.authIfSet().ifPresent(auth -> config.put("http." + repo.url() + ".extraHeader", "Authorization: Basic "
                + Base64.getEncoder().encodeToString((auth.username() + ":" + auth.resolveToken(tokens))
                .getBytes(StandardCharsets.UTF_8))));
        int i = 0;
        for (Map.Entry<String, String> entry : config.entrySet()) {
            gitEnv.put("GIT_CONFIG_KEY_" + i, entry.getKey());
            gitEnv.put("GIT_CONFIG_VALUE_" + i, entry.getValue());
            i++;
        }
        gitEnv.put("GIT_CONFIG_COUNT", String.valueOf(i));
        return run(dir, gitEnv, command);
    }

    private ExecResult run(Path dir, Map<String, String> environment, String... command) {
        return CommandRunner.run(List.of(command), dir, environment, timeout, OutputListener.NONE, p -> { });
    }
}
