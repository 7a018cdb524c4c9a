package dev.derrick.api;

import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Credentials for one repository, resolved on the provider side only.
 *
 * <p>{@code tokenEnv} names an environment variable <em>of the provider process</em>; {@code token} is an inline
 * token (accepted, discouraged). Exactly one of them is set. {@code username} defaults to {@code x-access-token}.
 * {@link #toString()} never shows the token.
 *
 * @param tokenEnv name of the provider's environment variable holding the token, or {@code null}
 * @param token    inline token, or {@code null}
 * @param username HTTP Basic user name sent with the token
 */
public record GitAuth(String tokenEnv, String token, String username) {
    /** The user name GitHub, GitLab and Gitea accept with a token. */
    public static final String DEFAULT_USERNAME = "x-access-token";

    /** Validates that exactly one of {@code tokenEnv} and {@code token} is given; defaults the user name. */
    public GitAuth {
        if ((tokenEnv == null || tokenEnv.isBlank()) && (token == null || token.isEmpty())) {
            throw new InvalidConfigException("auth needs 'token_env' (the provider's environment variable holding the token) or 'token'");
        }
        if (tokenEnv != null && !tokenEnv.isBlank() && token != null && !token.isEmpty()) {
            throw new InvalidConfigException("auth has both 'token_env' and 'token'; give one");
        }
        if (tokenEnv != null && tokenEnv.isBlank()) {
            tokenEnv = null;
        }
        if (token != null && token.isEmpty()) {
            token = null;
        }
        if (username == null || username.isBlank()) {
            username = DEFAULT_USERNAME;
        }
    }

    /** Auth through an environment variable of the provider process. */
    public static GitAuth fromEnv(String variable) {
        return new GitAuth(variable, null, null);
    }

    /** Auth through an inline token; prefer {@link #fromEnv(String)}. */
    public static GitAuth inline(String token) {
        return new GitAuth(null, token, null);
    }

    /** A copy with another user name. */
    public GitAuth withUsername(String name) {
        return new GitAuth(tokenEnv, token, name);
    }

    /**
     * The token, looked up in the given provider environment when it comes from a variable.
     *
     * @throws InvalidConfigException when the variable is not set
     */
    public String resolveToken(Map<String, String> providerEnvironment) {
        if (token != null) {
            return token;
        }
        String value = Objects.requireNonNull(providerEnvironment, "providerEnvironment").get(tokenEnv);
        if (value == null || value.isEmpty()) {
            throw new InvalidConfigException("auth.token_env names environment variable '" + tokenEnv
                    + "', which is not set in the provider's environment");
        }
        return value;
    }

    /** The variable name, when the token comes from one. */
    public Optional<String> tokenEnvironmentVariable() {
        return Optional.ofNullable(tokenEnv);
    }

    @Override
    public String toString() {
        return "GitAuth[" + (tokenEnv != null ? "token_env=" + tokenEnv : "token=****") + ", username=" + username + "]";
    }
}
