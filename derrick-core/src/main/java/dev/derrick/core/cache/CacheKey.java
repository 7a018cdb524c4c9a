package dev.derrick.core.cache;

import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.WorkspaceConfig;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * The identity of a cache entry: a SHA-256 over everything that shaped a workspace's clean state.
 *
 * <p>Hashed, in this order, each field as a 4-byte big-endian length followed by its UTF-8 bytes (a missing value is
 * length {@code -1}), after the marker {@code derrick-cache-key/v1}:
 * <ol>
 *     <li>the backend name ({@code local}, {@code docker}, …)</li>
 *     <li>the image ({@code null} for backends without one)</li>
 *     <li>the number of repositories, then for each in config order: url, path (normalized), reference — never the
 *     commit it resolved to, so a moved branch keeps its entry and is brought up to date by fetching</li>
 *     <li>the setup script</li>
 *     <li>the config's env, sorted by name: the count, then name and value of each</li>
 *     <li>only when the setup phase has no network ({@code "network": "off"} or {@code {"setup": "off"}}): the
 *     field {@code network.setup=off} — a setup script without network may leave another state; keys of configs with
 *     network during setup (the default) are unchanged by this field's introduction</li>
 * </ol>
 * Not in the key: the config's name (two configs that differ only in name share a state), credentials (a rotated
 * token keeps the entry), {@code update_script} and {@code cache_key_files} (they act after the clean state), the
 * commands phase's network (it does not shape the clean state). The
 * encoding is part of the on-disk format: change it only together with the marker's version.
 *
 * @param hex the 64 lowercase hex digits
 */
public record CacheKey(String hex) {
    private static final String MARKER = "derrick-cache-key/v1";

    public CacheKey {
        Objects.requireNonNull(hex, "hex");
        if (!hex.matches("[0-9a-f]{64}")) {
            throw new IllegalArgumentException("not a cache key: '" + hex + "'");
        }
    }

    /** The key of {@code config} for a backend. */
    public static CacheKey of(String backend, WorkspaceConfig config) {
        Objects.requireNonNull(backend, "backend");
        Objects.requireNonNull(config, "config");
        MessageDigest digest = sha256();
        put(digest, MARKER);
        put(digest, backend);
        put(digest, config.image());
        putInt(digest, config.repositories().size());
        for (RepositoryConfig repo : config.repositories()) {
            put(digest, repo.url());
            put(digest, repo.path());
            put(digest, repo.reference());
        }
        put(digest, config.setupScript());
        Map<String, String> env = new TreeMap<>(config.env());
        putInt(digest, env.size());
        env.forEach((k, v) -> {
            put(digest, k);
            put(digest, v);
        });
        if (!config.network().setup()) {
            put(digest, "network.setup=off");
        }
        return new CacheKey(HexFormat.of().formatHex(digest.digest()));
    }

    /** Whether {@code text} is a full key. */
    public static boolean isKey(String text) {
        return text != null && text.matches("[0-9a-f]{64}");
    }

    /** The first 12 hex digits, for image tags and log lines. */
    public String shortHex() {
        return hex.substring(0, 12);
    }

    @Override
    public String toString() {
        return shortHex();
    }

    private static void put(MessageDigest digest, String value) {
        if (value == null) {
            putInt(digest, -1);
            return;
        }
        byte[] bytes = value.getBytes(StandardCharsets.UTF_8);
        putInt(digest, bytes.length);
        digest.update(bytes);
    }

    private static void putInt(MessageDigest digest, int value) {
        digest.update(new byte[]{(byte) (value >>> 24), (byte) (value >>> 16), (byte) (value >>> 8), (byte) value});
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JVM", e);
        }
    }
}
