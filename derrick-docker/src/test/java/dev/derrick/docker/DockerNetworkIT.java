package dev.derrick.docker;

import com.github.dockerjava.api.command.InspectContainerResponse;
import dev.derrick.api.NetworkPolicy;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.docker.internal.DockerEngine;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import java.util.List;
import java.util.UUID;

import static dev.derrick.docker.DockerTestSupport.BUSYBOX;
import static org.assertj.core.api.Assertions.assertThat;

/**
 * The config's {@code network} field and the {@code pids} limit in docker, against the real engine and the busybox
 * image. The test engine runs with {@code --bridge=none} and no registry: a phase with network "on" is checked as
 * the configured network mode ({@code network_mode=host}, an operator's choice, seen by inspect and by the
 * interfaces a container lists), never by reaching anything.
 */
class DockerNetworkIT {
    static DockerWorkspaceProvider provider;
    static DockerWorkspaceProvider uncached;
    static DockerEngine raw;

    @BeforeAll
    static void open() {
        DockerTestSupport.requireEngine();
        provider = DockerWorkspaceProvider.open(DockerTestSupport.options("network_mode", "host", "pids", "24"),
                DockerTestSupport.providerEnv());
        uncached = DockerWorkspaceProvider.open(DockerTestSupport.options("network_mode", "host", "cache", "false"),
                DockerTestSupport.providerEnv());
        raw = DockerTestSupport.rawEngine();
    }

    @AfterAll
    static void close() {
        if (provider != null) {
            provider.close();
        }
        if (uncached != null) {
            uncached.close();
        }
        if (raw != null) {
            raw.close();
        }
    }

    /** Interfaces of the container's network namespace (per namespace, unlike /sys in host mode). */
    private static List<String> interfaces(Workspace ws) {
        String out = ws.exec("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' '").stdout();
        return out.lines().filter(l -> !l.isBlank()).sorted().toList();
    }

    private static InspectContainerResponse inspect(Workspace ws) {
        return raw.client().listContainersCmd().withLabelFilter(java.util.Map.of("derrick.workspace", ws.id())).exec()
                .stream().findFirst().map(c -> raw.client().inspectContainerCmd(c.getId()).exec()).orElseThrow();
    }

    private static WorkspaceConfig config(NetworkPolicy network) {
        // a fresh setup script per run: the cache must build, not hit an entry of an earlier run
        return WorkspaceConfig.builder("net").image(BUSYBOX).network(network)
                .setupScript("tail -n +3 /proc/net/dev | cut -d: -f1 | tr -d ' ' | sort > /setup-net.txt # "
                        + UUID.randomUUID())
                .build();
    }

    @Test
    void offHasOnlyLoopbackAndOnHasTheConfiguredMode() {
        try (Workspace off = provider.create(config(NetworkPolicy.OFF));
             Workspace on = provider.create(config(NetworkPolicy.ON))) {
            assertThat(interfaces(off)).containsExactly("lo");
            assertThat(inspect(off).getHostConfig().getNetworkMode()).isEqualTo("none");
            assertThat(inspect(on).getHostConfig().getNetworkMode()).isEqualTo("host");
            assertThat(interfaces(on)).contains("lo").hasSizeGreaterThan(1);
            assertThat(provider.describeNetwork(config(NetworkPolicy.OFF))).isEqualTo("network mode none");
        }
    }

    @Test
    void setupWithNetworkCommandsWithoutThroughTheCache() {
        assertPhases(provider, new NetworkPolicy(true, false));
    }

    @Test
    void setupWithoutNetworkCommandsWithItThroughTheCache() {
        assertPhases(provider, new NetworkPolicy(false, true));
    }

    @Test
    void perPhaseWithoutTheCacheToo() {
        assertPhases(uncached, new NetworkPolicy(true, false));
    }

    private static void assertPhases(DockerWorkspaceProvider p, NetworkPolicy policy) {
        WorkspaceConfig config = config(policy);
        assertThat(p.describeNetwork(config)).isEqualTo("network mode " + (policy.setup() ? "host" : "none")
                + " during setup, " + (policy.commands() ? "host" : "none") + " for commands");
        try (Workspace ws = p.create(config)) {
            List<String> duringSetup = ws.readString("/setup-net.txt").lines().toList();
            if (policy.setup()) {
                assertThat(duringSetup).contains("lo").hasSizeGreaterThan(1);
            } else {
                assertThat(duringSetup).containsExactly("lo");
            }
            if (policy.commands()) {
                assertThat(interfaces(ws)).hasSizeGreaterThan(1);
            } else {
                assertThat(interfaces(ws)).containsExactly("lo");
            }
            assertThat(inspect(ws).getHostConfig().getNetworkMode()).isEqualTo(policy.commands() ? "host" : "none");
            // a second workspace from the same entry: the commands' network again
            try (Workspace again = p.create(config)) {
                assertThat(interfaces(again)).isEqualTo(interfaces(ws));
            }
            ws.reset();
            if (policy.commands()) {
                assertThat(interfaces(ws)).hasSizeGreaterThan(1);
            } else {
                assertThat(interfaces(ws)).containsExactly("lo");
            }
            assertThat(inspect(ws).getHostConfig().getNetworkMode()).isEqualTo(policy.commands() ? "host" : "none");
        }
    }

    @Test
    void pidsIsTheContainersPidsLimit() {
        try (Workspace ws = provider.create(WorkspaceConfig.builder("pids").image(BUSYBOX).network(NetworkPolicy.OFF).build())) {
            assertThat(inspect(ws).getHostConfig().getPidsLimit()).isEqualTo(24L);
            // bounded (60 forks); the shell gives up at the first fork refused
            String out = ws.exec("for i in $(seq 60); do sleep 30 </dev/null >/dev/null 2>&1 & done; echo all-forked").output();
            assertThat(out).doesNotContain("all-forked").containsIgnoringCase("fork");
        }
    }
}
