package dev.derrick.core.git;

import dev.derrick.api.GitAuth;
import dev.derrick.api.GitOperationException;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.core.Redactor;
import org.eclipse.jgit.api.errors.TransportException;
import org.junit.jupiter.api.Test;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.UnknownHostException;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * The translation of JGit's failures, on exception chains shaped like JGit's (an unknown host cannot be produced
 * against a real server without DNS; the HTTP, connection and TLS cases run against real servers in GitClientIT).
 */
class GitFailuresTest {
    private static final String TOKEN = "ghp_secret123";
    private final Redactor redactor = new Redactor().add(TOKEN);
    private final RepositoryConfig repo = RepositoryConfig.of("https://git.example.invalid/org/app.git", "code/app")
            .withAuth(GitAuth.fromEnv("GIT_TOKEN"));

    @Test
    void anUnknownHostIsNamedNotHiddenBehindCannotOpenGitUploadPack() {
        Exception jgit = new TransportException("https://git.example.invalid/org/app.git: cannot open git-upload-pack",
                new org.eclipse.jgit.errors.TransportException("cannot open git-upload-pack",
                        new UnknownHostException("git.example.invalid")));

        GitOperationException e = GitFailures.translate("clone", repo, jgit, redactor);

        assertThat(e).hasMessage("git clone of https://git.example.invalid/org/app.git failed: unknown host"
                + " 'git.example.invalid' (the name does not resolve: check the URL, DNS or the network)");
        assertThat(e.authenticationFailed()).isFalse();
        assertThat(e.getCause()).isInstanceOf(TransportException.class);
        assertThat(e.getCause().getCause().getCause()).isInstanceOf(UnknownHostException.class)
                .hasMessage("git.example.invalid");
    }

    @Test
    void theCauseChainIsRedacted() {
        Exception jgit = new TransportException("https://x-access-token:" + TOKEN + "@h/a.git: not authorized",
                new IllegalStateException("token " + TOKEN + " rejected"));

        GitOperationException e = GitFailures.translate("fetch", repo, jgit, redactor);

        StringWriter trace = new StringWriter();
        e.printStackTrace(new PrintWriter(trace));
        assertThat(trace.toString()).doesNotContain(TOKEN).contains("IllegalStateException: token **** rejected");
        assertThat(e.getMessage()).contains("authentication failed (HTTP 401; check the token in $GIT_TOKEN)");
        assertThat(e.getCause().getStackTrace()).isEqualTo(jgit.getStackTrace());
    }

    @Test
    void aTypeWithoutAMessageConstructorIsStoodInForByName() {
        Exception odd = new TransportException("boom", new java.io.UncheckedIOException(new java.io.IOException("disk " + TOKEN)));

        Throwable copy = GitFailures.sanitize(odd, redactor);

        assertThat(copy.getCause()).isInstanceOf(GitFailures.RedactedCause.class)
                .hasToString("java.io.UncheckedIOException: java.io.IOException: disk ****");
        assertThat(copy.getCause().getCause()).isInstanceOf(java.io.IOException.class).hasMessage("disk ****");
    }
}
