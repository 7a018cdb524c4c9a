package dev.derrick.local.internal.sandbox;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.concurrent.TimeUnit;

/**
 * Where a root provider shows a workspace directory to bubblewrap when the sandbox user cannot reach it (a parent
 * such as a 0700 temporary directory is not searchable by others): a bind mount of the directory at
 * {@code /run/derrick-sandbox/<name>}, a root-owned directory only searchable by others. bubblewrap runs as the
 * sandbox user and only mounts what that user may reach, which is the point: the portal makes exactly one directory
 * reachable, and only while its sandbox starts (it is unmounted when the sandbox stops).
 */
final class Portal {
    static final Path BASE = Path.of("/run/derrick-sandbox");
    private static final Logger LOG = LoggerFactory.getLogger(Portal.class);

    private Portal() {
    }

    /** A portal for {@code root} when the sandbox user cannot reach it, else {@code null} (bind it directly). */
    static Path open(SandboxSupport support, String name, Path root) throws IOException {
        if (!support.root() || reachable(root)) {
            return null;
        }
        if (!Files.isDirectory(BASE)) {
            Files.createDirectories(BASE);
            Files.setPosixFilePermissions(BASE, PosixFilePermissions.fromString("rwx--x--x"));
        }
        Path portal = BASE.resolve(name);
        if (isMountPoint(portal)) {
            run(List.of("umount", "-l", portal.toString()));
        }
        Files.createDirectories(portal);
        run(List.of("mount", "--bind", "--", root.toString(), portal.toString()));
        return portal;
    }

    /** Unmounts and removes a portal. */
    static void close(Path portal) {
        try {
            run(List.of("umount", "-l", portal.toString()));
        } catch (IOException e) {
            LOG.debug("cannot unmount {}: {}", portal, e.getMessage());
        }
        try {
            Files.deleteIfExists(portal);
        } catch (IOException e) {
            LOG.debug("cannot remove {}: {}", portal, e.getMessage());
        }
    }

    /** Unmounts the portals of sandboxes whose names start with {@code prefix} (the reaper). */
    static void reap(String prefix) {
        if (!Files.isDirectory(BASE)) {
            return;
        }
        try (DirectoryStream<Path> portals = Files.newDirectoryStream(BASE, p -> p.getFileName().toString().startsWith(prefix)
                && SandboxCgroups.WORKSPACE_NAME.matcher(p.getFileName().toString()).matches())) {
            for (Path p : portals) {
                close(p);
            }
        } catch (IOException e) {
            LOG.debug("cannot look at {}: {}", BASE, e.getMessage());
        }
    }

    /** Whether every directory from / down to {@code dir}'s parent is searchable by others. */
    static boolean reachable(Path dir) {
        for (Path p = dir.toAbsolutePath().getParent(); p != null; p = p.getParent()) {
            try {
                Set<PosixFilePermission> perms = Files.getPosixFilePermissions(p);
                if (!perms.contains(PosixFilePermission.OTHERS_EXECUTE)) {
                    return false;
                }
            } catch (IOException | UnsupportedOperationException e) {
                return false;
            }
        }
        return true;
    }

    private static boolean isMountPoint(Path p) {
        try {
            String mine = p.toString();
            for (String line : Files.readAllLines(Path.of("/proc/self/mounts"))) {
                String[] f = line.split(" ");
                if (f.length > 1 && f[1].equals(mine)) {
                    return true;
                }
            }
        } catch (IOException e) {
            return false;
        }
        return false;
    }

    private static void run(List<String> command) throws IOException {
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        try {
            if (!p.waitFor(30, TimeUnit.SECONDS)) {
                p.destroyForcibly();
                throw new IOException(String.join(" ", command) + " timed out");
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted: " + String.join(" ", command));
        }
        if (p.exitValue() != 0) {
            throw new IOException(String.join(" ", command) + " failed: " + out.strip());
        }
    }
}
