package dev.derrick.core.cache;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Stream;

/** Copying, sizing and deleting directory trees, as fast as the platform allows. */
public final class FileTrees {
    private static final Logger LOG = LoggerFactory.getLogger(FileTrees.class);
    private static final boolean LINUX = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).contains("linux");
    private static final Path CP = Path.of("/bin/cp");

    private FileTrees() {
    }

    /**
     * Copies the contents of {@code source} into {@code target} (created if missing), keeping symbolic links as
     * links, permissions and times. On Linux this is {@code cp -a --reflink=auto} (copy-on-write where the file
     * system supports it); elsewhere a Java walk.
     */
    public static void copy(Path source, Path target) {
        try {
            Files.createDirectories(target);
            if (LINUX && Files.isExecutable(CP)) {
                Process p = new ProcessBuilder(CP.toString(), "-a", "--reflink=auto", "--", source + "/.", target.toString())
                        .redirectErrorStream(true).start();
                String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
                if (!p.waitFor(1, TimeUnit.HOURS) || p.exitValue() != 0) {
                    throw new IOException("cp -a " + source + " " + target + " failed: " + output.strip());
                }
                return;
            }
            javaCopy(source, target);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new java.io.InterruptedIOException("interrupted while copying " + source));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Like {@link #copy}, but the object stores of the given git repositories ({@code <repo>/.git/objects}, paths
     * relative to {@code source}) are hard-linked instead of copied, as {@code git clone --local} does: git never
     * changes an object or pack file in place (it writes new files and renames them), so the copy and the source can
     * share them. A repository's objects are often half the bytes of a checkout, so this halves a copy-mode create.
     * Falls back to a plain copy where links are not possible (not Linux, another file system).
     */
    public static void copyLinkingGitObjects(Path source, Path target, Collection<String> repositoryPaths) {
        Set<Path> linked = new HashSet<>();
        for (String repo : repositoryPaths) {
            Path objects = source.resolve(repo).resolve(".git").resolve("objects").normalize();
            if (objects.startsWith(source) && Files.isDirectory(objects, LinkOption.NOFOLLOW_LINKS)
                    && !isBelowLink(source, objects)) {
                linked.add(objects);
            }
        }
        if (!LINUX || linked.isEmpty() || !Files.isExecutable(CP)) {
            copy(source, target);
            return;
        }
        try {
            Files.createDirectories(target);
            copyAround(source, target, linked);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new UncheckedIOException(new java.io.InterruptedIOException("interrupted while copying " + source));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** Copies {@code dir}'s children into {@code to}: linked directories by hard links, the rest by one {@code cp -a}. */
    private static void copyAround(Path dir, Path to, Set<Path> linked) throws IOException, InterruptedException {
        List<String> plain = new ArrayList<>();
        try (Stream<Path> children = Files.list(dir)) {
            for (Path child : (Iterable<Path>) children::iterator) {
                Path childTarget = to.resolve(child.getFileName().toString());
                if (linked.contains(child)) {
                    try {
                        cp(List.of("-a", "-l"), List.of(child.toString()), to);
                    } catch (IOException e) {
                        LOG.debug("cannot hard-link {} ({}); copying it", child, e.getMessage());
                        deleteQuietly(childTarget);
                        cp(List.of("-a", "--reflink=auto"), List.of(child.toString()), to);
                    }
                } else if (linked.stream().anyMatch(l -> l.startsWith(child))) {
                    Files.createDirectories(childTarget);
                    copyAround(child, childTarget, linked);
                    Files.setPosixFilePermissions(childTarget, Files.getPosixFilePermissions(child));
                    Files.setLastModifiedTime(childTarget, Files.getLastModifiedTime(child));
                } else {
                    plain.add(child.toString());
                }
            }
        }
        if (!plain.isEmpty()) {
            cp(List.of("-a", "--reflink=auto"), plain, to);
        }
    }

    private static void cp(List<String> options, List<String> sources, Path targetDir) throws IOException, InterruptedException {
        List<String> command = new ArrayList<>();
        command.add(CP.toString());
        command.addAll(options);
        command.add("--");
        command.addAll(sources);
        command.add(targetDir.toString());
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        if (!p.waitFor(1, TimeUnit.HOURS) || p.exitValue() != 0) {
            p.destroyForcibly();
            throw new IOException("cp " + String.join(" ", options) + " into " + targetDir + " failed: " + output.strip());
        }
    }

    private static boolean isBelowLink(Path root, Path path) {
        for (Path p = path; p != null && p.startsWith(root) && !p.equals(root); p = p.getParent()) {
            if (Files.isSymbolicLink(p)) {
                return true;
            }
        }
        return false;
    }

    static void javaCopy(Path source, Path target) throws IOException {
        Files.walkFileTree(source, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) throws IOException {
                Path to = target.resolve(source.relativize(dir).toString());
                Files.createDirectories(to);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                Files.copy(file, target.resolve(source.relativize(file).toString()), StandardCopyOption.COPY_ATTRIBUTES,
                        StandardCopyOption.REPLACE_EXISTING, LinkOption.NOFOLLOW_LINKS);
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                Path to = target.resolve(source.relativize(dir).toString());
                Files.setLastModifiedTime(to, Files.getLastModifiedTime(dir));
                return FileVisitResult.CONTINUE;
            }
        });
    }

    /** Total size in bytes of the regular files under {@code dir} (links not followed); 0 when it does not exist. */
    public static long size(Path dir) {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return 0;
        }
        AtomicLong total = new AtomicLong();
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) {
                    if (attrs.isRegularFile()) {
                        total.addAndGet(attrs.size());
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) {
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return total.get();
    }

    /**
     * Deletes {@code path} and everything under it, making read-only directories writable first (a setup may leave
     * read-only trees, e.g. Go's module cache). Links are removed, never followed. Missing is fine.
     */
    public static void delete(Path path) {
        if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try {
            Files.walkFileTree(path, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path dir, BasicFileAttributes attrs) {
                    dir.toFile().setWritable(true, true);
                    dir.toFile().setExecutable(true, true);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    Files.deleteIfExists(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException exc) throws IOException {
                    if (!(exc instanceof java.nio.file.NoSuchFileException)) {
                        Files.deleteIfExists(file);
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path dir, IOException exc) throws IOException {
                    Files.deleteIfExists(dir);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            throw new UncheckedIOException("cannot delete " + path + ": " + e.getMessage(), e);
        }
    }

    /** Like {@link #delete} but logs instead of throwing. */
    public static void deleteQuietly(Path path) {
        try {
            delete(path);
        } catch (RuntimeException e) {
            LOG.warn("could not remove {}: {}", path, e.getMessage());
        }
    }

    /** Removes everything inside {@code dir}, keeping {@code dir} itself. */
    public static void clear(Path dir) {
        try (var children = Files.list(dir)) {
            for (Path child : (Iterable<Path>) children::iterator) {
                delete(child);
            }
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
