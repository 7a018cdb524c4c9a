package org.example.derrick.sandbox;

import dev.derrick.api.DerrickException;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Comparator;
import java.util.stream.Stream;

/** Directory trees: copied (links as links), measured, deleted. A snapshot, a reset and a checkpoint are copies. */
final class Trees {
    private Trees() {
    }

    static void copy(Path from, Path to) {
        try (Stream<Path> paths = Files.walk(from)) {
            for (Path p : (Iterable<Path>) paths::iterator) {
                Path target = to.resolve(from.relativize(p).toString());
                if (Files.isSymbolicLink(p)) {
                    Files.createSymbolicLink(target, Files.readSymbolicLink(p));
                } else if (Files.isDirectory(p)) {
                    Files.createDirectories(target);
                } else {
                    Files.copy(p, target, StandardCopyOption.COPY_ATTRIBUTES);
                }
            }
        } catch (IOException e) {
            throw new DerrickException("cannot copy " + from + " to " + to + ": " + e.getMessage(), e);
        }
    }

    static long size(Path dir) {
        try (Stream<Path> paths = Files.walk(dir)) {
            long total = 0;
            for (Path p : (Iterable<Path>) paths::iterator) {
                total += Files.readAttributes(p, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).size();
            }
            return total;
        } catch (IOException e) {
            throw new DerrickException("cannot measure " + dir + ": " + e.getMessage(), e);
        }
    }

    static void delete(Path dir) throws IOException {
        if (!Files.exists(dir, LinkOption.NOFOLLOW_LINKS)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) paths.sorted(Comparator.reverseOrder())::iterator) {
                p.toFile().setWritable(true);
                Files.deleteIfExists(p);
            }
        }
    }

    static void deleteQuietly(Path dir) {
        try {
            delete(dir);
        } catch (IOException | RuntimeException ignored) {
            // best effort: the engine's discard methods must not throw
        }
    }
}
