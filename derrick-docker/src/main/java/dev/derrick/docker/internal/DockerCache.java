package dev.derrick.docker.internal;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.ConflictException;
import com.github.dockerjava.api.exception.DockerException;
import com.github.dockerjava.api.exception.NotFoundException;
import com.github.dockerjava.api.model.Image;
import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.OperationNotSupportedException;
import dev.derrick.api.ProgressListener;
import dev.derrick.api.RepositoryConfig;
import dev.derrick.api.RepositoryFetch;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.core.Redactor;
import dev.derrick.core.cache.BundleFetch;
import dev.derrick.core.cache.CacheEntry;
import dev.derrick.core.cache.CacheKey;
import dev.derrick.core.cache.CacheStore;
import dev.derrick.core.cache.EvictionPolicy;
import dev.derrick.core.cache.GitMirrors;
import dev.derrick.core.git.GitClient;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import java.io.ByteArrayOutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.FutureTask;
import java.util.function.Consumer;
import java.util.function.Function;

/**
 * The docker backend's cache payloads and fetch path (the flow is {@code Provisioner}'s). An entry is the setup container committed to an image
 * {@code derrick-cache/<config name>:<key12>} labelled {@code derrick.cache.key}; its metadata lives in a
 * {@link CacheStore} under {@code cacheDir/docker/}. New commits reach containers through provider-side
 * {@link GitMirrors mirrors} as git bundles: the token never enters a container.
 */
public final class DockerCache {
    public static final String BACKEND = "docker";
    public static final String LABEL_CACHE_KEY = "derrick.cache.key";
    public static final String LABEL_CACHE_GENERATION = "derrick.cache.generation";
    /** The cache directory whose store owns the image: garbage collection only touches its own images. */
    public static final String LABEL_CACHE_DIR = "derrick.cache.dir";
    public static final String LABEL_CHECKPOINT = "derrick.checkpoint";
    private static final Logger LOG = LoggerFactory.getLogger(DockerCache.class);

    private final DockerClient client;
    private final CacheStore store;
    private final GitMirrors mirrors;

    public DockerCache(Path cacheDir, DockerClient client, GitClient git, Map<String, String> providerEnvironment,
                       Redactor redactor, EvictionPolicy eviction) {
        this.client = client;
        this.store = new CacheStore(cacheDir, BACKEND, this::removeImage);
        this.mirrors = new GitMirrors(cacheDir.toAbsolutePath().normalize().resolve("mirrors"), git, providerEnvironment,
                redactor);
        store.recordPolicy(eviction == null ? EvictionPolicy.NONE : eviction);
    }

    public CacheStore store() {
        return store;
    }

    public GitMirrors mirrors() {
        return mirrors;
    }

    /** The key of a config whose image has been resolved. */
    public static CacheKey key(WorkspaceConfig config, String image) {
        return CacheKey.of(BACKEND, config.withImage(image));
    }

    /**
     * Commits the container of a workspace that has just finished its setup as the image of the cache entry
     * {@code key}/{@code generation} (published by the engine). The container keeps running unchanged.
     */
    public dev.derrick.api.spi.Snapshot commit(String key, String generation, WorkspaceConfig config, String containerId,
                                               List<String> repositoryPaths) {
        refreshIndexes(containerId, repositoryPaths);
        String repository = "derrick-cache/" + imageName(config.name());
        String tag = key.substring(0, 12);
        Map<String, String> labels = new LinkedHashMap<>();
        labels.put(LABEL_CACHE_KEY, key);
        labels.put(LABEL_CACHE_GENERATION, generation);
        labels.put(LABEL_CACHE_DIR, store.directory().toString());
        long start = System.nanoTime();
        String imageId = client.commitCmd(containerId).withRepository(repository).withTag(tag).withLabels(labels)
                .withPause(true).exec();
        return new dev.derrick.api.spi.Snapshot(imageId, imageSize(imageId), Map.of("image", repository + ":" + tag,
                "commit_ms", Long.toString((System.nanoTime() - start) / 1_000_000)));
    }

    /**
     * Refreshes the git index of each repository inside the container (best effort, needs git there): the index was
     * written on the provider side, so without this the first {@code git status} in every container made from the
     * image would re-read every file.
     */
    private void refreshIndexes(String containerId, List<String> paths) {
        if (paths.isEmpty()) {
            return;
        }
        List<String> cmd = new ArrayList<>(List.of("/bin/sh", "-c",
                "for d in \"$@\"; do git -c safe.directory='*' -C \"$d\" update-index -q --refresh >/dev/null 2>&1 || true; done",
                "derrick-refresh"));
        cmd.addAll(paths);
        try {
            new ContainerExec(client, containerId).runInternal(cmd, Duration.ofMinutes(5));
        } catch (RuntimeException e) {
            LOG.debug("could not refresh git indexes before commit: {}", e.getMessage());
        }
    }

    /** Moves a fresh provider-side clone into the mirror directory, so later fetches negotiate instead of cloning. */
    public void adoptMirror(RepositoryConfig repo, Path clone) {
        mirrors.adopt(repo, clone);
    }

    /**
     * Fetches every repository of a workspace through the mirrors (a {@code fetch()} call): new commits go into the
     * container as a bundle, checkouts without a local change in the way are fast-forwarded, dirty or diverged ones
     * reported.
     */
    public List<RepositoryFetch> fetch(ContainerExec exec, Consumer<byte[]> uploadTar, WorkspaceConfig config,
                                       Function<String, String> containerPath, ProgressListener progress) {
        List<RepositoryFetch> out = new ArrayList<>();
        for (RepositoryConfig repo : config.repositories()) {
            out.add(fetch(exec, uploadTar, config, repo, containerPath.apply(repo.path()), progress));
        }
        return out;
    }

    /** Fetches one repository through its mirror (see above). */
    public RepositoryFetch fetch(ContainerExec exec, Consumer<byte[]> uploadTar, WorkspaceConfig config,
                                 RepositoryConfig repo, String path, ProgressListener progress) {
        return fetchOne(exec, uploadTar, config, repo, path, null, progress);
    }

    /**
     * Fast-forwards one repository in the container to exactly {@code commit} (which its mirror has, from an earlier
     * fetch), without network access: what a reset does to return to the commits a fetch brought.
     */
    public RepositoryFetch fastForwardTo(ContainerExec exec, Consumer<byte[]> uploadTar, WorkspaceConfig config,
                                         RepositoryConfig repo, String path, String commit) {
        return fetchOne(exec, uploadTar, config, repo, path, commit, ProgressListener.NONE);
    }

    private RepositoryFetch fetchOne(ContainerExec exec, Consumer<byte[]> uploadTar, WorkspaceConfig config,
                                     RepositoryConfig repo, String path, String target, ProgressListener progress) {
        // The provider-side mirror fetch (network) and the container's state query (a docker exec) do not depend
        // on each other: overlap them. A target commit needs no mirror fetch: the mirror has it.
        long start = System.nanoTime();
        FutureTask<Path> mirrorUpdate = new FutureTask<>(() -> target == null ? mirrors.update(repo, progress)
                : mirrors.mirrorDir(repo));
        Thread mirrorThread = new Thread(mirrorUpdate, "derrick-mirror-fetch");
        mirrorThread.setDaemon(true);
        mirrorThread.start();
        ExecResult stateResult = exec.runInternal(List.of("/bin/sh", "-c", BundleFetch.STATE_SCRIPT, "derrick-fetch", path),
                Duration.ofMinutes(1));
        if (stateResult.exitCode() != 0) {
            String why = stateResult.output().strip();
            if (why.contains("not found") && why.toLowerCase(Locale.ROOT).contains("git")) {
                throw new OperationNotSupportedException("fetch in a docker workspace needs git in the image;"
                        + " image of '" + config.name() + "' has none");
            }
            throw new DerrickException("cannot read repository " + repo.path() + " in the container: " + why);
        }
        BundleFetch.State state = BundleFetch.State.parse(stateResult.stdout());
        if (state.branch() == null || state.remoteBranch() == null) {
            awaitMirror(mirrorUpdate);
            return new RepositoryFetch(repo.path(), state.head(), state.head(), false, "detached", null);
        }
        awaitMirror(mirrorUpdate);
        long mirrored = System.nanoTime();
        ByteArrayOutputStream bundle = new ByteArrayOutputStream();
        Optional<String> tip = mirrors.writeBundle(repo, state.remoteBranch(), target, List.of(state.head()), bundle);
        if (tip.isEmpty()) {
            String remote = target != null ? target : mirrors.tip(repo, state.remoteBranch()).orElse(null);
            return new RepositoryFetch(repo.path(), state.head(), state.head(), false, "up-to-date", remote);
        }
        String file = "tmp/derrick-fetch-" + UUID.randomUUID().toString().substring(0, 8) + ".bundle";
        uploadTar.accept(Tars.singleFile(file, bundle.toByteArray(), 0644));
        long uploaded = System.nanoTime();
        ExecResult applied = exec.runInternal(List.of("/bin/sh", "-c", BundleFetch.APPLY_SCRIPT, "derrick-fetch", path,
                "/" + file, state.remoteBranch()), Duration.ofMinutes(10));
        if (applied.exitCode() != 0) {
            throw new DerrickException("fetching into " + repo.path() + " failed: " + applied.output().strip());
        }
        RepositoryFetch result = BundleFetch.parseApply(repo.path(), applied.stdout());
        long done = System.nanoTime();
        LOG.info("fetched {} through a {}-byte bundle: {} (state + mirror fetch {} ms, bundle upload {} ms,"
                + " apply {} ms)", repo.displayName(), bundle.size(), result.status(), (mirrored - start) / 1_000_000,
                (uploaded - mirrored) / 1_000_000, (done - uploaded) / 1_000_000);
        return result;
    }

    private static void awaitMirror(FutureTask<Path> update) {
        try {
            update.get();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new DerrickException("interrupted while fetching into a provider-side mirror");
        } catch (ExecutionException e) {
            if (e.getCause() instanceof RuntimeException r) {
                throw r;
            }
            throw new DerrickException("fetching into a provider-side mirror failed: " + e.getCause(), e.getCause());
        }
    }

    /** Commits a workspace's container as a checkpoint image; returns the image id. */
    public String commitCheckpoint(String containerId, String workspaceId, String checkpointId) {
        return commit(containerId, workspaceId, checkpointId, true);
    }

    /**
     * A commit of a container as {@code derrick-checkpoint/<workspace>:<tag>}; returns the image id.
     *
     * @param pause whether the container is frozen meanwhile (consistent files). Measured here: freezing while a
     *              {@code docker exec} is still starting in the container (its {@code runc init} joining the cgroup)
     *              can leave the container FROZEN and dockerd's commit waiting for good, so a fork, which typically
     *              follows a command at once, does not pause
     */
    public String commit(String containerId, String workspaceId, String tag, boolean pause) {
        return client.commitCmd(containerId).withRepository("derrick-checkpoint/" + workspaceId).withTag(tag)
                .withLabels(Map.of(LABEL_CHECKPOINT, workspaceId)).withPause(pause).exec();
    }

    /** Removes a container (force), ignoring one that is gone. */
    public void removeContainerQuietly(String containerId) {
        DockerWorkspace.removeContainer(client, containerId);
    }

    /** Tags an image (id or name) as {@code repository:tag}, moving the tag if it exists; returns the name. */
    public String tag(String image, String repository, String tag) {
        client.tagImageCmd(image, repository, tag).exec();
        return repository + ":" + tag;
    }

    /**
     * Removes an image only when nothing else refers to it — no other tag (a fork's), no container: given by id,
     * without force. One still referred to stays, silently.
     */
    public void removeImageIfUnused(String imageId) {
        try {
            client.removeImageCmd(imageId).withForce(false).exec();
        } catch (NotFoundException | ConflictException e) {
            LOG.debug("image {} stays: {}", imageId, DockerWorkspace.firstLine(String.valueOf(e.getMessage())));
        } catch (DockerException e) {
            LOG.warn("cannot remove image {}: {}", imageId, DockerWorkspace.firstLine(String.valueOf(e.getMessage())));
        }
    }

    /** Removes an image, ignoring one that is gone; a conflict (still used) is logged. */
    public void removeImageQuietly(String imageId) {
        try {
            client.removeImageCmd(imageId).withForce(true).exec();
        } catch (NotFoundException e) {
            // gone already
        } catch (ConflictException e) {
            LOG.warn("image {} is still in use: {}", imageId, DockerWorkspace.firstLine(String.valueOf(e.getMessage())));
        } catch (DockerException e) {
            LOG.warn("cannot remove image {}: {}", imageId, DockerWorkspace.firstLine(String.valueOf(e.getMessage())));
        }
    }

    /**
     * Removes cache images no entry points to (a provider killed between commit and publish); returns how many.
     * Checkpoint images go with their workspace: on close, or when the provider's orphan reaper removes the container
     * of a dead derrick process. One whose container was removed by other means stays (another process's workspace
     * may be between two containers during a reset, so "no container" alone does not prove it unused).
     */
    public int collectGarbage() {
        int removed = store.collectGarbage();
        try {
            Set<String> referenced = new HashSet<>();
            store.list().forEach(s -> referenced.add(s.entry().payload()));
            for (Image image : client.listImagesCmd()
                    .withLabelFilter(Map.of(LABEL_CACHE_DIR, store.directory().toString())).exec()) {
                Map<String, String> labels = image.getLabels() == null ? Map.of() : image.getLabels();
                if (!referenced.contains(image.getId()) && store.directory().toString().equals(labels.get(LABEL_CACHE_DIR))) {
                    LOG.info("removing cache image {} that no entry uses", image.getId());
                    removeImageQuietly(image.getId());
                    removed++;
                }
            }
        } catch (RuntimeException e) {
            LOG.warn("cannot look for unused cache images: {}", e.getMessage());
        }
        return removed;
    }

    void removeImage(CacheEntry entry) {
        removeImageQuietly(entry.payload());
    }

    boolean imageExists(String imageId) {
        try {
            client.inspectImageCmd(imageId).exec();
            return true;
        } catch (NotFoundException e) {
            return false;
        }
    }

    private long imageSize(String imageId) {
        try {
            Long size = client.inspectImageCmd(imageId).exec().getSize();
            return size == null ? 0 : size;
        } catch (DockerException e) {
            return 0;
        }
    }

    /** A docker repository name component from a config name: lowercase, [a-z0-9._-], not empty. */
    static String imageName(String configName) {
        String s = configName.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9._-]+", "-").replaceAll("^[^a-z0-9]+", "");
        s = s.length() > 100 ? s.substring(0, 100) : s;
        return s.isEmpty() ? "workspace" : s;
    }

    /** Whether a path holds a git work tree (provider side). */
    static boolean isRepo(Path dir) {
        return Files.isDirectory(dir.resolve(".git"));
    }
}
