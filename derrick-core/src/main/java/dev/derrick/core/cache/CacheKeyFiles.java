package dev.derrick.core.cache;

import org.eclipse.jgit.api.Git;
import org.eclipse.jgit.lib.ObjectId;
import org.eclipse.jgit.lib.ObjectReader;
import org.eclipse.jgit.lib.Repository;
import org.eclipse.jgit.revwalk.RevWalk;
import org.eclipse.jgit.treewalk.CanonicalTreeParser;
import org.eclipse.jgit.treewalk.filter.PathFilterGroup;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.nio.file.Path;
import java.util.List;

/** {@code cache_key_files}: whether fetched commits touched a file that makes a cache entry stale. */
public final class CacheKeyFiles {
    private static final Logger LOG = LoggerFactory.getLogger(CacheKeyFiles.class);

    private CacheKeyFiles() {
    }

    /**
     * Whether any of {@code files} (repository-relative; a directory counts for everything under it) differs
     * between two commits of the repository at {@code repoDir}. Unknown commits count as no change (logged).
     */
    public static boolean changed(Path repoDir, String before, String after, List<String> files) {
        if (files.isEmpty() || before == null || after == null || before.equals(after)) {
            return false;
        }
        try (Git g = Git.open(repoDir.toFile()); RevWalk walk = new RevWalk(g.getRepository());
             ObjectReader reader = g.getRepository().newObjectReader()) {
            Repository repo = g.getRepository();
            CanonicalTreeParser a = new CanonicalTreeParser(null, reader, walk.parseCommit(ObjectId.fromString(before)).getTree());
            CanonicalTreeParser b = new CanonicalTreeParser(null, reader, walk.parseCommit(ObjectId.fromString(after)).getTree());
            List<String> paths = files.stream().map(f -> f.replaceFirst("^/+", "").replaceFirst("/+$", ""))
                    .filter(f -> !f.isEmpty()).toList();
            if (paths.isEmpty()) {
                return false;
            }
            return !g.diff().setOldTree(a).setNewTree(b).setPathFilter(PathFilterGroup.createFromStrings(paths))
                    .setShowNameAndStatusOnly(true).call().isEmpty();
        } catch (Exception e) {
            LOG.warn("cannot compare cache key files in {}: {}", repoDir, e.getMessage());
            return false;
        }
    }
}
