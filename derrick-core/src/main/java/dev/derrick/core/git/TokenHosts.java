package dev.derrick.core.git;

import dev.derrick.api.GitAuth;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.WorkspaceConfig;

import java.net.URI;
import java.net.URISyntaxException;
import java.util.Collection;
import java.util.Collections;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Which hosts each token variable may be sent to. A server builds one from its own {@code -w} config (a variable
 * goes to the hosts of the repositories that use it) plus the operator's {@code --token-host VAR=host}; an inline
 * {@code auth.token} may go to any host of the policy.
 *
 * <p>Two places apply it. The server refuses API configs it does not allow ({@link #check}, a 400 naming the option
 * that would allow it). And {@link GitClient} applies the {@linkplain #installProcessWide process-wide} policy when it
 * hands credentials to JGit, and hands them only for the repository URL's own host (never on a redirect or to another
 * host), so no code path can send a token elsewhere.
 *
 * <p>Hosts compare case-insensitively, without the port.
 */
public final class TokenHosts {
    private static final Pattern SCP_LIKE = Pattern.compile("^(?:[^@/:]+@)?(\\[[^\\]]+\\]|[^/:\\[\\]]+):(?!//).*");
    private static final Set<String> REMOTE_SCHEMES = Set.of("http", "https", "ssh", "git", "git+ssh", "ssh+git");
    /** Where the {@code -w} config's inline tokens go (a name no environment variable can have). */
    private static final String INLINE = "(inline)";
    private static volatile TokenHosts processWide;

    private final Map<String, Set<String>> byVariable;

    private TokenHosts(Map<String, Set<String>> byVariable) {
        Map<String, Set<String>> copy = new TreeMap<>();
        byVariable.forEach((k, v) -> copy.put(k, Collections.unmodifiableSet(new TreeSet<>(v))));
        this.byVariable = Collections.unmodifiableMap(copy);
    }

    /** No variable may be sent anywhere. */
    public static TokenHosts none() {
        return new TokenHosts(Map.of());
    }

    /** Variable → hosts. */
    public static TokenHosts of(Map<String, ? extends Collection<String>> hosts) {
        Map<String, Set<String>> m = new TreeMap<>();
        hosts.forEach((variable, list) -> list.forEach(h -> m.computeIfAbsent(variable, k -> new TreeSet<>())
                .add(normalizeHost(h))));
        return new TokenHosts(m);
    }

    /** The hosts of the repositories in {@code config} that use each variable; {@code null} gives {@link #none()}. */
    public static TokenHosts fromConfig(WorkspaceConfig config) {
        TokenHosts policy = none();
        if (config == null) {
            return policy;
        }
        for (RepositoryConfig repo : config.repositories()) {
            Optional<String> host = host(repo.url());
            if (repo.auth() != null && host.isPresent()) {
                policy = policy.plus(repo.auth().tokenEnvironmentVariable().orElse(INLINE), host.get());
            }
        }
        return policy;
    }

    /** This policy with {@code variable} also allowed to {@code host}. */
    public TokenHosts plus(String variable, String host) {
        if (variable == null || variable.isBlank()) {
            throw new IllegalArgumentException("token variable is empty");
        }
        Map<String, Set<String>> m = new TreeMap<>();
        byVariable.forEach((k, v) -> m.put(k, new TreeSet<>(v)));
        m.computeIfAbsent(variable, k -> new TreeSet<>()).add(normalizeHost(host));
        return new TokenHosts(m);
    }

    /**
     * Parses {@code VAR=host} (the {@code --token-host} option's value) into this policy.
     *
     * @throws IllegalArgumentException when it is not of that form
     */
    public TokenHosts plus(String assignment) {
        int eq = assignment == null ? -1 : assignment.indexOf('=');
        if (eq <= 0 || eq == assignment.length() - 1) {
            throw new IllegalArgumentException("--token-host wants VAR=host (e.g. GITHUB_TOKEN=github.com), got '"
                    + assignment + "'");
        }
        String variable = assignment.substring(0, eq).trim();
        if (!variable.matches("[A-Za-z_][A-Za-z0-9_]*")) {
            throw new IllegalArgumentException("--token-host: '" + variable + "' is not an environment variable name");
        }
        return plus(variable, assignment.substring(eq + 1).trim());
    }

    /** The hosts {@code variable} may be sent to (empty when none). */
    public Set<String> hostsFor(String variable) {
        return byVariable.getOrDefault(variable, Set.of());
    }

    /** Every host some token may be sent to: where an inline token may go. */
    public Set<String> allHosts() {
        Set<String> all = new TreeSet<>();
        byVariable.values().forEach(all::addAll);
        return all;
    }

    /** Variable → hosts, for logs and tests. */
    public Map<String, Set<String>> asMap() {
        return byVariable;
    }

    /** Whether the credentials {@code auth} may be sent to {@code host}. */
    public boolean allows(GitAuth auth, String host) {
        if (host == null) {
            return false;
        }
        String h = normalizeHost(host);
        return auth.tokenEnvironmentVariable().map(v -> hostsFor(v).contains(h)).orElseGet(() -> allHosts().contains(h));
    }

    /**
     * Refuses {@code repo}'s credentials unless this policy allows them for its host.
     *
     * @param field how to name the repository in the message ({@code repositories[0]})
     * @throws InvalidConfigException naming the field and the option that would allow it
     */
    public void check(RepositoryConfig repo, String field) {
        GitAuth auth = repo.auth();
        if (auth == null) {
            return;
        }
        Optional<String> host = host(repo.url());
        if (host.isEmpty()) {
            throw new InvalidConfigException(field + ".auth: credentials are only sent over the network, and "
                    + field + ".url is a local path");
        }
        if (allows(auth, host.get())) {
            return;
        }
        String h = host.get();
        Optional<String> variable = auth.tokenEnvironmentVariable();
        if (variable.isPresent()) {
            Set<String> allowed = hostsFor(variable.get());
            throw new InvalidConfigException(field + ".auth.token_env: this server sends $" + variable.get() + " "
                    + (allowed.isEmpty() ? "to no host" : "only to " + String.join(", ", allowed))
                    + ", not to " + h + "; the operator allows it with --token-host " + variable.get() + "=" + h);
        }
        Set<String> all = allHosts();
        throw new InvalidConfigException(field + ".auth.token: this server sends inline tokens only to the hosts its "
                + "tokens are configured for (" + (all.isEmpty() ? "none" : String.join(", ", all)) + "), not to " + h
                + "; the operator allows a host with --token-host <VAR>=" + h);
    }

    /**
     * The host a clone URL talks to: {@code https://host/…}, {@code ssh://user@host/…}, {@code git://…} and
     * scp-like {@code user@host:path}; empty for {@code file://} URLs and local paths.
     *
     * @throws InvalidConfigException for a URL with a scheme git cannot use or no host
     */
    public static Optional<String> host(String url) {
        if (url == null) {
            return Optional.empty();
        }
        String u = url.trim();
        Matcher scheme = Pattern.compile("^([A-Za-z][A-Za-z0-9+.-]*)://").matcher(u);
        if (scheme.find()) {
            String s = scheme.group(1).toLowerCase(Locale.ROOT);
            if (s.equals("file")) {
                return Optional.empty();
            }
            if (!REMOTE_SCHEMES.contains(s)) {
                throw new InvalidConfigException("url '" + url + "' has scheme '" + s + "'; use https://, http://, "
                        + "ssh://, git://, user@host:path, or (where the operator allows it) file:// or a local path");
            }
            try {
                String host = new URI(u.replace(" ", "%20")).getHost();
                if (host == null || host.isEmpty()) {
                    throw new InvalidConfigException("url '" + url + "' has no host");
                }
                return Optional.of(normalizeHost(host));
            } catch (URISyntaxException e) {
                throw new InvalidConfigException("url '" + url + "' is not a valid URL: " + e.getReason());
            }
        }
        Matcher scp = SCP_LIKE.matcher(u);
        if (scp.matches() && !u.startsWith("/") && !u.startsWith(".")) {
            return Optional.of(normalizeHost(scp.group(1)));
        }
        return Optional.empty();
    }

    /** Whether {@code url} is a {@code file://} URL or a local path. */
    public static boolean isLocal(String url) {
        return host(url).isEmpty();
    }

    private static String normalizeHost(String host) {
        if (host == null || host.isBlank()) {
            throw new IllegalArgumentException("host is empty");
        }
        String h = host.trim().toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        if (h.contains("/") || h.contains("@")) {
            throw new IllegalArgumentException("'" + host + "' is not a host name");
        }
        return h;
    }

    /**
     * Makes {@code policy} the one {@link GitClient} applies when it hands credentials to JGit, for the whole
     * process (the server installs its policy at start); {@code null} removes it. Without one, a token still only goes
     * to its repository URL's host.
     */
    public static void installProcessWide(TokenHosts policy) {
        processWide = policy;
    }

    /** The process-wide policy, if one is installed. */
    public static Optional<TokenHosts> processWide() {
        return Optional.ofNullable(processWide);
    }

    @Override
    public String toString() {
        return "TokenHosts" + byVariable;
    }
}
