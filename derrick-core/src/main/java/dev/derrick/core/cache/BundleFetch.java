package dev.derrick.core.cache;

import dev.derrick.api.RepositoryFetch;

import java.util.List;

/**
 * The receiving side of a fetch through a {@link GitMirrors mirror}: two small POSIX shell scripts run where the
 * repository is (inside a container), needing only {@code git} there and never a token or network access.
 *
 * <ol>
 *   <li>{@link #STATE_SCRIPT} {@code <repo dir>} prints the checkout's HEAD, its branch and the upstream branch
 *   name, one per line ({@code -} when missing), so the provider knows what to put in the bundle.</li>
 *   <li>{@link #APPLY_SCRIPT} {@code <repo dir> <bundle file> <remote branch>} fetches the bundle into
 *   {@code refs/remotes/origin/<branch>}, removes the bundle, and fast-forwards the checked-out branch when the work
 *   tree has no change to a tracked file and no untracked file where an incoming one goes; it prints
 *   {@code <status> <before> <after> [<remote>]} like {@link RepositoryFetch}.</li>
 * </ol>
 */
public final class BundleFetch {
    /**
     * git without hooks, for a repository owned by another user, and with the cheap stat check: a container started
     * from a committed image sees every file with a new ctime and inode (the layer was unpacked), so git's default
     * check would re-hash the whole work tree on the first status (0.3–0.4 s for 5,000 files / 50 MB). Whole-second
     * mtime and size still catch every edit; files touched in the second the index was written are compared by
     * content (git's racy-clean rule).
     */
    private static final String GIT = "g() { git -c safe.directory='*' -c core.hooksPath=/dev/null"
            + " -c core.checkStat=minimal -c core.trustctime=false \"$@\"; }; ";

    /** Prints HEAD, branch (or -), upstream branch name without {@code origin/} (or -). */
    public static final String STATE_SCRIPT = GIT
            + "cd \"$1\" || exit 2; "
            + "g rev-parse HEAD || exit 3; "
            + "b=$(g symbolic-ref -q --short HEAD) || b=-; echo \"$b\"; "
            + "u=$(g rev-parse -q --abbrev-ref --symbolic-full-name '@{u}' 2>/dev/null) || u=-; "
            + "case \"$u\" in origin/*) echo \"${u#origin/}\";; *) if [ \"$b\" != - ]; then echo \"$b\"; else echo -; fi;; esac";

    /** Applies a bundle and fast-forwards; prints {@code status before after}. */
    public static final String APPLY_SCRIPT = GIT
            + "cd \"$1\" || exit 2; bundle=$2; rb=$3; "
            + "before=$(g rev-parse HEAD) || exit 3; "
            + "g fetch -q \"$bundle\" \"+refs/heads/$rb:refs/remotes/origin/$rb\" || { rm -f \"$bundle\"; exit 4; }; "
            + "rm -f \"$bundle\"; "
            + "if ! g symbolic-ref -q HEAD >/dev/null; then echo \"detached $before $before\"; exit 0; fi; "
            + "up=$(g rev-parse \"refs/remotes/origin/$rb\") || exit 5; "
            + "if [ \"$up\" = \"$before\" ] || g merge-base --is-ancestor \"$up\" HEAD; then echo \"up-to-date $before $before $up\"; exit 0; fi; "
            + "if ! g merge-base --is-ancestor HEAD \"$up\"; then echo \"diverged $before $before $up\"; exit 0; fi; "
            + "if [ -n \"$(g status --porcelain --untracked-files=no)\" ]; then echo \"dirty $before $before $up\"; exit 0; fi; "
            // Untracked files (a build directory, a marker) do not block; git refuses, leaving the tree alone, only
            // when an incoming file would overwrite one.
            + "g merge -q --ff-only \"$up\" >/dev/null 2>&1 || { echo \"dirty $before $(g rev-parse HEAD) $up\"; exit 0; }; "
            + "echo \"fast-forwarded $before $(g rev-parse HEAD) $up\"";

    private BundleFetch() {
    }

    /**
     * What {@link #STATE_SCRIPT} printed.
     *
     * @param head         the checked-out commit
     * @param branch       the branch, or {@code null} when detached
     * @param remoteBranch the upstream branch's name on the remote, or {@code null}
     */
    public record State(String head, String branch, String remoteBranch) {
        public static State parse(String output) {
            List<String> lines = output.strip().lines().map(String::strip).toList();
            if (lines.size() < 3 || !lines.get(0).matches("[0-9a-f]{40,64}")) {
                throw new IllegalArgumentException("unexpected repository state: " + output.strip());
            }
            return new State(lines.get(0), dash(lines.get(1)), dash(lines.get(2)));
        }
    }

    /** Parses {@link #APPLY_SCRIPT}'s line into a {@link RepositoryFetch}. */
    public static RepositoryFetch parseApply(String path, String output) {
        String[] f = output.strip().lines().reduce((a, b) -> b).orElse("").split(" ");
        if (f.length != 3 && f.length != 4) {
            throw new IllegalArgumentException("unexpected fetch result for " + path + ": " + output.strip());
        }
        return new RepositoryFetch(path, f[1], f[2], !f[1].equals(f[2]), f[0], f.length == 4 ? f[3] : null);
    }

    private static String dash(String s) {
        return s.equals("-") ? null : s;
    }
}
