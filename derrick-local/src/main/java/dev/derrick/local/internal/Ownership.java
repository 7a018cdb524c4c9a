package dev.derrick.local.internal;

import dev.derrick.api.DerrickException;
import dev.derrick.local.internal.sandbox.SandboxSupport;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/**
 * Who owns what in a sandboxed workspace, and the checks the provider (root) makes before it works in a directory
 * that sandboxed commands can write. The provider only changes ownership or writes there while nothing of the
 * workspace runs or is frozen, so a link swapped in meanwhile cannot redirect it.
 */
public final class Ownership {
    private Ownership() {
    }

    /**
     * Gives what root owns in {@code dir} and under it to the sandbox user ({@code chown -R --from=0:0}, which never
     * follows symbolic links and leaves everything else — and so an overlay's lower layer — untouched). A no-op
     * unless the provider runs as root.
     */
    public static void give(SandboxSupport support, Path dir) {
        if (support == null || !support.root() || !Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        List<String> command = List.of("chown", "-R", "-P", "--from=0:0", support.uid() + ":" + support.gid(), "--",
                dir.toString());
        String failure = runForOutput(command);
        if (failure != null && !onlyVanished(failure)) {
            throw new DerrickException("chown failed: " + failure);
        }
    }

    /**
     * Whether every complaint of a {@code chown -R} is about a file that vanished during the walk (a lock file of a
     * git process that just ended): nothing is left to hand over there.
     */
    static boolean onlyVanished(String chownOutput) {
        List<String> lines = chownOutput.lines().filter(l -> !l.isBlank()).toList();
        return !lines.isEmpty() && lines.stream().allMatch(l -> l.endsWith(": No such file or directory"));
    }

    /**
     * Refuses to let the provider work in a repository whose path or {@code .git} directory holds a symbolic link: a
     * command could have planted it to redirect the provider's reads and writes out of the workspace.
     */
    public static void refuseLinksInGitDir(Path root, String repoPath, String workspaceId) {
        Path dir = root;
        for (String part : repoPath.split("/")) {
            dir = dir.resolve(part);
            if (Files.isSymbolicLink(dir)) {
                throw new DerrickException("workspace " + workspaceId + ": " + repoPath
                        + " leads through a symbolic link; the provider does not fetch there");
            }
        }
        Path git = dir.resolve(".git");
        if (!Files.exists(git, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        List<Path> links = new ArrayList<>();
        try {
            Files.walkFileTree(git, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                    if (attrs.isSymbolicLink()) {
                        links.add(d);
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path f, BasicFileAttributes attrs) {
                    if (attrs.isSymbolicLink() || attrs.isOther()) {
                        links.add(f);
                        return FileVisitResult.TERMINATE;
                    }
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new DerrickException("workspace " + workspaceId + ": cannot check " + repoPath + "/.git: " + e.getMessage(), e);
        }
        if (!links.isEmpty()) {
            throw new DerrickException("workspace " + workspaceId + ": " + root.relativize(links.get(0))
                    + " is a symbolic link or special file; the provider does not fetch into a .git that holds one");
        }
    }

    /**
     * Whether a sandbox path is a directory, judged on the host without following any link: {@code TRUE}/{@code
     * FALSE}, or {@code null} when a symbolic link or a mount point of the sandbox is on the way (then only the
     * sandbox can tell).
     */
    public static Boolean isDirectoryNoLinks(Path root, String sandboxPath) {
        String rel = sandboxPath.startsWith("/") ? sandboxPath.substring(1) : sandboxPath;
        if (rel.isEmpty()) {
            return Boolean.TRUE;
        }
        String first = rel.split("/", 2)[0];
        if (SandboxSupport.RESERVED.contains(first)) {
            return null;
        }
        Path p = root;
        for (String part : rel.split("/")) {
            p = p.resolve(part);
            if (Files.isSymbolicLink(p)) {
                return null;
            }
            if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                return Boolean.FALSE;
            }
        }
        return Boolean.TRUE;
    }

    /** Runs {@code command}; {@code null} when it succeeded, else its output. */
    private static String runForOutput(List<String> command) {
        try {
            Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
            p.getOutputStream().close();
            String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            if (!p.waitFor(10, TimeUnit.MINUTES)) {
                p.destroyForcibly();
                throw new DerrickException(String.join(" ", command) + " timed out");
            }
            return p.exitValue() == 0 ? null : out.strip();
        } catch (IOException e) {
            throw new DerrickException("cannot run " + command.get(0) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted while running " + command.get(0));
        }
    }
}
