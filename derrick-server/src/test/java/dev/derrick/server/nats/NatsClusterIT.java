package dev.derrick.server.nats;

import dev.derrick.api.ExecRequest;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;
import dev.derrick.tck.NatsTestServer;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import static org.assertj.core.api.Assertions.assertThat;

/**
 * A NATS cluster of three real nats-server nodes on loopback, three agent processes and a controller, all connected
 * through node 0: node 0 is killed, and agents and controller move to the other nodes (learned from the cluster) and
 * keep serving the existing workspaces and new creates within seconds.
 */
@Timeout(180)
class NatsClusterIT {
    @Test
    void killingTheNodeEveryoneUsesMovesThemToAnotherWithinSeconds() throws Exception {
        List<NatsTestServer> cluster = NatsTestServer.cluster(3);
        try (Fleet fleet = new Fleet(cluster.get(0).url(), "cluster").agent("c1", 10).agent("c2", 10).agent("c3", 10);
             WorkspaceProvider controller = WorkspaceProviders.open("remote_nats", Map.of("nats_url",
                     cluster.get(0).url(), "prefix", fleet.prefix(), "request_timeout", "5"))) {
            WorkspaceConfig config = WorkspaceConfig.builder("cluster").setupScript("echo ready > setup.txt").build();
            List<Workspace> workspaces = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                workspaces.add(controller.create(config));
            }
            for (Workspace ws : workspaces) {
                assertThat(ws.exec("cat setup.txt").stdout()).isEqualTo("ready\n");
            }
            long killed = System.nanoTime();
            cluster.get(0).stop();
            // every workspace answers again, through nodes 1 and 2
            for (Workspace ws : workspaces) {
                String out = null;
                long until = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (out == null && System.nanoTime() < until) {
                    try {
                        out = ws.exec(ExecRequest.of("cat setup.txt").withTimeout(Duration.ofSeconds(5))).stdout();
                    } catch (RuntimeException notYet) {
                        Thread.sleep(200);
                    }
                }
                assertThat(out).as("workspace %s after node 0 died", ws.id()).isEqualTo("ready\n");
            }
            long recoveredMs = (System.nanoTime() - killed) / 1_000_000;
            Workspace fresh = controller.create(config);
            assertThat(fresh.exec("cat setup.txt").stdout()).isEqualTo("ready\n");
            System.out.println("[nats-cluster] node 0 of 3 killed: all " + workspaces.size() + " workspaces answered"
                    + " again after " + recoveredMs + " ms; a new create worked");
            assertThat(recoveredMs).isLessThan(20_000);
            fresh.close();
            for (Workspace ws : workspaces) {
                ws.close();
            }
        } finally {
            for (NatsTestServer s : cluster) {
                s.close();
            }
        }
    }
}
