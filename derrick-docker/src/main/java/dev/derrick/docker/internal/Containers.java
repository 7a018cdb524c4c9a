package dev.derrick.docker.internal;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.command.CreateContainerResponse;
import com.github.dockerjava.api.model.HostConfig;
import dev.derrick.api.DerrickException;
import dev.derrick.api.ExecResult;
import dev.derrick.api.InvalidConfigException;
import dev.derrick.api.NetworkPolicy;
import dev.derrick.api.WorkspaceConfig;

import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.BiFunction;
import java.util.function.BooleanSupplier;

/**
 * The containers of this provider's workspaces: created with derrick's labels (session, workspace, config, version,
 * owner) and the config's network mode and limits, started with the workspace root prepared, and the open workspaces
 * they belong to.
 */
final class Containers {
    static final String LABEL_MANAGED = "derrick.managed";
    static final String LABEL_SESSION = "derrick.session";
    static final String LABEL_WORKSPACE = "derrick.workspace";
    static final String LABEL_CONFIG = "derrick.config";
    static final String LABEL_VERSION = "derrick.version";
    /** Keeps the container alive and reaps orphaned children; needs only {@code /bin/sh} and {@code sleep}. */
    static final String KEEP_ALIVE = "trap 'exit 0' TERM INT; while :; do sleep 3600 & wait $!; done";

    private final DockerClient client;
    private final DockerSettings settings;
    private final String session;
    private final Owner owner;
    private final BiFunction<WorkspaceConfig, NetworkPolicy.Phase, String> networkMode;
    private final BooleanSupplier closed;
    private final Map<String, DockerWorkspace> workspaces = new LinkedHashMap<>();
    /** Workspace ids of detached workspaces: their containers carry this session but are not removed with it. */
    private final Set<String> detached = ConcurrentHashMap.newKeySet();

    Containers(DockerClient client, DockerSettings settings, String session, Owner owner,
               BiFunction<WorkspaceConfig, NetworkPolicy.Phase, String> networkMode, BooleanSupplier closed) {
        this.client = client;
        this.settings = settings;
        this.session = session;
        this.owner = owner;
        this.networkMode = networkMode;
        this.closed = closed;
    }

    /** A new workspace in a new, started container of {@code image} with the network of {@code phase}. */
    DockerWorkspace start(String id, String image, WorkspaceConfig config, NetworkPolicy.Phase phase) {
        CreateContainerResponse created = create(id, "derrick-" + id, image, config, phase);
        DockerWorkspace workspace = new DockerWorkspace(id, created.getId(), client, settings, config, this::forget,
                this::detached);
        synchronized (workspaces) {
            workspaces.put(id, workspace);
        }
        try {
            client.startContainerCmd(workspace.containerId()).exec();
            if (!settings.root().equals("/")) {
                workspace.upload(new java.io.ByteArrayInputStream(Tars.directory(settings.root().substring(1))));
            }
            return workspace;
        } catch (RuntimeException e) {
            workspace.close();
            String message = String.valueOf(e.getMessage());
            if (message.contains("/bin/sh") && message.contains("no such file")) {
                throw new InvalidConfigException("image '" + image + "' has no /bin/sh, which derrick needs to run commands");
            }
            throw e;
        }
    }

    /** A new container for an existing workspace (reset, restore): same id and labels, started and prepared. */
    String replacement(DockerWorkspace workspace, String image) {
        CreateContainerResponse created = create(workspace.id(),
                "derrick-" + workspace.id() + "-" + UUID.randomUUID().toString().substring(0, 6), image, workspace.config(),
                NetworkPolicy.Phase.COMMANDS);
        try {
            client.startContainerCmd(created.getId()).exec();
            ExecResult probe = new ContainerExec(client, created.getId()).runInternal(
                    List.of("/bin/sh", "-c", "mkdir -p -- \"$1\"", "derrick-probe", settings.root()), Duration.ofSeconds(60));
            if (probe.exitCode() != 0) {
                throw new DerrickException("cannot prepare workspace root " + settings.root() + ": " + probe.output().strip());
            }
            return created.getId();
        } catch (RuntimeException e) {
            DockerWorkspace.removeContainer(client, created.getId());
            throw e;
        }
    }

    private CreateContainerResponse create(String id, String name, String image, WorkspaceConfig config,
                                           NetworkPolicy.Phase phase) {
        Map<String, String> labels = new LinkedHashMap<>(settings.labels());
        labels.put(LABEL_MANAGED, "true");
        labels.put(LABEL_SESSION, session);
        labels.put(LABEL_WORKSPACE, id);
        labels.put(LABEL_CONFIG, config.name());
        labels.put(LABEL_VERSION, version());
        labels.putAll(owner.labels());
        HostConfig host = HostConfig.newHostConfig().withNetworkMode(networkMode.apply(config, phase));
        if (settings.pidsLimit() > 0) {
            host.withPidsLimit(settings.pidsLimit());
        }
        if (settings.nanoCpus() > 0) {
            host.withNanoCPUs(settings.nanoCpus());
        }
        if (settings.memoryBytes() > 0) {
            host.withMemory(settings.memoryBytes());
        }
        synchronized (workspaces) {
            // Checked under the lock so close() either sees this container or refuses to create it.
            if (closed.getAsBoolean()) {
                throw new DerrickException("the docker provider was closed");
            }
            return client.createContainerCmd(image)
                    .withName(name)
                    .withLabels(labels)
                    .withEntrypoint("/bin/sh", "-c", KEEP_ALIVE)
                    .withCmd(List.of())
                    .withWorkingDir(settings.root())
                    .withHostConfig(host)
                    .exec();
        }
    }

    /** The open workspaces, oldest first. */
    List<DockerWorkspace> open() {
        synchronized (workspaces) {
            return new ArrayList<>(workspaces.values());
        }
    }

    /** Ids of detached workspaces (live view). */
    Set<String> detachedIds() {
        return detached;
    }

    private void forget(DockerWorkspace workspace) {
        synchronized (workspaces) {
            workspaces.remove(workspace.id(), workspace);
        }
    }

    /** Forgets a detached workspace and keeps its containers out of the session's removal. */
    private void detached(DockerWorkspace workspace) {
        detached.add(workspace.id());
        forget(workspace);
    }

    static String version() {
        String v = Containers.class.getPackage().getImplementationVersion();
        return v == null ? "dev" : v;
    }
}
