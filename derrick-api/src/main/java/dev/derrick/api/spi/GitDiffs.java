package dev.derrick.api.spi;

import dev.derrick.api.ChangeKind;
import dev.derrick.api.ChangedFile;
import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecRequest;
import dev.derrick.api.ExecResult;
import dev.derrick.api.RepositoryDiff;
import dev.derrick.api.RepositoryState;
import dev.derrick.api.Workspace;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.regex.Pattern;

/**
 * The per-repository part of {@link Workspace#diff()} for any provider that can run commands: one command in the
 * workspace runs {@code git} (so it needs {@code git} there — a {@code local} sandbox sees the host's, a
 * {@code docker} image needs its own) and, per repository, stages the work tree into a throw-away index
 * ({@code git add -A}: untracked files included, ignored ones not; the repository's own index and HEAD are left as
 * they are, apart from {@code update-index --refresh} updating cached file stats) and diffs it against the clean
 * state's commit with {@code --binary --full-index}, so that {@code git apply} on a checkout of that commit gives
 * the same tree.
 *
 * <p>It runs inside the workspace, with the workspace's own rights: a repository's {@code .git/config} can only
 * affect what the workspace could do anyway. Options that would change the patch's format are overridden on the
 * command line.
 *
 * <pre>{@code
 * @Override
 * public WorkspaceDiff diff() {
 *     return new WorkspaceDiff(GitDiffs.repositories(this, info().repositories()), List.of(), false);
 * }
 * }</pre>
 */
public final class GitDiffs {
    /** How long the diff command may run. */
    public static final Duration TIMEOUT = Duration.ofMinutes(2);
    private static final Pattern COMMIT = Pattern.compile("[0-9a-f]{40}([0-9a-f]{24})?");

    private GitDiffs() {
    }

    /**
     * Diffs every repository in one command.
     *
     * @param workspace    where to run git
     * @param repositories the repositories with the clean state's commit ({@link RepositoryState#commit()})
     * @throws DerrickException when git is missing in the workspace, a repository is gone or broken, or the diff
     *                          is larger than the provider's output cap (the message says which)
     */
    public static List<RepositoryDiff> repositories(Workspace workspace, List<RepositoryState> repositories) {
        if (repositories.isEmpty()) {
            return List.of();
        }
        String marker = "\u001ederrick-diff-" + UUID.randomUUID() + ":";
        ExecResult r = workspace.exec(ExecRequest.of(script(marker, repositories)).withTimeout(TIMEOUT));
        if (r.truncated()) {
            throw new DerrickException("diff of workspace " + workspace.id() + " is larger than the provider's output"
                    + " cap; diff fewer changes (e.g. add build output to .gitignore) or read the files instead");
        }
        if (r.exitCode() == 127 || r.stdout().contains(marker + "nogit")) {
            throw new DerrickException("diff needs git in the workspace, and workspace " + workspace.id()
                    + " has none on its PATH (for docker, use an image with git)");
        }
        return parse(marker, r, repositories);
    }

    static String script(String marker, List<RepositoryState> repositories) {
        StringBuilder s = new StringBuilder();
        s.append("m=").append(quote(marker)).append('\n')
                .append("command -v git >/dev/null 2>&1 || { printf '%snogit\\n' \"$m\"; exit 0; }\n")
                .append("g() { git -c safe.directory='*' -c core.quotepath=false -c diff.noprefix=false"
                        + " -c diff.mnemonicprefix=false -c core.autocrlf=false -c core.safecrlf=false"
                        + " -c color.ui=never \"$@\"; }\n")
                .append("top=$(pwd)\n")
                .append("one() {\n")
                .append("  cd \"$top\" && cd -- \"$1\" 2>/dev/null || { printf '%serror\\nno directory %s\\n' \"$m\" \"$1\"; return; }\n")
                .append("  gd=$(g rev-parse --absolute-git-dir 2>/dev/null) && [ \"$(g rev-parse --show-prefix)\" = '' ]"
                        + " || { printf '%serror\\nnot the top of a git repository: %s\\n' \"$m\" \"$1\"; return; }\n")
                .append("  idx=\"$gd/derrick-diff-index.$$\"\n")
                .append("  g update-index -q --refresh >/dev/null 2>&1\n")
                .append("  if [ -f \"$gd/index\" ]; then cp \"$gd/index\" \"$idx\" || return; else rm -f \"$idx\"; fi\n")
                .append("  if ! err=$(GIT_INDEX_FILE=\"$idx\" g add -A . 2>&1 >/dev/null); then rm -f \"$idx\";"
                        + " printf '%serror\\ngit add failed: %s\\n' \"$m\" \"$err\"; return; fi\n")
                .append("  printf '%sfiles\\n' \"$m\"; GIT_INDEX_FILE=\"$idx\" g diff --cached --no-renames"
                        + " --raw --numstat -z \"$2\" --\n")
                .append("  printf '\\n%spatch\\n' \"$m\"; GIT_INDEX_FILE=\"$idx\" g diff --cached --no-renames --binary"
                        + " --full-index --no-color --no-ext-diff --no-textconv --src-prefix=a/ --dst-prefix=b/"
                        + " \"$2\" -- 2>&1\n")
                .append("  rc=$?; rm -f \"$idx\"; printf '\\n%send %s\\n' \"$m\" \"$rc\"\n")
                .append("}\n");
        for (RepositoryState repo : repositories) {
            String commit = repo.commit() == null ? "" : repo.commit();
            if (!COMMIT.matcher(commit).matches()) {
                throw new DerrickException("cannot diff repository " + repo.path() + ": its clean state has no commit"
                        + " id (got '" + commit + "')");
            }
            String path = repo.path().replaceAll("^/+", "");
            s.append("printf '%srepo\\n' \"$m\"; one ").append(quote(path.isEmpty() ? "." : path)).append(' ')
                    .append(commit).append('\n');
        }
        return s.toString();
    }

    static List<RepositoryDiff> parse(String marker, ExecResult r, List<RepositoryState> repositories) {
        String[] parts = r.stdout().split(Pattern.quote(marker), -1);
        List<RepositoryDiff> out = new ArrayList<>();
        int i = 1;
        for (RepositoryState repo : repositories) {
            if (i >= parts.length || !parts[i].startsWith("repo\n")) {
                throw new DerrickException("diff of repository " + repo.path() + " failed: unexpected output from git"
                        + (r.stderr().isBlank() ? " (exit code " + r.exitCode() + ")" : ": " + firstLine(r.stderr())));
            }
            i++;
            Map<String, String> sections = new LinkedHashMap<>();
            while (i < parts.length && !parts[i].startsWith("repo\n")) {
                String p = parts[i++];
                int nl = p.indexOf('\n');
                String name = nl < 0 ? p : p.substring(0, nl);
                String body = nl < 0 ? "" : p.substring(nl + 1);
                if (name.startsWith("end ")) {
                    if (!name.equals("end 0")) {
                        throw new DerrickException("diff of repository " + repo.path() + " failed: git diff exited with"
                                + " code " + name.substring(4) + ": " + firstLine(sections.getOrDefault("patch", "")));
                    }
                    continue;
                }
                sections.put(name, body);
            }
            if (sections.containsKey("error")) {
                throw new DerrickException("diff of repository " + repo.path() + " failed: "
                        + firstLine(sections.get("error")));
            }
            out.add(new RepositoryDiff(repo.path().replaceAll("^/+", ""), repo.commit(),
                    stripLastNewline(sections.getOrDefault("patch", "")),
                    files(chop(sections.getOrDefault("files", "")))));
        }
        return out;
    }

    /**
     * {@code --raw --numstat -z} output: raw entries {@code ":<mode> <mode> <id> <id> <status>\0<path>\0"}, then
     * numstat entries {@code "<added>\t<deleted>\t<path>\0"}, where binary files have {@code -} for both counts.
     */
    static List<ChangedFile> files(String out) {
        Set<String> binary = new HashSet<>();
        Map<String, ChangeKind> kinds = new LinkedHashMap<>();
        String[] tokens = out.split("\0");
        for (int t = 0; t < tokens.length; t++) {
            String token = tokens[t];
            if (token.startsWith(":") && t + 1 < tokens.length) {
                String status = token.substring(token.lastIndexOf(' ') + 1);
                ChangeKind kind = status.startsWith("A") ? ChangeKind.ADDED
                        : status.startsWith("D") ? ChangeKind.DELETED : ChangeKind.MODIFIED;
                kinds.put(tokens[++t], kind);
            } else if (token.startsWith("-\t-\t")) {
                binary.add(token.substring(4));
            }
        }
        List<ChangedFile> files = new ArrayList<>();
        kinds.forEach((path, kind) -> files.add(new ChangedFile(path, kind, binary.contains(path))));
        files.sort(Comparator.comparing(ChangedFile::path));
        return files;
    }

    /** The section without the newline the script printed before the next marker. */
    private static String chop(String s) {
        return s.endsWith("\n") ? s.substring(0, s.length() - 1) : s;
    }

    private static String stripLastNewline(String s) {
        // the script prints "\n" before the end marker; git's own output ends with "\n" already
        return s.endsWith("\n\n") ? s.substring(0, s.length() - 1) : s.equals("\n") ? "" : s;
    }

    private static String firstLine(String s) {
        String t = s.strip();
        int nl = t.indexOf('\n');
        return nl < 0 ? t : t.substring(0, nl);
    }

    private static String quote(String s) {
        return "'" + s.replace("'", "'\\''") + "'";
    }
}
