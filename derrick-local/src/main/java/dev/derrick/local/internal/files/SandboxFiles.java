package dev.derrick.local.internal.files;

import dev.derrick.api.DerrickException;
import dev.derrick.api.FileEntry;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.WorkspaceFileNotFoundException;
import dev.derrick.api.WorkspacePaths;
import dev.derrick.local.internal.sandbox.Launch;
import dev.derrick.local.internal.sandbox.Sandbox;
import dev.derrick.local.internal.sandbox.SandboxProcess;
import dev.derrick.local.internal.sandbox.SandboxRunner;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.function.Supplier;

/**
 * File operations done inside the workspace's sandbox, as the sandbox user, with {@code cat}, {@code mkdir} and
 * {@code find}: a path can only ever lead to what a command of the workspace could reach itself — symbolic links,
 * swapped or not, are followed inside the sandbox's mount namespace, where the host is not — and what only root may
 * read on the host is unreadable here too. No check-then-open in the provider.
 */
public final class SandboxFiles implements WorkspaceFiles {
    /** Exit codes of the scripts below. */
    private static final int MISSING = 44;
    private static final int IS_DIRECTORY = 45;
    private static final int NOT_DIRECTORY = 46;
    private static final Duration LIMIT = Duration.ofMinutes(5);

    private static final String READ = "p=$1; if [ -d \"$p\" ]; then exit 45; fi; if [ ! -e \"$p\" ]; then exit 44; fi; exec cat -- \"$p\"";
    private static final String WRITE = "p=$1; if [ -d \"$p\" ]; then exit 45; fi; d=${p%/*}; [ -n \"$d\" ] || d=/; "
            + "if [ ! -d \"$d\" ]; then mkdir -p -- \"$d\" || exit 1; fi; exec cat > \"$p\"";
    private static final String LIST = "p=$1; if [ ! -e \"$p\" ]; then exit 44; fi; if [ ! -d \"$p\" ]; then exit 46; fi; "
            + "cd -- \"$p\" || exit 1; exec find . -mindepth 1 -maxdepth 1 -printf '%y %s %f\\0'";
    private static final String IS_DIR = "[ -d \"$1\" ]";

    private final String id;
    private final Supplier<Sandbox> sandbox;
    private final Map<String, String> environment;

    /**
     * @param id          the workspace id (for messages)
     * @param sandbox     the workspace's current sandbox (it changes on reset)
     * @param environment environment of the helper commands
     */
    public SandboxFiles(String id, Supplier<Sandbox> sandbox, Map<String, String> environment) {
        this.id = id;
        this.sandbox = sandbox;
        this.environment = Map.copyOf(environment);
    }

    /** The sandbox path of an API path: "/" + the normalized path (".." may not climb out). */
    public static String sandboxPath(String path, String what) {
        return "/" + WorkspacePaths.normalizeRelative(path == null ? "" : path, what);
    }

    @Override
    public byte[] read(String path) {
        String p = sandboxPath(path, "path");
        Result r = run(READ, p, null);
        switch (r.exit) {
            case 0 -> {
                return r.stdout;
            }
            case MISSING -> throw new WorkspaceFileNotFoundException(path, "no such file '" + path + "' in workspace " + id);
            case IS_DIRECTORY -> throw new InvalidConfigException("'" + path + "' is a directory in workspace " + id + ", not a file");
            default -> throw failure("read", path, r);
        }
    }

    @Override
    public void write(String path, byte[] content) {
        String p = sandboxPath(path, "path");
        if (p.equals("/")) {
            throw new InvalidConfigException("cannot write to the workspace root itself; give a file path");
        }
        Result r = run(WRITE, p, content);
        switch (r.exit) {
            case 0 -> {
            }
            case IS_DIRECTORY -> throw new InvalidConfigException("'" + path + "' is a directory in workspace " + id + ", not a file");
            default -> throw failure("write", path, r);
        }
    }

    @Override
    public List<FileEntry> list(String path) {
        String p = sandboxPath(path, "path");
        Result r = run(LIST, p, null);
        switch (r.exit) {
            case 0 -> {
            }
            case MISSING -> throw new WorkspaceFileNotFoundException(path, "no such directory '" + path + "' in workspace " + id);
            case NOT_DIRECTORY -> throw new InvalidConfigException("'" + path + "' is a file in workspace " + id + ", not a directory");
            default -> throw failure("list", path, r);
        }
        String prefix = p.equals("/") ? "" : p.substring(1) + "/";
        List<FileEntry> entries = new ArrayList<>();
        String all = new String(r.stdout, StandardCharsets.UTF_8);
        for (String record : all.split("\0")) {
            if (record.isEmpty()) {
                continue;
            }
            int a = record.indexOf(' ');
            int b = record.indexOf(' ', a + 1);
            if (a < 0 || b < 0) {
                continue;
            }
            boolean dir = record.substring(0, a).equals("d");
            long size = dir ? 0 : Long.parseLong(record.substring(a + 1, b));
            String name = record.substring(b + 1);
            entries.add(new FileEntry(name, prefix + name, dir, size));
        }
        entries.sort(Comparator.comparing(FileEntry::name));
        return entries;
    }

    @Override
    public boolean isDirectory(String path) {
        return run(IS_DIR, sandboxPath(path, "working directory"), null).exit == 0;
    }

    /**
     * Runs a helper script in the sandbox with one argument and optional stdin; collects stdout (uncapped) and
     * stderr. The building block for further file operations.
     */
    public Result run(String script, String arg, byte[] stdin) {
        Sandbox sb = sandbox.get();
        Launch launch = new Launch(script, List.of(arg), "/", environment, stdin != null);
        SandboxProcess process = sb.start(launch);
        try {
            CompletableFuture<byte[]> out = CompletableFuture.supplyAsync(() -> readAll(process.stdout()), SandboxRunner.pumps());
            CompletableFuture<byte[]> err = CompletableFuture.supplyAsync(() -> readAll(process.stderr()), SandboxRunner.pumps());
            if (stdin != null) {
                try (OutputStream in = process.stdin()) {
                    in.write(stdin);
                } catch (IOException e) {
                    // the process ended early: its exit code and stderr say why
                }
            }
            if (!process.waitFor(LIMIT)) {
                throw new DerrickException("a file operation in workspace " + id + " did not finish in " + LIMIT.toMinutes() + " min");
            }
            return new Result(process.exitCode(), out.join(), new String(err.join(), StandardCharsets.UTF_8));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted during a file operation in workspace " + id);
        } finally {
            process.close();
        }
    }

    private DerrickException failure(String op, String path, Result r) {
        String why = r.stderr.strip();
        int colon = why.lastIndexOf(": ");
        String reason = colon >= 0 ? why.substring(colon + 2) : why;
        if (reason.isEmpty()) {
            reason = "exit " + r.exit;
        }
        if (reason.contains("Permission denied") || reason.contains("Read-only file system") || reason.contains("Not a directory")
                || reason.contains("File exists") || reason.contains("No such file")) {
            return new InvalidConfigException("cannot " + op + " '" + path + "' in workspace " + id + ": " + reason);
        }
        return new DerrickException("cannot " + op + " '" + path + "' in workspace " + id + ": " + reason);
    }

    private static byte[] readAll(InputStream in) {
        try (in) {
            ByteArrayOutputStream out = new ByteArrayOutputStream();
            in.transferTo(out);
            return out.toByteArray();
        } catch (IOException e) {
            return new byte[0];
        }
    }

    /** What a helper script did. */
    public record Result(int exit, byte[] stdout, String stderr) {
    }
}
