package dev.derrick.docker;

import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;

import java.util.Map;

/**
 * Child JVM for {@link DockerReaperIT}: opens a docker provider, creates two workspaces, prints their ids, then
 * either waits to be killed ({@code wait}) or exits without closing anything ({@code exit}, so only the shutdown
 * hook can clean up), or ({@code detach}) checkpoints and detaches the first, closes the provider and exits.
 */
public final class OrphanMaker {
    private OrphanMaker() {
    }

    public static void main(String[] args) throws Exception {
        String image = args[0];
        String mode = args[1];
        WorkspaceProvider provider = WorkspaceProviders.open("docker", Map.of());
        Workspace a = provider.create(WorkspaceConfig.builder("orphan-a").image(image).build());
        Workspace b = provider.create(WorkspaceConfig.builder("orphan-b").image(image).build());
        if (mode.equals("detach")) {
            a.writeString("evidence.txt", "kept by detach");
            a.checkpoint();
            a.exec("nohup sleep 600 >/dev/null 2>&1 &");
            a.detach();
            provider.close(); // removes b, leaves a
        }
        System.out.println("READY " + a.id() + " " + b.id());
        System.out.flush();
        if (mode.equals("exit") || mode.equals("detach")) {
            System.exit(0);
        }
        Thread.sleep(600_000);
    }
}
