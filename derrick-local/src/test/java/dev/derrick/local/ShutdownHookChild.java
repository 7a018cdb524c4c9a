package dev.derrick.local;

import dev.derrick.api.ExecRequest;
import dev.derrick.api.Workspace;
import dev.derrick.api.WorkspaceConfig;
import dev.derrick.api.WorkspaceProvider;
import dev.derrick.api.WorkspaceProviders;

import java.util.Map;

/** Run in a child JVM by {@link LocalProviderIT}: creates a workspace with running processes and exits without closing (or waits to be killed, with "hold"; or detaches it and closes the provider, with "detach"). */
public final class ShutdownHookChild {
    private ShutdownHookChild() {
    }

    public static void main(String[] args) throws Exception {
        WorkspaceProvider provider = WorkspaceProviders.open("local", Map.of("root", args[0],
                "isolation", args.length > 3 ? args[3] : "auto"));
        Workspace ws = provider.create(WorkspaceConfig.builder("shutdown-hook").build());
        ws.exec(ExecRequest.of("nohup sleep 60 >/dev/null 2>&1 &").withEnv("M", args[1]));
        Thread running = new Thread(() -> ws.exec(ExecRequest.of("sleep 60").withEnv("M", args[1])));
        running.setDaemon(true);
        running.start();
        Thread.sleep(300);
        String mode = args.length > 2 ? args[2] : "exit";
        // args[3]: isolation
        String root = ws.info().root();
        if (mode.equals("detach")) {
            ws.writeString("evidence.txt", "kept by detach");
            ws.detach();
            provider.close(); // leaves a detached workspace alone, as the shutdown hook does
        }
        System.out.println("READY " + root);
        System.out.flush();
        if (mode.equals("hold")) {
            Thread.sleep(60_000); // to be killed with SIGKILL by the test: no shutdown hook runs
        }
        System.exit(0);
    }
}
