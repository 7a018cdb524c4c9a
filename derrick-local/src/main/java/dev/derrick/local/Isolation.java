package dev.derrick.local;

import java.util.Locale;

/** How the {@code local} provider isolates a workspace's commands (option {@code isolation}). */
public enum Isolation {
    /** Every command in a bubblewrap sandbox of Linux namespaces; the provider fails to start where that is impossible. */
    SANDBOX,
    /** Commands are plain processes of the provider's user: no isolation at all (a WARN says so at start). */
    NONE,
    /** {@link #SANDBOX} where bubblewrap works, else {@link #NONE}. The default. */
    AUTO;

    /** Parses {@code sandbox}, {@code none} or {@code auto} (any case). */
    public static Isolation parse(String text) {
        try {
            return valueOf(text.trim().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            throw new IllegalArgumentException("option 'isolation' of provider 'local' must be sandbox, none or auto, got '"
                    + text + "'");
        }
    }

    /** The option value. */
    public String value() {
        return name().toLowerCase(Locale.ROOT);
    }
}
