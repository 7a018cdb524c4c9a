package dev.derrick.core.git;

import dev.derrick.api.GitAuth;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.core.Redactor;
import org.eclipse.jgit.api.TransportCommand;
import org.eclipse.jgit.errors.UnsupportedCredentialItem;
import org.eclipse.jgit.transport.CredentialItem;
import org.eclipse.jgit.transport.TransportHttp;
import org.eclipse.jgit.transport.URIish;
import org.eclipse.jgit.transport.UsernamePasswordCredentialsProvider;
import org.eclipse.jgit.transport.http.HttpConnection;
import org.eclipse.jgit.transport.http.HttpConnectionFactory;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.net.Proxy;
import java.net.URL;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A repository's credentials as JGit gets them: handed out only when JGit asks for the repository URL's own host,
 * and, over HTTP, no connection at all to another host while they are in play (a redirect elsewhere fails instead
 * of carrying an {@code Authorization} header there). Built by {@link #forRepository}, which also applies the
 * {@linkplain TokenHosts#processWide() process-wide policy}.
 */
public final class HostBoundCredentials extends UsernamePasswordCredentialsProvider {
    private static final Logger LOG = LoggerFactory.getLogger(HostBoundCredentials.class);
    private final String host;
    private final String repository;
    private final AtomicInteger refused = new AtomicInteger();

    private HostBoundCredentials(String username, String token, String host, String repository) {
        super(username, token);
        this.host = host;
        this.repository = repository;
    }

    /**
     * The credentials of {@code repo}, or {@code null} when it has none.
     *
     * @return {@code null} also for a local repository ({@code file://} or a path): credentials only go over the
     *         network
     * @throws InvalidConfigException when the process-wide policy does not allow the repository's host, or the token
     *                                variable is not set
     */
    public static HostBoundCredentials forRepository(RepositoryConfig repo, Map<String, String> providerEnvironment,
                                                     Redactor redactor) {
        GitAuth auth = repo.auth();
        if (auth == null) {
            return null;
        }
        String url = Redactor.redactUrls(repo.url());
        java.util.Optional<String> remote = TokenHosts.host(repo.url());
        if (remote.isEmpty()) {
            return null;
        }
        String host = remote.get();
        TokenHosts.processWide().ifPresent(policy -> policy.check(repo, "repository " + repo.path()));
        String token = auth.resolveToken(providerEnvironment);
        redactor.add(token);
        return new HostBoundCredentials(auth.username(), token, host, url);
    }

    @Override
    public boolean get(URIish uri, CredentialItem... items) throws UnsupportedCredentialItem {
        if (!allowed(uri == null ? null : uri.getHost())) {
            refused.incrementAndGet();
            LOG.warn("not sending the credentials of {} to {}: they are only sent to {}", repository,
                    uri == null ? "an unknown host" : uri.getHost(), host);
            return false;
        }
        return super.get(uri, items);
    }

    /** How often credentials were asked for another host and refused. */
    public int refusals() {
        return refused.get();
    }

    private boolean allowed(String other) {
        if (other == null) {
            return false;
        }
        String h = other.toLowerCase(Locale.ROOT);
        if (h.startsWith("[") && h.endsWith("]")) {
            h = h.substring(1, h.length() - 1);
        }
        return h.equals(host);
    }

    /**
     * Sets these credentials on {@code command} and keeps its HTTP connections to the repository's host. They go
     * only in answer to a challenge (a 401), never preemptively: preemptive Basic authentication would spare a round
     * trip (≈ 2 ms per clone, fetch or ls-remote here) but hand the token, unasked, to whatever answers on that host —
     * another port, a redirect (TokenPolicyIT's redirector must never see it).
     */
    public <C extends TransportCommand<C, ?>> C applyTo(C command) {
        command.setCredentialsProvider(this);
        command.setTransportConfigCallback(transport -> {
            if (transport instanceof TransportHttp http) {
                HttpConnectionFactory inner = http.getHttpConnectionFactory();
                http.setHttpConnectionFactory(new HttpConnectionFactory() {
                    @Override
                    public HttpConnection create(URL url) throws IOException {
                        check(url);
                        return inner.create(url);
                    }

                    @Override
                    public HttpConnection create(URL url, Proxy proxy) throws IOException {
                        check(url);
                        return inner.create(url, proxy);
                    }
                });
            }
        });
        return command;
    }

    private void check(URL url) throws IOException {
        if (!allowed(url.getHost())) {
            refused.incrementAndGet();
            LOG.warn("refusing to connect to {} with the credentials of {}: they are only sent to {}", url.getHost(),
                    repository, host);
            throw new IOException("refusing to connect to " + url.getHost() + " with the credentials of " + repository
                    + ": they are only sent to " + host + " (a redirect to another host?)");
        }
    }
}
