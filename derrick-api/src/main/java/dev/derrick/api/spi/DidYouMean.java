package dev.derrick.api.spi;

import java.util.Collection;
import java.util.Locale;
import java.util.Optional;

/**
 * Suggests the known name closest to a mistyped one, for error messages: {@code refrence} → {@code reference},
 * {@code lcoal} → {@code local}. A name is suggested when its edit distance (insertions, deletions, substitutions and
 * swaps of two neighbours, ignoring case and {@code -}/{@code _}) is at most a third of the longer name, and at
 * least 1… so a guess is offered for typos, not for unrelated words.
 */
public final class DidYouMean {
    private DidYouMean() {
    }

    /**
     * @param typed what was given
     * @param known the names that would have been accepted
     * @return the closest known name, if one is close enough
     */
    public static Optional<String> closest(String typed, Collection<String> known) {
        if (typed == null || known == null) {
            return Optional.empty();
        }
        String a = normalize(typed);
        String best = null;
        int bestDistance = Integer.MAX_VALUE;
        for (String candidate : known) {
            if (candidate == null) {
                continue;
            }
            String b = normalize(candidate);
            int d = distance(a, b);
            int limit = Math.max(1, Math.max(a.length(), b.length()) / 3);
            boolean prefix = a.length() >= 3 && (b.startsWith(a) || a.startsWith(b));
            if ((d <= limit || prefix) && d < bestDistance) {
                best = candidate;
                bestDistance = d;
            }
        }
        return Optional.ofNullable(best);
    }

    /**
     * @param typed what was given
     * @param known the names that would have been accepted
     * @return {@code " (did you mean 'x'?)"}, or {@code ""} when nothing is close
     */
    public static String hint(String typed, Collection<String> known) {
        return closest(typed, known).map(s -> " (did you mean '" + s + "'?)").orElse("");
    }

    private static String normalize(String s) {
        return s.toLowerCase(Locale.ROOT).replace('-', '_');
    }

    /** Optimal string alignment distance (Damerau–Levenshtein without repeated edits of one substring). */
    static int distance(String a, String b) {
        int[][] d = new int[a.length() + 1][b.length() + 1];
        for (int i = 0; i <= a.length(); i++) {
            d[i][0] = i;
        }
        for (int j = 0; j <= b.length(); j++) {
            d[0][j] = j;
        }
        for (int i = 1; i <= a.length(); i++) {
            for (int j = 1; j <= b.length(); j++) {
                int cost = a.charAt(i - 1) == b.charAt(j - 1) ? 0 : 1;
                d[i][j] = Math.min(Math.min(d[i - 1][j] + 1, d[i][j - 1] + 1), d[i - 1][j - 1] + cost);
                if (i > 1 && j > 1 && a.charAt(i - 1) == b.charAt(j - 2) && a.charAt(i - 2) == b.charAt(j - 1)) {
                    d[i][j] = Math.min(d[i][j], d[i - 2][j - 2] + 1);
                }
            }
        }
        return d[a.length()][b.length()];
    }
}
