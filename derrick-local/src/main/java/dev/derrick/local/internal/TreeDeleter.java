package dev.derrick.local.internal;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.attribute.BasicFileAttributes;

/** Removes a directory tree without following symbolic links, making read-only directories writable on the way. */
public final class TreeDeleter {
    private static final Logger LOG = LoggerFactory.getLogger(TreeDeleter.class);

    private TreeDeleter() {
    }

    /** Deletes {@code dir} and everything in it; returns whether it is gone. */
    public static boolean delete(Path dir) {
        if (!Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS)) {
            return true;
        }
        try {
            Files.walkFileTree(dir, new SimpleFileVisitor<>() {
                @Override
                public FileVisitResult preVisitDirectory(Path d, BasicFileAttributes attrs) {
                    d.toFile().setWritable(true, true);
                    d.toFile().setExecutable(true, true);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFile(Path file, BasicFileAttributes attrs) throws IOException {
                    deleteOne(file);
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                    if (!(e instanceof NoSuchFileException)) {
                        deleteOne(file);
                    }
                    return FileVisitResult.CONTINUE;
                }

                @Override
                public FileVisitResult postVisitDirectory(Path d, IOException e) throws IOException {
                    deleteOne(d);
                    return FileVisitResult.CONTINUE;
                }
            });
        } catch (IOException e) {
            LOG.warn("could not remove all of {}: {}", dir, e.getMessage());
        }
        return !Files.exists(dir, java.nio.file.LinkOption.NOFOLLOW_LINKS);
    }

    private static void deleteOne(Path p) throws IOException {
        try {
            Files.deleteIfExists(p);
        } catch (AccessDeniedException e) {
            Path parent = p.getParent();
            if (parent != null) {
                parent.toFile().setWritable(true, true);
            }
            Files.deleteIfExists(p);
        }
    }
}
