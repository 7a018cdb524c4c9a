package dev.derrick.server.internal;

import dev.derrick.api.GitAuth;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.core.git.TokenHosts;

import java.util.List;
import java.util.Objects;
import java.util.Set;

/**
 * What a workspace config that arrives <em>over the API</em> (a create request's {@code config}, over HTTP or NATS)
 * may do; the server's own {@code -w} config is trusted and never checked. Refused with a 400 that names the field
 * and the operator option that would allow it:
 * <ul>
 *   <li>{@code auth.token_env} naming a variable this server does not send to that repository's host (see
 *       {@link TokenHosts}: the {@code -w} config's repositories plus {@code --token-host VAR=host}), and the
 *       server's own secrets always;</li>
 *   <li>an inline {@code auth.token} for a host none of the server's tokens go to;</li>
 *   <li>{@code file://} URLs and local paths, unless the operator passed {@code --allow-local-repos};</li>
 *   <li>URLs git cannot use (unknown scheme, no host).</li>
 * </ul>
 *
 * @param tokenHosts      where each token variable may be sent
 * @param allowLocalRepos whether API configs may clone {@code file://} URLs and paths on the server's disk
 */
public record ApiConfigPolicy(TokenHosts tokenHosts, boolean allowLocalRepos) {
    /** Token variables an API config may never name: the server's own secrets. */
    public static final Set<String> FORBIDDEN_TOKEN_ENV = Set.of("DERRICK_API_TOKEN", "NATS_TOKEN", "NATS_PASSWORD",
            "NATS_NKEY", "NATS_CREDS");

    public ApiConfigPolicy {
        Objects.requireNonNull(tokenHosts, "tokenHosts");
    }

    /** The default of a server: its {@code -w} config's token hosts, no local repositories. */
    public static ApiConfigPolicy forServerConfig(WorkspaceConfig serverConfig) {
        return new ApiConfigPolicy(TokenHosts.fromConfig(serverConfig), false);
    }

    /**
     * Refuses what {@code config}, received over the API, may not do.
     *
     * @throws InvalidConfigException naming the repository field and the option that would allow it
     */
    public void check(WorkspaceConfig config) {
        List<RepositoryConfig> repos = config.repositories();
        for (int i = 0; i < repos.size(); i++) {
            RepositoryConfig repo = repos.get(i);
            String field = "config.repositories[" + i + "]";
            boolean local;
            try {
                local = TokenHosts.isLocal(repo.url());
            } catch (InvalidConfigException e) {
                throw new InvalidConfigException(field + ".url: " + e.getMessage());
            }
            if (local && !allowLocalRepos) {
                throw new InvalidConfigException(field + ".url '" + repo.url() + "' is a local path or file:// URL;"
                        + " this server clones only over the network for API configs (the operator allows local"
                        + " repositories with --allow-local-repos)");
            }
            String variable = repo.authIfSet().flatMap(GitAuth::tokenEnvironmentVariable).orElse(null);
            if (variable != null && FORBIDDEN_TOKEN_ENV.contains(variable)) {
                throw new InvalidConfigException(field + ".auth.token_env may not name " + variable
                        + ", the server's own secret");
            }
            if (!local) {
                tokenHosts.check(repo, field);
            } else if (repo.auth() != null) {
                throw new InvalidConfigException(field + ".auth: a local repository takes no credentials");
            }
        }
    }
}
