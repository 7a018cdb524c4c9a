package dev.derrick.core.files;

import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.FileListing;
import dev.derrick.api.FileStat;
import dev.derrick.api.FileType;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.WorkspaceFileNotFoundException;

import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.BiFunction;
import java.util.function.UnaryOperator;

/**
 * File operations beyond read and write (stat, recursive list, delete, move, mkdirs) as small POSIX shell scripts
 * run inside the workspace — a docker container, a local sandbox — so that they see exactly what commands see and
 * can reach nothing else: confinement by construction, no check-then-open race on the provider's side. They work
 * with busybox as well as coreutils. Paths travel as environment variables, never inside the script. Links are
 * never followed ({@code stat} without {@code -L}, {@code find} without {@code -L}).
 *
 * <pre>{@code
 * ShellFiles files = new ShellFiles((script, env) -> runInWorkspace(script, env), this::displayPath, id);
 * Optional<FileStat> s = files.stat("/workspace/code/app/README.md");
 * }</pre>
 */
public final class ShellFiles {
    /** Entries a recursive listing collects at most before sorting and cutting to the caller's limit. */
    public static final int MAX_COLLECT = 200_000;
    private static final String STAT_FORMAT = "%F|%s|%a|%Y|%n";
    private static final String STAT = ""
            + "[ -e \"$P\" ] || [ -L \"$P\" ] || exit 3\n"
            + "stat -c '" + STAT_FORMAT + "' -- \"$P\" || exit 1\n"
            + "if [ -L \"$P\" ]; then printf '\\036'; readlink -- \"$P\"; fi\n";
    private static final String LIST = ""
            + "[ -e \"$P\" ] || [ -L \"$P\" ] || exit 3\n"
            + "[ -d \"$P\" ] && [ ! -L \"$P\" ] || exit 4\n"
            + "find \"$P\" -mindepth 1 -maxdepth \"$D\" -exec stat -c '" + STAT_FORMAT + "' -- {} + | head -n \"$N\"\n";
    private static final String DELETE = ""
            + "[ -e \"$P\" ] || [ -L \"$P\" ] || exit 3\n"
            + "if [ -d \"$P\" ] && [ ! -L \"$P\" ]; then\n"
            + "  if [ \"$R\" = 1 ]; then rm -rf -- \"$P\"; else rmdir -- \"$P\" 2>/dev/null || exit 4; fi\n"
            + "else rm -f -- \"$P\"; fi\n";
    private static final String MOVE = ""
            + "[ -e \"$F\" ] || [ -L \"$F\" ] || exit 3\n"
            + "[ -d \"$T\" ] && [ ! -L \"$T\" ] && exit 4\n"
            + "case \"$T/\" in \"$F\"/*) exit 5;; esac\n"
            + "mkdir -p -- \"$(dirname -- \"$T\")\" || exit 6\n"
            + "mv -f -- \"$F\" \"$T\"\n";
    private static final String MKDIRS = ""
            + "[ -d \"$P\" ] && exit 0\n"
            + "mkdir -p -- \"$P\" 2>/dev/null || exit 4\n";

    /**
     * A prelude for workspaces whose commands are not confined (a {@code local} workspace without its sandbox):
     * refuses (exit 8) a path whose parent directory resolves, through links, outside the working directory (the
     * workspace root). Inside a sandbox or a container it changes nothing, since everything there is the workspace.
     */
    public static final String CONFINE_TO_WORKING_DIRECTORY = ""
            + "r=$(pwd -P)\n"
            + "inside() { d=$(dirname -- \"$1\"); x=$(readlink -f -- \"$d\" 2>/dev/null) || return 0;"
            + " case \"$x\" in \"$r\"|\"$r\"/*) return 0;; esac; return 1; }\n"
            + "for v in \"$P\" \"$F\" \"$T\"; do [ -z \"$v\" ] || inside \"$v\" || exit 8; done\n";

    private final BiFunction<String, Map<String, String>, ExecResult> run;
    private final UnaryOperator<String> display;
    private final String workspaceId;
    private final String prelude;

    /**
     * @param run         runs a script in the container with extra environment, returns its result
     * @param display     container path → the path shown to users (relative to the root when under it)
     * @param workspaceId for messages
     */
    public ShellFiles(BiFunction<String, Map<String, String>, ExecResult> run, UnaryOperator<String> display,
                String workspaceId) {
        this(run, display, workspaceId, "");
    }

    /** @param prelude script run before every operation, e.g. {@link #CONFINE_TO_WORKING_DIRECTORY} */
    public ShellFiles(BiFunction<String, Map<String, String>, ExecResult> run, UnaryOperator<String> display,
                      String workspaceId, String prelude) {
        BiFunction<String, Map<String, String>, ExecResult> guarded = prelude.isEmpty() ? run
                : (script, env) -> run.apply(prelude + script, env);
        this.run = (script, env) -> {
            ExecResult r = guarded.apply(script, env);
            if (r.exitCode() == 8) {
                String path = env.getOrDefault("P", env.getOrDefault("F", ""));
                throw new dev.derrick.api.InvalidPathException(display.apply(path), "path '" + display.apply(path) + "' (or its target) leads out of"
                        + " workspace " + workspaceId + " through a symbolic link");
            }
            return r;
        };
        this.display = display;
        this.workspaceId = workspaceId;
        this.prelude = prelude;
    }

    public Optional<FileStat> stat(String abs) {
        ExecResult r = run.apply(STAT, Map.of("P", abs));
        if (r.exitCode() == 3) {
            return Optional.empty();
        }
        check(r, "stat", abs);
        String out = r.stdout();
        String target = null;
        int rs = out.indexOf('\u001e');
        if (rs >= 0) {
            target = strip(out.substring(rs + 1));
            out = out.substring(0, rs);
        }
        FileStat s = parse(strip(out));
        if (s == null) {
            throw new DerrickException("stat of '" + display.apply(abs) + "' gave unexpected output: " + out.strip());
        }
        return Optional.of(new FileStat(s.path(), s.type(), s.size(), s.mode(), s.modified(), target));
    }

    public FileListing list(String abs, int maxDepth, int maxEntries) {
        if (maxDepth < 1 || maxEntries < 1) {
            throw new InvalidConfigException("list: max_depth and max_entries must be at least 1, got " + maxDepth
                    + " and " + maxEntries);
        }
        int collect = (int) Math.min(MAX_COLLECT, (long) maxEntries * 4 + 1);
        ExecResult r = run.apply(LIST, Map.of("P", abs, "D", String.valueOf(maxDepth),
                "N", String.valueOf(collect)));
        if (r.exitCode() == 3) {
            throw new WorkspaceFileNotFoundException(display.apply(abs), "no such directory '" + display.apply(abs)
                    + "' in workspace " + workspaceId);
        }
        if (r.exitCode() == 4) {
            throw new InvalidConfigException("cannot list '" + display.apply(abs) + "': it is not a directory");
        }
        check(r, "list", abs);
        List<FileStat> all = new ArrayList<>();
        for (String line : r.stdout().split("\n")) {
            FileStat s = parse(line);
            if (s != null) {
                all.add(s);
            }
        }
        all.sort(Comparator.comparing(FileStat::path, ShellFiles::depthFirst));
        boolean truncated = all.size() > maxEntries || all.size() >= collect;
        return new FileListing(all.size() > maxEntries ? all.subList(0, maxEntries) : all, truncated);
    }

    public void delete(String abs, boolean recursive) {
        ExecResult r = run.apply(DELETE, Map.of("P", abs, "R", recursive ? "1" : "0"));
        if (r.exitCode() == 3) {
            throw new WorkspaceFileNotFoundException(display.apply(abs), "nothing to delete at '" + display.apply(abs)
                    + "' in workspace " + workspaceId);
        }
        if (r.exitCode() == 4) {
            throw new InvalidConfigException("cannot delete '" + display.apply(abs) + "': the directory is not empty"
                    + " (set recursive to delete it with its contents)");
        }
        check(r, "delete", abs);
    }

    public void move(String from, String to) {
        ExecResult r = run.apply(MOVE, Map.of("F", from, "T", to));
        switch (r.exitCode()) {
            case 3 -> throw new WorkspaceFileNotFoundException(display.apply(from), "nothing to move at '"
                    + display.apply(from) + "' in workspace " + workspaceId);
            case 4 -> throw new InvalidConfigException("cannot move to '" + display.apply(to)
                    + "': a directory is there (give the full new path, not the directory to move into)");
            case 5 -> throw new InvalidConfigException("cannot move '" + display.apply(from) + "' into itself ('"
                    + display.apply(to) + "')");
            case 6 -> throw new InvalidConfigException("cannot move to '" + display.apply(to)
                    + "': its parent cannot be created (a file is in the way)");
            default -> check(r, "move", from);
        }
    }

    public void mkdirs(String abs) {
        ExecResult r = run.apply(MKDIRS, Map.of("P", abs));
        if (r.exitCode() == 4) {
            throw new InvalidConfigException("cannot create directory '" + display.apply(abs)
                    + "': a file is in the way");
        }
        check(r, "mkdirs", abs);
    }

    private void check(ExecResult r, String what, String abs) {
        if (r.exitCode() != 0) {
            throw new DerrickException(what + " of '" + display.apply(abs) + "' in workspace " + workspaceId
                    + " failed (exit code " + r.exitCode() + "): " + strip(r.stderr().isBlank() ? r.stdout() : r.stderr()));
        }
    }

    /** A line {@code type|size|mode|mtime|name}, or {@code null}. */
    private FileStat parse(String line) {
        String[] f = line.split("\\|", 5);
        if (f.length < 5) {
            return null;
        }
        try {
            String t = f[0];
            FileType type = t.startsWith("regular") ? FileType.FILE : t.equals("directory") ? FileType.DIRECTORY
                    : t.equals("symbolic link") ? FileType.SYMLINK : FileType.OTHER;
            long size = type == FileType.DIRECTORY ? 0 : Long.parseLong(f[1]);
            return new FileStat(display.apply(f[4]), type, size, Integer.parseInt(f[2], 8),
                    Instant.ofEpochSecond(Long.parseLong(f[3])), null);
        } catch (NumberFormatException e) {
            return null;
        }
    }

    /** Orders paths so that a directory comes right before its contents, siblings by name. */
    public static int depthFirst(String a, String b) {
        String[] x = a.split("/");
        String[] y = b.split("/");
        for (int i = 0; i < Math.min(x.length, y.length); i++) {
            int c = x[i].compareTo(y[i]);
            if (c != 0) {
                return c;
            }
        }
        return Integer.compare(x.length, y.length);
    }

    private static String strip(String s) {
        return s.strip();
    }
}
