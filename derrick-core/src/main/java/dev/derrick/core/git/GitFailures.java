package dev.derrick.core.git;

import dev.derrick.api.GitOperationException;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.core.Redactor;
import org.eclipse.jgit.errors.NoRemoteRepositoryException;

import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import java.security.cert.CertPathValidatorException;
import java.security.cert.CertificateException;
import java.util.IdentityHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import javax.net.ssl.SSLException;

/**
 * Turns a JGit failure into a {@link GitOperationException} whose message names the real cause — "cannot open
 * git-upload-pack" says nothing; an unknown host, a refused connection, a TLS failure, HTTP 401/403/404 do — without
 * a token, and whose cause chain is a redacted copy of the original one (same exception types where they can be
 * rebuilt from a message, the original stack traces, every message passed through the {@link Redactor}).
 */
public final class GitFailures {
    private static final Pattern STATUS = Pattern.compile("\\b(401|403|404)\\b");

    private GitFailures() {
    }

    /**
     * @param what     {@code clone} or {@code fetch}
     * @param repo     the repository (its URL is shown without credentials)
     * @param e        what JGit threw
     * @param redactor masks every token the provider knows
     */
    public static GitOperationException translate(String what, RepositoryConfig repo, Throwable e, Redactor redactor) {
        String url = redactor.redact(Redactor.redactUrls(repo.url()));
        String prefix = "git " + what + " of " + url + " failed: ";
        Throwable cause = sanitize(e, redactor);
        String all = redactor.redact(messages(e));
        String lower = all.toLowerCase(Locale.ROOT);

        UnknownHostException unknownHost = find(e, UnknownHostException.class);
        if (unknownHost != null) {
            return new GitOperationException(prefix + "unknown host '" + redactor.redact(firstWord(unknownHost.getMessage()))
                    + "' (the name does not resolve: check the URL, DNS or the network)", false, cause);
        }
        ConnectException refused = find(e, ConnectException.class);
        if (refused != null || find(e, NoRouteToHostException.class) != null) {
            return new GitOperationException(prefix + "cannot connect (" + redactor.redact(String.valueOf(
                    (refused != null ? refused : find(e, NoRouteToHostException.class)).getMessage()))
                    + "): is the server up and the port right?", false, cause);
        }
        if (find(e, SocketTimeoutException.class) != null) {
            return new GitOperationException(prefix + "timed out talking to the server ("
                    + redactor.redact(String.valueOf(find(e, SocketTimeoutException.class).getMessage())) + ")", false, cause);
        }
        SSLException tls = find(e, SSLException.class);
        if (tls != null || find(e, CertPathValidatorException.class) != null || find(e, CertificateException.class) != null) {
            Throwable t = tls != null ? tls : find(e, CertPathValidatorException.class) != null
                    ? find(e, CertPathValidatorException.class) : find(e, CertificateException.class);
            return new GitOperationException(prefix + "TLS failure (" + redactor.redact(rootMessage(t))
                    + "): the server's certificate is not trusted, or it does not speak TLS on that port", false, cause);
        }
        Matcher status = STATUS.matcher(all);
        boolean unauthorized = lower.contains("not authorized") || lower.contains("authentication is required")
                || lower.contains("credentialsprovider") || (status.find() && status.group(1).equals("401"));
        boolean forbidden = lower.contains("403") || lower.contains("forbidden") || lower.contains("not permitted");
        if (unauthorized || forbidden) {
            String code = forbidden && !unauthorized ? "HTTP 403" : "HTTP 401";
            String hint = repo.auth() == null ? "the repository needs credentials: add 'auth' with 'token_env'"
                    : forbidden && !unauthorized ? "the token was accepted but may not read this repository"
                    : "check the token" + repo.auth().tokenEnvironmentVariable().map(v -> " in $" + v).orElse("");
            return new GitOperationException(prefix + "authentication failed (" + code + "; " + hint + ")", true, cause);
        }
        if (find(e, NoRemoteRepositoryException.class) != null || lower.contains("404") || lower.contains("not found")) {
            return new GitOperationException(prefix + "repository or reference not found ("
                    + (lower.contains("404") ? "HTTP 404; " : "") + redactor.redact(rootMessage(e)) + ")", false, cause);
        }
        return new GitOperationException(prefix + redactor.redact(rootMessage(e)), false, cause);
    }

    /** Every message of the chain, joined: the status code may be in any of them. */
    private static String messages(Throwable e) {
        StringBuilder sb = new StringBuilder();
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        for (Throwable t = e; t != null && seen.put(t, true) == null; t = t.getCause()) {
            sb.append(t.getClass().getSimpleName()).append(": ").append(t.getMessage()).append(" | ");
        }
        return sb.toString();
    }

    /** The deepest message of the chain, which is usually the one that says what happened. */
    static String rootMessage(Throwable e) {
        String message = null;
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        for (Throwable t = e; t != null && seen.put(t, true) == null; t = t.getCause()) {
            if (t.getMessage() != null && !t.getMessage().isBlank()) {
                message = t.getMessage();
            }
        }
        return message == null ? e.getClass().getSimpleName() : message.lines().findFirst().orElse(message);
    }

    private static <T extends Throwable> T find(Throwable e, Class<T> type) {
        Map<Throwable, Boolean> seen = new IdentityHashMap<>();
        for (Throwable t = e; t != null && seen.put(t, true) == null; t = t.getCause()) {
            if (type.isInstance(t)) {
                return type.cast(t);
            }
        }
        return null;
    }

    private static String firstWord(String s) {
        if (s == null) {
            return "?";
        }
        String t = s.strip();
        int sp = t.indexOf(' ');
        int colon = t.indexOf(':');
        int end = sp < 0 ? t.length() : sp;
        if (colon > 0 && colon < end) {
            end = colon;
        }
        return t.substring(0, end);
    }

    /**
     * A copy of the cause chain with every message redacted: the same exception type when it has a public
     * {@code (String)} constructor, else a {@link RedactedCause} naming the original type; stack traces kept.
     */
    static Throwable sanitize(Throwable e, Redactor redactor) {
        return sanitize(e, redactor, new IdentityHashMap<>(), 0);
    }

    private static Throwable sanitize(Throwable e, Redactor redactor, Map<Throwable, Boolean> seen, int depth) {
        if (e == null || seen.put(e, true) != null || depth > 20) {
            return null;
        }
        String message = e.getMessage() == null ? null : redactor.redact(Redactor.redactUrls(e.getMessage()));
        Throwable copy = null;
        try {
            copy = e.getClass().getConstructor(String.class).newInstance(message);
        } catch (ReflectiveOperationException | RuntimeException | LinkageError ignored) {
            // no (String) constructor: fall back to a named stand-in
        }
        if (copy == null || !e.getClass().equals(copy.getClass())) {
            copy = new RedactedCause(e.getClass().getName(), message);
        }
        copy.setStackTrace(e.getStackTrace());
        Throwable next = sanitize(e.getCause(), redactor, seen, depth + 1);
        if (next != null) {
            try {
                copy.initCause(next);
            } catch (IllegalStateException alreadySet) {
                // a constructor that set its own cause: keep the chain as it is
            }
        }
        return copy;
    }

    /** Stands for an exception of a type that cannot be rebuilt from its message; shows the original type. */
    public static final class RedactedCause extends Exception {
        private static final long serialVersionUID = 1L;
        private final String originalType;

        RedactedCause(String originalType, String message) {
            super(message);
            this.originalType = originalType;
        }

        /** @return the class name of the exception this stands for */
        public String originalType() {
            return originalType;
        }

        @Override
        public String toString() {
            return originalType + (getMessage() == null ? "" : ": " + getMessage());
        }
    }
}
