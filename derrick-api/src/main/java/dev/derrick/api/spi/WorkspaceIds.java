package dev.derrick.api.spi;

import java.security.SecureRandom;
import java.util.HexFormat;
import java.util.regex.Pattern;

/**
 * The one shape of a workspace id, in every provider: {@code <provider>-<12 lowercase hex digits>}, e.g.
 * {@code local-3f9c0a1b2d4e} or {@code docker-0b1c2d3e4f5a} — safe in a URL path, a NATS subject, a file and a
 * container name, and telling at a glance which backend holds it. A remote provider hands out the id of the backend
 * that runs the workspace. The TCK checks ids against {@link #PATTERN}.
 */
public final class WorkspaceIds {
    /** What every workspace id matches. */
    public static final Pattern PATTERN = Pattern.compile("[a-z][a-z0-9_]{0,31}-[0-9a-f]{12}");
    private static final SecureRandom RANDOM = new SecureRandom();

    private WorkspaceIds() {
    }

    /**
     * @param provider the provider's name ({@code local}, {@code docker}, …)
     * @return a new random id for a workspace of that provider
     */
    public static String newId(String provider) {
        byte[] bytes = new byte[6];
        RANDOM.nextBytes(bytes);
        String id = provider + "-" + HexFormat.of().formatHex(bytes);
        if (!PATTERN.matcher(id).matches()) {
            throw new IllegalArgumentException("not a provider name for workspace ids: '" + provider + "'");
        }
        return id;
    }

    /** @return whether {@code id} has the shape of a workspace id */
    public static boolean isValid(String id) {
        return id != null && PATTERN.matcher(id).matches();
    }
}
