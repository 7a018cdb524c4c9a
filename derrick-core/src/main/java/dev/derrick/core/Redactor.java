package dev.derrick.core;

import java.util.Comparator;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Removes secrets from text before it reaches a log line, an exception message or an API response: every secret
 * registered with {@link #add(String)} (git tokens, the API token) and any {@code user:password@} in a URL.
 *
 * <p>One instance per provider or server; no JVM-wide registry.
 */
public final class Redactor {
    /** What a secret is replaced with. */
    public static final String MASK = "****";
    private static final Pattern URL_USERINFO = Pattern.compile("(?i)\\b([a-z][a-z0-9+.-]*://)[^/@\\s]+@");
    /** Secrets shorter than this are too likely to match ordinary text to be masked everywhere. */
    private static final int MIN_SECRET_LENGTH = 4;

    private final List<String> secrets = new CopyOnWriteArrayList<>();

    /** Remembers a secret to mask from now on; null, blank and very short values are ignored. */
    public Redactor add(String secret) {
        if (secret != null && secret.strip().length() >= MIN_SECRET_LENGTH && !secrets.contains(secret)) {
            secrets.add(secret);
            // Longest first, so a secret that contains another is masked whole.
            secrets.sort(Comparator.comparingInt(String::length).reversed());
        }
        return this;
    }

    /** The text with every known secret and every URL's credentials masked. {@code null} stays {@code null}. */
    public String redact(String text) {
        if (text == null || text.isEmpty()) {
            return text;
        }
        String result = redactUrls(text);
        for (String secret : secrets) {
            if (result.contains(secret)) {
                result = result.replace(secret, MASK);
            }
        }
        return result;
    }

    /** The text with {@code scheme://user:password@} reduced to {@code scheme://****@}. */
    public static String redactUrls(String text) {
        if (text == null || text.indexOf('@') < 0) {
            return text;
        }
        Matcher m = URL_USERINFO.matcher(text);
        return m.replaceAll(mr -> Matcher.quoteReplacement(mr.group(1) + MASK + "@"));
    }
}
