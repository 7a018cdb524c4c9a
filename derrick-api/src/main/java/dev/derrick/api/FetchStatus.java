package dev.derrick.api;

import java.util.Locale;

/**
 * How a repository compared with its remote at a fetch ({@link RepositoryFetch#fetchStatus()}). Each has a stable
 * wire name ({@link #wireName()}), the string {@link RepositoryFetch#status()} holds and JSON carries.
 */
public enum FetchStatus {
    /** Just cloned by the create: nothing to compare yet. */
    CLONED,
    /** The checkout already is at the remote's commit. */
    UP_TO_DATE,
    /** The checkout moved forward to the remote's commit. */
    FAST_FORWARDED,
    /**
     * New commits were fetched but the work tree was left alone: a local change to a tracked file, or an untracked
     * file where an incoming commit adds one.
     */
    DIRTY,
    /** The local branch has commits the remote does not: nothing was moved. */
    DIVERGED,
    /** No branch is checked out (a detached HEAD): nothing was moved. */
    DETACHED;

    /** The name on the wire and in {@link RepositoryFetch#status()}: {@code up-to-date}, {@code fast-forwarded}, … */
    public String wireName() {
        return name().toLowerCase(Locale.ROOT).replace('_', '-');
    }

    /**
     * The status of a wire name.
     *
     * @throws IllegalArgumentException for a name that is none of these
     */
    public static FetchStatus fromWireName(String name) {
        for (FetchStatus s : values()) {
            if (s.wireName().equals(name)) {
                return s;
            }
        }
        throw new IllegalArgumentException("unknown fetch status '" + name + "'");
    }

    @Override
    public String toString() {
        return wireName();
    }
}
